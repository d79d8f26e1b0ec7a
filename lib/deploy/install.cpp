#include "deploy/install.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

struct Copy {
  fs::path from;
  fs::path to;
  bool is_dir = false;
};

fs::path under_root(const fs::path& root, const std::string& absolute) {
  fs::path p(absolute);
  return (root / p.relative_path()).lexically_normal();
}

// The revision path a `files` source names ("/" is all of it).
fs::path source_path(const fs::path& archive, const std::string& source) {
  std::string s = source;
  while (s.starts_with("/")) s.erase(0, 1);
  return s.empty() ? archive : (archive / s).lexically_normal();
}

bool exists_no_follow(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() != fs::file_type::not_found && !ec;
}

Status copy_one(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  auto st = fs::symlink_status(from, ec);
  if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", from.string(), ec.message());
  if (exists_no_follow(to)) {
    fs::remove(to, ec);
    if (ec) return fail(ErrorKind::io, "cannot replace '{}': {}", to.string(), ec.message());
  }
  if (fs::is_symlink(st)) {
    fs::copy_symlink(from, to, ec);
  } else {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(to, st.permissions(), fs::perm_options::replace, ec);
  }
  if (ec) return fail(ErrorKind::io, "cannot copy '{}' to '{}': {}", from.string(), to.string(), ec.message());
  return {};
}

std::string acl_text(const AclEntry& e) {
  std::string out = e.is_default ? "d:" : "";
  out += e.type.substr(0, 1) + ":" + e.name + ":" + e.permissions;
  return out;
}

// Applies one permission entry to the installed paths it covers.
Status apply_permission(const Permission& p, const fs::path& root, const std::vector<fs::path>& installed,
                        ProcessRunner& runner, InstallOutcome& out) {
  fs::path object = under_root(root, p.object);
  GlobPattern pattern(p.pattern);
  std::vector<GlobPattern> excepts;
  for (auto& e : p.except) excepts.emplace_back(e);
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  if (p.owner) {
    const passwd* pw = ::getpwnam(p.owner->c_str());
    if (!pw) return fail(ErrorKind::failed, "permissions for '{}': owner '{}' does not exist on this instance", p.object, *p.owner);
    uid = pw->pw_uid;
  }
  if (p.group) {
    const group* gr = ::getgrnam(p.group->c_str());
    if (!gr) return fail(ErrorKind::failed, "permissions for '{}': group '{}' does not exist on this instance", p.object, *p.group);
    gid = gr->gr_gid;
  }
  std::string setfacl, chcon;
  if (!p.acls.empty()) {
    setfacl = find_program("setfacl");
    if (setfacl.empty())
      return fail(ErrorKind::failed, "permissions for '{}' set acls, but setfacl is not installed on this instance "
                                     "(Debian: apt-get install acl)", p.object);
  }
  if (p.context) {
    chcon = find_program("chcon");
    std::error_code ec;
    if (chcon.empty() || !fs::exists("/sys/fs/selinux/enforce", ec))
      return fail(ErrorKind::failed, "permissions for '{}' set an SELinux context, but SELinux is not enabled on this "
                                     "instance", p.object);
  }
  auto wants_type = [&](bool is_dir) {
    auto t = is_dir ? PermissionType::directory : PermissionType::file;
    return std::find(p.types.begin(), p.types.end(), t) != p.types.end();
  };
  size_t applied = 0;
  for (auto& path : installed) {
    std::string rel;
    if (path == object) {
      rel = "";
    } else {
      auto r = path.lexically_relative(object).generic_string();
      if (r.empty() || r.starts_with("..")) continue;
      rel = r;
      if (!pattern.matches(rel)) continue;
      if (std::any_of(excepts.begin(), excepts.end(), [&](auto& e) { return e.matches(rel); })) continue;
    }
    std::error_code ec;
    bool is_dir = fs::is_directory(fs::symlink_status(path, ec));
    if (!wants_type(is_dir)) continue;
    if (uid || gid) {
      if (::lchown(path.c_str(), uid ? *uid : static_cast<uid_t>(-1), gid ? *gid : static_cast<gid_t>(-1)) != 0)
        return fail_errno(fmt::format("cannot change the owner of '{}'", path.string()), errno);
    }
    if (p.mode && !fs::is_symlink(fs::symlink_status(path, ec))) {
      if (::chmod(path.c_str(), static_cast<mode_t>(*p.mode)) != 0)
        return fail_errno(fmt::format("cannot change the mode of '{}'", path.string()), errno);
    }
    if (!p.acls.empty()) {
      std::vector<std::string> entries;
      for (auto& a : p.acls)
        if (!a.is_default || is_dir) entries.push_back(acl_text(a));
      if (!entries.empty()) {
        ProcessSpec spec;
        spec.argv = {setfacl, "-m", join(entries, ","), path.string()};
        auto capture = std::make_shared<CaptureSink>();
        spec.sink = capture;
        spec.merge_stderr = true;
        auto r = runner.run(spec);
        if (!r || !r->succeeded())
          return fail(ErrorKind::failed, "setfacl on '{}' failed: {}", path.string(),
                      r ? std::string(trim(capture->out())) : r.error().message);
      }
    }
    if (p.context) {
      ProcessSpec spec;
      spec.argv = {chcon};
      if (p.context->name) spec.argv.insert(spec.argv.end(), {"-u", *p.context->name});
      if (p.context->role) spec.argv.insert(spec.argv.end(), {"-r", *p.context->role});
      spec.argv.insert(spec.argv.end(), {"-t", p.context->type});
      if (p.context->range) spec.argv.insert(spec.argv.end(), {"-l", *p.context->range});
      spec.argv.push_back(path.string());
      auto capture = std::make_shared<CaptureSink>();
      spec.sink = capture;
      spec.merge_stderr = true;
      auto r = runner.run(spec);
      if (!r || !r->succeeded())
        return fail(ErrorKind::failed, "chcon on '{}' failed: {}", path.string(),
                    r ? std::string(trim(capture->out())) : r.error().message);
    }
    ++applied;
  }
  out.log.push_back(fmt::format("permissions for {} (pattern {}): applied to {} path{}", p.object, p.pattern, applied,
                                applied == 1 ? "" : "s"));
  return {};
}

}  // namespace

Result<InstallOutcome> install_revision(const InstallRequest& request, ProcessRunner& runner) {
  InstallOutcome out;
  const Appspec& spec = *request.spec;
  std::error_code ec;

  // 1. What the previous deployment installed goes first, files before their directories.
  if (auto previous = read_file(request.previous_cleanup)) {
    auto lines = split_lines(*previous);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (it->empty()) continue;
      fs::path p(*it);
      auto st = fs::symlink_status(p, ec);
      if (ec || st.type() == fs::file_type::not_found) continue;
      if (fs::is_directory(st)) {
        if (fs::is_empty(p, ec)) fs::remove(p, ec);
      } else {
        fs::remove(p, ec);
        if (!ec) ++out.removed;
      }
    }
    out.log.push_back(fmt::format("removed {} file{} of the previous deployment", out.removed, out.removed == 1 ? "" : "s"));
  }

  // 2. Plan every copy first, so a conflict is found before anything is written.
  std::vector<Copy> copies;
  std::map<fs::path, std::string> sources_of;  // target -> source, to catch two sources for one target
  for (auto& mapping : spec.files) {
    fs::path src = source_path(request.archive_dir, mapping.source);
    fs::path dest = under_root(request.root, mapping.destination);
    auto st = fs::symlink_status(src, ec);
    if (ec || st.type() == fs::file_type::not_found)
      return fail(ErrorKind::failed, "files: source '{}' is not in the revision", mapping.source);
    auto add = [&](const fs::path& from, const fs::path& to, bool is_dir) -> Status {
      auto [it, inserted] = sources_of.emplace(to, from.lexically_relative(request.archive_dir).string());
      if (!inserted && !is_dir)
        return fail(ErrorKind::failed, "files: '{}' and '{}' would both be installed at {}", it->second,
                    from.lexically_relative(request.archive_dir).string(), to.string());
      copies.push_back({from, to, is_dir});
      return {};
    };
    if (fs::is_directory(st)) {
      // A directory source copies its contents.
      std::vector<fs::path> entries;
      for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        entries.push_back(it->path());
      std::sort(entries.begin(), entries.end());
      if (auto s = add(src, dest, true); !s) return std::unexpected(s.error());
      for (auto& e : entries) {
        bool is_dir = fs::is_directory(fs::symlink_status(e, ec));
        if (auto s = add(e, dest / e.lexically_relative(src), is_dir); !s) return std::unexpected(s.error());
      }
    } else {
      // A file lands at destination/<basename>.
      if (auto s = add(dest, dest, true); !s) return std::unexpected(s.error());
      if (auto s = add(src, dest / src.filename(), false); !s) return std::unexpected(s.error());
    }
  }
  if (request.file_exists_behavior == FileExistsBehavior::disallow) {
    for (auto& c : copies) {
      if (c.is_dir) continue;
      if (exists_no_follow(c.to))
        return fail(ErrorKind::failed,
                    "a file already exists at {} and was not installed by the previous deployment; "
                    "file_exists_behavior is DISALLOW (use OVERWRITE or RETAIN, or remove it)",
                    c.to.string());
    }
  }

  // 3. Directories first, in order, remembering which we created for the next cleanup.
  std::vector<fs::path> installed;  // what permissions apply to
  std::vector<fs::path> created;    // what the next deployment removes: not directories that were there
  std::set<fs::path> seen_dirs;
  for (auto& c : copies) {
    if (!c.is_dir) continue;
    std::vector<fs::path> chain;
    for (fs::path d = c.to; !d.empty() && !fs::exists(d, ec) && d != d.parent_path(); d = d.parent_path())
      chain.push_back(d);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      fs::create_directory(*it, ec);
      if (ec) return fail(ErrorKind::io, "cannot create directory '{}': {}", it->string(), ec.message());
      if (seen_dirs.insert(*it).second) {
        installed.push_back(*it);
        created.push_back(*it);
      }
    }
    if (chain.empty() && fs::is_directory(c.to, ec) && seen_dirs.insert(c.to).second && c.to != request.root)
      installed.push_back(c.to);  // pre-existing: permissions may apply, cleanup must not remove it
  }

  // 4. Before any file is written, the cleanup list names every file this deployment may write,
  // so that a deployment killed half-way is cleaned up by the next one.
  enum class Outcome : unsigned char { none, copied, retained };
  std::vector<Outcome> outcomes(copies.size(), Outcome::none);
  std::vector<bool> existed(copies.size(), false);
  std::string planned;
  for (auto& p : created) planned += p.string() + "\n";
  for (size_t i = 0; i < copies.size(); ++i) {
    if (copies[i].is_dir) continue;
    existed[i] = exists_no_follow(copies[i].to);
    if (!existed[i] || request.file_exists_behavior == FileExistsBehavior::overwrite)
      planned += copies[i].to.string() + "\n";
  }
  if (auto st = write_file_atomic(request.new_cleanup, planned, {.sync = false}); !st) return std::unexpected(st.error());

  // 5. The files, on several threads: creating many small files is bound by the file system's
  // per-file work, which spreads over cores.
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (size_t i = next++; i < copies.size(); i = next++) {
      auto& c = copies[i];
      if (c.is_dir) continue;
      {
        std::lock_guard lock(error_mutex);
        if (first_error) return;
      }
      if (existed[i] && request.file_exists_behavior == FileExistsBehavior::retain) {
        outcomes[i] = Outcome::retained;
        continue;
      }
      if (auto st = copy_one(c.from, c.to); !st) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = st.error();
        return;
      }
      outcomes[i] = Outcome::copied;
    }
  };
  unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first_error) return std::unexpected(*first_error);
  for (size_t i = 0; i < copies.size(); ++i) {
    if (outcomes[i] == Outcome::retained) ++out.retained;
    if (outcomes[i] != Outcome::copied) continue;
    ++out.copied;
    if (existed[i]) ++out.overwritten;
    installed.push_back(copies[i].to);
    created.push_back(copies[i].to);
  }
  // The final list: what was really written.
  std::string cleanup;
  for (auto& p : created) cleanup += p.string() + "\n";
  if (auto s = write_file_atomic(request.new_cleanup, cleanup, {.sync = false}); !s) return std::unexpected(s.error());
  out.log.push_back(fmt::format("copied {} file{} ({} overwritten, {} retained)", out.copied, out.copied == 1 ? "" : "s",
                                out.overwritten, out.retained));

  // 6. Permissions, on what this deployment installed.
  for (auto& p : spec.permissions)
    if (auto s = apply_permission(p, request.root, installed, runner, out); !s) return std::unexpected(s.error());
  return out;
}

}  // namespace cicd

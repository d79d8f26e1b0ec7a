#include "deploy/install.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
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

// Places one file (see FileWrite): true when it became a hard link.
Result<bool> copy_one(const FileWrite& w) {
  const fs::path& from = w.from;
  const fs::path& to = w.to;
  std::error_code ec;
  auto st = fs::symlink_status(from, ec);
  if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", from.string(), ec.message());
  if (exists_no_follow(to)) {
    // Removed, never written through: it may be a link to an earlier revision's archive.
    fs::remove(to, ec);
    if (ec) return fail(ErrorKind::io, "cannot replace '{}': {}", to.string(), ec.message());
  }
  if (fs::is_symlink(st)) {
    fs::copy_symlink(from, to, ec);
  } else {
    if (w.may_link && ::link(from.c_str(), to.c_str()) == 0) return true;
    // Not linked (another file system, a link count at its limit, ...): a copy.
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(to, st.permissions(), fs::perm_options::replace, ec);
    if (!ec) fs::last_write_time(to, fs::last_write_time(from, ec), ec);
  }
  if (ec) return fail(ErrorKind::io, "cannot copy '{}' to '{}': {}", from.string(), to.string(), ec.message());
  return false;
}

// Which installed paths a `permissions` entry names: under its object, matching its pattern and
// none of its excepts, of its types.
class PermissionMatcher {
 public:
  PermissionMatcher(const Permission& p, const fs::path& root)
      : m_permission(p), m_object(under_root(root, p.object)), m_pattern(p.pattern) {
    for (auto& e : p.except) m_excepts.emplace_back(e);
  }
  bool names(const fs::path& path, bool is_dir) const {
    auto t = is_dir ? PermissionType::directory : PermissionType::file;
    if (std::find(m_permission.types.begin(), m_permission.types.end(), t) == m_permission.types.end()) return false;
    if (path == m_object) return true;
    auto rel = path.lexically_relative(m_object).generic_string();
    if (rel.empty() || rel.starts_with("..")) return false;
    if (!m_pattern.matches(rel)) return false;
    return std::none_of(m_excepts.begin(), m_excepts.end(), [&](auto& e) { return e.matches(rel); });
  }

 private:
  const Permission& m_permission;
  fs::path m_object;
  GlobPattern m_pattern;
  std::vector<GlobPattern> m_excepts;
};

std::string acl_text(const AclEntry& e) {
  std::string out = e.is_default ? "d:" : "";
  out += e.type.substr(0, 1) + ":" + e.name + ":" + e.permissions;
  return out;
}

// This machine's file system, changed as we go.
class LocalInstallTarget final : public InstallTarget {
 public:
  explicit LocalInstallTarget(ProcessRunner& runner) : m_runner(runner) {}

  Result<std::optional<size_t>> begin(const InstallQuery& query) override {
    auto previous = read_file(query.previous_cleanup);
    if (!previous) return std::optional<size_t>{};
    size_t removed = 0;
    std::error_code ec;
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
        if (!ec) ++removed;
      }
    }
    return std::optional<size_t>{removed};
  }

  DestinationState state(const fs::path& path) override {
    DestinationState s;
    std::error_code ec;
    auto l = fs::symlink_status(path, ec);
    s.present = !ec && l.type() != fs::file_type::not_found;
    s.is_symlink = fs::is_symlink(l);
    s.is_directory = fs::is_directory(l);
    auto t = fs::status(path, ec);
    s.resolves = !ec && t.type() != fs::file_type::not_found;
    s.resolves_to_directory = !ec && fs::is_directory(t);
    return s;
  }

  Status create_directory(const fs::path& path) override {
    std::error_code ec;
    fs::create_directory(path, ec);
    if (ec) return fail(ErrorKind::io, "cannot create directory '{}': {}", path.string(), ec.message());
    return {};
  }

  // On several threads: creating many small files is bound by the file system's per-file work,
  // which spreads over cores.
  Result<size_t> copy_files(const std::vector<FileWrite>& files) override {
    std::atomic<size_t> next{0}, linked{0};
    std::mutex error_mutex;
    std::optional<Error> first_error;
    auto worker = [&] {
      for (size_t i = next++; i < files.size(); i = next++) {
        {
          std::lock_guard lock(error_mutex);
          if (first_error) return;
        }
        auto placed = copy_one(files[i]);
        if (!placed) {
          std::lock_guard lock(error_mutex);
          if (!first_error) first_error = placed.error();
          return;
        }
        if (*placed) ++linked;
      }
    };
    unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (first_error) return std::unexpected(*first_error);
    return linked.load();
  }

  Status write_cleanup(const fs::path& path, const std::string& content) override {
    return write_file_atomic(path, content, {.sync = false});
  }

  bool user_exists(const std::string& name) override { return ::getpwnam(name.c_str()) != nullptr; }
  bool group_exists(const std::string& name) override { return ::getgrnam(name.c_str()) != nullptr; }
  bool has_setfacl() override {
    if (m_setfacl.empty()) m_setfacl = find_program("setfacl");
    return !m_setfacl.empty();
  }
  bool selinux_enabled() override {
    if (m_chcon.empty()) m_chcon = find_program("chcon");
    std::error_code ec;
    return !m_chcon.empty() && fs::exists("/sys/fs/selinux/enforce", ec);
  }

  Status change_owner(const fs::path& path, const std::optional<std::string>& owner,
                      const std::optional<std::string>& group) override {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (owner) {
      const passwd* pw = ::getpwnam(owner->c_str());
      if (!pw) return fail(ErrorKind::failed, "owner '{}' does not exist on this instance", *owner);
      uid = pw->pw_uid;
    }
    if (group) {
      const struct group* gr = ::getgrnam(group->c_str());
      if (!gr) return fail(ErrorKind::failed, "group '{}' does not exist on this instance", *group);
      gid = gr->gr_gid;
    }
    if (::lchown(path.c_str(), uid, gid) != 0)
      return fail_errno(fmt::format("cannot change the owner of '{}'", path.string()), errno);
    return {};
  }

  Status change_mode(const fs::path& path, unsigned mode) override {
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
      return fail_errno(fmt::format("cannot change the mode of '{}'", path.string()), errno);
    return {};
  }

  Status set_acl(const fs::path& path, const std::string& entries) override {
    has_setfacl();
    return run_tool("setfacl", {m_setfacl, "-m", entries, path.string()}, path);
  }

  Status set_context(const fs::path& path, const std::vector<std::string>& chcon_options) override {
    selinux_enabled();
    std::vector<std::string> argv = {m_chcon};
    argv.insert(argv.end(), chcon_options.begin(), chcon_options.end());
    argv.push_back(path.string());
    return run_tool("chcon", argv, path);
  }

 private:
  Status run_tool(std::string_view name, std::vector<std::string> argv, const fs::path& path) {
    ProcessSpec spec;
    spec.argv = std::move(argv);
    auto capture = std::make_shared<CaptureSink>();
    spec.sink = capture;
    spec.merge_stderr = true;
    auto r = m_runner.run(spec);
    if (!r || !r->succeeded())
      return fail(ErrorKind::failed, "{} on '{}' failed: {}", name, path.string(),
                  r ? std::string(trim(capture->out())) : r.error().message);
    return {};
  }

  ProcessRunner& m_runner;
  std::string m_setfacl, m_chcon;
};

// The revision's files each `files` mapping installs, in order; a directory entry stands for the
// directory (and the chain above it) to create.
Status plan_copies(const InstallRequest& request, std::vector<Copy>& copies) {
  const Appspec& spec = *request.spec;
  std::error_code ec;
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
      if (auto s = add(src, dest, true); !s) return s;
      for (auto& e : entries) {
        bool is_dir = fs::is_directory(fs::symlink_status(e, ec));
        if (auto s = add(e, dest / e.lexically_relative(src), is_dir); !s) return s;
      }
    } else {
      // A file lands at destination/<basename>.
      if (auto s = add(dest, dest, true); !s) return s;
      if (auto s = add(src, dest / src.filename(), false); !s) return s;
    }
  }
  return {};
}

// Everything the Install step will ask the target about: each destination and the directories
// above it (the chain a directory's creation walks up).
InstallQuery query_for(const InstallRequest& request, const std::vector<Copy>& copies) {
  InstallQuery q;
  q.previous_cleanup = request.previous_cleanup;
  std::set<fs::path> paths;
  for (auto& c : copies)
    for (fs::path d = c.to; !d.empty() && paths.insert(d).second && d != d.parent_path(); d = d.parent_path()) {
    }
  q.paths.assign(paths.begin(), paths.end());
  std::set<std::string> users, groups;
  for (auto& p : request.spec->permissions) {
    if (p.owner) users.insert(*p.owner);
    if (p.group) groups.insert(*p.group);
    q.acls = q.acls || !p.acls.empty();
    q.contexts = q.contexts || p.context.has_value();
  }
  q.users.assign(users.begin(), users.end());
  q.groups.assign(groups.begin(), groups.end());
  return q;
}

// Applies one permission entry to the installed paths it covers.
Status apply_permission(const Permission& p, const fs::path& root, const std::vector<fs::path>& installed,
                        InstallTarget& target, InstallOutcome& out) {
  PermissionMatcher matcher(p, root);
  if (p.owner && !target.user_exists(*p.owner))
    return fail(ErrorKind::failed, "permissions for '{}': owner '{}' does not exist on this instance", p.object, *p.owner);
  if (p.group && !target.group_exists(*p.group))
    return fail(ErrorKind::failed, "permissions for '{}': group '{}' does not exist on this instance", p.object, *p.group);
  if (!p.acls.empty() && !target.has_setfacl())
    return fail(ErrorKind::failed, "permissions for '{}' set acls, but setfacl is not installed on this instance "
                                   "(Debian: apt-get install acl)", p.object);
  if (p.context && !target.selinux_enabled())
    return fail(ErrorKind::failed, "permissions for '{}' set an SELinux context, but SELinux is not enabled on this "
                                   "instance", p.object);
  size_t applied = 0;
  for (auto& path : installed) {
    auto state = target.state(path);
    bool is_dir = state.is_directory;
    if (!matcher.names(path, is_dir)) continue;
    if (p.owner || p.group)
      if (auto s = target.change_owner(path, p.owner, p.group); !s) return s;
    if (p.mode && !state.is_symlink)
      if (auto s = target.change_mode(path, *p.mode); !s) return s;
    if (!p.acls.empty()) {
      std::vector<std::string> entries;
      for (auto& a : p.acls)
        if (!a.is_default || is_dir) entries.push_back(acl_text(a));
      if (!entries.empty())
        if (auto s = target.set_acl(path, join(entries, ",")); !s) return s;
    }
    if (p.context) {
      std::vector<std::string> options;
      if (p.context->name) options.insert(options.end(), {"-u", *p.context->name});
      if (p.context->role) options.insert(options.end(), {"-r", *p.context->role});
      options.insert(options.end(), {"-t", p.context->type});
      if (p.context->range) options.insert(options.end(), {"-l", *p.context->range});
      if (auto s = target.set_context(path, options); !s) return s;
    }
    ++applied;
  }
  out.log.push_back(fmt::format("permissions for {} (pattern {}): applied to {} path{}", p.object, p.pattern, applied,
                                applied == 1 ? "" : "s"));
  return {};
}

}  // namespace

Result<InstallOutcome> install_revision(const InstallRequest& request, ProcessRunner& runner) {
  LocalInstallTarget target(runner);
  return install_revision(request, target);
}

Result<InstallOutcome> install_revision(const InstallRequest& request, InstallTarget& target) {
  InstallOutcome out;
  const Appspec& spec = *request.spec;

  // 1. Plan every copy first (the revision is read, the target not yet), so a conflict is found
  //    before anything is written.
  std::vector<Copy> copies;
  auto plan = plan_copies(request, copies);

  // 2. What the previous deployment installed goes first, files before their directories.
  auto removed = target.begin(query_for(request, plan ? copies : std::vector<Copy>{}));
  if (!removed) return std::unexpected(removed.error());
  if (*removed) {
    out.removed = **removed;
    out.log.push_back(fmt::format("removed {} file{} of the previous deployment", out.removed, out.removed == 1 ? "" : "s"));
  }
  if (!plan) return std::unexpected(plan.error());
  if (request.file_exists_behavior == FileExistsBehavior::disallow) {
    for (auto& c : copies) {
      if (c.is_dir) continue;
      if (target.state(c.to).present)
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
    for (fs::path d = c.to; !d.empty() && !target.state(d).resolves && d != d.parent_path(); d = d.parent_path())
      chain.push_back(d);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if (auto s = target.create_directory(*it); !s) return std::unexpected(s.error());
      if (seen_dirs.insert(*it).second) {
        installed.push_back(*it);
        created.push_back(*it);
      }
    }
    if (chain.empty() && target.state(c.to).resolves_to_directory && seen_dirs.insert(c.to).second &&
        c.to != request.root)
      installed.push_back(c.to);  // pre-existing: permissions may apply, cleanup must not remove it
  }

  // 4. Before any file is written, the cleanup list names every file this deployment may write,
  // so that a deployment killed half-way is cleaned up by the next one.
  std::vector<bool> existed(copies.size(), false);
  std::vector<FileWrite> writes;
  // A hard link is safe for a file nothing here changes: not a hook script (the archive's copy
  // runs), not named by `permissions` (its owner, mode, ACLs would change the archive's copy).
  std::set<fs::path> scripts;
  std::vector<PermissionMatcher> matchers;
  if (request.hard_links) {
    for (auto& hook : spec.hooks)
      for (auto& script : hook.scripts) scripts.insert(source_path(request.archive_dir, script.location));
    for (auto& p : spec.permissions) matchers.emplace_back(p, request.root);
  }
  std::vector<size_t> written;  // index in `copies` of each write
  std::string planned;
  for (auto& p : created) planned += p.string() + "\n";
  for (size_t i = 0; i < copies.size(); ++i) {
    if (copies[i].is_dir) continue;
    existed[i] = target.state(copies[i].to).present;
    if (existed[i] && request.file_exists_behavior == FileExistsBehavior::retain) {
      ++out.retained;
      continue;
    }
    planned += copies[i].to.string() + "\n";
    bool may_link = request.hard_links && !scripts.contains(copies[i].from) &&
                    std::none_of(matchers.begin(), matchers.end(), [&](auto& m) { return m.names(copies[i].to, false); });
    writes.push_back({copies[i].from, copies[i].to, may_link});
    written.push_back(i);
  }
  if (auto st = target.write_cleanup(request.new_cleanup, planned); !st) return std::unexpected(st.error());

  // 5. The files.
  auto linked = target.copy_files(writes);
  if (!linked) return std::unexpected(linked.error());
  out.linked = *linked;
  for (size_t i : written) {
    ++out.copied;
    if (existed[i]) ++out.overwritten;
    installed.push_back(copies[i].to);
    created.push_back(copies[i].to);
  }
  // The final list: what was really written.
  std::string cleanup;
  for (auto& p : created) cleanup += p.string() + "\n";
  if (auto s = target.write_cleanup(request.new_cleanup, cleanup); !s) return std::unexpected(s.error());
  out.log.push_back(fmt::format("copied {} file{} ({} overwritten, {} retained){}", out.copied,
                                out.copied == 1 ? "" : "s", out.overwritten, out.retained,
                                out.linked ? fmt::format("; {} as hard links to the deployment archive", out.linked) : ""));

  // 6. Permissions, on what this deployment installed.
  for (auto& p : spec.permissions)
    if (auto s = apply_permission(p, request.root, installed, target, out); !s) return std::unexpected(s.error());
  return out;
}

}  // namespace cicd

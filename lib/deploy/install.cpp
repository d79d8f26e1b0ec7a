#include "deploy/install.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>
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
  bool is_symlink = false;
};

// A path of the appspec's (a destination, a permission's object) on the instance. It is
// normalized from "/" before the root prefix goes in front, as the agent normalizes it, so that
// no ".." can climb out of the instance's root: "/srv/../../tmp/x" is "/tmp/x", under the root.
fs::path under_root(const fs::path& root, const std::string& absolute) {
  return (root / fs::path(normalize_absolute_path(absolute)).relative_path()).lexically_normal();
}

// The revision path a `files` source names ("/" is all of it), normalized the same way, so that
// it never names a file outside the revision.
fs::path source_path(const fs::path& archive, const std::string& source) {
  fs::path inside = fs::path(normalize_absolute_path(source)).relative_path();
  return inside.empty() ? archive : (archive / inside).lexically_normal();
}

// A copy of the file `from` at `to` (which must not exist), with its mode and modification time.
// errno-style failures keep their errno in `err` (EEXIST: something is at `to`).
Status copy_regular(const fs::path& from, const fs::path& to, int& err) {
  err = 0;
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return fail_errno(fmt::format("cannot read '{}'", from.string()), err = errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return fail_errno(fmt::format("cannot read '{}'", from.string()), err = errno);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail_errno(fmt::format("cannot create '{}'", to.string()), err = errno);
  auto failed = [&](int e) {
    ::unlink(to.c_str());
    return fail_errno(fmt::format("cannot copy '{}' to '{}'", from.string(), to.string()), err = e);
  };
  bool in_kernel = true;
  for (off_t left = st.st_size; left > 0;) {
    if (in_kernel) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
      if (n > 0) {
        left -= n;
        continue;
      }
      if (n == 0) break;  // it shrank meanwhile
      if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) return failed(errno);
      in_kernel = false;  // not here: through a buffer
    }
    char buf[64 * 1024];
    ssize_t got = ::read(in.get(), buf, sizeof buf);
    if (got < 0) return failed(errno);
    if (got == 0) break;
    if (auto w = write_all(out.get(), std::string_view(buf, static_cast<size_t>(got)), to); !w) {
      ::unlink(to.c_str());
      return w;
    }
    left -= got;
  }
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return failed(errno);
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(out.get(), times) != 0) return failed(errno);
  if (::close(out.release()) != 0) return failed(errno);
  return {};
}

// Places one file (see FileWrite): true when it became a hard link. A file in the way is removed,
// never written through: it may be a link to an earlier revision's archive.
Result<bool> copy_one(const FileWrite& w, bool links_allowed) {
  const fs::path& from = w.from;
  const fs::path& to = w.to;
  auto remove_existing = [&]() -> Status {
    std::error_code ec;
    fs::remove(to, ec);  // nothing there is no error
    if (ec) return fail(ErrorKind::io, "cannot replace '{}': {}", to.string(), ec.message());
    return {};
  };
  if (w.replaces)
    if (auto st = remove_existing(); !st) return std::unexpected(st.error());
  // Each way of placing it fails with EEXIST when something appeared at `to` since the step
  // looked: then that goes, and the place is tried once more.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1)
      if (auto st = remove_existing(); !st) return std::unexpected(st.error());
    if (w.is_symlink) {
      std::error_code ec;
      fs::copy_symlink(from, to, ec);
      if (!ec) return false;
      if (ec == std::errc::file_exists) continue;
      return fail(ErrorKind::io, "cannot copy '{}' to '{}': {}", from.string(), to.string(), ec.message());
    }
    if (w.may_link && links_allowed) {
      if (::link(from.c_str(), to.c_str()) == 0) return true;
      if (errno == EEXIST) continue;
      // Not linked (another file system, a link count at its limit, ...): a copy.
    }
    int err = 0;
    auto copied = copy_regular(from, to, err);
    if (copied) return false;
    if (err == EEXIST) continue;
    return std::unexpected(copied.error());
  }
  return fail(ErrorKind::io, "cannot place '{}': something keeps appearing at '{}'", from.string(), to.string());
}

bool selinux_on() {
  std::error_code ec;
  return fs::exists("/sys/fs/selinux/enforce", ec);
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

  bool answers_from_query() const override { return false; }

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
    // Before any file is placed, nothing is inside a directory this step created.
    if (!m_placing && !m_created.empty()) {
      const std::string& p = path.native();
      if (m_created.contains(p)) return DestinationState{true, false, true, true, true};
      auto slash = p.rfind('/');
      if (slash != std::string::npos && slash > 0 && m_created.contains(p.substr(0, slash))) return DestinationState{};
    }
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
    bool created = fs::create_directory(path, ec);
    if (ec) return fail(ErrorKind::io, "cannot create directory '{}': {}", path.string(), ec.message());
    if (created) m_created.insert(path.native());
    return {};
  }

  // On several threads: creating many small files is bound by the file system's per-file work,
  // which spreads over cores.
  // Under SELinux a file's label belongs to its inode: a link would carry the archive's label into
  // the destination, where a copy gets the destination's. There, copies only.
  Result<size_t> copy_files(const std::vector<FileWrite>& files) override {
    m_placing = true;
    bool links = !selinux_on();
    std::atomic<size_t> next{0}, linked{0};
    std::mutex error_mutex;
    std::optional<Error> first_error;
    // Runs of neighbours (the files come sorted, so mostly of one directory) per thread: two
    // threads adding names to one directory wait for each other's hold on it.
    constexpr size_t k_run = 64;
    auto worker = [&] {
      for (size_t begin = next.fetch_add(k_run); begin < files.size(); begin = next.fetch_add(k_run)) {
        {
          std::lock_guard lock(error_mutex);
          if (first_error) return;
        }
        for (size_t i = begin; i < std::min(begin + k_run, files.size()); ++i) {
          auto placed = copy_one(files[i], links);
          if (!placed) {
            std::lock_guard lock(error_mutex);
            if (!first_error) first_error = placed.error();
            return;
          }
          if (*placed) ++linked;
        }
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
    return !m_chcon.empty() && selinux_on();
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
  std::unordered_set<std::string> m_created;  // directories this step created
  bool m_placing = false;        // files are being placed: states are looked up again
};

// The revision's files each `files` mapping installs, in order; a directory entry stands for the
// directory (and the chain above it) to create.
Status plan_copies(const InstallRequest& request, std::vector<Copy>& copies) {
  const Appspec& spec = *request.spec;
  std::error_code ec;
  // target -> source, to catch two sources for one target (strings: cheaper than paths to compare)
  std::unordered_map<std::string, fs::path> sources_of;
  for (auto& mapping : spec.files) {
    fs::path src = source_path(request.archive_dir, mapping.source);
    fs::path dest = under_root(request.root, mapping.destination);
    auto st = fs::symlink_status(src, ec);
    if (ec || st.type() == fs::file_type::not_found)
      return fail(ErrorKind::failed, "files: source '{}' is not in the revision", mapping.source);
    auto add = [&](const fs::path& from, const fs::path& to, bool is_dir) -> Status {
      auto [it, inserted] = sources_of.emplace(to.native(), from);
      if (!inserted && !is_dir)
        return fail(ErrorKind::failed, "files: '{}' and '{}' would both be installed at {}",
                    it->second.lexically_relative(request.archive_dir).string(),
                    from.lexically_relative(request.archive_dir).string(), to.string());
      copies.push_back({from, to, is_dir});
      return {};
    };
    if (fs::is_directory(st)) {
      // A directory source copies its contents.
      // (The types come with the directory listing: no stat per entry.)
      struct Entry {
        fs::path path;
        bool is_dir, is_symlink;
      };
      std::vector<Entry> entries;
      for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        bool link = it->is_symlink(ec);
        entries.push_back({it->path(), !link && it->is_directory(ec), link});
      }
      if (ec) return fail(ErrorKind::io, "cannot read the revision's '{}': {}", mapping.source, ec.message());
      // Sorted as strings: a directory still comes before what is in it (its name is their prefix).
      std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.path.native() < b.path.native(); });
      if (auto s = add(src, dest, true); !s) return s;
      const std::string& prefix = src.native();
      for (auto& e : entries) {
        // The entry's path below `src`, by its spelling (the iterator builds it as src/...).
        std::string_view p = e.path.native();
        fs::path rel;
        if (p.starts_with(prefix)) {
          p.remove_prefix(prefix.size());
          while (p.starts_with('/')) p.remove_prefix(1);
          rel = fs::path(std::string(p));
        } else {
          rel = e.path.lexically_relative(src);
        }
        if (auto s = add(e.path, dest / rel, e.is_dir); !s) return s;
        copies.back().is_symlink = e.is_symlink;
      }
    } else {
      // A file lands at destination/<basename>.
      if (auto s = add(dest, dest, true); !s) return s;
      if (auto s = add(src, dest / src.filename(), false); !s) return s;
      copies.back().is_symlink = fs::is_symlink(st);
    }
  }
  return {};
}

// Everything the Install step will ask the target about: each destination and the directories
// above it (the chain a directory's creation walks up).
InstallQuery query_for(const InstallRequest& request, const std::vector<Copy>& copies, bool target_wants_paths) {
  InstallQuery q;
  q.previous_cleanup = request.previous_cleanup;
  if (target_wants_paths) {
    std::set<fs::path> paths;
    for (auto& c : copies)
      for (fs::path d = c.to; !d.empty() && paths.insert(d).second && d != d.parent_path(); d = d.parent_path()) {
      }
    q.paths.assign(paths.begin(), paths.end());
  }
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
  auto removed = target.begin(query_for(request, plan ? copies : std::vector<Copy>{}, target.answers_from_query()));
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
  std::unordered_set<std::string> seen_dirs;
  for (auto& c : copies) {
    if (!c.is_dir) continue;
    std::vector<fs::path> chain;
    for (fs::path d = c.to; !d.empty() && !target.state(d).resolves && d != d.parent_path(); d = d.parent_path())
      chain.push_back(d);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if (auto s = target.create_directory(*it); !s) return std::unexpected(s.error());
      if (seen_dirs.insert(it->native()).second) {
        installed.push_back(*it);
        created.push_back(*it);
      }
    }
    if (chain.empty() && target.state(c.to).resolves_to_directory && seen_dirs.insert(c.to.native()).second &&
        c.to != request.root)
      installed.push_back(c.to);  // pre-existing: permissions may apply, cleanup must not remove it
  }

  // 4. Before any file is written, the cleanup list names every file this deployment may write,
  // so that a deployment killed half-way is cleaned up by the next one.
  std::vector<bool> existed(copies.size(), false);
  std::vector<FileWrite> writes;
  // A hard link is safe for a file nothing here changes: not a hook script (the archive's copy
  // runs), not named by `permissions` (its owner, mode, ACLs would change the archive's copy).
  std::unordered_set<std::string> scripts;
  std::vector<PermissionMatcher> matchers;
  if (request.hard_links) {
    for (auto& hook : spec.hooks)
      for (auto& script : hook.scripts) scripts.insert(source_path(request.archive_dir, script.location).native());
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
    bool may_link = request.hard_links && !scripts.contains(copies[i].from.native()) &&
                    std::none_of(matchers.begin(), matchers.end(), [&](auto& m) { return m.names(copies[i].to, false); });
    writes.push_back({copies[i].from, copies[i].to, may_link, copies[i].is_symlink, existed[i]});
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

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "artifact/archive.hpp"
#include "deploy/bundle_unpack.hpp"
#include "deploy/host.hpp"
#include "util/fs.hpp"

namespace cicd {

namespace fs = std::filesystem;

LocalHost::LocalHost(std::string name, fs::path root, ProcessRunner& runner)
    : m_name(std::move(name)), m_root(std::move(root)), m_runner(runner) {}

std::string LocalHost::describe() const {
  return m_root == "/" ? fmt::format("{} (local)", m_name) : fmt::format("{} (local, root {})", m_name, m_root.string());
}

std::string LocalHost::deployment_root() const {
  return (m_root / "opt/cdeploy/deployment-root").lexically_normal().string();
}

Status LocalHost::unpack_bundle(const fs::path& bundle, const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return fail(ErrorKind::io, "cannot remove '{}': {}", dir, ec.message());
  // The bundle is one cdeploy wrote: unpacked on several threads, symlinks last.
  return unpack_own_bundle(bundle, dir);
}

Result<std::optional<std::string>> LocalHost::read_text(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return std::optional<std::string>{};
    return std::unexpected(text.error());
  }
  return std::optional<std::string>{std::move(*text)};
}

Status LocalHost::write_text(const std::string& path, const std::string& content) {
  return write_file_atomic(path, content, {.sync = false});
}

Status LocalHost::append_text(const std::string& path, const std::string& content) { return append_file(path, content); }

Status LocalHost::remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(ErrorKind::io, "cannot remove '{}': {}", path, ec.message());
  return {};
}

Result<std::vector<std::string>> LocalHost::list_directories(const std::string& path) {
  std::vector<std::pair<fs::file_time_type, std::string>> dirs;
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(path, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;  // as the ssh host: nothing there yet
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // An entry that vanished or dangles is no directory; it does not end the listing.
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec)) continue;
    auto time = it->last_write_time(entry_ec);
    if (!entry_ec) dirs.emplace_back(time, it->path().string());
  }
  if (ec) return fail(ErrorKind::io, "cannot list '{}': {}", path, ec.message());
  std::sort(dirs.begin(), dirs.end());
  for (auto& d : dirs) out.push_back(d.second);
  return out;
}

Result<InstallOutcome> LocalHost::install(const Appspec& spec, const std::string& archive_dir,
                                          const std::string& cleanup_file, FileExistsBehavior behavior,
                                          bool hard_links) {
  InstallRequest request;
  request.spec = &spec;
  request.archive_dir = archive_dir;
  request.root = m_root;
  request.previous_cleanup = cleanup_file;
  request.new_cleanup = cleanup_file;
  request.file_exists_behavior = behavior;
  request.hard_links = hard_links;
  return install_revision(request, m_runner);
}

ScriptState LocalHost::check_script(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return ScriptState::missing;
  if ((st.st_mode & 0111) == 0) return ScriptState::not_executable;
  return ScriptState::ok;
}

std::vector<std::string> local_hook_argv(const HookRun& run, HookVia via) {
  if (via == HookVia::direct) return {run.script};
  // sudo resets the environment: the hook's variables go through env(1) on its far side. env takes
  // every word with a '=' for an assignment until the command, so the script (whose path may hold
  // one) is never that command: sh is, and runs the script it gets as $0, as the ssh wrapper does.
  std::vector<std::string> argv = {"sudo", "-n", "--", "env"};
  for (auto& [k, v] : run.env) argv.push_back(k + "=" + v);
  // A path without a '/' would make exec search PATH for it.
  std::string script = run.script.find('/') == std::string::npos ? "./" + run.script : run.script;
  argv.insert(argv.end(), {"/bin/sh", "-c", "exec \"$0\"", std::move(script)});
  return argv;
}

Result<ProcessResult> LocalHost::run_hook(const HookRun& run) {
  ProcessSpec spec;
  spec.argv = local_hook_argv(run, run.sudo && ::geteuid() != 0 ? HookVia::sudo : HookVia::direct);
  spec.environment = current_environment();
  for (auto& [k, v] : run.env) spec.environment[k] = v;
  spec.inherit_environment = false;
  spec.cwd = run.cwd;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(run.timeout);
  spec.sink = run.sink;
  spec.run_as_user = run.runas;
  // A daemon the script starts lives on (ApplicationStart starts the application); it may keep
  // our pipe open: do not wait for it.
  spec.run = run.run;
  spec.leftovers = Leftovers::keep;
  spec.drain_after_exit = std::chrono::milliseconds(300);
  return m_runner.run(spec);
}

std::string LocalHost::hook_user() { return current_user_name(); }

Result<std::unique_ptr<InstanceHost>> open_host(const Instance& instance, ProcessRunner& runner, Run* run) {
  if (instance.target.kind == TargetKind::local)
    return std::unique_ptr<InstanceHost>(std::make_unique<LocalHost>(instance.name, instance.root, runner));
  // CDEPLOY_SSH: the ssh command to use, with extra options ("ssh -F /etc/cdeploy/ssh_config"),
  // as GIT_SSH_COMMAND is for git, but split into words here rather than given to a shell.
  std::vector<std::string> ssh = {"ssh"};
  if (const char* custom = std::getenv("CDEPLOY_SSH"); custom && *custom) {
    auto words = split_ssh_command(custom);
    if (!words) return std::unexpected(words.error());
    if (!words->empty()) ssh = std::move(*words);
  }
  auto host = std::make_unique<SshHost>(instance.name, instance.target, instance.root, std::move(ssh), runner, run);
  if (auto st = host->connect(); !st) return std::unexpected(st.error());
  return std::unique_ptr<InstanceHost>(std::move(host));
}

}  // namespace cicd

// An instance as the deployment engine sees it: a place to unpack a bundle, files to read and
// write, the Install step, hook scripts to run. The local host works on this machine (under a
// root prefix); an SSH host does the same on another machine.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deploy/install.hpp"
#include "deploy/resources.hpp"
#include "formats/appspec.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace cicd {

struct HookRun {
  std::string script;  // path on the instance
  std::string cwd;     // the revision's directory on the instance
  Environment env;     // the documented hook variables (added to the host's own environment)
  std::chrono::seconds timeout{3600};
  std::optional<std::string> runas;
  bool sudo = false;  // the agent's `sudo: true`: through sudo when we are not root already
  std::shared_ptr<OutputSink> sink;
  // The deployment's run: its cancellation stops the hook (TERM, then KILL of its group).
  Run* run = nullptr;
};

enum class ScriptState { ok, missing, not_executable };

class InstanceHost {
 public:
  virtual ~InstanceHost() = default;
  virtual std::string describe() const = 0;
  // Where deployments live on the instance (paths below are all instance paths).
  virtual std::string deployment_root() const = 0;
  // Copies the bundle (a tar) to the instance and unpacks it into `dir`.
  virtual Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) = 0;
  // nullopt when the file does not exist.
  virtual Result<std::optional<std::string>> read_text(const std::string& path) = 0;
  virtual Status write_text(const std::string& path, const std::string& content) = 0;
  virtual Status append_text(const std::string& path, const std::string& content) = 0;
  virtual Status remove_tree(const std::string& path) = 0;
  // Subdirectories of `path`, oldest first (by modification time).
  virtual Result<std::vector<std::string>> list_directories(const std::string& path) = 0;
  // `hard_links`: see InstallRequest::hard_links (an SSH host always copies).
  virtual Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir,
                                         const std::string& cleanup_file, FileExistsBehavior behavior,
                                         bool hard_links) = 0;
  virtual ScriptState check_script(const std::string& path) = 0;
  virtual Result<ProcessResult> run_hook(const HookRun& run) = 0;
  // Who a hook without `runas` runs as on the instance (for messages).
  virtual std::string hook_user() = 0;
};

// How LocalHost starts a hook script: itself, or through `sudo -n` (the agent's `sudo: true` when
// not root already), the hook variables passed on by env(1). The script always runs, whatever its
// path holds (a '=' included).
enum class HookVia { direct, sudo };
std::vector<std::string> local_hook_argv(const HookRun& run, HookVia via);

// This machine, with destinations and the deployment root placed under `root`.
class LocalHost final : public InstanceHost {
 public:
  LocalHost(std::string name, std::filesystem::path root, ProcessRunner& runner);
  std::string describe() const override;
  std::string deployment_root() const override;
  Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) override;
  Result<std::optional<std::string>> read_text(const std::string& path) override;
  Status write_text(const std::string& path, const std::string& content) override;
  Status append_text(const std::string& path, const std::string& content) override;
  Status remove_tree(const std::string& path) override;
  Result<std::vector<std::string>> list_directories(const std::string& path) override;
  Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir, const std::string& cleanup_file,
                                 FileExistsBehavior behavior, bool hard_links) override;
  ScriptState check_script(const std::string& path) override;
  Result<ProcessResult> run_hook(const HookRun& run) override;
  std::string hook_user() override;

 private:
  std::string m_name;
  std::filesystem::path m_root;
  ProcessRunner& m_runner;
};

// An instance reached with the OpenSSH client (the user's keys, agent and known_hosts; BatchMode,
// so it never prompts), with destinations and the deployment root placed under `root` on the
// instance. All calls of one host share one connection (a ControlMaster whose socket lives in a
// private temporary directory), closed when the host goes away. Every command sent is one of the
// fixed POSIX sh scripts of ssh_host.cpp with its arguments quoted word by word; data travels on
// stdin (the bundle as a tar stream, the Install step's changes as a list). The instance needs a
// POSIX login shell, tar, coreutils (GNU tail), util-linux (setsid; setpriv for `runas` as
// root, sudo otherwise) and, for `permissions`, setfacl/chcon where used.
// How long one of SshHost's scripts may take, and whether a stop of the deployment ends it.
struct ScriptLimits {
  std::chrono::seconds timeout{600};
  bool stoppable = true;  // false: runs to its end even when the deployment is being stopped
};

class SshHost final : public InstanceHost {
 public:
  // `ssh_command`: the ssh program and any options of the user's (CDEPLOY_SSH), which come before
  // ours on the command line and so win over them.
  SshHost(std::string name, InstanceTarget target, std::filesystem::path root, std::vector<std::string> ssh_command,
          ProcessRunner& runner, Run* run = nullptr);
  ~SshHost() override;
  SshHost(const SshHost&) = delete;
  SshHost& operator=(const SshHost&) = delete;

  // Opens the shared connection; an unreachable host, a refused key or a host key problem is
  // "instance 'web2' (ssh deploy@10.0.0.5:22): ssh failed: <what ssh said>".
  Status connect();

  std::string describe() const override;
  std::string deployment_root() const override;
  Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) override;
  Result<std::optional<std::string>> read_text(const std::string& path) override;
  Status write_text(const std::string& path, const std::string& content) override;
  Status append_text(const std::string& path, const std::string& content) override;
  Status remove_tree(const std::string& path) override;
  Result<std::vector<std::string>> list_directories(const std::string& path) override;
  Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir, const std::string& cleanup_file,
                                 FileExistsBehavior behavior, bool hard_links) override;
  ScriptState check_script(const std::string& path) override;
  Result<ProcessResult> run_hook(const HookRun& run) override;
  std::string hook_user() override;

  struct Output {
    int exit_code = -1;  // 255: ssh itself failed
    std::string out;     // stdout, byte for byte
    std::string err;
  };
  // Runs one of our fixed scripts on the instance (`sh -c SCRIPT sh ARGS...`, each word quoted
  // for the remote shell), stdin from the local file `input` (or /dev/null). A script that
  // outlives its timeout, or a stop of the deployment, is ended: Error{timed_out} / {stopped}.
  Result<Output> run_script(std::string_view script, const std::vector<std::string>& args,
                            const std::filesystem::path& input = {}, ScriptLimits limits = {});
  // A private local file holding `content`, to send as a script's stdin.
  Result<std::filesystem::path> stage(std::string_view content);
  // The error for a script that failed: ssh's own failure (exit 255), else "<what>: <stderr>".
  Error failure(std::string_view what, const Output& output) const;

 private:
  std::string destination() const;  // user@host
  // Runs `script PATH` with `content` on its stdin; on failure "<what> 'PATH': <why>".
  Status send_text(std::string_view script, const std::string& path, const std::string& content, std::string_view what);
  std::vector<std::string> ssh_argv(std::vector<std::string> options, const std::string& remote_command) const;
  Error ssh_error(std::string_view ssh_stderr) const;

  std::string m_name;
  InstanceTarget m_target;
  std::filesystem::path m_root;
  std::vector<std::string> m_ssh;
  ProcessRunner& m_runner;
  Run* m_run = nullptr;
  std::optional<TempDir> m_private;  // the control socket and staged stdin files
  bool m_master = false;
  // The bundle last unpacked, also unpacked here: the Install step plans from it.
  std::optional<TempDir> m_mirror;
  std::string m_mirror_of;  // the instance directory it mirrors
  std::string m_login_user;  // `id -un` on the instance, once asked
};

// The words of CDEPLOY_SSH (e.g. "ssh -F /etc/cdeploy/ssh_config"): split at blanks, with '...'
// and "..." quoting and backslash escapes as a shell would, but nothing expanded.
Result<std::vector<std::string>> split_ssh_command(std::string_view text);

// The host for a registered instance: local, or ssh (connected, so a host that cannot be reached
// fails here). The ssh command is CDEPLOY_SSH from the environment when set, else "ssh". The
// processes a host starts (ssh clients, setfacl...) belong to `run` when given.
Result<std::unique_ptr<InstanceHost>> open_host(const Instance& instance, ProcessRunner& runner, Run* run = nullptr);

// How an engine reaches an instance: open_host, unless it is given another (tests give fakes).
using HostOpener = std::function<Result<std::unique_ptr<InstanceHost>>(const Instance&, ProcessRunner&, Run*)>;

}  // namespace cicd

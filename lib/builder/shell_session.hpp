// Runs buildspec commands so that variables and the working directory carry from one command to
// the next, as CodeBuild does. One long-lived shell per build reads each command from a control
// pipe, runs it in its own context (`. file`), and reports the exit status after it with a
// sentinel line, so a command costs no process start of its own. A command's own `exit` ends
// only that command: the shell saves its state on the way out and the next command starts a new
// shell that restores it. Switching user (run-as) moves the state to a shell of that user.
// Version 0.1 runs every command in a fresh shell instead.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/process.hpp"

namespace cicd {

enum class ShellKind { bash, posix_sh };

// Maps `env.shell` to a shell; nullopt for one we cannot run (pwsh, cmd.exe, ...).
std::optional<std::pair<ShellKind, std::string>> resolve_build_shell(const std::string& name);

struct ShellSessionOptions {
  std::filesystem::path state_dir;  // private, created by the session
  std::filesystem::path initial_cwd;
  Environment initial_environment;
  ShellKind shell = ShellKind::bash;
  std::string shell_path = "/bin/bash";
  // Version 0.1: every command starts afresh from the initial environment and directory.
  bool carry_state = true;
  // The build's run: its cancellation stops the command; the shells and what they leave running
  // in the background are its process groups, ended with the run.
  Run* run = nullptr;
};

struct CommandRun {
  std::optional<std::chrono::milliseconds> timeout;
  std::shared_ptr<OutputSink> sink;
  std::optional<std::string> run_as_user;
  // Set before the command runs, winning over whatever the state says (CODEBUILD_BUILD_SUCCEEDING).
  std::map<std::string, std::string> forced;
  std::chrono::milliseconds kill_grace{3000};
};

class ShellSession {
 public:
  ShellSession(ProcessRunner& runner, ShellSessionOptions options);
  ~ShellSession();
  ShellSession(const ShellSession&) = delete;
  ShellSession& operator=(const ShellSession&) = delete;

  // Runs one command (or one block script).
  Result<ProcessResult> run(const std::string& command, const CommandRun& how);
  // Starts the long-lived shell now rather than at the first command (nothing for version 0.1).
  Status start(const std::optional<std::string>& user = std::nullopt);
  // Expands `text` as the shell expands a here-document ($VAR, $(cmd), `cmd`), in the current
  // state, changing nothing. For artifact names and cache keys.
  Result<std::string> expand(const std::string& text, const CommandRun& how);
  // Current values of the named variables (those set, exported or not).
  Result<std::map<std::string, std::string>> values(const std::vector<std::string>& names, const CommandRun& how);
  // Ends the shell and everything it started.
  void close();

 private:
  struct Live;
  Result<ProcessResult> run_in_shell(const std::string& script, const CommandRun& how);
  Result<ProcessResult> run_fresh(const std::string& script, const CommandRun& how);
  Status start_shell(const std::optional<std::string>& user);
  Status save_and_stop(const CommandRun& how);
  void kill_shell(std::chrono::milliseconds grace);
  std::string next_file(std::string_view stem);

  ShellSessionOptions m_options;
  ProcessRunner& m_runner;
  std::unique_ptr<Live> m_live;
  std::optional<std::string> m_live_user;
  std::filesystem::path m_restore_file;  // state saved by the last shell, for the next
  std::filesystem::path m_cwd;
  uint64_t m_seq = 0;
  std::string m_nonce;
};

}  // namespace cicd

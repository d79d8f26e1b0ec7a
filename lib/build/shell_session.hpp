// Runs buildspec commands so that variables and the working directory carry from one command to
// the next, as CodeBuild does: each command is its own shell process (its own process group,
// its own exit status, so a command's `exit` ends only that command) that first restores the
// state the previous command saved and saves its own on exit.
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
};

struct CommandRun {
  std::optional<std::chrono::milliseconds> timeout;
  std::shared_ptr<OutputSink> sink;
  std::optional<std::string> run_as_user;
  // Set after the saved state is restored, so they win over it (CODEBUILD_BUILD_SUCCEEDING).
  std::map<std::string, std::string> forced;
};

class ShellSession {
 public:
  ShellSession(ProcessRunner& runner, ShellSessionOptions options);

  // Runs one command (or one block script) and saves the state it leaves behind.
  Result<ProcessResult> run(const std::string& command, const CommandRun& how);
  // Expands `text` as the shell expands a here-document ($VAR, $(cmd), `cmd`), in the current
  // state, changing nothing. For artifact names and cache keys.
  Result<std::string> expand(const std::string& text, const CommandRun& how);
  // Current values of the named variables (those set, exported or not).
  Result<std::map<std::string, std::string>> values(const std::vector<std::string>& names, const CommandRun& how);
  // The directory the last command left the shell in.
  std::filesystem::path current_directory() const;

 private:
  Result<ProcessResult> run_script(const std::string& script, const CommandRun& how, bool save_state,
                                   const std::map<std::string, std::string>& extra_env);
  ShellSessionOptions m_options;
  ProcessRunner& m_runner;
  bool m_has_state = false;
};

}  // namespace cicd

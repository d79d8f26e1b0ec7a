#include "build/shell_session.hpp"

#include <pwd.h>
#include <unistd.h>

#include "util/envfile.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

// Every script starts by taking our two control variables out of the environment, so the
// user's commands and their children never see them.
constexpr const char* k_prologue =
    "__cicd_state=$__CICD_STATE; __cicd_forced=$__CICD_FORCED; unset __CICD_STATE __CICD_FORCED\n";

// Saves every variable but those the shell manages itself, and the directory.
constexpr const char* k_bash_save = R"SH(__cicd_save() {
  __cicd_rc=$?
  trap - EXIT
  compgen -v > "$__cicd_state/names"
  {
    while IFS= read -r __cicd_n; do
      case $__cicd_n in
        BASH|BASHOPTS|BASHPID|BASH_*|COLUMNS|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|\
GROUPS|HISTCMD|HOSTNAME|HOSTTYPE|IFS|LINENO|LINES|MACHTYPE|OPTARG|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|\
PS1|PS2|PS3|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_|__cicd*|__CICD*) continue ;;
      esac
      declare -p "$__cicd_n"
    done < "$__cicd_state/names"
  } > "$__cicd_state/env.sh" 2>/dev/null
  pwd > "$__cicd_state/cwd"
  exit "$__cicd_rc"
}
)SH";

// dash's `set` prints every variable re-readably (multi-line values included); restoring the
// shell's own (PPID, IFS, OPTIND...) is harmless there, and PWD is reset by `cd -P .` after.
constexpr const char* k_sh_save = R"SH(__cicd_save() {
  __cicd_rc=$?
  trap - EXIT
  for __cicd_n in $__cicd_forced; do unset "__cicd_f_$__cicd_n"; done
  unset __cicd_forced __cicd_n __cicd_keep
  { set; export -p; } > "$__cicd_state/env.sh" 2>/dev/null
  pwd > "$__cicd_state/cwd"
  exit "$__cicd_rc"
}
)SH";

// Forced values (CODEBUILD_BUILD_SUCCEEDING) survive the restore.
constexpr const char* k_restore = R"SH(for __cicd_n in $__cicd_forced; do eval "__cicd_f_$__cicd_n=\${$__cicd_n-}"; done
__cicd_keep=$__cicd_forced
. "$__cicd_state/env.sh"
__cicd_forced=$__cicd_keep
for __cicd_n in $__cicd_forced; do eval "$__cicd_n=\${__cicd_f_$__cicd_n}; export $__cicd_n"; done
)SH";

struct UserIds {
  uid_t uid;
  gid_t gid;
};

std::optional<UserIds> user_ids(const std::string& name) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
  return UserIds{pw.pw_uid, pw.pw_gid};
}

}  // namespace

std::optional<std::pair<ShellKind, std::string>> resolve_build_shell(const std::string& name) {
  if (name.empty() || name == "bash" || name == "/bin/bash" || name == "/usr/bin/bash")
    return std::pair{ShellKind::bash, std::string("/bin/bash")};
  if (name == "sh" || name == "/bin/sh" || name == "/usr/bin/sh" || name == "dash")
    return std::pair{ShellKind::posix_sh, std::string("/bin/sh")};
  return std::nullopt;
}

ShellSession::ShellSession(ProcessRunner& runner, ShellSessionOptions options)
    : m_options(std::move(options)), m_runner(runner) {}

std::filesystem::path ShellSession::current_directory() const {
  if (!m_options.carry_state || !m_has_state) return m_options.initial_cwd;
  auto text = read_file(m_options.state_dir / "cwd");
  if (!text) return m_options.initial_cwd;
  std::string dir(trim(*text));
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return m_options.initial_cwd;
  return dir;
}

Result<ProcessResult> ShellSession::run_script(const std::string& user_script, const CommandRun& how,
                                               bool save_state, const std::map<std::string, std::string>& extra_env) {
  if (auto st = make_dirs(m_options.state_dir, 0700); !st) return std::unexpected(st.error());
  bool restore = m_options.carry_state && m_has_state;

  // 1. The script: restore the saved state, arm the save on exit, then the user's command.
  std::string script = k_prologue;
  if (save_state && m_options.carry_state)
    script += m_options.shell == ShellKind::bash ? k_bash_save : k_sh_save;
  if (restore) {
    script += k_restore;
    if (m_options.shell == ShellKind::posix_sh) script += "cd -P . 2>/dev/null\n";
  }
  if (save_state && m_options.carry_state) script += "trap __cicd_save EXIT\n";
  script += user_script;
  script += '\n';

  // 2. Its environment: the initial one for a first (or 0.1) command; otherwise nearly empty,
  // since the restore brings everything back, and a variable a command unset must stay unset.
  ProcessSpec spec;
  spec.argv = {m_options.shell_path, "-c", script};
  if (restore) {
    spec.environment = {{"PATH", m_options.initial_environment.count("PATH")
                                      ? m_options.initial_environment.at("PATH")
                                      : "/usr/local/bin:/usr/bin:/bin"}};
  } else {
    spec.environment = m_options.initial_environment;
  }
  spec.inherit_environment = false;
  spec.environment["__CICD_STATE"] = m_options.state_dir.string();
  std::string forced_names;
  for (auto& [name, value] : how.forced) {
    spec.environment[name] = value;
    if (!forced_names.empty()) forced_names += ' ';
    forced_names += name;
  }
  spec.environment["__CICD_FORCED"] = forced_names;
  for (auto& [k, v] : extra_env) spec.environment[k] = v;
  spec.cwd = current_directory().string();
  spec.timeout = how.timeout;
  spec.sink = how.sink;
  spec.merge_stderr = true;  // one log, in the order things happened
  spec.run_as_user = how.run_as_user;

  // 3. Another user must be able to read and write the state.
  if (how.run_as_user && ::geteuid() == 0) {
    if (auto ids = user_ids(*how.run_as_user)) {
      std::error_code ec;
      [[maybe_unused]] int rc = ::chown(m_options.state_dir.c_str(), ids->uid, ids->gid);
      for (auto& e : std::filesystem::directory_iterator(m_options.state_dir, ec))
        rc = ::chown(e.path().c_str(), ids->uid, ids->gid);
    }
  }
  auto result = m_runner.run(spec);
  if (result && save_state && m_options.carry_state) {
    std::error_code ec;
    if (std::filesystem::exists(m_options.state_dir / "env.sh", ec)) m_has_state = true;
  }
  return result;
}

Result<ProcessResult> ShellSession::run(const std::string& command, const CommandRun& how) {
  return run_script(command, how, true, {});
}

Result<std::string> ShellSession::expand(const std::string& text, const CommandRun& how) {
  auto capture = std::make_shared<CaptureSink>();
  CommandRun quiet = how;
  quiet.sink = capture;
  // A here-document expands parameters and command substitutions but not globs or splitting.
  std::string script = "cat <<__CICD_EXPAND_END__\n" + text + "\n__CICD_EXPAND_END__";
  auto result = run_script(script, quiet, false, {});
  if (!result) return std::unexpected(result.error());
  if (!result->succeeded())
    return fail(ErrorKind::failed, "cannot expand '{}': {}", text, capture->out());
  std::string out = capture->out();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<std::map<std::string, std::string>> ShellSession::values(const std::vector<std::string>& names,
                                                                const CommandRun& how) {
  std::map<std::string, std::string> out;
  std::string list;
  for (auto& n : names) {
    if (!is_valid_env_name(n)) continue;
    if (!list.empty()) list += ' ';
    list += n;
  }
  if (list.empty()) return out;
  // Printed as NAME=VALUE records separated by NUL (values may hold newlines). The
  // capture sink splits on newlines, so NULs survive and newlines come back as separators.
  std::string script = R"SH(__cicd_names=$__CICD_NAMES; unset __CICD_NAMES
for __cicd_n in $__cicd_names; do
  eval "__cicd_set=\${$__cicd_n+x}"
  if [ -n "$__cicd_set" ]; then eval "__cicd_v=\${$__cicd_n}"; printf '%s=%s\0' "$__cicd_n" "$__cicd_v"; fi
done)SH";
  auto capture = std::make_shared<CaptureSink>();
  CommandRun quiet = how;
  quiet.sink = capture;
  auto result = run_script(script, quiet, false, {{"__CICD_NAMES", list}});
  if (!result) return std::unexpected(result.error());
  std::string raw = capture->out();
  if (!raw.empty() && raw.back() == '\n') raw.pop_back();
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t end = raw.find('\0', pos);
    if (end == std::string::npos) end = raw.size();
    std::string rec = raw.substr(pos, end - pos);
    auto eq = rec.find('=');
    if (eq != std::string::npos) out[rec.substr(0, eq)] = rec.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

}  // namespace cicd

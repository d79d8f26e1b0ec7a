#include "builder/shell_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/envfile.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The descriptor the shell reads command numbers from, and the one its sentinels go to (a copy
// of the original stdout, so a command's own `exec >file` cannot swallow them).
constexpr int k_control_fd = 9;
constexpr int k_sentinel_fd = 8;

// Saves every variable but those the shell manages itself, and the directory, to "$1.env" and
// "$1.cwd" (new files each time: rewriting a file in place is slow on some file systems).
constexpr const char* k_bash_save = R"SH(__cicd_save() {
  compgen -v > "$1.names"
  __cicd_keep=()
  while IFS= read -r __cicd_n; do
    case $__cicd_n in
      BASH|BASHOPTS|BASHPID|BASH_*|COLUMNS|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|\
GROUPS|HISTCMD|HOSTNAME|HOSTTYPE|IFS|LINENO|LINES|MACHTYPE|OPTARG|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|\
PS1|PS2|PS3|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_|__cicd*|__CICD*) continue ;;
    esac
    __cicd_keep+=("$__cicd_n")
  done < "$1.names"
  declare -p "${__cicd_keep[@]}" > "$1.env" 2>/dev/null
  pwd > "$1.cwd"
}
)SH";

// dash's `set` prints every variable re-readably (multi-line values included); restoring the
// shell's own (PPID, IFS, OPTIND...) is harmless there.
constexpr const char* k_sh_save = R"SH(__cicd_save() {
  { set; export -p; } > "$1.env" 2>/dev/null
  pwd > "$1.cwd"
}
)SH";

// The shell's main loop. State from a previous shell is restored first; then our control
// variables are taken out of the environment so commands never see them.
// Who the shell runs as (HOME, USER, LOGNAME) is this shell's own, not the saved state's: a
// run-as phase after a root one must not inherit root's HOME, nor the other way round.
constexpr const char* k_loop = R"SH(if [ -n "$__CICD_RESTORE" ]; then
  __cicd_home=${HOME-}; __cicd_user=${USER-}; __cicd_logname=${LOGNAME-}
  . "$__CICD_RESTORE" 2>/dev/null
  HOME=$__cicd_home; USER=$__cicd_user; LOGNAME=$__cicd_logname; export HOME USER LOGNAME
fi
__cicd_dir=$__CICD_STATE; __cicd_nonce=$__CICD_NONCE; __cicd_seq=0
unset __CICD_STATE __CICD_NONCE __CICD_RESTORE
exec 8>&1
trap '__cicd_rc=$?; __cicd_save "$__cicd_dir/saved.$__cicd_seq"; exit $__cicd_rc' EXIT
while IFS= read -r __cicd_seq <&9; do
  . "$__cicd_dir/cmd.$__cicd_seq"
  printf '\036%s:%s:%s\036\n' "$__cicd_nonce" "$__cicd_seq" "$?" >&8
  exec 1>&8 2>&8
  set +e +u +x +v
done
trap - EXIT
)SH";

std::string forced_prologue(const std::map<std::string, std::string>& forced) {
  std::string out;
  for (auto& [name, value] : forced) {
    if (!is_valid_env_name(name)) continue;
    out += name + "=" + shell_quote(value) + "; export " + name + "\n";
  }
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<std::pair<ShellKind, std::string>> resolve_build_shell(const std::string& name) {
  if (name.empty() || name == "bash" || name == "/bin/bash" || name == "/usr/bin/bash")
    return std::pair{ShellKind::bash, std::string("/bin/bash")};
  if (name == "sh" || name == "/bin/sh" || name == "/usr/bin/sh" || name == "dash")
    return std::pair{ShellKind::posix_sh, std::string("/bin/sh")};
  return std::nullopt;
}

// A running shell and our ends of its pipes.
struct ShellSession::Live {
  int pid = 0;
  int pidfd = -1;
  int output = -1;   // its stdout and stderr
  int control = -1;  // our end of its control pipe
  std::string pending;  // output read but not yet a whole line
  std::shared_ptr<OutputSink> sink;  // where stray output (background processes) goes
  ~Live() {
    close_fd(pidfd);
    close_fd(output);
    close_fd(control);
  }
};

ShellSession::ShellSession(ProcessRunner& runner, ShellSessionOptions options)
    : m_options(std::move(options)), m_runner(runner), m_cwd(m_options.initial_cwd), m_nonce(make_uuid()) {}

ShellSession::~ShellSession() { close(); }

std::string ShellSession::next_file(std::string_view stem) {
  return (m_options.state_dir / fmt::format("{}.{}", stem, ++m_seq)).string();
}

Status ShellSession::start_shell(const std::optional<std::string>& user) {
  if (auto st = make_dirs(m_options.state_dir, 0700); !st) return st;
  // Another user must be able to read the commands and write its saved state.
  if (user && ::geteuid() == 0) {
    if (const passwd* pw = ::getpwnam(user->c_str())) {
      [[maybe_unused]] int rc = ::chown(m_options.state_dir.c_str(), pw->pw_uid, pw->pw_gid);
    }
  }
  int control[2];
  if (::pipe2(control, O_CLOEXEC) != 0) return fail_errno("cannot create a pipe", errno);
  ProcessSpec spec;
  std::string script = m_options.shell == ShellKind::bash ? k_bash_save : k_sh_save;
  script += k_loop;
  spec.argv = {m_options.shell_path, "-c", script};
  if (m_restore_file.empty()) {
    spec.environment = m_options.initial_environment;
  } else {
    // Everything comes back from the saved state, so a variable a command unset stays unset.
    auto path = m_options.initial_environment.find("PATH");
    spec.environment = {{"PATH", path != m_options.initial_environment.end() ? path->second : "/usr/bin:/bin"},
                        {"__CICD_RESTORE", m_restore_file.string()}};
    // Our own identity, unless spawning as another user sets that user's.
    for (const char* name : {"HOME", "USER", "LOGNAME"})
      if (auto it = m_options.initial_environment.find(name); it != m_options.initial_environment.end())
        spec.environment[name] = it->second;
  }
  spec.inherit_environment = false;
  spec.environment["__CICD_STATE"] = m_options.state_dir.string();
  spec.environment["__CICD_NONCE"] = m_nonce;
  std::error_code ec;
  spec.cwd = std::filesystem::is_directory(m_cwd, ec) ? m_cwd.string() : m_options.initial_cwd.string();
  spec.merge_stderr = true;
  spec.run_as_user = user;
  spec.run = m_options.run;
  auto spawned = spawn_process(spec, {{control[0], k_control_fd}});
  ::close(control[0]);
  if (!spawned) {
    ::close(control[1]);
    return std::unexpected(spawned.error());
  }
  m_live = std::make_unique<Live>();
  m_live->pid = spawned->pid;
  m_live->pidfd = spawned->pidfd;
  m_live->output = spawned->stdout_fd;
  m_live->control = control[1];
  m_live_user = user;
  return {};
}

void ShellSession::kill_shell(milliseconds grace) {
  if (!m_live) return;
  int pid = m_live->pid;
  ::kill(-pid, SIGTERM);
  ::kill(-pid, SIGCONT);
  auto deadline = Steady::now() + grace;
  while (!peek_exit(pid)) {
    if (Steady::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      (void)peek_exit(pid, true);  // only waiting for it: the status of a killed shell tells nothing
      break;
    }
    pollfd p{m_live->pidfd, POLLIN, 0};
    ::poll(&p, m_live->pidfd >= 0 ? 1 : 0, 20);
  }
  // What the shell started goes with it, before the shell is reaped (its id stays ours till then).
  finish_process(pid, m_options.run, Leftovers::kill);
  m_live.reset();
}

Result<ProcessResult> ShellSession::run_in_shell(const std::string& script, const CommandRun& how) {
  // 1. A shell of the right user, with the state of the previous one.
  if (m_live && m_live_user != how.run_as_user)
    if (auto st = save_and_stop(how); !st) return std::unexpected(st.error());
  if (!m_live)
    if (auto st = start_shell(how.run_as_user); !st) return std::unexpected(st.error());
  if (how.sink) m_live->sink = how.sink;

  // 2. Hand it the command: a file to source, and its number on the control pipe.
  auto file = next_file("cmd");
  std::string seq = std::to_string(m_seq);
  if (auto st = write_file_atomic(file, forced_prologue(how.forced) + script + "\n", {.mode = 0644, .sync = false}); !st)
    return std::unexpected(st.error());
  if (m_live_user && ::geteuid() == 0)
    if (const passwd* pw = ::getpwnam(m_live_user->c_str())) {
      [[maybe_unused]] int rc = ::chown(file.c_str(), pw->pw_uid, pw->pw_gid);
    }
  std::string line = seq + "\n";
  auto started = Steady::now();
  if (::write(m_live->control, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    // The shell is gone (killed from outside): start over on the next command.
    kill_shell(milliseconds(0));
    return fail(ErrorKind::io, "the build shell exited unexpectedly");
  }

  // 3. Read its output until the sentinel for this command, the shell's exit, the deadline or a
  // stop request.
  ProcessResult result;
  result.pid = m_live->pid;
  std::optional<Steady::time_point> deadline;
  if (how.timeout) deadline = started + *how.timeout;
  std::string marker = "\036" + m_nonce + ":";
  OutputSink* sink = how.sink.get();
  bool done = false, exited = false;
  auto emit_lines = [&] {
    size_t pos;
    while (!done && (pos = m_live->pending.find('\n')) != std::string::npos) {
      std::string_view text(m_live->pending.data(), pos);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      auto at = text.find(marker);
      if (at != std::string_view::npos && text.size() >= 2 && text.back() == '\036') {
        auto fields = split(text.substr(at + marker.size(), text.size() - at - marker.size() - 1), ':');
        if (at > 0 && sink) sink->on_line(OutputStream::out, text.substr(0, at));
        if (fields.size() == 2 && fields[0] == seq) {
          result.exit_code = static_cast<int>(parse_uint(fields[1]).value_or(1));
          done = true;
        }
      } else if (sink) {
        sink->on_line(OutputStream::out, text);
      }
      m_live->pending.erase(0, pos + 1);
    }
  };
  auto read_available = [&]() -> bool {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(m_live->output, buf, sizeof buf);
      if (n > 0) {
        m_live->pending.append(buf, static_cast<size_t>(n));
        emit_lines();
        if (done) return true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // false at EOF
    }
  };
  std::vector<int> cancel_fds;
  if (m_options.run) cancel_fds = m_options.run->token().poll_fds();
  auto cancelled = [&] { return m_options.run && m_options.run->token().cancelled(); };
  while (!done && !exited) {
    std::vector<pollfd> fds = {{m_live->output, POLLIN, 0}};
    if (m_live->pidfd >= 0) fds.push_back({m_live->pidfd, POLLIN, 0});
    for (int fd : cancel_fds) fds.push_back({fd, POLLIN, 0});
    int timeout_ms = -1;
    if (deadline)
      timeout_ms = static_cast<int>(std::max<long long>(
          0, std::chrono::duration_cast<milliseconds>(*deadline - Steady::now()).count() + 1));
    if (m_live->pidfd < 0) timeout_ms = timeout_ms < 0 ? 20 : std::min(timeout_ms, 20);
    ::poll(fds.data(), fds.size(), timeout_ms);
    bool open = read_available();
    if (done) break;
    auto status = peek_exit(m_live->pid);
    if (!open || status) {
      // The shell ended: the command ran `exit` (its EXIT trap saved the state) or died.
      if (open) {
        auto drain_until = Steady::now() + milliseconds(200);
        while (Steady::now() < drain_until) {
          pollfd p{m_live->output, POLLIN, 0};
          if (::poll(&p, 1, 20) > 0 && !read_available()) break;
          if (done) break;
        }
      } else {
        status = peek_exit(m_live->pid, true);
      }
      if (!m_live->pending.empty() && sink) sink->on_line(OutputStream::out, m_live->pending);
      if (status) {
        result.exit_code = status->exit_code;
        result.term_signal = status->term_signal;
      }
      exited = true;
      break;
    }
    if (cancelled()) {
      result.stopped = true;
      break;
    }
    if (deadline && Steady::now() >= *deadline) {
      result.timed_out = true;
      break;
    }
  }
  result.duration = std::chrono::duration_cast<milliseconds>(Steady::now() - started);
  std::error_code ec;
  std::filesystem::remove(file, ec);
  if (result.timed_out || result.stopped) {
    kill_shell(how.kill_grace);
    return result;
  }
  if (exited) {
    // 4. The next command starts a new shell from what this one saved. What the old one left
    // running in the background lives on until the build ends, as with CodeBuild.
    finish_process(m_live->pid, m_options.run, Leftovers::until_run_ends);
    m_live.reset();
    auto saved = m_options.state_dir / ("saved." + seq);
    if (std::filesystem::exists(saved.string() + ".env", ec)) {
      m_restore_file = saved.string() + ".env";
      if (auto cwd = read_file(saved.string() + ".cwd")) m_cwd = std::string(trim(*cwd));
    }
  }
  return result;
}

Status ShellSession::save_and_stop(const CommandRun& how) {
  // Ask the shell to save its state and leave; the next shell restores it.
  auto stem = m_options.state_dir / fmt::format("switch.{}", m_seq + 1);
  std::string script = "__cicd_save " + shell_quote(stem.string()) + "; trap - EXIT; exit 0";
  CommandRun quiet = how;
  quiet.forced.clear();
  quiet.run_as_user = m_live_user;
  quiet.timeout = milliseconds(30000);
  auto r = run_in_shell(script, quiet);
  if (!r) return std::unexpected(r.error());
  if (m_live) kill_shell(milliseconds(0));
  std::error_code ec;
  if (!std::filesystem::exists(stem.string() + ".env", ec))
    return fail(ErrorKind::io, "the build shell did not save its state when switching user");
  m_restore_file = stem.string() + ".env";
  if (auto cwd = read_file(stem.string() + ".cwd")) m_cwd = std::string(trim(*cwd));
  return {};
}

Result<ProcessResult> ShellSession::run_fresh(const std::string& script, const CommandRun& how) {
  ProcessSpec spec;
  spec.argv = {m_options.shell_path, "-c", forced_prologue(how.forced) + script};
  spec.environment = m_options.initial_environment;
  spec.inherit_environment = false;
  spec.cwd = m_options.initial_cwd.string();
  spec.timeout = how.timeout;
  spec.kill_grace = how.kill_grace;
  spec.sink = how.sink;
  spec.merge_stderr = true;
  spec.run_as_user = how.run_as_user;
  spec.run = m_options.run;
  spec.leftovers = Leftovers::until_run_ends;
  return m_runner.run(spec);
}

Status ShellSession::start(const std::optional<std::string>& user) {
  if (!m_options.carry_state || m_live) return {};
  return start_shell(user);
}

Result<ProcessResult> ShellSession::run(const std::string& command, const CommandRun& how) {
  if (!m_options.carry_state) return run_fresh(command, how);
  return run_in_shell(command, how);
}

Result<std::string> ShellSession::expand(const std::string& text, const CommandRun& how) {
  auto capture = std::make_shared<CaptureSink>();
  CommandRun quiet = how;
  quiet.sink = capture;
  quiet.forced.clear();
  // A here-document expands parameters and command substitutions but not globs or splitting.
  std::string script = "cat <<__CICD_EXPAND_END__\n" + text + "\n__CICD_EXPAND_END__";
  auto result = m_options.carry_state ? run_in_shell(script, quiet) : run_fresh(script, quiet);
  if (!result) return std::unexpected(result.error());
  if (!result->succeeded()) return fail(ErrorKind::failed, "cannot expand '{}': {}", text, capture->out());
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
  // NAME=VALUE records separated by NUL (values may hold newlines); the names are checked
  // identifiers.
  std::string script = "for __cicd_n in " + list + R"SH(; do
  eval "__cicd_set=\${$__cicd_n+x}"
  if [ -n "$__cicd_set" ]; then eval "__cicd_v=\${$__cicd_n}"; printf '%s=%s\0' "$__cicd_n" "$__cicd_v"; fi
done; printf '\n')SH";
  auto capture = std::make_shared<CaptureSink>();
  CommandRun quiet = how;
  quiet.sink = capture;
  quiet.forced.clear();
  auto result = m_options.carry_state ? run_in_shell(script, quiet) : run_fresh(script, quiet);
  if (!result) return std::unexpected(result.error());
  std::string raw = capture->out();
  while (!raw.empty() && raw.back() == '\n') raw.pop_back();
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

void ShellSession::close() {
  if (!m_live) return;
  // Let the loop end on its own, read what is left, then nothing it started survives.
  close_fd(m_live->control);
  auto until = Steady::now() + milliseconds(500);
  while (Steady::now() < until && !peek_exit(m_live->pid)) {
    pollfd p{m_live->pidfd, POLLIN, 0};
    ::poll(&p, m_live->pidfd >= 0 ? 1 : 0, 20);
  }
  char buf[65536];
  ssize_t n;
  while ((n = ::read(m_live->output, buf, sizeof buf)) > 0) m_live->pending.append(buf, static_cast<size_t>(n));
  if (m_live->sink) {
    for (auto& l : split_lines(m_live->pending))
      if (l.find("\036" + m_nonce + ":") == std::string::npos) m_live->sink->on_line(OutputStream::out, l);
  }
  m_live->pending.clear();
  kill_shell(milliseconds(200));
}

}  // namespace cicd

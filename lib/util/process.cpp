#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "util/fs.hpp"

extern char** environ;

namespace cicd {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- sinks ----

void CaptureSink::on_line(OutputStream stream, std::string_view line) {
  std::lock_guard lock(m_mutex);
  auto& target = stream == OutputStream::out ? m_out : m_err;
  target.append(line);
  target.push_back('\n');
}
std::string CaptureSink::out() const {
  std::lock_guard lock(m_mutex);
  return m_out;
}
std::string CaptureSink::err() const {
  std::lock_guard lock(m_mutex);
  return m_err;
}

Environment current_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string ProcessResult::describe() const {
  if (timed_out) return "timed out";
  if (stopped) return "stopped";
  if (term_signal) return fmt::format("signal {} ({})", term_signal, ::strsignal(term_signal));
  return fmt::format("exit status {}", exit_code);
}

std::string find_program(std::string_view name, const Environment* env) {
  if (name.find('/') != std::string_view::npos) return std::string(name);
  std::string path;
  if (env) {
    auto it = env->find("PATH");
    if (it != env->end()) path = it->second;
  } else if (const char* p = std::getenv("PATH")) {
    path = p;
  }
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Splits a byte stream into lines for a sink.
struct LineBuffer {
  OutputStream stream;
  std::string pending;
  static constexpr size_t k_max_line = 1 << 20;

  void feed(std::string_view data, OutputSink* sink) {
    size_t start = 0;
    for (;;) {
      size_t nl = data.find('\n', start);
      if (nl == std::string_view::npos) break;
      if (pending.empty()) {
        emit(data.substr(start, nl - start), sink);
      } else {
        pending.append(data.substr(start, nl - start));
        emit(pending, sink);
        pending.clear();
      }
      start = nl + 1;
    }
    pending.append(data.substr(start));
    if (pending.size() >= k_max_line) {
      emit(pending, sink);
      pending.clear();
    }
  }
  void finish(OutputSink* sink) {
    if (!pending.empty()) emit(pending, sink);
    pending.clear();
  }
  void emit(std::string_view line, OutputSink* sink) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (sink) sink->on_line(stream, line);
  }
};

struct Channel {
  int fd = -1;
  LineBuffer buffer;
};

// Reads what is available; returns false at EOF or error.
bool pump(Channel& ch, OutputSink* sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(ch.fd, buf, sizeof buf);
    if (n > 0) {
      ch.buffer.feed(std::string_view(buf, static_cast<size_t>(n)), sink);
      if (static_cast<size_t>(n) < sizeof buf) return true;
      continue;
    }
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    ch.buffer.finish(sink);
    return false;
  }
}

}  // namespace

// Output of processes that outlived their parent command, read in the background so that they
// neither block the caller nor die of SIGPIPE.
class OrphanDrainer {
 public:
  ~OrphanDrainer() { stop(); }

  void adopt(Channel channel, std::shared_ptr<OutputSink> sink) {
    std::lock_guard lock(m_mutex);
    m_channels.push_back({std::move(channel), std::move(sink)});
    if (!m_thread.joinable()) {
      if (::pipe2(m_wake, O_CLOEXEC | O_NONBLOCK) != 0) m_wake[0] = m_wake[1] = -1;
      m_thread = std::thread([this] { loop(); });
    } else {
      wake();
    }
  }

  void stop() {
    if (!m_thread.joinable()) return;
    m_quit = true;
    wake();
    m_thread.join();
    for (auto& [ch, sink] : m_channels) {
      ch.buffer.finish(sink.get());
      ::close(ch.fd);
    }
    m_channels.clear();
    ::close(m_wake[0]);
    ::close(m_wake[1]);
  }

 private:
  void wake() {
    char c = 1;
    [[maybe_unused]] ssize_t n = ::write(m_wake[1], &c, 1);
  }
  void loop() {
    while (!m_quit) {
      std::vector<pollfd> fds;
      {
        std::lock_guard lock(m_mutex);
        fds.push_back({m_wake[0], POLLIN, 0});
        for (auto& [ch, sink] : m_channels) fds.push_back({ch.fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents) {
        char buf[64];
        while (::read(m_wake[0], buf, sizeof buf) > 0) {
        }
      }
      std::lock_guard lock(m_mutex);
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        auto it = std::find_if(m_channels.begin(), m_channels.end(),
                               [&](auto& entry) { return entry.first.fd == fds[i].fd; });
        if (it == m_channels.end()) continue;
        if (!pump(it->first, it->second.get())) {
          ::close(it->first.fd);
          m_channels.erase(it);
        }
      }
    }
  }

  std::mutex m_mutex;
  std::vector<std::pair<Channel, std::shared_ptr<OutputSink>>> m_channels;
  std::thread m_thread;
  std::atomic<bool> m_quit{false};
  int m_wake[2] = {-1, -1};
};

struct PosixProcessRunner::Impl {
  OrphanDrainer drainer;
};

PosixProcessRunner::PosixProcessRunner() : m_impl(std::make_unique<Impl>()) {}
PosixProcessRunner::~PosixProcessRunner() { m_impl->drainer.stop(); }

std::optional<ExitStatus> peek_exit(int pid, bool block) {
  siginfo_t info{};
  for (;;) {
    info.si_pid = 0;
    int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    if (rc == 0) break;
    if (errno == EINTR) continue;
    return ExitStatus{-1, 0};  // not our child (any more): nothing to wait for
  }
  if (info.si_pid == 0) return std::nullopt;
  ExitStatus st;
  if (info.si_code == CLD_EXITED) st.exit_code = info.si_status;
  else st.term_signal = info.si_status;
  return st;
}

void finish_process(int pid, Run* run, Leftovers leftovers) {
  if (run) {
    run->leader_exited(pid, leftovers);
    return;
  }
  // Before reaping, while the group id cannot be reused.
  if (leftovers != Leftovers::keep) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() { close_both(); }
  bool open() { return ::pipe2(fds, O_CLOEXEC) == 0; }
  void close_both() {
    for (int& fd : fds)
      if (fd >= 0) {
        ::close(fd);
        fd = -1;
      }
  }
  int take_read() {
    int fd = fds[0];
    fds[0] = -1;
    return fd;
  }
  int take_write() {
    int fd = fds[1];
    fds[1] = -1;
    return fd;
  }
};

struct RunAs {
  uid_t uid;
  gid_t gid;
  std::string home;
  std::string name;
};

Result<RunAs> lookup_user(const std::string& user) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return fail(ErrorKind::invalid, "cannot run as '{}': no such user", user);
  return RunAs{pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "/", pw.pw_name};
}

void kill_group(pid_t pgid, int sig) { ::kill(-pgid, sig); }

}  // namespace

Result<SpawnedProcess> spawn_process(const ProcessSpec& spec, const std::vector<std::pair<int, int>>& extra_fds) {
  if (spec.argv.empty()) return fail(ErrorKind::internal, "cannot run a process: empty argv");
  Environment env = spec.inherit_environment && spec.environment.empty() ? current_environment()
                                                                         : spec.environment;
  // 1. Resolve the program and, for run-as, wrap it in setpriv.
  std::vector<std::string> argv = spec.argv;
  std::string program = find_program(argv[0], &env);
  if (program.empty())
    return fail(ErrorKind::io, "cannot run '{}': command not found", argv[0]);
  argv[0] = program;
  if (spec.run_as_user) {
    if (::geteuid() != 0)
      return fail(ErrorKind::invalid, "cannot run as '{}': only root can switch users",
                  *spec.run_as_user);
    auto user = lookup_user(*spec.run_as_user);
    if (!user) return std::unexpected(user.error());
    std::string setpriv = find_program("setpriv");
    if (setpriv.empty())
      return fail(ErrorKind::io, "cannot run as '{}': setpriv (util-linux) is not installed",
                  *spec.run_as_user);
    std::vector<std::string> wrapped = {setpriv, fmt::format("--reuid={}", user->uid),
                                        fmt::format("--regid={}", user->gid), "--init-groups", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    argv = std::move(wrapped);
    env["HOME"] = user->home;
    env["USER"] = user->name;
    env["LOGNAME"] = user->name;
  }

  // 2. Plumbing: pipes for stdout/stderr/stdin as asked, and any descriptors handed over.
  Pipe out_pipe, err_pipe, in_pipe;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  struct ActionsGuard {
    posix_spawn_file_actions_t* a;
    ~ActionsGuard() { posix_spawn_file_actions_destroy(a); }
  } actions_guard{&actions};

  if (spec.stdin_mode == StdinMode::null) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  } else if (spec.stdin_mode == StdinMode::data || spec.stdin_mode == StdinMode::hold) {
    if (!in_pipe.open()) return fail_errno("cannot create a pipe", errno);
    posix_spawn_file_actions_adddup2(&actions, in_pipe.fds[0], 0);
  }
  if (spec.output_mode == OutputMode::null) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  } else if (spec.output_mode == OutputMode::sink) {
    if (!out_pipe.open()) return fail_errno("cannot create a pipe", errno);
    posix_spawn_file_actions_adddup2(&actions, out_pipe.fds[1], 1);
    if (spec.merge_stderr) {
      posix_spawn_file_actions_adddup2(&actions, out_pipe.fds[1], 2);
    } else {
      if (!err_pipe.open()) return fail_errno("cannot create a pipe", errno);
      posix_spawn_file_actions_adddup2(&actions, err_pipe.fds[1], 2);
    }
  }
  for (auto& [parent_fd, child_fd] : extra_fds) posix_spawn_file_actions_adddup2(&actions, parent_fd, child_fd);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  struct AttrGuard {
    posix_spawnattr_t* a;
    ~AttrGuard() { posix_spawnattr_destroy(a); }
  } attr_guard{&attr};
  sigset_t empty_mask, default_signals;
  sigemptyset(&empty_mask);
  sigfillset(&default_signals);
  sigdelset(&default_signals, SIGKILL);
  sigdelset(&default_signals, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> c_env;
  for (auto& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  // 3. Spawn, in a new process group of its own.
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  if (rc != 0) {
    std::error_code dir_ec;
    if (rc == ENOENT && !spec.cwd.empty() && !std::filesystem::is_directory(spec.cwd, dir_ec))
      return fail(ErrorKind::io, "cannot run '{}': directory '{}' does not exist", spec.argv[0], spec.cwd);
    return fail_errno(fmt::format("cannot run '{}'", spec.argv[0]), rc);
  }
  SpawnedProcess child;
  child.pid = pid;
  child.stdout_fd = out_pipe.take_read();
  child.stderr_fd = err_pipe.take_read();
  child.stdin_fd = in_pipe.take_write();
  for (int fd : {child.stdout_fd, child.stderr_fd, child.stdin_fd})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  child.pidfd = pidfd_open(pid);
  if (spec.run) spec.run->track(pid);
  return child;
}

Result<ProcessResult> PosixProcessRunner::run(const ProcessSpec& spec) {
  auto started = Clock::now();
  auto spawned = spawn_process(spec);
  if (!spawned) return std::unexpected(spawned.error());
  pid_t pid = spawned->pid;
  ProcessResult result;
  result.pid = pid;

  Channel out_ch{spawned->stdout_fd, {OutputStream::out, {}}};
  Channel err_ch{spawned->stderr_fd, {OutputStream::err, {}}};
  int in_fd = spawned->stdin_fd;
  size_t stdin_written = 0;
  if (in_fd >= 0 && spec.stdin_data.empty() && spec.stdin_mode != StdinMode::hold) {
    ::close(in_fd);
    in_fd = -1;
  }

  int pidfd = spawned->pidfd;
  OutputSink* sink = spec.sink.get();

  // 4. Event loop: output, stdin, the child's exit, the deadline, stop requests.
  std::optional<Clock::time_point> deadline;
  if (spec.timeout) deadline = started + *spec.timeout;
  std::optional<Clock::time_point> kill_at;  // when SIGKILL follows the SIGTERM
  std::optional<Clock::time_point> drain_until;
  bool exited = false;
  ExitStatus exit_status;
  std::vector<int> cancel_fds;
  if (spec.run) cancel_fds = spec.run->token().poll_fds();

  auto begin_termination = [&](bool timed_out) {
    if (kill_at) return;
    if (timed_out) result.timed_out = true;
    else result.stopped = true;
    if (in_fd >= 0 && spec.stdin_mode == StdinMode::hold) {
      ::close(in_fd);
      in_fd = -1;
    }
    kill_group(pid, SIGTERM);
    kill_group(pid, SIGCONT);
    kill_at = Clock::now() + spec.kill_grace;
  };

  for (;;) {
    if (exited && out_ch.fd < 0 && err_ch.fd < 0) break;
    std::vector<pollfd> fds;
    if (out_ch.fd >= 0) fds.push_back({out_ch.fd, POLLIN, 0});
    if (err_ch.fd >= 0) fds.push_back({err_ch.fd, POLLIN, 0});
    if (in_fd >= 0 && spec.stdin_mode == StdinMode::data) fds.push_back({in_fd, POLLOUT, 0});
    if (!exited && pidfd >= 0) fds.push_back({pidfd, POLLIN, 0});
    if (!kill_at && !exited)
      for (int fd : cancel_fds) fds.push_back({fd, POLLIN, 0});

    auto now = Clock::now();
    std::optional<Clock::time_point> wake;
    auto consider = [&](std::optional<Clock::time_point> t) {
      if (t && (!wake || *t < *wake)) wake = t;
    };
    if (!exited) {
      if (!kill_at) consider(deadline);
      consider(kill_at);
    } else {
      consider(drain_until);
    }
    int timeout_ms = -1;
    if (wake) timeout_ms = static_cast<int>(std::max<int64_t>(
                  0, std::chrono::duration_cast<milliseconds>(*wake - now).count() + 1));
    if (!exited && pidfd < 0) timeout_ms = timeout_ms < 0 ? 5 : std::min(timeout_ms, 5);

    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (auto& p : fds) {
      if (!p.revents) continue;
      if (p.fd == out_ch.fd || p.fd == err_ch.fd) {
        Channel& ch = p.fd == out_ch.fd ? out_ch : err_ch;
        if (!pump(ch, sink)) {
          ::close(ch.fd);
          ch.fd = -1;
        }
      } else if (p.fd == in_fd) {
        ssize_t w = ::write(in_fd, spec.stdin_data.data() + stdin_written,
                            spec.stdin_data.size() - stdin_written);
        if (w > 0) stdin_written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_written >= spec.stdin_data.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
      }
    }
    // The run's cancellation, and the deadline.
    if (!exited && !kill_at && spec.run && spec.run->token().cancelled()) begin_termination(false);
    now = Clock::now();
    if (!exited && !kill_at && deadline && now >= *deadline) begin_termination(true);
    if (!exited && kill_at && now >= *kill_at) {
      kill_group(pid, SIGKILL);
      kill_at = now + std::chrono::hours(24);
    }
    if (!exited) {
      if (auto st = peek_exit(pid)) {
        exited = true;
        exit_status = *st;
        // After a timeout or stop, nothing of the group may survive; otherwise as asked.
        finish_process(pid, spec.run, result.timed_out || result.stopped ? Leftovers::kill : spec.leftovers);
        drain_until = Clock::now() + spec.drain_after_exit;
        if (in_fd >= 0) {
          ::close(in_fd);
          in_fd = -1;
        }
      }
    } else if (drain_until && Clock::now() >= *drain_until) {
      // Something the child left behind holds the pipe: read it in the background.
      for (Channel* ch : {&out_ch, &err_ch}) {
        if (ch->fd < 0) continue;
        if (spec.sink) {
          m_impl->drainer.adopt(std::move(*ch), spec.sink);
        } else {
          ::close(ch->fd);
        }
        ch->fd = -1;
      }
      break;
    }
  }
  if (!exited) {
    // poll failed: make sure the child is gone and reaped.
    kill_group(pid, SIGKILL);
    if (auto st = peek_exit(pid, true)) exit_status = *st;
    finish_process(pid, spec.run, Leftovers::kill);
  }
  if (pidfd >= 0) ::close(pidfd);
  if (in_fd >= 0) ::close(in_fd);
  for (Channel* ch : {&out_ch, &err_ch})
    if (ch->fd >= 0) ::close(ch->fd);

  result.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  result.exit_code = exit_status.exit_code;
  result.term_signal = exit_status.term_signal;
  return result;
}

Result<ProcessResult> run_process(const ProcessSpec& spec) {
  PosixProcessRunner runner;
  return runner.run(spec);
}

uint64_t process_start_time(int pid) {
  if (pid <= 0) return 0;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // Fields after the parenthesised command name; starttime is field 22.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::string rest = stat->substr(close + 2);
  size_t field = 3, pos = 0;
  while (field < 22 && pos != std::string::npos) {
    pos = rest.find(' ', pos);
    if (pos != std::string::npos) ++pos;
    ++field;
  }
  if (pos == std::string::npos) return 0;
  if (rest[0] == 'Z') return 0;  // a zombie is not running anything
  return std::strtoull(rest.c_str() + pos, nullptr, 10);
}

std::string current_user_name() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found) return pw.pw_name;
  return std::to_string(::geteuid());
}

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

bool process_alive(int pid, uint64_t start_time, const std::string& host) {
  if (!host.empty() && host != host_name()) return true;
  return pid > 0 && process_start_time(pid) == start_time;
}

namespace {

std::mutex g_live_runs_mutex;
std::multiset<std::string, std::less<>> g_live_runs;

}  // namespace

LiveRun::LiveRun(std::string record_id) : m_id(std::move(record_id)) {
  std::lock_guard lock(g_live_runs_mutex);
  g_live_runs.insert(m_id);
}

LiveRun::~LiveRun() {
  std::lock_guard lock(g_live_runs_mutex);
  if (auto it = g_live_runs.find(m_id); it != g_live_runs.end()) g_live_runs.erase(it);
}

bool run_alive(std::string_view record_id, int pid, uint64_t start_time, const std::string& host) {
  if (!process_alive(pid, start_time, host)) return false;
  if (pid != static_cast<int>(::getpid()) || (!host.empty() && host != host_name())) return true;
  std::lock_guard lock(g_live_runs_mutex);
  return g_live_runs.find(record_id) != g_live_runs.end();
}

}  // namespace cicd

namespace cicd {

namespace {

// The detached process's stdio: /dev/null, so that it never writes into a terminal or a git
// hook's output it has left, and never keeps a pipe of its caller open (a hook's caller waits for
// EOF on its output).
void detach_stdio() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  if (null > 2) ::close(null);
}

}  // namespace

Result<int> run_detached(const std::function<int(const std::function<void()>& ready)>& body) {
  int ready_pipe[2];
  if (::pipe2(ready_pipe, O_CLOEXEC) != 0) return fail(ErrorKind::io, "cannot make a pipe: {}", std::strerror(errno));
  pid_t child = ::fork();
  if (child < 0) {
    int err = errno;
    ::close(ready_pipe[0]);
    ::close(ready_pipe[1]);
    return fail(ErrorKind::io, "cannot fork: {}", std::strerror(err));
  }
  if (child == 0) {
    // The middle process: a session of its own, then the worker, then gone, so that the worker
    // is nobody's child (init reaps it) and no terminal's signal reaches it.
    ::close(ready_pipe[0]);
    ::setsid();
    pid_t worker = ::fork();
    if (worker != 0) ::_exit(worker < 0 ? 1 : 0);
    detach_stdio();
    int write_end = ready_pipe[1];
    bool told = false;
    auto ready = [&] {
      if (told) return;
      told = true;
      pid_t me = ::getpid();
      [[maybe_unused]] auto n = ::write(write_end, &me, sizeof me);
      ::close(write_end);
    };
    int code = body(ready);
    ::_exit(code);
  }
  ::close(ready_pipe[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t worker = 0;
  ssize_t n;
  do n = ::read(ready_pipe[0], &worker, sizeof worker);
  while (n < 0 && errno == EINTR);
  ::close(ready_pipe[0]);
  if (n != static_cast<ssize_t>(sizeof worker))
    return fail(ErrorKind::internal, "the background process ended before it was under way");
  return static_cast<int>(worker);
}

}  // namespace cicd

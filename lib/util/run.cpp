#include "util/run.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "util/process.hpp"

namespace cicd {

using std::chrono::milliseconds;

std::string_view cancel_reason_name(CancelReason reason) {
  switch (reason) {
    case CancelReason::none: return "none";
    case CancelReason::stopped: return "stopped";
    case CancelReason::timed_out: return "timed out";
    case CancelReason::interrupted: return "interrupted";
    case CancelReason::parent_cancelled: return "parent cancelled";
  }
  return "none";
}

// ---- CancelToken ----

struct CancelToken::State {
  std::atomic<int> reason{0};
  std::atomic<int> signal_number{0};
  std::mutex mutex;
  std::string message;
  int fd = -1;  // an eventfd written once, on cancel, and never read: readable from then on
  std::shared_ptr<State> parent;

  State() { fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
  ~State() {
    if (fd >= 0) ::close(fd);
  }
  void wake() const {
    uint64_t one = 1;
    if (fd >= 0) [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
  }
};

CancelToken::CancelToken() : m_state(std::make_shared<State>()) {}
CancelToken::CancelToken(std::shared_ptr<State> state) : m_state(std::move(state)) {}

CancelToken CancelToken::child() const {
  auto state = std::make_shared<State>();
  state->parent = m_state;
  return CancelToken(std::move(state));
}

bool CancelToken::cancel(CancelReason reason, std::string message) const {
  if (reason == CancelReason::none) return false;
  {
    std::lock_guard lock(m_state->mutex);
    int expected = 0;
    if (!m_state->reason.compare_exchange_strong(expected, static_cast<int>(reason))) return false;
    m_state->message = std::move(message);
  }
  m_state->wake();
  return true;
}

void CancelToken::cancel_from_signal(int signal_number) const {
  int expected = 0;
  if (m_state->reason.compare_exchange_strong(expected, static_cast<int>(CancelReason::interrupted)))
    m_state->signal_number.store(signal_number);
  m_state->wake();
}

bool CancelToken::cancelled() const {
  for (const State* s = m_state.get(); s; s = s->parent.get())
    if (s->reason.load() != 0) return true;
  return false;
}

CancelReason CancelToken::reason() const {
  if (int own = m_state->reason.load()) return static_cast<CancelReason>(own);
  for (const State* s = m_state->parent.get(); s; s = s->parent.get())
    if (s->reason.load() != 0) return CancelReason::parent_cancelled;
  return CancelReason::none;
}

std::string CancelToken::message() const {
  for (State* s = m_state.get(); s; s = s->parent.get()) {
    auto reason = static_cast<CancelReason>(s->reason.load());
    if (reason == CancelReason::none) continue;
    {
      std::lock_guard lock(s->mutex);
      if (!s->message.empty()) return s->message;
    }
    if (reason == CancelReason::interrupted) {
      int sig = s->signal_number.load();
      const char* abbrev = sig ? ::sigabbrev_np(sig) : nullptr;
      return abbrev ? fmt::format("interrupted by SIG{}", abbrev) : "interrupted";
    }
    if (reason != CancelReason::parent_cancelled) return std::string(cancel_reason_name(reason));
  }
  return {};
}

std::vector<int> CancelToken::poll_fds() const {
  std::vector<int> fds;
  for (const State* s = m_state.get(); s; s = s->parent.get())
    if (s->fd >= 0) fds.push_back(s->fd);
  return fds;
}

bool CancelToken::wait_for(milliseconds timeout) const {
  if (cancelled()) return true;
  std::vector<pollfd> fds;
  for (int fd : poll_fds()) fds.push_back({fd, POLLIN, 0});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return cancelled();
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n > 0 || cancelled()) return cancelled();
    if (n < 0 && errno != EINTR) return cancelled();
  }
}

// ---- the guard ----

namespace {

constexpr int k_guard_max_groups = 4096;
constexpr int k_guard_grace_steps = 50;  // x 10 ms between SIGTERM and SIGKILL

void guard_sleep_10ms() {
  timespec ts{0, 10 * 1000 * 1000};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// The guard's whole life, in a child forked from a possibly threaded process: system calls only.
[[noreturn]] void guard_main(int sock) {
  // 1. Out of the terminal's way: its own process group, no job-control or terminal signals,
  // quiet descriptors, a name of its own, and no descriptor of ours but the socket.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &ignore, nullptr);
  ::setpgid(0, 0);
  ::prctl(PR_SET_NAME, "cicd-run-guard", 0, 0, 0);
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
  }
  if (sock != 3) ::dup2(sock, 3);
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0)
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);

  // 2. Remember the groups until told goodbye (0) or the socket closes.
  int groups[k_guard_max_groups];
  int count = 0;
  for (;;) {
    int32_t message = 0;
    ssize_t n = ::recv(3, &message, sizeof message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof message)) break;  // EOF or error: our process is gone
    if (message == 0) ::_exit(0);
    if (message > 0) {
      if (count < k_guard_max_groups) groups[count++] = message;
    } else {
      for (int i = 0; i < count; ++i)
        if (groups[i] == -message) {
          groups[i] = groups[--count];
          break;
        }
    }
  }

  // 3. Our process died: end its groups, TERM first, then KILL what is left.
  for (int i = 0; i < count; ++i) {
    ::kill(-groups[i], SIGTERM);
    ::kill(-groups[i], SIGCONT);
  }
  for (int step = 0; step < k_guard_grace_steps; ++step) {
    bool any = false;
    for (int i = 0; i < count; ++i)
      if (::kill(-groups[i], 0) == 0) any = true;
    if (!any) ::_exit(0);
    guard_sleep_10ms();
  }
  for (int i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
  ::_exit(0);
}

struct ProcStat {
  int pid = 0;
  int pgrp = 0;
  char state = '?';
  uint64_t start_time = 0;
};

std::optional<ProcStat> read_proc_stat(const std::string& dir) {
  char buf[1024];
  int fd = ::open((dir + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = 0;
  std::string_view text(buf, static_cast<size_t>(n));
  auto close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos || close_paren + 2 >= text.size()) return std::nullopt;
  ProcStat st;
  st.pid = std::atoi(buf);
  // Fields after the command: 3 state, 4 ppid, 5 pgrp, ..., 22 starttime.
  std::string_view rest = text.substr(close_paren + 2);
  int field = 3;
  size_t pos = 0;
  while (pos < rest.size() && field <= 22) {
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view word = rest.substr(pos, end - pos);
    if (field == 3 && !word.empty()) st.state = word[0];
    if (field == 5) st.pgrp = std::atoi(std::string(word).c_str());
    if (field == 22) st.start_time = std::strtoull(std::string(word).c_str(), nullptr, 10);
    pos = end + 1;
    ++field;
  }
  if (field <= 22) return std::nullopt;
  return st;
}

// Live (not zombie) processes of the group that belong to the run recorded as `ref`: see
// kill_recorded_groups.
std::vector<int> recorded_members(const ProcessGroupRef& ref) {
  std::vector<int> members;
  if (ref.pgid <= 0) return members;
  // A different process now holds the leader's pid: the id was reused, none of this is ours.
  if (auto leader = read_proc_stat("/proc/" + std::to_string(ref.pgid)))
    if (leader->start_time != ref.start_time) return members;
  DIR* proc = ::opendir("/proc");
  if (!proc) return members;
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto st = read_proc_stat(std::string("/proc/") + e->d_name);
    if (!st || st->pgrp != ref.pgid || st->state == 'Z') continue;
    if (st->start_time < ref.start_time) continue;
    members.push_back(st->pid);
  }
  ::closedir(proc);
  return members;
}

bool group_has_live_members(int pgid) {
  if (::kill(-pgid, 0) != 0) return false;
  return !recorded_members({pgid, 0}).empty();
}

}  // namespace

// ---- Run ----

Run::Run(CancelToken parent) : m_token(parent.child()) {}

Run::~Run() { end(); }

void Run::notify_guard(int32_t message) {
  if (m_guard_fd < 0) return;
  // The guard is a safety net: if it is gone, the run goes on without it.
  [[maybe_unused]] ssize_t n = ::send(m_guard_fd, &message, sizeof message, MSG_NOSIGNAL);
}

void Run::track(int pgid) {
  {
    std::lock_guard lock(m_mutex);
    if (m_guard_pid == 0 && !m_ended) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
        pid_t pid = ::fork();
        if (pid == 0) guard_main(sv[1]);
        ::close(sv[1]);
        if (pid > 0) {
          m_guard_pid = pid;
          m_guard_fd = sv[0];
        } else {
          ::close(sv[0]);
          m_guard_pid = -1;  // no guard (fork failed): do not try again for every group
        }
      }
    }
    m_groups.push_back({pgid, process_start_time(pgid)});
    notify_guard(pgid);
  }
  changed();
}

void Run::leader_exited(int pgid, Leftovers leftovers) {
  if (leftovers == Leftovers::until_run_ends) {
    std::lock_guard lock(m_mutex);
    if (!m_ended) {
      m_kept.push_back(pgid);
      return;
    }
  }
  // While the leader is unreaped its pid, and so the group id, cannot be reused: signal first.
  if (leftovers != Leftovers::keep) ::kill(-pgid, SIGKILL);
  bool removed = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = std::find_if(m_groups.begin(), m_groups.end(), [&](auto& g) { return g.pgid == pgid; });
    if (it != m_groups.end()) {
      m_groups.erase(it);
      notify_guard(-pgid);
      removed = true;
    }
  }
  int status = 0;
  while (::waitpid(pgid, &status, 0) < 0 && errno == EINTR) {
  }
  if (removed) changed();
}

std::vector<ProcessGroupRef> Run::groups() const {
  std::lock_guard lock(m_mutex);
  return m_groups;
}

void Run::on_groups_changed(std::function<void(const std::vector<ProcessGroupRef>&)> callback) {
  std::lock_guard lock(m_mutex);
  m_on_change = std::move(callback);
}

void Run::changed() {
  std::function<void(const std::vector<ProcessGroupRef>&)> callback;
  std::vector<ProcessGroupRef> now;
  {
    std::lock_guard lock(m_mutex);
    callback = m_on_change;
    now = m_groups;
  }
  if (callback) callback(now);
}

int Run::guard_pid() const {
  std::lock_guard lock(m_mutex);
  return m_guard_pid > 0 ? m_guard_pid : 0;
}

void Run::end(milliseconds grace) {
  std::vector<ProcessGroupRef> groups;
  std::vector<int> kept;
  {
    std::lock_guard lock(m_mutex);
    if (m_ended) return;
    m_ended = true;
    groups = m_groups;
    kept = m_kept;
  }
  // 1. What is still running of the run: TERM, a grace period, then KILL.
  for (auto& g : groups) {
    ::kill(-g.pgid, SIGTERM);
    ::kill(-g.pgid, SIGCONT);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (!groups.empty() && std::chrono::steady_clock::now() < deadline) {
    bool any = std::any_of(groups.begin(), groups.end(), [](auto& g) { return group_has_live_members(g.pgid); });
    if (!any) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  for (auto& g : groups) ::kill(-g.pgid, SIGKILL);
  // 2. Leaders kept as zombies pinned their ids until now.
  for (int pid : kept) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // 3. The guard leaves without touching anything.
  {
    std::lock_guard lock(m_mutex);
    m_groups.clear();
    m_kept.clear();
    notify_guard(0);
    if (m_guard_fd >= 0) ::close(m_guard_fd);
    m_guard_fd = -1;
    if (m_guard_pid > 0) {
      int status = 0;
      while (::waitpid(m_guard_pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (!groups.empty()) changed();
}

Json process_groups_to_json(const std::vector<ProcessGroupRef>& groups) {
  Json out = Json::array();
  for (auto& g : groups) out.push_back(Json{{"pgid", g.pgid}, {"startTime", g.start_time}});
  return out;
}

int kill_recorded_groups(const std::vector<ProcessGroupRef>& groups) {
  int signalled = 0;
  for (auto& g : groups)
    for (int pid : recorded_members(g))
      if (::kill(pid, SIGKILL) == 0) ++signalled;
  return signalled;
}

bool recorded_groups_alive(const std::vector<ProcessGroupRef>& groups) {
  return std::any_of(groups.begin(), groups.end(), [](auto& g) { return !recorded_members(g).empty(); });
}

}  // namespace cicd

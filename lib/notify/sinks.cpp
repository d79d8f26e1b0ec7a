// The command and file sinks (the webhook is in webhook.cpp, with libcurl).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

#include "notify/sinks.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace cicd::notify {

namespace {

// A command that exits without reading its stdin makes our write to the pipe raise SIGPIPE,
// which would kill a caller that does not ignore it (a test, a library user). Blocked on this
// thread for the call, the write fails with EPIPE instead; the pending signal is then consumed
// so that unblocking does not deliver it.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
  }
  ~SigpipeBlocked() {
    timespec zero{0, 0};
    while (sigtimedwait(&m_set, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t m_set{};
  sigset_t m_old{};
};

// The last line a failing command wrote on stderr: usually the one that says why.
std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  auto start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  auto line = text.substr(start, end + 1 - start);
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return fmt::format("{} s", ms.count() / 1000);
  return fmt::format("{} ms", ms.count());
}

}  // namespace

Status append_json_line(const std::filesystem::path& path, const Json& value) {
  std::string line = to_json_text(value, JsonStyle::compact);
  line.push_back('\n');
  if (path.has_parent_path()) {
    if (auto st = make_dirs(path.parent_path()); !st) return st;
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno(fmt::format("cannot open '{}'", path.string()), errno);
  // O_APPEND alone makes each write(2) land at the end, but a write may be short (a full disk, a
  // signal) and a large one is not atomic on every file system; under the lock the rest of a
  // short write still follows its start, so lines never interleave.
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail_errno(fmt::format("cannot lock '{}'", path.string()), errno);
  }
  return write_all(fd.get(), line, path);  // the lock goes with the descriptor
}

namespace detail {

Status send_file(const Target& target, const std::filesystem::path& home, const Json& event) {
  auto path = target.path.is_absolute() || home.empty() ? target.path : home / target.path;
  return append_json_line(path, event);
}

Status send_command(const Target& target, const NotifyEvent& event, std::string_view body) {
  ProcessSpec spec;
  // The user wrote a shell command in the rules file: it runs as one.
  spec.argv = {"bash", "-c", target.command};
  spec.environment = current_environment();
  spec.environment["CICD_EVENT_TYPE"] = event.type;
  spec.environment["CICD_EVENT_RESOURCE"] = event.resource;
  spec.inherit_environment = false;
  spec.stdin_mode = StdinMode::data;
  spec.stdin_data = std::string(body) + "\n";
  auto timeout = target.timeout.count() > 0 ? target.timeout : detail::k_command_timeout;
  spec.timeout = timeout;
  spec.kill_grace = std::chrono::milliseconds(1000);
  // What the command leaves behind is killed with it: a notification owns no daemons.
  spec.leftovers = Leftovers::kill;
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;

  SigpipeBlocked blocked;
  auto result = run_process(spec);
  if (!result) return std::unexpected(result.error());
  if (result->timed_out) return fail(ErrorKind::timed_out, "timed out after {}", seconds_text(timeout));
  if (result->succeeded()) return {};
  auto why = last_line(sink->err());
  return fail(ErrorKind::failed, "{}{}", result->describe(), why.empty() ? "" : ": " + why);
}

}  // namespace detail

}  // namespace cicd::notify

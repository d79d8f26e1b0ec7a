// The Notifier: a home's rules, and publishing an event to them without holding up the caller.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "notify/notify.hpp"
#include "util/fs.hpp"

namespace cicd::notify {

namespace {

bool sync_from_environment() {
  const char* value = std::getenv("CICD_NOTIFY_SYNC");
  return value && std::strcmp(value, "1") == 0;
}

// The grandchild's start: nothing of the caller's but what delivery needs. Its terminal signals
// back to their defaults (the caller's handlers cancel the caller's runs, not ours), its standard
// streams on /dev/null (no one reads them, and a pipe held open would keep a reader waiting),
// and every other descriptor closed: an inherited lock file's descriptor would keep the
// caller's flock held for as long as a slow webhook takes.
void detach_descriptors_and_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) ::signal(sig, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
    if (null_fd > 2) ::close(null_fd);
  }
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
}

// Runs `work` in a process that is nobody's child: double fork, so init (or the nearest
// subreaper) reaps it and we never wait for it; setsid, so a Ctrl-C or a hang-up of the caller's
// terminal does not reach it. Waits only for the short-lived middle process.
template <class Work>
void run_detached(const Work& work) {
  pid_t middle = ::fork();
  if (middle < 0) return;  // no process to spare: the notification is lost, the caller goes on
  if (middle == 0) {
    ::setsid();
    pid_t worker = ::fork();
    if (worker != 0) ::_exit(0);
    detach_descriptors_and_signals();
    try {
      work();
    } catch (...) {
    }
    // _exit: the caller's atexit handlers and static destructors are not ours to run.
    ::_exit(0);
  }
  while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::filesystem::path rules_path(const std::filesystem::path& home) { return home / "notifications.yml"; }

std::filesystem::path dead_letter_path(const std::filesystem::path& home) {
  return home / "notify" / "dead-letter.jsonl";
}

Notifier::Notifier(std::filesystem::path home, NotifyConfig config, NotifierOptions options)
    : m_home(std::move(home)), m_config(std::move(config)), m_options(options) {}

Result<Notifier> Notifier::load(const std::filesystem::path& home, NotifierOptions options) {
  auto file = rules_path(home);
  auto text = read_file(file);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return Notifier(home, {}, options);
    return std::unexpected(text.error());
  }
  auto parsed = parse_notification_rules(*text);
  if (!parsed.config) {
    auto formatted = format_diagnostics(file.string(), parsed.diagnostics);
    return std::unexpected(Error{ErrorKind::invalid,
                                 fmt::format("invalid notification rules '{}'", file.string()),
                                 std::move(formatted.errors)});
  }
  return Notifier(home, std::move(*parsed.config), options);
}

std::vector<const Rule*> Notifier::matching(const NotifyEvent& event) const {
  std::vector<const Rule*> out;
  for (auto& rule : m_config.rules)
    if (rule.matches(event)) out.push_back(&rule);
  return out;
}

std::vector<TargetReport> Notifier::deliver_now(const NotifyEvent& event) const {
  std::vector<TargetReport> reports;
  try {
    // One id and time for the event, whichever rules carry it.
    NotifyEvent fixed = stamped(event);
    for (const Rule* rule : matching(fixed)) {
      DeliveryOptions options;
      options.attempts = m_config.attempts;
      options.initial_delay = m_config.initial_delay;
      options.dead_letter = dead_letter_path(m_home);
      options.home = m_home;
      options.detail = rule->detail;
      options.rule = rule->name;
      auto part = deliver(fixed, rule->targets, options);
      reports.insert(reports.end(), part.begin(), part.end());
    }
  } catch (const std::exception&) {
    // Allocation failure: what was delivered was delivered.
  }
  return reports;
}

void Notifier::publish(const NotifyEvent& event) const {
  try {
    // 1. Called on every state change: no match costs a few string compares, no process.
    if (matching(event).empty()) return;
    // 2. The id and time are fixed here, at the change, not when a delayed delivery runs.
    NotifyEvent fixed = stamped(event);
    // 3. Deliver here, or hand it to a process of its own.
    if (m_options.mode == PublishMode::sync || sync_from_environment()) {
      (void)deliver_now(fixed);
      return;
    }
    run_detached([&] { (void)deliver_now(fixed); });
  } catch (const std::exception&) {
    // A notification is never worth failing the caller's state change for.
  }
}

}  // namespace cicd::notify

#include "util/signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

namespace cicd {

namespace {
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};
std::once_flag g_once;

void on_signal(int sig) {
  int saved = errno;
  g_signal.store(sig);
  if (g_pipe[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &c, 1);
  }
  errno = saved;
}
}  // namespace

void install_stop_handlers() {
  std::call_once(g_once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    // A reader of our output going away must be an error from write(), not a silent death.
    ::signal(SIGPIPE, SIG_IGN);
  });
}

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }
int stop_fd() { return g_pipe[0]; }

void request_stop(int signal_number) { on_signal(signal_number); }

void reset_stop() {
  g_signal.store(0);
  if (g_pipe[0] >= 0) {
    char buf[64];
    while (::read(g_pipe[0], buf, sizeof buf) > 0) {
    }
  }
}

}  // namespace cicd

#include "util/signals.hpp"

#include <signal.h>

#include <cerrno>
#include <mutex>

namespace cicd {

namespace {
// Kept for the life of the process: the handler may run at any time.
const CancelToken* g_token = nullptr;
std::once_flag g_once;

void on_signal(int sig) {
  int saved = errno;
  if (g_token) g_token->cancel_from_signal(sig);
  errno = saved;
}
}  // namespace

void cancel_on_signals(const CancelToken& token) {
  std::call_once(g_once, [&] {
    g_token = new CancelToken(token);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
  });
}

}  // namespace cicd

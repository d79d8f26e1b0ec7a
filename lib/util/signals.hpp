// Stop requests: SIGINT, SIGTERM and SIGHUP are turned into a flag and a readable descriptor
// that the process runner polls, so a Ctrl-C or `kill` stops the children and lets the caller
// write its record before exiting.
#pragma once

namespace cicd {

void install_stop_handlers();
bool stop_requested();
// The signal that asked to stop (0 if none).
int stop_signal();
// Readable once a stop is requested; -1 before install_stop_handlers().
int stop_fd();
// Request a stop from inside the process (tests, internal aborts).
void request_stop(int signal_number);
// Forget a previous request (tests).
void reset_stop();

}  // namespace cicd

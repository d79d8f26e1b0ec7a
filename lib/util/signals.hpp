// Signals are the front end's business (DESIGN.md section 4): a tool's `main` turns SIGINT,
// SIGTERM and SIGHUP into a cancel of its root token, which the runs it starts descend from, so
// that a Ctrl-C or `kill` stops the children and lets each run write its record before exiting.
// Engines never install handlers.
#pragma once

#include "util/run.hpp"

namespace cicd {

// SIGINT, SIGTERM and SIGHUP cancel `token` (reason interrupted); SIGPIPE is ignored, so a
// reader of our output going away is an error from write(), not a silent death. Once per process.
void cancel_on_signals(const CancelToken& token);

}  // namespace cicd

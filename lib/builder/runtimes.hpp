// `runtime-versions`: nothing is installed here; we check what the machine offers against what
// the buildspec asks for, so a mismatch is seen before it breaks the build in a confusing way.
#pragma once

#include <string>
#include <vector>

#include "util/process.hpp"

namespace cicd {

struct RuntimeCheck {
  std::string runtime;    // as written: nodejs, python, java, golang, ...
  std::string requested;  // after $VAR expansion: 18, 3.11, corretto17, latest
  std::string found;      // version found, empty if the tool is missing
  std::string program;    // what was asked (node, python3, ...)
  bool known = true;      // a runtime we know how to check
  bool satisfied = false;
  std::string message;    // one line for the log
};

// Runs `<tool> --version` (or its equivalent) for the runtime and compares versions: the
// requested version's components must prefix the found one ("18" matches 18.19.0; "3.11"
// matches 3.11.7; "latest" matches anything installed).
RuntimeCheck check_runtime(ProcessRunner& runner, const Environment& env, const std::string& runtime,
                           const std::string& requested);

// The first version-looking token ("v18.19.0" -> "18.19.0") in a tool's output.
std::string extract_version(const std::string& output);
bool version_matches(const std::string& requested, const std::string& found);

}  // namespace cicd

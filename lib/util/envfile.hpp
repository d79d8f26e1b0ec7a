// Environment files: NAME=VALUE lines, as read by --env-file and written for the next tool.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace cicd {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Accepts `NAME=VALUE`, `export NAME=VALUE`, blank lines and `#` comments; VALUE may be
// 'single-quoted' (literal) or "double-quoted" (\n, \t, \", \\ and \$ escapes). Errors carry
// line numbers.
Result<EnvList> parse_env_file(std::string_view text, std::string_view file_name);

// Renders NAME=VALUE lines that parse_env_file (and a POSIX shell's `.`) read back exactly.
std::string render_env_file(const EnvList& variables);

bool is_valid_env_name(std::string_view name);

}  // namespace cicd

// Whether a pattern compiles as a std::regex (ECMAScript), kept in its own translation unit:
// see regex_check.cpp for why.
#pragma once

#include <optional>
#include <string>

namespace cicd {

// Why `pattern` does not compile as an ECMAScript std::regex, or nullopt when it does.
std::optional<std::string> ecmascript_regex_error(const std::string& pattern);

}  // namespace cicd

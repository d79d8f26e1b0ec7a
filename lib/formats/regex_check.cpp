// gcc 12 with -O2 and the sanitizers reports a false -Wmaybe-uninitialized inside <regex>'s
// std::function members (the warning points into std_function.h, which other headers may have
// included first, so a pragma around one include cannot silence it). This file holds nothing but
// the regex use, so silencing the warning here hides nothing else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "formats/regex_check.hpp"

#include <cctype>
#include <regex>

namespace cicd {

std::optional<std::string> ecmascript_regex_error(const std::string& pattern) {
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
    (void)compiled;
  } catch (const std::exception& e) {
    std::string why = e.what();
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return why;
  }
  return std::nullopt;
}

}  // namespace cicd

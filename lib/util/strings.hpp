// Small string helpers shared by every module.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cicd {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::vector<std::string> split_lines(std::string_view s);
std::string join(std::span<const std::string> parts, std::string_view sep);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

// Edit distance, for did-you-mean suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a sensible distance, if any.
std::optional<std::string> closest_match(std::string_view word, std::span<const std::string_view> candidates);
// "A, B or C", for "expected ..." texts.
std::string one_of(std::span<const std::string_view> words);
// What to add to an "unknown X 'word'" message: "; did you mean 'Y'?" when one of `known` is
// close, else "; expected A, B or C" ("" when nothing is known).
std::string did_you_mean(std::string_view word, std::span<const std::string_view> known);

// Quotes a word for display in a POSIX shell (never executed: we pass argv).
std::string shell_quote(std::string_view s);

// `path` resolved lexically from the root, as the kernel resolves it from "/": "." and empty
// components go, ".." takes away the component before it and stays at "/" at the top. Always
// absolute: "/srv/../../tmp/x" -> "/tmp/x", "srv/./app/" -> "/srv/app", "" -> "/".
std::string normalize_absolute_path(std::string_view path);
// Whether `path` has a ".." component.
bool has_dotdot_component(std::string_view path);

// Parses a non-negative decimal integer that fits in int64 (no sign, no spaces).
std::optional<long long> parse_uint(std::string_view s);

// Replaces every occurrence of each needle (longest first) with a mask.
std::string mask_secrets(std::string_view text, std::span<const std::string> secrets,
                         std::string_view mask = "***");

// Human durations: "850 ms", "12.3 s", "4 min 05 s".
std::string format_duration_ms(long long ms);

}  // namespace cicd

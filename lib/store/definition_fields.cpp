#include "store/definition_fields.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/definitions.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd::definition {

void require_keys(const std::vector<yaml::MapEntry>& entries,
                  std::span<const std::string_view> required, const YAML::Node& map,
                  std::string_view where, Diagnostics& d) {
  for (auto key : required) {
    bool present = std::any_of(entries.begin(), entries.end(),
                               [&](const yaml::MapEntry& e) { return e.key == key; });
    if (!present) d.error(yaml::position_of(map), fmt::format("missing '{}' in {}", key, where));
  }
}

void read_name(const yaml::MapEntry& e, std::string_view what, std::string_view expected,
               std::string_view place, Diagnostics& d, std::string& out) {
  auto s = yaml::scalar(e, d);
  if (!s) return;
  if (auto p = resource_name_problem(what, *s)) {
    d.error(yaml::value_position(e), *p);
    return;
  }
  if (*s != expected) {
    d.error(yaml::value_position(e),
            fmt::format("'{}' is '{}', which does not match {}; rename one to match", e.key, *s,
                        place));
    return;
  }
  out = *s;
}

std::string file_name_place(std::string_view name) {
  return fmt::format("the file name '{}{}'", name, k_definition_extension);
}

void read_id(const yaml::MapEntry& e, Diagnostics& d, std::string& out) {
  auto s = yaml::scalar(e, d);
  if (!s) return;
  if (trim(*s).empty()) {
    d.error(yaml::value_position(e), fmt::format("'{}' is empty", e.key));
    return;
  }
  out = *s;
}

void read_time(const yaml::MapEntry& e, Diagnostics& d, std::string& out) {
  auto s = yaml::scalar(e, d);
  if (!s) return;
  if (!parse_iso8601(*s)) {
    d.error(yaml::value_position(e),
            fmt::format("'{}' must be an ISO-8601 time such as 2026-01-31T12:00:00.000Z; got '{}'",
                        e.key, *s));
    return;
  }
  out = *s;
}

std::optional<std::string> optional_text(const yaml::MapEntry& e, Diagnostics& d) {
  if (e.value.IsNull()) return std::string();
  return yaml::scalar(e, d);
}

void emit(YAML::Emitter& out, std::string_view key, const std::string& value) {
  out << YAML::Key << std::string(key) << YAML::Value << value;
}

}  // namespace cicd::definition

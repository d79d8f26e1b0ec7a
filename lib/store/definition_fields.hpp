// The fields of definition files (store/definitions.hpp): what a kind's parse function needs to
// read its YAML with positions, and its writer to emit it. Each reader reports a problem at the
// value (or the mapping) and leaves `out` as it was, so a parse function reads every field and
// reports every problem in one pass. Unknown keys and their did-you-mean come from
// yaml::entries(..., yaml::UnknownKeys::error); unknown values from did_you_mean (util/strings).
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/yaml_util.hpp"
#include "util/error.hpp"

namespace cicd::definition {

// Reports each key of `required` missing from `entries`, at the mapping: "missing 'K' in WHERE".
void require_keys(const std::vector<yaml::MapEntry>& entries,
                  std::span<const std::string_view> required, const YAML::Node& map,
                  std::string_view where, Diagnostics& d);

// A name field, which must be a valid resource name and match where the file is: `expected`,
// with `place` saying which ("the file name 'web.yml'", see file_name_place). `what` names the
// resource ("application").
void read_name(const yaml::MapEntry& e, std::string_view what, std::string_view expected,
               std::string_view place, Diagnostics& d, std::string& out);
// "the file name '<name>.yml'": the place of a name that must match its file's.
std::string file_name_place(std::string_view name);

// An id (a UUID, an ARN): any text that is not empty.
void read_id(const yaml::MapEntry& e, Diagnostics& d, std::string& out);
// An ISO-8601 time (2026-01-31T12:00:00.000Z).
void read_time(const yaml::MapEntry& e, Diagnostics& d, std::string& out);
// A string that may be written empty (`Value:`): null reads as "".
std::optional<std::string> optional_text(const yaml::MapEntry& e, Diagnostics& d);

// "key: value", for an EmitBody.
void emit(YAML::Emitter& out, std::string_view key, const std::string& value);

}  // namespace cicd::definition

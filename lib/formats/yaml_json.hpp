// YAML documents that hold a JSON structure (a build project, a pipeline as `get-pipeline` prints
// it, written as YAML by hand): read into JSON with every value's position kept, so that one
// validator of the JSON shape serves both a JSON input (the AWS CLI's) and a YAML file, and its
// errors point at FILE:LINE:COL; and JSON written back as YAML for files people edit.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>

#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd::yaml {

struct PositionedJson {
  Json value;
  // Positions by JSON pointer ("" the root, "/source/type", "/stages/0/name").
  std::map<std::string, Position> positions;
  // The position of `pointer`, or of its nearest ancestor that has one.
  Position at(std::string pointer) const;
};

// What to make of local tags (`!Ref x`).
enum class Tags {
  // The tag is dropped: `!Ref x` reads as "x".
  ignore,
  // CloudFormation's short forms become the long forms AWS reads: `!Ref x` -> {"Ref": "x"},
  // `!Condition x` -> {"Condition": "x"}, `!GetAtt A.B` (split at the first '.') and
  // `!GetAtt [A, B]` -> {"Fn::GetAtt": ["A", "B"]}, any other known `!Name v` -> {"Fn::Name": v}.
  // An unknown tag is an error at its node. Both the object and its inner value are placed at the
  // tagged node.
  cloudformation,
};

// Mappings become objects (keys must be scalars; merge keys are resolved), sequences arrays, plain
// scalars null (~, null, empty), booleans (true/false), integers or strings, and quoted scalars
// strings. Problems (a key that is not a scalar, a duplicate key) go to `diagnostics`.
PositionedJson to_json(const YAML::Node& node, Diagnostics& diagnostics, Tags tags = Tags::ignore);

// A key as one step of a JSON pointer (RFC 6901): '~' -> "~0", '/' -> "~1".
std::string escape_pointer(std::string_view key);

// Writes `value` as YAML (block style, keys in their order), for a file meant to be read by hand.
void emit_json(YAML::Emitter& out, const Json& value);

}  // namespace cicd::yaml

// JSON text read with the position of every value, so that a JSON input (a CloudFormation template
// in JSON, CDK's output, a pipeline as `get-pipeline` prints it) gets FILE:LINE:COL errors from the
// same validators as a YAML one (yaml::PositionedJson).
#pragma once

#include <optional>
#include <string_view>

#include "formats/yaml_json.hpp"
#include "util/error.hpp"

namespace cicd::yaml {

// Deeper nesting is refused before anything recurses over the text.
inline constexpr int k_max_json_depth = 256;

// Parses `text` strictly as JSON (nlohmann; a UTF-8 byte order mark is skipped). A syntax error
// becomes one diagnostic at its line and column and nullopt; so does nesting deeper than
// k_max_json_depth. Every value's position is kept by JSON pointer: the 1-based line and column
// (in bytes) of its first character; for an object member, of its value. Pointers use the decoded
// keys ("\u0041" is "A"), escaped as RFC 6901 says. A key given twice in one object is an error
// (the last value is kept, as nlohmann keeps it), as it is in YAML.
std::optional<PositionedJson> parse_positioned_json(std::string_view text,
                                                    Diagnostics& diagnostics);

}  // namespace cicd::yaml

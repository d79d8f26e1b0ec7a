// JSON documents with field order kept as written (records read like the AWS API's).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "util/error.hpp"

namespace cicd {

using Json = nlohmann::ordered_json;

enum class JsonStyle { pretty, compact };

std::string to_json_text(const Json& value, JsonStyle style = JsonStyle::pretty);
Result<Json> parse_json(std::string_view text, std::string_view what);

}  // namespace cicd

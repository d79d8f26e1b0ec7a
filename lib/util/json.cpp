#include "util/json.hpp"

namespace cicd {

std::string to_json_text(const Json& value, JsonStyle style) {
  // Replace invalid UTF-8 rather than throw: logs and output of commands can hold anything.
  if (style == JsonStyle::pretty)
    return value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<Json> parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail(ErrorKind::invalid, "cannot parse {}: {}", what, e.what());
  }
}

}  // namespace cicd

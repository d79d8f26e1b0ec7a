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
    // "[json.exception.parse_error.101] parse error at line 3, ...": the tag means nothing to a user.
    std::string_view why = e.what();
    if (why.starts_with("[json.exception.")) {
      auto end = why.find("] ");
      if (end != std::string_view::npos) why.remove_prefix(end + 2);
    }
    return fail(ErrorKind::invalid, "cannot parse {}: {}", what, why);
  }
}

// ---- JsonReader ----

namespace {

std::string describe(const Json& value) {
  std::string_view type = value.type_name();
  return fmt::format("{} {}", type == "array" || type == "object" ? "an" : "a", type);
}

}  // namespace

JsonReader::JsonReader(const Json& json, std::string what)
    : m_json(&json), m_shared(std::make_shared<Shared>(Shared{std::move(what), std::nullopt})) {
  if (!json.is_object())
    problem(fmt::format("{} is {}, not an object", m_shared->what, describe(json)));
}

JsonReader::JsonReader(const Json* json, std::string path, std::shared_ptr<Shared> shared)
    : m_json(json), m_path(std::move(path)), m_shared(std::move(shared)) {}

std::string JsonReader::path_of(std::string_view key) const {
  return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
}

void JsonReader::problem(std::string message) {
  if (!m_shared->error) m_shared->error = Error{ErrorKind::invalid, std::move(message)};
}

void JsonReader::out_of_range(std::string_view path, const Json& value) {
  problem(fmt::format("{}: field '{}' is out of range ({})", m_shared->what, path, value.dump()));
}

void JsonReader::wrong_type(std::string_view path, const Json& value, std::string_view expected) {
  problem(fmt::format("{}: field '{}' is {}, not {}", m_shared->what, path, describe(value), expected));
}

const Json* JsonReader::field(std::string_view key) {
  if (!m_json || !m_json->is_object()) return nullptr;
  auto it = m_json->find(key);
  if (it == m_json->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonReader::has(std::string_view key) const {
  if (!m_json || !m_json->is_object()) return false;
  auto it = m_json->find(key);
  return it != m_json->end() && !it->is_null();
}

bool JsonReader::empty() const { return !m_json || !m_json->is_object() || m_json->empty(); }

std::string JsonReader::string(std::string_view key, std::string fallback) {
  auto value = optional_string(key);
  return value ? std::move(*value) : std::move(fallback);
}

std::optional<std::string> JsonReader::optional_string(std::string_view key) {
  const Json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    wrong_type(path_of(key), *v, "a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string JsonReader::required_string(std::string_view key) {
  if (m_json && m_json->is_object() && !has(key)) problem(fmt::format("{}: field '{}' is missing", m_shared->what, path_of(key)));
  return string(key);
}

bool JsonReader::boolean(std::string_view key, bool fallback) {
  const Json* v = field(key);
  if (!v) return fallback;
  if (!v->is_boolean()) {
    wrong_type(path_of(key), *v, "true or false");
    return fallback;
  }
  return v->get<bool>();
}

JsonReader JsonReader::object(std::string_view key) {
  const Json* v = field(key);
  if (v && !v->is_object()) {
    wrong_type(path_of(key), *v, "an object");
    v = nullptr;
  }
  return JsonReader(v, path_of(key), m_shared);
}

const Json* JsonReader::array_field(std::string_view key) {
  const Json* v = field(key);
  if (v && !v->is_array()) {
    wrong_type(path_of(key), *v, "an array");
    return nullptr;
  }
  return v;
}

std::vector<JsonReader> JsonReader::objects(std::string_view key) {
  std::vector<JsonReader> out;
  const Json* v = array_field(key);
  for (size_t i = 0; v && i < v->size(); ++i) {
    std::string item = fmt::format("{}[{}]", path_of(key), i);
    const Json& element = (*v)[i];
    if (element.is_object()) out.push_back(JsonReader(&element, std::move(item), m_shared));
    else wrong_type(item, element, "an object");
  }
  return out;
}

std::vector<std::string> JsonReader::strings(std::string_view key) {
  std::vector<std::string> out;
  const Json* v = array_field(key);
  for (size_t i = 0; v && i < v->size(); ++i) {
    const Json& element = (*v)[i];
    if (element.is_string()) out.push_back(element.get<std::string>());
    else wrong_type(fmt::format("{}[{}]", path_of(key), i), element, "a string");
  }
  return out;
}

void JsonReader::reject(std::string_view key, std::string_view why) {
  problem(fmt::format("{}: field '{}' {}", m_shared->what, path_of(key), why));
}

Status JsonReader::status() const {
  if (m_shared->error) return std::unexpected(*m_shared->error);
  return {};
}

}  // namespace cicd

#include "formats/yaml_json.hpp"

#include <fmt/format.h>

#include <charconv>

#include "formats/yaml_util.hpp"

namespace cicd::yaml {

namespace {

std::string escape_pointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

Json scalar_value(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (!is_plain_scalar(node)) return text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size() && !(text.size() > 1 && text[0] == '0')) return n;
  return text;
}

// Depth-bounded: a hostile document cannot recurse forever.
Json convert(const YAML::Node& node, const std::string& pointer, PositionedJson& out, Diagnostics& d, int depth) {
  out.positions[pointer] = position_of(node);
  if (depth > 64) {
    d.error(position_of(node), "the document nests too deeply");
    return nullptr;
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (auto& e : entries(node, "", {}, d, UnknownKeys::allow)) {
        auto child = pointer + "/" + escape_pointer(e.key);
        object[e.key] = convert(e.value, child, out, d, depth + 1);
        out.positions[child] = e.value.IsNull() ? e.key_position : position_of(e.value);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      size_t i = 0;
      for (const auto& item : node) array.push_back(convert(item, fmt::format("{}/{}", pointer, i++), out, d, depth + 1));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalar_value(node);
    default:
      return nullptr;
  }
}

}  // namespace

Position PositionedJson::at(std::string pointer) const {
  for (;;) {
    if (auto it = positions.find(pointer); it != positions.end()) return it->second;
    if (pointer.empty()) return {};
    pointer.erase(pointer.rfind('/'));
  }
}

PositionedJson to_json(const YAML::Node& node, Diagnostics& diagnostics) {
  PositionedJson out;
  out.value = convert(node, "", out, diagnostics, 0);
  return out;
}

void emit_json(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (auto& [k, v] : value.items()) {
      out << YAML::Key << k << YAML::Value;
      emit_json(out, v);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (auto& v : value) emit_json(out, v);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    // A string that would read back as something else (true, 12, null) stays a string.
    bool ambiguous = true;
    try {
      YAML::Node probe = YAML::Load(s);
      ambiguous = s.empty() || !probe.IsScalar() || probe.Scalar() != s || !scalar_value(probe).is_string();
    } catch (const YAML::Exception&) {
    }
    if (s.find('\n') != std::string::npos) out << YAML::Literal << s;
    else if (ambiguous) out << YAML::DoubleQuoted << s;
    else out << s;
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

}  // namespace cicd::yaml

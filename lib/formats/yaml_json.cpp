#include "formats/yaml_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "formats/yaml_util.hpp"
#include "util/strings.hpp"

namespace cicd::yaml {

std::string escape_pointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

namespace {

// CloudFormation's short-form tags (the intrinsic and condition functions, and the rule functions
// a template's Rules use), without the "Fn::" their long forms take.
constexpr std::array<std::string_view, 25> k_cloudformation_tags = {
    "Ref",    "Condition", "GetAtt",    "Base64",       "Cidr",         "FindInMap",
    "GetAZs", "ImportValue", "Join",    "Select",       "Split",        "Sub",
    "Transform", "And",    "Equals",    "If",           "Not",          "Or",
    "Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "Length",
    "ToJsonString"};

// The long-form key of a node's CloudFormation tag ("Ref", "Fn::Sub"), or nullopt when the node
// has none. yaml-cpp gives "?" to untagged plain nodes and "!" to quoted scalars (and to `! x`):
// neither is a CloudFormation tag, nor are global tags ("tag:yaml.org,2002:str" for `!!str`).
std::optional<std::string> cloudformation_key(const YAML::Node& node, Diagnostics& d) {
  const std::string& tag = node.Tag();
  if (tag.size() < 2 || tag[0] != '!' || tag[1] == '!') return std::nullopt;
  std::string_view name = std::string_view(tag).substr(1);
  auto end = k_cloudformation_tags.end();
  if (std::find(k_cloudformation_tags.begin(), end, name) == end) {
    auto suggestion = closest_match(name, k_cloudformation_tags);
    std::string hint = suggestion ? fmt::format("; did you mean '!{}'?", *suggestion) : "";
    d.error(position_of(node), fmt::format("unknown CloudFormation tag '{}'{}", tag, hint));
    return std::nullopt;
  }
  if (name == "Ref" || name == "Condition") return std::string(name);
  return fmt::format("Fn::{}", name);
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

Json convert(const YAML::Node& node, const std::string& pointer, PositionedJson& out,
             Diagnostics& d, int depth, Tags tags);

// The node as JSON, its tag aside.
Json convert_untagged(const YAML::Node& node, const std::string& pointer, PositionedJson& out,
                      Diagnostics& d, int depth, Tags tags) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (auto& e : entries(node, "", {}, d, UnknownKeys::allow)) {
        auto child = pointer + "/" + escape_pointer(e.key);
        object[e.key] = convert(e.value, child, out, d, depth + 1, tags);
        out.positions[child] = e.value.IsNull() ? e.key_position : position_of(e.value);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      size_t i = 0;
      for (const auto& item : node)
        array.push_back(convert(item, fmt::format("{}/{}", pointer, i++), out, d, depth + 1, tags));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalar_value(node);
    default:
      return nullptr;
  }
}

// Depth-bounded: a hostile document cannot recurse forever.
Json convert(const YAML::Node& node, const std::string& pointer, PositionedJson& out,
             Diagnostics& d, int depth, Tags tags) {
  Position position = position_of(node);
  out.positions[pointer] = position;
  if (depth > 64) {
    d.error(position, "the document nests too deeply");
    return nullptr;
  }
  std::optional<std::string> key;
  if (tags == Tags::cloudformation) key = cloudformation_key(node, d);
  if (!key) return convert_untagged(node, pointer, out, d, depth, tags);

  // `!GetAtt Res.Attr` is the one short form whose long form is shaped differently.
  std::string inner = pointer + "/" + escape_pointer(*key);
  out.positions[inner] = position;
  if (*key == "Fn::GetAtt" && node.IsScalar()) {
    const std::string& text = node.Scalar();
    size_t dot = text.find('.');
    Json pair = dot == std::string::npos ? Json::array({text})
                                         : Json::array({text.substr(0, dot), text.substr(dot + 1)});
    for (size_t i = 0; i < pair.size(); ++i)
      out.positions[fmt::format("{}/{}", inner, i)] = position;
    return Json::object({{*key, std::move(pair)}});
  }
  return Json::object({{*key, convert_untagged(node, inner, out, d, depth + 1, tags)}});
}

}  // namespace

Position PositionedJson::at(std::string pointer) const {
  for (;;) {
    if (auto it = positions.find(pointer); it != positions.end()) return it->second;
    if (pointer.empty()) return {};
    pointer.erase(pointer.rfind('/'));
  }
}

PositionedJson to_json(const YAML::Node& node, Diagnostics& diagnostics, Tags tags) {
  PositionedJson out;
  out.value = convert(node, "", out, diagnostics, 0, tags);
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

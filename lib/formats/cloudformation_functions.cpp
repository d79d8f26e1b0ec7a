// The intrinsic functions (Ref and Fn::*), as CloudFormation's reference describes them. Each takes
// its argument as written, resolves what it needs, and returns its result; a value known only in
// AWS is a placeholder (see cloudformation.hpp) and what is built from one is unresolved too.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "formats/cloudformation_resolver.hpp"
#include "util/strings.hpp"

namespace cicd::cfn::detail {

namespace {

// One call of a function: what every function needs, and its ways to fail.
struct Call {
  Resolver& r;
  const std::string& function;
  const Json& argument;
  const std::string& source;  // of the argument
  Position where;             // of the call
  const std::string& out;
  Sink& sink;
  int depth;

  Json error(const std::string& message) {
    r.diagnostics().error(where, message);
    return Resolver::failed(sink);
  }
  // "'Fn::Join' takes [delimiter, list]; got a mapping"
  Json shape_error(std::string_view expected) {
    return error(fmt::format("'{}' takes {}; got {}", function, expected, describe(argument)));
  }
  std::string item_source(size_t i) const { return child(source, i); }
  Evaluated evaluate_item(size_t i) { return r.evaluate(argument[i], item_source(i), depth); }
  std::optional<std::string> string_item(size_t i, std::string_view what,
                                         std::vector<std::string>& unknowns) {
    auto text = r.string_argument(argument[i], item_source(i), depth,
                                  fmt::format("the {} of '{}'", what, function), unknowns);
    if (!text) sink.failed = true;
    return text;
  }
  // The result is built from values known only in AWS: it stands as it is, marked unresolved.
  Json built_from(Json result, const std::vector<std::string>& unknowns) {
    Resolver::built_from(sink, out, unknowns);
    return result;
  }
  // A list or a placeholder for one (a list known only in AWS); nullopt after an error.
  std::optional<Json> list_item(size_t i, Evaluated& e, std::string_view what) {
    e = evaluate_item(i);
    if (e.failed()) {
      sink.failed = true;
      return std::nullopt;
    }
    Json value = e.value.value_or(nullptr);
    if (value.is_array() || (e.unresolved() && value.is_string())) return value;
    r.diagnostics().error(
        r.position(item_source(i)),
        fmt::format("the {} of '{}' must be a list; got {}", what, function, describe(value)));
    sink.failed = true;
    return std::nullopt;
  }
};

std::optional<Json> fn_ref(Call& c) {
  if (!c.argument.is_string()) return c.shape_error("the name of a parameter or resource");
  const auto& name = c.argument.get_ref<const std::string&>();
  return c.r.ref(name, fmt::format("Ref {}", name), c.where, c.out, c.sink, c.depth);
}

std::optional<Json> fn_if(Call& c) {
  if (!c.argument.is_array() || c.argument.size() != 3 || !c.argument[0].is_string())
    return c.shape_error("[condition name, value if true, value if false]");
  auto holds =
      c.r.condition(c.argument[0].get<std::string>(), c.r.position(c.item_source(0)), c.depth);
  if (!holds) return Resolver::failed(c.sink);
  // The branch is resolved in place: its positions, not the Fn::If's, are the result's.
  size_t branch = *holds ? 1 : 2;
  return c.r.resolve(c.argument[branch], c.item_source(branch), c.out, c.sink, c.depth + 1);
}

// Fn::Sub: ${Name} is a variable of the map, else a Ref; ${Res.Attr} a Fn::GetAtt; ${!Text} the
// literal ${Text}. A "${" with no "}" stays as written.
std::optional<Json> fn_sub(Call& c) {
  const Json* text = &c.argument;
  const Json* variables = nullptr;
  if (c.argument.is_array() && c.argument.size() == 2 && c.argument[1].is_object()) {
    text = &c.argument[0];
    variables = &c.argument[1];
  }
  if (!text->is_string()) return c.shape_error("a string, or [string, {name: value, ...}]");
  const auto& input = text->get_ref<const std::string&>();

  std::vector<std::string> unknowns;
  std::map<std::string, std::optional<std::string>>
      values;  // the map's variables, resolved when used
  auto value_of = [&](const std::string& name) -> std::optional<std::string> {
    if (variables && variables->contains(name)) {
      auto [it, fresh] = values.try_emplace(name);
      if (fresh)
        it->second =
            c.r.string_argument((*variables)[name], child(child(c.source, size_t{1}), name),
                                c.depth, fmt::format("variable '{}' of 'Fn::Sub'", name), unknowns);
      return it->second;
    }
    Sink scratch;
    std::string written = fmt::format("${{{}}}", name);
    std::optional<Json> value;
    if (auto dot = name.find('.'); dot != std::string::npos)
      value = c.r.get_att(name.substr(0, dot), name.substr(dot + 1), written, c.where, "", scratch,
                          c.depth);
    else
      value = c.r.ref(name, written, c.where, "", scratch, c.depth);
    if (scratch.failed) return std::nullopt;
    auto part = value ? scalar_text(*value) : std::nullopt;
    if (!part) {
      c.r.diagnostics().error(c.where,
                              fmt::format("'{}' in 'Fn::Sub' must be a string; got {}", written,
                                          value ? describe(*value) : "AWS::NoValue"));
      return std::nullopt;
    }
    for (auto& [pointer, what] : scratch.unresolved)
      if (std::find(unknowns.begin(), unknowns.end(), what) == unknowns.end())
        unknowns.push_back(what);
    return part;
  };

  std::string result;
  bool ok = true;
  for (size_t i = 0; i < input.size();) {
    size_t open = input.find("${", i);
    size_t close = open == std::string::npos ? open : input.find('}', open);
    if (close == std::string::npos) {
      result.append(input, i, std::string::npos);
      break;
    }
    result.append(input, i, open - i);
    if (input[open + 2] == '!') {
      result += "${";
      i = open + 3;
      continue;
    }
    auto value =
        value_of(std::string(trim(std::string_view(input).substr(open + 2, close - open - 2))));
    ok = ok && value.has_value();
    result += value.value_or("");
    i = close + 1;
  }
  if (!ok) return Resolver::failed(c.sink);
  return c.built_from(result, unknowns);
}

std::optional<Json> fn_join(Call& c) {
  if (!c.argument.is_array() || c.argument.size() != 2) return c.shape_error("[delimiter, list]");
  std::vector<std::string> unknowns;
  auto delimiter = c.string_item(0, "delimiter", unknowns);
  Evaluated list;
  auto items = c.list_item(1, list, "list");
  if (!delimiter || !items) return Resolver::failed(c.sink);
  for (auto& u : list.unknowns()) unknowns.push_back(u);
  if (!items->is_array()) return c.built_from(*items, unknowns);
  std::vector<std::string> parts;
  for (size_t i = 0; i < items->size(); ++i) {
    auto part = scalar_text((*items)[i]);
    if (!part) {
      Position at =
          list.sink.positions.count(child("", i)) ? list.sink.positions[child("", i)] : c.where;
      c.r.diagnostics().error(at, fmt::format("the items 'Fn::Join' joins must be strings; got {}",
                                              describe((*items)[i])));
      return Resolver::failed(c.sink);
    }
    parts.push_back(*part);
  }
  return c.built_from(join(parts, *delimiter), unknowns);
}

std::optional<Json> fn_select(Call& c) {
  if (!c.argument.is_array() || c.argument.size() != 2) return c.shape_error("[index, list]");
  std::vector<std::string> unknowns;
  auto index_text = c.string_item(0, "index", unknowns);
  Evaluated list;
  auto items = c.list_item(1, list, "list");
  if (!index_text || !items) return Resolver::failed(c.sink);
  auto index = parse_uint(*index_text);
  if (!index && unknowns.empty())
    return c.error(
        fmt::format("the index of 'Fn::Select' must be a number from 0; got "
                    "'{}'",
                    *index_text));
  if (!index || !items->is_array()) {
    for (auto& u : list.unknowns()) unknowns.push_back(u);
    return c.built_from(placeholder(fmt::format("!Select {}", join(unknowns, ", "))), unknowns);
  }
  if (static_cast<size_t>(*index) >= items->size())
    return c.error(fmt::format("'Fn::Select' index {} is out of range: the list has {} item{}",
                               *index, items->size(), items->size() == 1 ? "" : "s"));
  std::string picked = child("", static_cast<size_t>(*index));
  Resolver::graft(list.sink, picked, c.out, c.sink);
  return (*items)[static_cast<size_t>(*index)];
}

std::optional<Json> fn_split(Call& c) {
  if (!c.argument.is_array() || c.argument.size() != 2) return c.shape_error("[delimiter, string]");
  std::vector<std::string> unknowns;
  auto delimiter = c.string_item(0, "delimiter", unknowns);
  auto text = c.string_item(1, "string", unknowns);
  if (!delimiter || !text) return Resolver::failed(c.sink);
  if (delimiter->empty()) return c.error("the delimiter of 'Fn::Split' cannot be empty");
  // Where a part is known only in AWS so is the number of items: the whole list is unknown.
  if (!unknowns.empty()) return c.built_from(*text, unknowns);
  Json items = Json::array();
  for (size_t start = 0;;) {
    size_t end = text->find(*delimiter, start);
    items.push_back(
        text->substr(start, end == std::string::npos ? std::string::npos : end - start));
    c.sink.positions[child(c.out, items.size() - 1)] = c.where;
    if (end == std::string::npos) break;
    start = end + delimiter->size();
  }
  return items;
}

std::optional<Json> fn_find_in_map(Call& c) {
  bool with_default = c.argument.is_array() && c.argument.size() == 4 &&
                      c.argument[3].is_object() && c.argument[3].contains("DefaultValue");
  if (!c.argument.is_array() || (c.argument.size() != 3 && !with_default))
    return c.shape_error("[mapping, top-level key, second-level key] (and {DefaultValue: value})");
  std::vector<std::string> unknowns;
  std::array<std::optional<std::string>, 3> keys;
  constexpr std::array<std::string_view, 3> k_what = {"mapping name", "top-level key",
                                                      "second-level key"};
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = c.string_item(i, k_what[i], unknowns);
  if (!keys[0] || !keys[1] || !keys[2]) return Resolver::failed(c.sink);
  if (!unknowns.empty())
    return c.built_from(
        placeholder(fmt::format("!FindInMap [{}, {}, {}]", *keys[0], *keys[1], *keys[2])),
        unknowns);

  // Walk down the Mappings; a missing key is the default's business, else an error naming it.
  std::string source = "/Mappings";
  const Json* value = &c.r.section("Mappings");
  std::string missing;
  for (size_t i = 0; i < keys.size() && missing.empty(); ++i) {
    auto it = value->is_object() ? value->find(*keys[i]) : value->end();
    if (!value->is_object() || it == value->end()) {
      missing = i == 0 ? fmt::format("there is no mapping '{}'", *keys[0])
                       : fmt::format("mapping '{}' has no key '{}'{}", *keys[0], *keys[i],
                                     i == 2 ? fmt::format(" under '{}'", *keys[1]) : "");
      break;
    }
    value = &*it;
    source = child(source, *keys[i]);
  }
  Position call_site = c.where;
  std::optional<Json> result;
  if (missing.empty())
    result = c.r.resolve(*value, source, c.out, c.sink, c.depth + 1);
  else if (with_default)
    result = c.r.resolve(c.argument[3]["DefaultValue"], child(c.item_source(3), "DefaultValue"),
                         c.out, c.sink, c.depth + 1);
  else
    return c.error(fmt::format("'Fn::FindInMap': {}", missing));
  c.sink.positions[c.out] = call_site;
  return result;
}

std::optional<Json> fn_base64(Call& c) {
  std::vector<std::string> unknowns;
  auto text =
      c.r.string_argument(c.argument, c.source, c.depth, "the argument of 'Fn::Base64'", unknowns);
  if (!text) return Resolver::failed(c.sink);
  if (!unknowns.empty()) return c.built_from(*text, unknowns);
  static constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text->size(); i += 3) {
    uint32_t chunk = 0;
    size_t n = std::min<size_t>(3, text->size() - i);
    for (size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < n ? static_cast<unsigned char>((*text)[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? k_alphabet[(chunk >> (18 - 6 * k)) & 0x3F] : '=';
  }
  return out;
}

std::optional<Json> fn_get_azs(Call& c) {
  std::vector<std::string> unknowns;
  auto region =
      c.r.string_argument(c.argument, c.source, c.depth, "the region of 'Fn::GetAZs'", unknowns);
  if (!region) return Resolver::failed(c.sink);
  if (!unknowns.empty())
    return c.built_from(placeholder(fmt::format("!GetAZs {}", *region)), unknowns);
  // The zones a region has are AWS's to say; three, a to c, is what most regions have.
  std::string name = region->empty() ? c.r.context().region : *region;
  Json zones = Json::array();
  for (char zone : {'a', 'b', 'c'}) {
    zones.push_back(name + zone);
    c.sink.positions[child(c.out, zones.size() - 1)] = c.where;
  }
  return zones;
}

std::optional<Json> fn_get_att(Call& c) {
  std::string logical_id;
  std::string attribute;
  if (c.argument.is_string()) {
    const auto& text = c.argument.get_ref<const std::string&>();
    size_t dot = text.find('.');
    if (dot == std::string::npos)
      return c.shape_error("[resource, attribute] or \"resource.attribute\"");
    logical_id = text.substr(0, dot);
    attribute = text.substr(dot + 1);
  } else if (c.argument.is_array() && c.argument.size() == 2 && c.argument[0].is_string()) {
    logical_id = c.argument[0].get<std::string>();
    std::vector<std::string> unknowns;  // an attribute's name comes from parameters, never from AWS
    auto name = c.string_item(1, "attribute", unknowns);
    if (!name) return Resolver::failed(c.sink);
    attribute = *name;
  } else {
    return c.shape_error("[resource, attribute] or \"resource.attribute\"");
  }
  return c.r.get_att(logical_id, attribute, fmt::format("!GetAtt {}.{}", logical_id, attribute),
                     c.where, c.out, c.sink, c.depth);
}

std::optional<Json> fn_import_value(Call& c) {
  std::vector<std::string> unknowns;
  auto name = c.r.string_argument(c.argument, c.source, c.depth,
                                  "the export name of 'Fn::ImportValue'", unknowns);
  if (!name) return Resolver::failed(c.sink);
  std::string what = fmt::format("!ImportValue {}", *name);
  if (!unknowns.empty()) return c.built_from(placeholder(what), unknowns);
  const auto& known = c.r.context().known_values;
  if (auto it = known.find(*name); it != known.end()) return it->second;
  return c.r.unknown(c.sink, c.out, c.where, what, "is another stack's export, known only in AWS",
                     *name);
}

std::optional<Json> fn_length(Call& c) {
  Evaluated e = c.r.evaluate(c.argument, c.source, c.depth);
  if (e.failed()) return Resolver::failed(c.sink);
  Json value = e.value.value_or(nullptr);
  if (value.is_array()) return value.size();
  if (e.unresolved())
    return c.built_from(placeholder(fmt::format("!Length {}", join(e.unknowns(), ", "))),
                        e.unknowns());
  return c.error(fmt::format("'Fn::Length' counts a list; got {}", describe(value)));
}

std::optional<Json> fn_to_json_string(Call& c) {
  Evaluated e = c.r.evaluate(c.argument, c.source, c.depth);
  if (e.failed()) return Resolver::failed(c.sink);
  Json value = e.value.value_or(nullptr);
  if (!value.is_object() && !value.is_array())
    return c.error(
        fmt::format("'Fn::ToJsonString' takes a mapping or a list; got {}", describe(value)));
  // Compact, as AWS writes it; text that is not UTF-8 is replaced rather than thrown about.
  return c.built_from(value.dump(-1, ' ', false, Json::error_handler_t::replace), e.unknowns());
}

// Functions whose result AWS computes: a placeholder, and a warning saying so.
std::optional<Json> fn_computed_in_aws(Call& c) {
  if (c.function == "Fn::Transform") {
    std::string name =
        c.argument.is_object() && c.argument.contains("Name") && c.argument["Name"].is_string()
            ? c.argument["Name"].get<std::string>()
            : std::string("?");
    return c.r.unknown(c.sink, c.out, c.where, fmt::format("Fn::Transform {}", name),
                       "runs a macro in AWS, not here", "");
  }
  return c.r.unknown(c.sink, c.out, c.where, c.function, "is not computed here", "");
}

using Function = std::optional<Json> (*)(Call&);
constexpr std::array<std::pair<std::string_view, Function>, 15> k_functions = {{
    {"Ref", fn_ref},
    {"Fn::Base64", fn_base64},
    {"Fn::Cidr", fn_computed_in_aws},
    {"Fn::FindInMap", fn_find_in_map},
    {"Fn::GetAZs", fn_get_azs},
    {"Fn::GetAtt", fn_get_att},
    {"Fn::If", fn_if},
    {"Fn::ImportValue", fn_import_value},
    {"Fn::Join", fn_join},
    {"Fn::Length", fn_length},
    {"Fn::Select", fn_select},
    {"Fn::Split", fn_split},
    {"Fn::Sub", fn_sub},
    {"Fn::ToJsonString", fn_to_json_string},
    {"Fn::Transform", fn_computed_in_aws},
}};

constexpr std::array<std::string_view, 5> k_condition_functions = {
    "Fn::And", "Fn::Contains", "Fn::Equals", "Fn::Not", "Fn::Or"};
constexpr std::array<std::string_view, 4> k_rule_functions = {
    "Fn::EachMemberEquals", "Fn::EachMemberIn", "Fn::RefAll", "Fn::ValueOf"};

}  // namespace

std::optional<Json> Resolver::call(const std::string& function, const Json& argument,
                                   const std::string& source, Position where,
                                   const std::string& out, Sink& sink, int depth) {
  Call c{*this, function, argument, source, where, out, sink, depth};
  for (auto& [name, implementation] : k_functions)
    if (name == function) return implementation(c);

  auto one_of_them = [&](const auto& names) {
    return std::find(names.begin(), names.end(), function) != names.end();
  };
  if (one_of_them(k_condition_functions))
    return c.error(fmt::format(
        "'{}' is a condition function: it belongs under Conditions (choose a value with "
        "Fn::If)",
        function));
  if (one_of_them(k_rule_functions))
    return c.error(fmt::format("'{}' is a rule function: it belongs under Rules", function));
  if (function.starts_with("Fn::ForEach"))
    return c.error(fmt::format("'{}' (AWS::LanguageExtensions) is not supported here", function));
  std::vector<std::string_view> names;
  for (auto& [name, implementation] : k_functions) names.push_back(name);
  auto close = closest_match(function, names);
  return c.error(fmt::format("unknown function '{}'{}", function,
                             close ? fmt::format("; did you mean '{}'?", *close) : ""));
}

}  // namespace cicd::cfn::detail

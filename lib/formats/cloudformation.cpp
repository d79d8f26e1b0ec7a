// The template side of the resolver: its sections, parameters, pseudo parameters, conditions, and
// references to resources. The Fn:: functions are in cloudformation_functions.cpp.
#include "formats/cloudformation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "formats/cloudformation_resolver.hpp"
#include "util/strings.hpp"

namespace cicd::cfn {

namespace detail {

namespace {

// Types whose Ref is the resource's name, and the property that names it. A Ref to a resource of
// another type (a KMS key's id, an SNS topic's ARN) is known only in AWS.
struct NameProperty {
  std::string_view type;
  std::string_view property;
};
constexpr std::array<NameProperty, 13> k_named_by_ref = {{
    {"AWS::CodeBuild::Project", "Name"},
    {"AWS::CodeDeploy::Application", "ApplicationName"},
    {"AWS::CodeDeploy::DeploymentConfig", "DeploymentConfigName"},
    {"AWS::CodeDeploy::DeploymentGroup", "DeploymentGroupName"},
    {"AWS::CodePipeline::Pipeline", "Name"},
    {"AWS::ECR::Repository", "RepositoryName"},
    {"AWS::IAM::InstanceProfile", "InstanceProfileName"},
    {"AWS::IAM::Role", "RoleName"},
    {"AWS::IAM::User", "UserName"},
    {"AWS::Lambda::Function", "FunctionName"},
    {"AWS::Logs::LogGroup", "LogGroupName"},
    {"AWS::S3::Bucket", "BucketName"},
    {"AWS::SSM::Parameter", "Name"},
}};

// Attributes that are the resource's name (a CodeCommit repository's Ref is its id, not its name:
// templates write `!GetAtt Repo.Name` for a pipeline's RepositoryName).
struct NameAttribute {
  std::string_view type;
  std::string_view attribute;
  std::string_view property;
};
constexpr std::array<NameAttribute, 1> k_name_attributes = {{
    {"AWS::CodeCommit::Repository", "Name", "RepositoryName"},
}};

constexpr std::array<std::string_view, 8> k_pseudo_parameters = {
    "AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
    "AWS::Region",    "AWS::StackId", "AWS::StackName",        "AWS::URLSuffix"};

// Sections whose values must be mappings when they are present.
constexpr std::array<std::string_view, 4> k_mapping_sections = {"Parameters", "Mappings",
                                                                "Conditions", "Resources"};

constexpr size_t k_max_shown = 60;

std::optional<std::string_view> name_property(std::string_view type) {
  for (auto& n : k_named_by_ref)
    if (n.type == type) return n.property;
  return std::nullopt;
}

std::optional<std::string_view> name_attribute(std::string_view type, std::string_view attribute) {
  for (auto& n : k_name_attributes)
    if (n.type == type && n.attribute == attribute) return n.property;
  return std::nullopt;
}

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  return value && value->is_string() ? value->get<std::string>() : std::string();
}

bool is_list_type(std::string_view type) {
  return type == "CommaDelimitedList" || type.starts_with("List<") ||
         type.starts_with("AWS::SSM::Parameter::Value<List<") ||
         type.starts_with("AWS::SSM::Parameter::Value<CommaDelimitedList");
}

// A list parameter's text split at its commas, each member space-trimmed (as CloudFormation does).
Json split_list(std::string_view text) {
  Json list = Json::array();
  if (text.empty()) return list;
  for (auto& part : split(text, ',')) list.push_back(std::string(trim(part)));
  return list;
}

std::optional<Json> parse_number(const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size()) return Json(n);
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec == std::errc() && dend == text.data() + text.size()) return Json(d);
  return std::nullopt;
}

// Whether `key` is `prefix` or a pointer below it.
bool in_scope(const std::string& key, const std::string& prefix) {
  return key.starts_with(prefix) && (key.size() == prefix.size() || key[prefix.size()] == '/');
}

// Drops what a sink holds at and below `pointer`: the value there went away (AWS::NoValue).
void forget(Sink& sink, const std::string& pointer) {
  auto drop = [&](auto& map) {
    for (auto it = map.lower_bound(pointer); it != map.end() && it->first.starts_with(pointer);)
      it = in_scope(it->first, pointer) ? map.erase(it) : std::next(it);
  };
  drop(sink.positions);
  drop(sink.unresolved);
}

bool equal_values(const Json& a, const Json& b) {
  auto ta = scalar_text(a);
  auto tb = scalar_text(b);
  // Conditions compare what the template writes: "1" equals 1, as both reach AWS as text.
  if (ta && tb) return *ta == *tb;
  return a == b;
}

}  // namespace

// ---- helpers ----

std::vector<std::string> Evaluated::unknowns() const {
  std::vector<std::string> out;
  for (auto& [pointer, what] : sink.unresolved)
    if (std::find(out.begin(), out.end(), what) == out.end()) out.push_back(what);
  return out;
}

std::string placeholder(std::string_view what) { return fmt::format("<{}>", what); }

std::string describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "a mapping";
    case Json::value_t::null:
      return "null";
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      return s.size() > k_max_shown ? fmt::format("'{}...'", s.substr(0, k_max_shown))
                                    : fmt::format("'{}'", s);
    }
    default:
      return value.dump();
  }
}

std::optional<std::string> scalar_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// ---- the resolver ----

Resolver::Resolver(const yaml::PositionedJson& document, const TemplateContext& context,
                   Diagnostics& diagnostics, Mode mode)
    : m_document(document), m_context(context), m_diagnostics(diagnostics), m_mode(mode) {
  m_cyclic_name.failed = true;
}

const Json& Resolver::section(std::string_view name) const {
  static const Json k_empty = Json::object();
  if (m_mode == Mode::bare_value) return k_empty;
  const Json* value = member(m_document.value, name);
  return value && value->is_object() ? *value : k_empty;
}

Json Resolver::failed(Sink& sink) {
  sink.failed = true;
  return nullptr;
}

std::optional<Json> Resolver::resolve(const Json& node, const std::string& source,
                                      const std::string& out, Sink& sink, int depth) {
  Position where = position(source);
  sink.positions[out] = where;
  if (depth > k_max_depth) {
    m_diagnostics.error(
        where, fmt::format("the template nests too deeply (more than {} levels of values and "
                           "references)",
                           k_max_depth));
    return failed(sink);
  }
  if (node.is_object()) {
    // One key, Ref or Fn::*: a function call. ("Condition" calls only exist inside conditions;
    // a property may well be named Condition.)
    if (node.size() == 1) {
      const std::string& key = node.begin().key();
      if (key == "Ref" || key.starts_with("Fn::"))
        return call(key, node.begin().value(), child(source, key), where, out, sink, depth + 1);
    }
    Json object = Json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string to = child(out, it.key());
      auto value = resolve(it.value(), child(source, it.key()), to, sink, depth + 1);
      if (value)
        object[it.key()] = std::move(*value);
      else
        forget(sink, to);
    }
    return object;
  }
  if (node.is_array()) {
    Json array = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      std::string to = child(out, array.size());
      auto value = resolve(node[i], child(source, i), to, sink, depth + 1);
      if (value)
        array.push_back(std::move(*value));
      else
        forget(sink, to);
    }
    return array;
  }
  return node;
}

Evaluated Resolver::evaluate(const Json& node, const std::string& source, int depth) {
  Evaluated e;
  e.value = resolve(node, source, "", e.sink, depth + 1);
  return e;
}

std::optional<std::string> Resolver::string_argument(const Json& node, const std::string& source,
                                                     int depth, std::string_view what,
                                                     std::vector<std::string>& unknowns) {
  Evaluated e = evaluate(node, source, depth);
  if (e.failed()) return std::nullopt;
  if (!e.value) {
    m_diagnostics.error(position(source), fmt::format("{} cannot be AWS::NoValue", what));
    return std::nullopt;
  }
  auto text = scalar_text(*e.value);
  if (!text) {
    m_diagnostics.error(position(source),
                        fmt::format("{} must be a string; got {}", what, describe(*e.value)));
    return std::nullopt;
  }
  for (auto& u : e.unknowns())
    if (std::find(unknowns.begin(), unknowns.end(), u) == unknowns.end()) unknowns.push_back(u);
  return text;
}

void Resolver::graft(const Sink& from, const std::string& from_pointer,
                     const std::string& to_pointer, Sink& into) {
  auto copy = [&](const auto& source, auto& target, bool keep_root) {
    for (auto it = source.lower_bound(from_pointer);
         it != source.end() && it->first.starts_with(from_pointer); ++it) {
      if (!in_scope(it->first, from_pointer)) continue;  // "/10" is not below "/1"
      std::string key = to_pointer + it->first.substr(from_pointer.size());
      if (key != to_pointer || keep_root) target[key] = it->second;
    }
  };
  copy(from.positions, into.positions, false);
  copy(from.unresolved, into.unresolved, true);
  into.failed = into.failed || from.failed;
}

Json Resolver::unknown(Sink& sink, const std::string& out, Position where, const std::string& what,
                       std::string_view why, std::string_view give) {
  std::string text = placeholder(what);
  std::string how = give.empty() ? std::string() : fmt::format("; give --value {}=VALUE", give);
  m_diagnostics.warning(where, fmt::format("'{}' {}: taken as '{}'{}", what, why, text, how));
  sink.unresolved[out] = what;
  return text;
}

void Resolver::built_from(Sink& sink, const std::string& out,
                          const std::vector<std::string>& unknowns) {
  if (!unknowns.empty()) sink.unresolved[out] = join(unknowns, ", ");
}

void Resolver::logical_id_warning(std::string_view written, const std::string& logical_id,
                                  const std::string& give, Position where) {
  m_diagnostics.warning(
      where, fmt::format("'{}' is taken as '{}', the resource's logical id (its physical name "
                         "is known only in AWS; give --value {}=NAME)",
                         written, logical_id, give));
}

std::string Resolver::names_hint(const std::string& name, bool resources_only) const {
  std::vector<std::string_view> names;
  for (auto& [id, definition] : section("Resources").items()) names.push_back(id);
  if (!resources_only) {
    for (auto& [id, definition] : section("Parameters").items()) names.push_back(id);
    names.insert(names.end(), k_pseudo_parameters.begin(), k_pseudo_parameters.end());
  }
  auto close = closest_match(name, names);
  return close ? fmt::format("; did you mean '{}'?", *close) : std::string();
}

// ---- references ----

std::optional<Json> Resolver::pseudo_parameter(const std::string& name) {
  const TemplateContext& c = m_context;
  if (name == "AWS::AccountId") return c.account_id;
  if (name == "AWS::NotificationARNs") return Json::array();
  if (name == "AWS::Partition") return c.partition;
  if (name == "AWS::Region") return c.region;
  if (name == "AWS::StackName") return c.stack_name;
  if (name == "AWS::URLSuffix") return c.url_suffix;
  // A stack's id is an ARN ending in a UUID AWS makes up; any fixed one serves locally.
  if (name == "AWS::StackId")
    return fmt::format("arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                       c.partition, c.region, c.account_id, c.stack_name);
  return std::nullopt;
}

std::optional<Json> Resolver::ref(const std::string& name, std::string_view written, Position where,
                                  const std::string& out, Sink& sink, int depth) {
  // 1. Pseudo parameters.
  if (name.starts_with("AWS::")) {
    if (name == "AWS::NoValue") return std::nullopt;
    if (auto value = pseudo_parameter(name)) return value;
    auto close = closest_match(name, k_pseudo_parameters);
    m_diagnostics.error(where,
                        fmt::format("'{}': there is no pseudo parameter '{}'{}", written, name,
                                    close ? fmt::format("; did you mean '{}'?", *close) : ""));
    return failed(sink);
  }

  // 2. Parameters.
  if (member(section("Parameters"), name)) {
    const Parameter& p = parameter(name);
    if (p.failed) return failed(sink);
    if (!p.unknown.empty() && !p.why.empty()) return unknown(sink, out, where, p.unknown, p.why, "");
    if (!p.unknown.empty())
      return unknown(
          sink, out, where, p.unknown,
          fmt::format("is the value of the SSM parameter '{}', known only in AWS", p.ssm_name),
          name);
    return p.value;
  }

  // 3. Resources: a value the user knows, else the name the template gives, else the logical id.
  if (member(section("Resources"), name)) {
    const Json* definition = resource(name, where, written, depth);
    if (!definition) return failed(sink);
    if (auto known = m_context.known_values.find(name); known != m_context.known_values.end())
      return known->second;
    auto property = name_property(string_member(*definition, "Type"));
    if (!property)
      return unknown(sink, out, where, fmt::format("!Ref {}", name), "is known only in AWS", name);
    const Name& n = physical_name(name, std::string(*property), depth);
    if (n.failed) return failed(sink);
    if (n.logical_id) logical_id_warning(written, name, name, where);
    built_from(sink, out, n.unknowns);
    return n.value;
  }

  // 4. Nothing by that name: outside a template it is declared elsewhere.
  if (auto known = m_context.known_values.find(name); known != m_context.known_values.end())
    return known->second;
  if (m_mode == Mode::bare_value)
    return unknown(sink, out, where, fmt::format("!Ref {}", name),
                   "names something outside this value, known only in AWS", name);
  m_diagnostics.error(where, fmt::format("'{}' names no parameter or resource{}", written,
                                         names_hint(name, false)));
  return failed(sink);
}

Json Resolver::get_att(const std::string& logical_id, const std::string& attribute,
                       std::string_view written, Position where, const std::string& out, Sink& sink,
                       int depth) {
  std::string key = fmt::format("{}.{}", logical_id, attribute);
  std::string what = fmt::format("!GetAtt {}", key);
  if (auto known = m_context.known_values.find(key); known != m_context.known_values.end())
    return known->second;
  if (m_mode == Mode::bare_value)
    return unknown(sink, out, where, what, "is known only in AWS", key);
  if (!member(section("Resources"), logical_id)) {
    m_diagnostics.error(
        where, fmt::format("'{}' names no resource{}", written, names_hint(logical_id, true)));
    return failed(sink);
  }
  const Json* definition = resource(logical_id, where, written, depth);
  if (!definition) return failed(sink);
  if (auto property = name_attribute(string_member(*definition, "Type"), attribute)) {
    const Name& n = physical_name(logical_id, std::string(*property), depth);
    if (n.failed) return failed(sink);
    if (n.logical_id) logical_id_warning(written, logical_id, key, where);
    built_from(sink, out, n.unknowns);
    return n.value;
  }
  return unknown(sink, out, where, what, "is known only in AWS", key);
}

const Json* Resolver::resource(const std::string& logical_id, Position where, std::string_view what,
                               int depth) {
  const Json* definition = member(section("Resources"), logical_id);
  if (!definition || !definition->is_object()) return nullptr;  // check_resources() says why
  std::string condition_name = string_member(*definition, "Condition");
  if (!condition_name.empty()) {
    auto included = condition(
        condition_name, position(child(child("/Resources", logical_id), "Condition")), depth + 1);
    if (!included) return nullptr;
    if (!*included) {
      m_diagnostics.error(
          where, fmt::format("'{}' names resource '{}', which is left out: its condition '{}' is "
                             "false",
                             what, logical_id, condition_name));
      return nullptr;
    }
  }
  return definition;
}

const Resolver::Name& Resolver::physical_name(const std::string& logical_id,
                                              const std::string& property, int depth) {
  if (auto it = m_names.find(logical_id); it != m_names.end()) return it->second;
  std::string source = child(child(child("/Resources", logical_id), "Properties"), property);
  if (m_naming.count(logical_id)) {
    m_diagnostics.error(position(source),
                        fmt::format("the name of resource '{}' depends on itself (through '{}')",
                                    logical_id, property));
    return m_cyclic_name;
  }
  m_naming.insert(logical_id);
  Name n;
  const Json* properties = member(*member(section("Resources"), logical_id), "Properties");
  const Json* written = properties ? member(*properties, property) : nullptr;
  std::optional<Json> value;
  if (written) {
    Evaluated e = evaluate(*written, source, depth);
    n.failed = e.failed();
    n.unknowns = e.unknowns();
    value = e.value;
  }
  // A name left out (or AWS::NoValue) is one AWS makes up: its logical id is the best guess here.
  if (!value) {
    n.value = logical_id;
    n.logical_id = true;
  } else if (auto text = scalar_text(*value); text && !n.failed) {
    n.value = *text;
  } else if (!n.failed) {
    m_diagnostics.error(position(source),
                        fmt::format("'{}' of resource '{}' must be a string; got {}", property,
                                    logical_id, describe(*value)));
    n.failed = true;
  }
  m_naming.erase(logical_id);
  return m_names.emplace(logical_id, std::move(n)).first->second;
}

// ---- parameters ----

const Resolver::Parameter& Resolver::parameter(const std::string& name) {
  if (auto it = m_parameters.find(name); it != m_parameters.end()) return it->second;
  return m_parameters.emplace(name, read_parameter(name)).first->second;
}

Resolver::Parameter Resolver::read_parameter(const std::string& name) {
  Parameter p;
  const Json& declaration = *member(section("Parameters"), name);
  std::string source = child("/Parameters", name);
  Position where = position(source);
  std::string type = string_member(declaration, "Type");
  if (type.empty()) {
    m_diagnostics.error(where, fmt::format("parameter '{}' has no Type", name));
    p.failed = true;
    return p;
  }

  // 1. The value as text: given, else the default.
  std::optional<std::string> text;
  if (auto given = m_context.parameters.find(name); given != m_context.parameters.end()) {
    text = given->second;
  } else if (const Json* fallback = member(declaration, "Default")) {
    if (auto scalar = scalar_text(*fallback)) {
      text = *scalar;
    } else if (fallback->is_array() && is_list_type(type)) {
      std::vector<std::string> items;
      for (auto& item : *fallback) items.push_back(scalar_text(item).value_or(""));
      text = join(items, ",");
    }
  }

  // 2. AWS reads an SSM parameter's value from the parameter store, by the name given.
  if (type.starts_with("AWS::SSM::Parameter::Value<")) {
    p.ssm_name = text.value_or("");
    if (auto known = m_context.known_values.find(name); known != m_context.known_values.end()) {
      p.value = is_list_type(type) ? split_list(known->second) : Json(known->second);
    } else {
      p.unknown = fmt::format("!Ref {}", name);
      p.value = placeholder(p.unknown);
    }
    return p;
  }
  if (!text && !m_context.parameters_required) {
    p.unknown = fmt::format("!Ref {}", name);
    p.value = placeholder(p.unknown);
    p.why = fmt::format("has no value (no Default, none given); give --parameter-overrides {}=VALUE", name);
    return p;
  }
  if (!text) {
    m_diagnostics.error(
        where,
        fmt::format("parameter '{}' has no value: give --parameter-overrides {}=...", name, name));
    p.failed = true;
    return p;
  }

  // 3. The value as its type makes it.
  if (is_list_type(type)) {
    p.value = split_list(*text);
  } else if (type == "Number") {
    auto number = parse_number(*text);
    if (!number) {
      m_diagnostics.error(where, fmt::format("parameter '{}' is a Number; got '{}'", name, *text));
      p.failed = true;
      return p;
    }
    p.value = *number;
  } else {
    p.value = *text;
  }

  // 4. AllowedValues, member by member for a list.
  if (const Json* allowed = member(declaration, "AllowedValues"); allowed && allowed->is_array()) {
    std::vector<std::string> choices;
    for (auto& choice : *allowed) choices.push_back(scalar_text(choice).value_or(describe(choice)));
    Json members = p.value.is_array() ? p.value : Json::array({p.value});
    for (auto& m : members) {
      std::string value = scalar_text(m).value_or("");
      if (std::find(choices.begin(), choices.end(), value) != choices.end()) continue;
      m_diagnostics.error(
          where, fmt::format("parameter '{}' is '{}', which is not one of its AllowedValues: {}",
                             name, value, join(choices, ", ")));
      p.failed = true;
    }
  }
  return p;
}

// ---- conditions ----

std::optional<bool> Resolver::condition(const std::string& name, Position where, int depth) {
  if (auto it = m_conditions.find(name); it != m_conditions.end()) return it->second;
  const Json* definition = member(section("Conditions"), name);
  if (!definition) {
    std::vector<std::string_view> names;
    for (auto& [id, value] : section("Conditions").items()) names.push_back(id);
    auto close = closest_match(name, names);
    m_diagnostics.error(where,
                        fmt::format("unknown condition '{}'{}", name,
                                    close ? fmt::format("; did you mean '{}'?", *close) : ""));
    return std::nullopt;
  }
  std::string source = child("/Conditions", name);
  if (auto cycle = std::find(m_evaluating.begin(), m_evaluating.end(), name);
      cycle != m_evaluating.end()) {
    std::vector<std::string> chain(cycle, m_evaluating.end());
    chain.push_back(name);
    m_diagnostics.error(position(source), fmt::format("condition '{}' depends on itself: {}", name,
                                                      join(chain, " -> ")));
    return std::nullopt;
  }
  m_evaluating.push_back(name);
  auto value = condition_value(*definition, source, depth + 1);
  m_evaluating.pop_back();
  m_conditions[name] = value;
  return value;
}

std::optional<bool> Resolver::condition_value(const Json& node, const std::string& source,
                                              int depth) {
  Position where = position(source);
  if (depth > k_max_depth) {
    m_diagnostics.error(
        where, fmt::format("the condition nests too deeply (more than {} levels)", k_max_depth));
    return std::nullopt;
  }
  if (!node.is_object() || node.size() != 1) {
    m_diagnostics.error(
        where, fmt::format("a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, Fn::Contains "
                           "or a Condition; got {}",
                           describe(node)));
    return std::nullopt;
  }
  const std::string& function = node.begin().key();
  const Json& argument = node.begin().value();
  std::string argument_source = child(source, function);

  if (function == "Condition") {
    if (!argument.is_string()) {
      m_diagnostics.error(
          where, fmt::format("'Condition' takes a condition's name; got {}", describe(argument)));
      return std::nullopt;
    }
    return condition(argument.get<std::string>(), position(argument_source), depth + 1);
  }
  if (function == "Fn::And" || function == "Fn::Or" || function == "Fn::Not")
    return condition_list(function, argument, argument_source, depth + 1);
  if (function != "Fn::Equals" && function != "Fn::Contains") {
    m_diagnostics.error(
        where,
        fmt::format("'{}' is not a condition function; expected Fn::Equals, Fn::And, Fn::Or, "
                    "Fn::Not, Fn::Contains or Condition",
                    function));
    return std::nullopt;
  }

  // Fn::Equals [a, b] and Fn::Contains [list, value]: values, which must be known here.
  if (!argument.is_array() || argument.size() != 2) {
    m_diagnostics.error(where, fmt::format("'{}' takes a list of two values; got {}", function,
                                           describe(argument)));
    return std::nullopt;
  }
  Evaluated a = evaluate(argument[0], child(argument_source, size_t{0}), depth);
  Evaluated b = evaluate(argument[1], child(argument_source, size_t{1}), depth);
  if (a.failed() || b.failed()) return std::nullopt;
  if (a.unresolved() || b.unresolved()) {
    auto unknowns = a.unknowns();
    for (auto& u : b.unknowns()) unknowns.push_back(u);
    m_diagnostics.error(
        where, fmt::format("'{}' needs a value known only in AWS ({}): a condition can be decided "
                           "here only from parameters and mappings",
                           function, join(unknowns, ", ")));
    return std::nullopt;
  }
  Json left = a.value.value_or(nullptr);
  Json right = b.value.value_or(nullptr);
  if (function == "Fn::Equals") return equal_values(left, right);
  if (!left.is_array()) {
    m_diagnostics.error(position(child(argument_source, size_t{0})),
                        fmt::format("'Fn::Contains' looks in a list; got {}", describe(left)));
    return std::nullopt;
  }
  return std::any_of(left.begin(), left.end(),
                     [&](const Json& item) { return equal_values(item, right); });
}

std::optional<bool> Resolver::condition_list(const std::string& function, const Json& argument,
                                             const std::string& source, int depth) {
  bool is_not = function == "Fn::Not";
  if (!argument.is_array() || argument.empty() || (is_not && argument.size() != 1)) {
    m_diagnostics.error(position(source),
                        fmt::format("'{}' takes a list of {}; got {}", function,
                                    is_not ? "one condition" : "conditions", describe(argument)));
    return std::nullopt;
  }
  // Every operand is evaluated, so that all their errors are reported.
  std::vector<std::optional<bool>> values;
  for (size_t i = 0; i < argument.size(); ++i)
    values.push_back(condition_value(argument[i], child(source, i), depth));
  if (std::any_of(values.begin(), values.end(), [](auto& v) { return !v.has_value(); }))
    return std::nullopt;
  if (is_not) return !*values[0];
  if (function == "Fn::And")
    return std::all_of(values.begin(), values.end(), [](auto& v) { return *v; });
  return std::any_of(values.begin(), values.end(), [](auto& v) { return *v; });
}

// ---- the template ----

void Resolver::check_transforms() {
  const Json* transform = member(m_document.value, "Transform");
  if (!transform) return;
  Json names = transform->is_array() ? *transform : Json::array({*transform});
  for (size_t i = 0; i < names.size(); ++i) {
    Position where =
        position(transform->is_array() ? child("/Transform", i) : std::string("/Transform"));
    // AWS::Include and other macros take a mapping: they run in AWS all the same.
    std::string name =
        names[i].is_string() ? names[i].get<std::string>() : string_member(names[i], "Name");
    if (name == "AWS::LanguageExtensions") continue;  // its functions are resolved here
    if (name.starts_with("AWS::Serverless"))
      m_diagnostics.warning(
          where, fmt::format("the transform '{}' (SAM) is not applied here: AWS::Serverless::* "
                             "resources are read as written",
                             name));
    else
      m_diagnostics.warning(
          where, fmt::format("the transform '{}' runs in AWS, not here: the template is read as "
                             "written",
                             name.empty() ? describe(names[i]) : name));
  }
}

void Resolver::check_overrides() {
  for (auto& [name, value] : m_context.parameters)
    if (!member(section("Parameters"), name))
      m_diagnostics.warning(
          {}, fmt::format("--parameter-overrides gives '{}', which the template does not declare; "
                          "it is ignored",
                          name));
}

bool Resolver::check_resources() {
  const Json* resources = member(m_document.value, "Resources");
  if (!resources) {
    m_diagnostics.error(position(""), "the template has no Resources");
    return false;
  }
  if (!resources->is_object()) return false;  // check_template() said so
  for (auto it = resources->begin(); it != resources->end(); ++it) {
    std::string source = child("/Resources", it.key());
    Position where = position(source);
    if (it.key().starts_with("Fn::ForEach::")) {
      m_diagnostics.error(
          where, fmt::format("'{}': Fn::ForEach (AWS::LanguageExtensions) is not supported here",
                             it.key()));
      continue;
    }
    if (!it.value().is_object()) {
      m_diagnostics.error(where, fmt::format("resource '{}' must be a mapping with a Type; got {}",
                                             it.key(), describe(it.value())));
      continue;
    }
    const Json* type = member(it.value(), "Type");
    if (!type)
      m_diagnostics.error(where, fmt::format("resource '{}' has no Type", it.key()));
    else if (!type->is_string())
      m_diagnostics.error(position(child(source, "Type")),
                          fmt::format("the Type of resource '{}' must be a string; got {}",
                                      it.key(), describe(*type)));
    if (const Json* condition = member(it.value(), "Condition");
        condition && !condition->is_string())
      m_diagnostics.error(
          position(child(source, "Condition")),
          fmt::format("the Condition of resource '{}' must be a condition's name; got {}", it.key(),
                      describe(*condition)));
  }
  return true;
}

void Resolver::check_template() {
  // 1. The document and its sections have the shapes a template has.
  if (!m_document.value.is_object()) {
    m_diagnostics.error(position(""), fmt::format("a template must be a mapping; got {}",
                                                  describe(m_document.value)));
    return;
  }
  for (auto name : k_mapping_sections) {
    const Json* value = member(m_document.value, name);
    if (value && !value->is_object())
      m_diagnostics.error(position(child("", name)),
                          fmt::format("'{}' must be a mapping; got {}", name, describe(*value)));
  }
  check_resources();

  // 2. What the template is given and what it asks of AWS.
  check_transforms();
  check_overrides();

  // 3. Every condition, used or not, so that a broken one is reported (each once: they are
  // memoized).
  for (auto& [name, definition] : section("Conditions").items())
    (void)condition(name, position(child("/Conditions", name)), 0);
}

std::vector<Resource> Resolver::resources(std::string_view type) {
  std::vector<Resource> out;
  for (auto& [id, definition] : section("Resources").items()) {
    if (!definition.is_object() || string_member(definition, "Type") != type) continue;
    std::string source = child("/Resources", id);
    std::string condition_name = string_member(definition, "Condition");
    if (!condition_name.empty()) {
      auto included = condition(condition_name, position(child(source, "Condition")), 0);
      if (!included || !*included) continue;
    }
    Resource r{id, std::string(type), position(source), {}, {}};
    Sink sink;
    std::optional<Json> properties = Json::object();
    if (const Json* written = member(definition, "Properties")) {
      std::string properties_source = child(source, "Properties");
      properties = resolve(*written, properties_source, "", sink, 0);
      if (properties && !properties->is_object()) {
        if (!sink.failed)
          m_diagnostics.error(
              position(properties_source),
              fmt::format("the Properties of resource '{}' must be a mapping; got {}", id,
                          describe(*properties)));
        properties = Json::object();
      }
    }
    if (!sink.positions.count("")) sink.positions[""] = r.position;
    r.properties = {properties.value_or(Json::object()), std::move(sink.positions)};
    r.unresolved = std::move(sink.unresolved);
    out.push_back(std::move(r));
  }
  return out;
}

ResolvedValue Resolver::whole() {
  Sink sink;
  auto value = resolve(m_document.value, "", "", sink, 0);
  return {{value.value_or(nullptr), std::move(sink.positions)}, std::move(sink.unresolved)};
}

}  // namespace detail

bool is_template(const Json& document) {
  if (!document.is_object()) return false;
  auto resources = document.find("Resources");
  return (resources != document.end() && resources->is_object()) ||
         document.contains("AWSTemplateFormatVersion");
}

std::vector<Resource> resolve_resources(const yaml::PositionedJson& document, std::string_view type,
                                        const TemplateContext& context, Diagnostics& diagnostics) {
  detail::Resolver resolver(document, context, diagnostics, detail::Mode::template_document);
  resolver.check_template();
  return resolver.resources(type);
}

ResolvedValue resolve_value(const yaml::PositionedJson& value, const TemplateContext& context,
                            Diagnostics& diagnostics) {
  detail::Resolver resolver(value, context, diagnostics, detail::Mode::bare_value);
  return resolver.whole();
}

}  // namespace cicd::cfn

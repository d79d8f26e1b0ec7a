#include "formats/pipeline_document.hpp"

#include <fmt/format.h>

#include "formats/cloudformation.hpp"
#include "formats/json_positions.hpp"
#include "formats/yaml_util.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

constexpr std::string_view k_pipeline_resource = "AWS::CodePipeline::Pipeline";

// Where the document starts: its root's position, or 1:1 for an empty one.
Position start_of(const yaml::PositionedJson& doc) {
  Position p = doc.at("");
  return p.line > 0 ? p : Position{1, 1};
}

bool looks_like_json(std::string_view text) {
  auto t = trim(text);
  if (t.starts_with("\xEF\xBB\xBF")) t.remove_prefix(3);
  return !t.empty() && (t.front() == '{' || t.front() == '[');
}

std::string lower_first(std::string_view key) {
  std::string out(key);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

// Walks the PascalCase properties and the camelCase declaration side by side, so each value keeps
// its position and each unresolved pointer its place.
class PropertiesConverter {
 public:
  PropertiesConverter(const yaml::PositionedJson& in, const std::set<std::string>& unresolved_in,
                      yaml::PositionedJson& out, std::set<std::string>& unresolved_out)
      : m_in(in), m_unresolved_in(unresolved_in), m_out(out), m_unresolved_out(unresolved_out) {}

  Json convert(const Json& value, const std::string& from, const std::string& to, bool keep_keys) {
    m_out.positions[to] = m_in.at(from);
    if (m_unresolved_in.contains(from)) m_unresolved_out.insert(to);
    if (value.is_array()) {
      Json out = Json::array();
      for (size_t i = 0; i < value.size(); ++i)
        out.push_back(convert(value[i], fmt::format("{}/{}", from, i), fmt::format("{}/{}", to, i), false));
      return out;
    }
    if (!value.is_object()) return value;
    Json out = Json::object();
    for (auto& [k, v] : value.items()) {
      std::string key = keep_keys ? k : lower_first(k);
      auto child_from = from + "/" + yaml::escape_pointer(k);
      auto child_to = to + "/" + yaml::escape_pointer(key);
      // ArtifactStores: CloudFormation's [{Region, ArtifactStore}] is the API's {region: store}.
      if (!keep_keys && k == "ArtifactStores" && v.is_array()) {
        m_out.positions[child_to] = m_in.at(child_from);
        Json stores = Json::object();
        for (size_t i = 0; i < v.size(); ++i) {
          const Json& item = v[i];
          auto item_from = fmt::format("{}/{}", child_from, i);
          if (!item.is_object() || !item.contains("Region") || !item["Region"].is_string() ||
              !item.contains("ArtifactStore")) {
            stores[fmt::format("#{}", i)] = convert(item, item_from, child_to + fmt::format("/#{}", i), false);
            continue;
          }
          auto region = item["Region"].get<std::string>();
          auto region_to = child_to + "/" + yaml::escape_pointer(region);
          stores[region] = convert(item["ArtifactStore"], item_from + "/ArtifactStore", region_to, false);
          m_out.positions[region_to] = m_in.at(item_from);
        }
        out["artifactStores"] = std::move(stores);
        continue;
      }
      // An action's (and a rule's) Configuration keys are the provider's, kept as they are.
      out[key] = convert(v, child_from, child_to, !keep_keys && k == "Configuration");
    }
    return out;
  }

 private:
  const yaml::PositionedJson& m_in;
  const std::set<std::string>& m_unresolved_in;
  yaml::PositionedJson& m_out;
  std::set<std::string>& m_unresolved_out;
};

PipelineCheckOptions check_options(const PipelineReadOptions& options) {
  PipelineCheckOptions o;
  o.warn_without_local_runner = options.warn_without_local_runner;
  return o;
}

std::set<std::string> pointers_of(const std::map<std::string, std::string>& unresolved) {
  std::set<std::string> out;
  for (auto& [p, what] : unresolved) out.insert(p);
  return out;
}

void read_template(const yaml::PositionedJson& doc, const PipelineReadOptions& options, PipelineDocument& out) {
  cfn::TemplateContext context;
  context.parameters = options.parameters;
  context.known_values = options.known_values;
  context.parameters_required = options.parameters_required;
  auto resources = cfn::resolve_resources(doc, k_pipeline_resource, context, out.diagnostics);
  if (resources.empty() && !out.diagnostics.has_errors())
    out.diagnostics.error(doc.at("/Resources"),
                          fmt::format("the template holds no {} resource (with its conditions as given)", k_pipeline_resource));
  for (auto& resource : resources) {
    PipelineEntry entry;
    entry.logical_id = resource.logical_id;
    auto declaration = declaration_from_properties(resource.properties, pointers_of(resource.unresolved), entry.unresolved);
    auto o = check_options(options);
    o.unresolved = entry.unresolved;
    // A pipeline resource without Name gets a generated one in AWS; here its logical id.
    o.default_name = resource.logical_id;
    entry.parse = parse_pipeline_declaration(declaration, o);
    out.pipelines.push_back(std::move(entry));
  }
}

}  // namespace

yaml::PositionedJson declaration_at(const yaml::PositionedJson& doc, const std::string& pointer) {
  yaml::PositionedJson out;
  out.value = doc.value.at(Json::json_pointer(pointer));
  for (auto& [p, pos] : doc.positions)
    if (p == pointer || p.starts_with(pointer + "/")) out.positions[p.substr(pointer.size())] = pos;
  return out;
}

std::string_view pipeline_format_name(PipelineFormat format) {
  switch (format) {
    case PipelineFormat::pipeline_json: return "pipeline-json";
    case PipelineFormat::pipeline_yaml: return "pipeline-yaml";
    case PipelineFormat::template_yaml: return "cfn-yaml";
    case PipelineFormat::template_json: return "cfn-json";
    case PipelineFormat::template_properties: return "cfn-properties";
  }
  return "pipeline-yaml";
}

yaml::PositionedJson declaration_from_properties(const yaml::PositionedJson& properties,
                                                 const std::set<std::string>& unresolved_in,
                                                 std::set<std::string>& unresolved_out) {
  yaml::PositionedJson out;
  PropertiesConverter converter(properties, unresolved_in, out, unresolved_out);
  out.value = converter.convert(properties.value, "", "", false);
  return out;
}

Diagnostics PipelineDocument::all_diagnostics() const {
  Diagnostics all = diagnostics;
  for (auto& p : pipelines)
    for (auto& d : p.parse.diagnostics.items()) {
      if (d.severity == Severity::error) all.error(d.position, d.message);
      else if (d.severity == Severity::warning) all.warning(d.position, d.message);
      else all.note(d.position, d.message);
    }
  all.sort();
  return all;
}

bool PipelineDocument::valid() const {
  if (diagnostics.has_errors() || pipelines.empty()) return false;
  for (auto& p : pipelines)
    if (!p.parse.pipeline) return false;
  return true;
}

PipelineDocument read_pipeline_document(std::string_view text, const PipelineReadOptions& options) {
  PipelineDocument out;
  // 1. The text: JSON (strictly, with positions), else YAML with CloudFormation's short-form tags
  // (a plain pipeline in YAML has none, and a tag there would be a mistake worth reporting).
  yaml::PositionedJson doc;
  bool json = looks_like_json(text);
  if (json) {
    auto parsed = yaml::parse_positioned_json(text, out.diagnostics);
    if (!parsed) return out;
    doc = std::move(*parsed);
  } else {
    auto node = yaml::load(text, out.diagnostics);
    if (!node) return out;
    doc = yaml::to_json(*node, out.diagnostics, yaml::Tags::cloudformation);
    if (out.diagnostics.has_errors()) return out;
  }
  const Json& root = doc.value;
  if (!root.is_object()) {
    out.diagnostics.error(start_of(doc), "a pipeline definition is a structure: a pipeline declaration, get-pipeline's "
                                      "JSON or a CloudFormation template");
    return out;
  }
  // 2. Its shape.
  if (cfn::is_template(root)) {
    out.format = json ? PipelineFormat::template_json : PipelineFormat::template_yaml;
    read_template(doc, options, out);
    return out;
  }
  out.format = json ? PipelineFormat::pipeline_json : PipelineFormat::pipeline_yaml;
  if (root.contains("pipeline") && root["pipeline"].is_object()) {
    // get-pipeline's answer ({"pipeline", "metadata"}) or create-pipeline's input ({"pipeline", "tags"}).
    for (auto& [k, v] : root.items())
      if (k != "pipeline" && k != "metadata" && k != "tags")
        out.diagnostics.error(doc.at("/" + yaml::escape_pointer(k)),
                              fmt::format("unknown field '{}' beside 'pipeline'; expected 'metadata' or 'tags'", k));
    PipelineEntry entry;
    entry.parse = parse_pipeline_declaration(declaration_at(doc, "/pipeline"), check_options(options));
    // The positions of the sub-document are the file's: nothing to shift.
    out.pipelines.push_back(std::move(entry));
    return out;
  }
  if (root.contains("stages")) {
    PipelineEntry entry;
    entry.parse = parse_pipeline_declaration(doc, check_options(options));
    out.pipelines.push_back(std::move(entry));
    return out;
  }
  if (root.contains("Stages")) {
    // A resource's Properties on their own (a test fixture, a snippet): intrinsic functions still
    // resolve, as far as they can without the template around them.
    out.format = PipelineFormat::template_properties;
    cfn::TemplateContext context;
    context.parameters = options.parameters;
    context.known_values = options.known_values;
    context.parameters_required = options.parameters_required;
    auto resolved = cfn::resolve_value(doc, context, out.diagnostics);
    PipelineEntry entry;
    auto declaration = declaration_from_properties(resolved.value, pointers_of(resolved.unresolved), entry.unresolved);
    auto o = check_options(options);
    o.unresolved = entry.unresolved;
    o.default_name = "Pipeline";
    entry.parse = parse_pipeline_declaration(declaration, o);
    out.pipelines.push_back(std::move(entry));
    return out;
  }
  out.diagnostics.error(start_of(doc), "not a pipeline definition: expected 'pipeline' (get-pipeline's JSON), 'stages' "
                                    "(a pipeline declaration), or 'Resources' (a CloudFormation template)");
  return out;
}

}  // namespace cicd

#include "pipeline/pipelines.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "formats/yaml_json.hpp"
#include "store/definitions.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_area = "pipeline";
constexpr std::string_view k_kind = "pipelines";

Definitions definitions(const fs::path& home) { return Definitions(home, std::string(k_area), "cpipeline"); }

std::vector<std::string> formatted(std::string_view file, const Diagnostics& d, Severity which) {
  std::vector<std::string> out;
  for (auto& item : d.items())
    if ((which == Severity::error) == (item.severity == Severity::error)) out.push_back(format_diagnostic(file, item));
  return out;
}

std::unexpected<Error> invalid(std::string_view file, const Diagnostics& d) {
  auto lines = formatted(file, d, Severity::error);
  return std::unexpected(Error{ErrorKind::invalid,
                               fmt::format("invalid pipeline definition '{}': {} error{}", file, lines.size(),
                                           lines.size() == 1 ? "" : "s"),
                               std::move(lines)});
}

// Gives actions their --action-override commands, in the model and in the declaration.
Status apply_overrides(Pipeline& p, const std::map<std::string, std::string>& overrides) {
  for (auto& [name, command] : overrides) {
    int hits = 0;
    for (size_t s = 0; s < p.stages.size(); ++s)
      for (size_t a = 0; a < p.stages[s].actions.size(); ++a) {
        auto& action = p.stages[s].actions[a];
        if (name != action.name && name != p.stages[s].name + "." + action.name) continue;
        ++hits;
        action.local_command = command;
        p.declaration["stages"][s]["actions"][a]["localCommand"] = command;
      }
    if (hits == 0) return fail(ErrorKind::usage, "--action-override '{}': pipeline '{}' has no such action", name, p.name);
    if (hits > 1)
      return fail(ErrorKind::usage, "--action-override '{}': several stages have an action of that name; say STAGE.ACTION",
                  name);
    if (command.empty()) return fail(ErrorKind::usage, "--action-override '{}': the command is empty", name);
  }
  return {};
}

Status write_pipeline(const Definitions& defs, const StoredPipeline& p) {
  return defs.write(k_kind, p.pipeline.name, fmt::format("pipeline '{}'", p.pipeline.name), [&](YAML::Emitter& out) {
    Json j = p.to_json();
    for (auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      yaml::emit_json(out, v);
    }
  });
}

std::string now_text() { return format_iso8601(std::chrono::system_clock::now()); }

}  // namespace

Result<SourcedPipeline> pipeline_from_source(const PipelineSource& source) {
  auto doc = read_pipeline_document(source.text, source.read);
  auto all = doc.all_diagnostics();
  if (all.has_errors()) return invalid(source.file, all);
  // One pipeline: the only one, or the one --pipeline-name chooses (by logical id or by name).
  const PipelineEntry* chosen = nullptr;
  std::vector<std::string> names;
  for (auto& entry : doc.pipelines) {
    const auto& p = *entry.parse.pipeline;
    names.push_back(entry.logical_id.empty() ? p.name : entry.logical_id);
    if (!source.select.empty() && (entry.logical_id == source.select || p.name == source.select)) chosen = &entry;
  }
  if (!source.select.empty() && !chosen)
    return fail(ErrorKind::usage, "'{}' defines no pipeline '{}'; it has {}", source.file, source.select, join(names, ", "));
  if (!chosen && doc.pipelines.size() > 1)
    return fail(ErrorKind::usage, "'{}' defines {} pipelines ({}): choose one with --pipeline-name", source.file,
                doc.pipelines.size(), join(names, ", "));
  if (!chosen) chosen = &doc.pipelines.front();
  Pipeline chosen_pipeline = *chosen->parse.pipeline;
  if (auto st = apply_overrides(chosen_pipeline, source.action_overrides); !st) return std::unexpected(st.error());
  // An action an --action-override gives a command to has a runner now: no warning for it.
  Diagnostics shown;
  for (auto& d : all.items()) {
    bool covered = false;
    if (d.severity == Severity::warning && d.message.find("has no local runner") != std::string::npos)
      for (auto& stage : chosen_pipeline.stages)
        for (auto& a : stage.actions)
          covered = covered || (!a.local_command.empty() && d.message.starts_with(fmt::format("action '{}' (", a.name)));
    if (covered) continue;
    if (d.severity == Severity::warning) shown.warning(d.position, d.message);
    else if (d.severity == Severity::note) shown.note(d.position, d.message);
  }
  SourcedPipeline out{std::move(chosen_pipeline), formatted(source.file, shown, Severity::warning)};
  if (!is_valid_resource_name(out.pipeline.name))
    return fail(ErrorKind::invalid,
                "pipeline name '{}': here a pipeline's name is also its file's, so 1 to 100 letters, digits, '.', '_' "
                "or '-' (not '@')",
                out.pipeline.name);
  return out;
}

Json StoredPipeline::to_json() const {
  return Json{{"pipeline", pipeline.declaration},
              {"metadata", Json{{"pipelineArn", arn}, {"created", created}, {"updated", updated}}}};
}

Pipelines::Pipelines(fs::path home) : m_home(std::move(home)) {}

fs::path Pipelines::path(const std::string& name) const { return definitions(m_home).path(k_kind, name); }

Result<StoredPipeline> Pipelines::get(const std::string& name) const {
  std::string missing = fmt::format("pipeline '{}' does not exist", name);
  if (!is_valid_resource_name(name)) return fail(ErrorKind::not_found, "{}", missing);
  return definitions(m_home).read<StoredPipeline>(
      k_kind, name, "pipeline", missing, [&](const YAML::Node& root, Diagnostics& d) -> std::optional<StoredPipeline> {
        auto doc = yaml::to_json(root, d);
        if (!doc.value.is_object() || !doc.value.contains("pipeline")) {
          d.error(doc.at(""), "a stored pipeline is get-pipeline's answer: 'pipeline' and 'metadata'");
          return std::nullopt;
        }
        for (auto& [k, v] : doc.value.items())
          if (k != "pipeline" && k != "metadata")
            d.error(doc.at("/" + k), fmt::format("unknown field '{}'; expected 'pipeline' or 'metadata'", k));
        PipelineCheckOptions o;
        o.warn_without_local_runner = false;
        auto parse = parse_pipeline_declaration(declaration_at(doc, "/pipeline"), o);
        for (auto& item : parse.diagnostics.items())
          if (item.severity == Severity::error) d.error(item.position, item.message);
        if (!parse.pipeline) return std::nullopt;
        if (parse.pipeline->name != name) {
          d.error(doc.at("/pipeline/name"), fmt::format("the file of pipeline '{}' names pipeline '{}'", name,
                                                        parse.pipeline->name));
          return std::nullopt;
        }
        StoredPipeline out;
        out.pipeline = std::move(*parse.pipeline);
        const Json meta = doc.value.value("metadata", Json::object());
        if (meta.is_object()) {
          out.arn = meta.value("pipelineArn", "");
          out.created = meta.value("created", "");
          out.updated = meta.value("updated", "");
        }
        return out;
      });
}

Result<std::vector<std::string>> Pipelines::list() const { return definitions(m_home).list(k_kind); }

Result<std::vector<Pipeline>> Pipelines::all(std::vector<std::string>& problems) const {
  auto names = list();
  if (!names) return std::unexpected(names.error());
  std::vector<Pipeline> out;
  for (auto& name : *names) {
    auto got = get(name);
    if (got) out.push_back(std::move(got->pipeline));
    else problems.push_back(got.error().message);
  }
  return out;
}

Result<StoredPipeline> Pipelines::create(const PipelineSource& source) {
  // 1. The definition is checked whole before anything is written.
  auto sourced = pipeline_from_source(source);
  if (!sourced) return std::unexpected(sourced.error());
  StoredPipeline p;
  p.pipeline = std::move(sourced->pipeline);
  p.warnings = std::move(sourced->warnings);
  p.pipeline.version = 1;
  p.pipeline.declaration["version"] = 1;
  p.arn = fmt::format("arn:cicd:codepipeline:local:{}:{}", current_user_name(), p.pipeline.name);
  p.created = p.updated = now_text();
  // 2. Created under the area's lock: of two creates of one name, one wins.
  auto defs = definitions(m_home);
  auto st = defs.create(k_kind, p.pipeline.name, fmt::format("pipeline '{}' already exists", p.pipeline.name),
                        [&] { return write_pipeline(defs, p); });
  if (!st) return std::unexpected(st.error());
  return p;
}

Result<StoredPipeline> Pipelines::update(const PipelineSource& source) {
  auto sourced = pipeline_from_source(source);
  if (!sourced) return std::unexpected(sourced.error());
  auto defs = definitions(m_home);
  auto lock = defs.lock();
  if (!lock) return std::unexpected(lock.error());
  auto current = get(sourced->pipeline.name);
  if (!current) return std::unexpected(current.error());
  // UpdatePipeline's version is the stored one plus one, whatever the input says.
  int version = current->pipeline.version + 1;
  StoredPipeline p = std::move(*current);
  p.pipeline = std::move(sourced->pipeline);
  p.warnings = std::move(sourced->warnings);
  p.pipeline.version = version;
  p.pipeline.declaration["version"] = version;
  p.updated = now_text();
  if (auto st = write_pipeline(defs, p); !st) return std::unexpected(st.error());
  return p;
}

Status Pipelines::remove(const std::string& name) {
  auto defs = definitions(m_home);
  auto lock = defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!is_valid_resource_name(name) || !defs.exists(k_kind, name))
    return fail(ErrorKind::not_found, "pipeline '{}' does not exist", name);
  return defs.remove(k_kind, name);
}

}  // namespace cicd

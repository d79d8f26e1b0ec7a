#include "pipeline/variables.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/strings.hpp"

namespace cicd {

ActionRunner action_runner(const PipelineAction& action) {
  // A local command wins over the provider (pipeline(5)), as run_action decides.
  if (!action.local_command.empty()) return ActionRunner::local_command;
  return has_local_runner(action.type) ? ActionRunner::provider : ActionRunner::none;
}

Status check_runners(const Pipeline& pipeline) {
  std::vector<std::string> no_runner;
  for (auto& s : pipeline.stages)
    for (auto& a : s.actions)
      if (action_runner(a) == ActionRunner::none)
        no_runner.push_back(fmt::format("{}/{} ({}/{}/{})", s.name, a.name, a.type.owner, a.type.category, a.type.provider));
  if (!no_runner.empty())
    return fail(ErrorKind::usage,
                "pipeline '{}' has actions cpipeline cannot run here: {}; give each a command with "
                "`cpipeline update-pipeline ... --action-override ACTION=COMMAND`",
                pipeline.name, join(no_runner, ", "));
  return {};
}

Status check_variables(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables) {
  for (auto& [name, value] : variables) {
    bool declared = std::any_of(pipeline.variables.begin(), pipeline.variables.end(),
                                [&](const PipelineVariable& v) { return v.name == name; });
    if (!declared) return fail(ErrorKind::usage, "pipeline '{}' declares no variable '{}'", pipeline.name, name);
  }
  return {};
}

Status check_startable(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables) {
  if (auto st = check_runners(pipeline); !st) return st;
  return check_variables(pipeline, variables);
}

std::string reference_text(const VariableReference& ref) { return fmt::format("#{{{}.{}}}", ref.name_space, ref.variable); }

std::string resolve_references(const std::string& text, const VariableLookup& lookup,
                               std::vector<VariableReference>& missing) {
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t open = text.find("#{", at);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    std::string whole = text.substr(open, close - open + 1);
    auto refs = variable_references(whole);
    out += text.substr(at, open - at);
    at = close + 1;
    std::optional<std::string> value;
    if (!refs.empty()) value = lookup(refs.front());
    if (!refs.empty() && !value) missing.push_back(refs.front());
    out += value ? *value : whole;
  }
  out += text.substr(at);
  return out;
}

VariableLookup record_lookup(const PipelineExecutionRecord& r) {
  return [&r](const VariableReference& ref) -> std::optional<std::string> {
    if (ref.name_space == "codepipeline" && ref.variable == "PipelineExecutionId") return r.id;
    std::optional<std::string> value;
    if (ref.name_space == "variables") {
      for (auto& [n, v] : r.variables)
        if (n == ref.variable) value = v;
      return value;
    }
    for (auto& s : r.stages)
      for (auto& a : s.actions)
        if (a.name_space == ref.name_space && a.output_variables.is_object() && a.output_variables.contains(ref.variable) &&
            a.output_variables[ref.variable].is_string())
          value = a.output_variables[ref.variable].get<std::string>();
    return value;
  };
}

}  // namespace cicd

// What a start checks and how `#{ns.var}` references resolve, shared by the engine (which
// resolves them from an execution's record just before an action runs) and by `cpipeline plan`
// (which resolves what it can without running anything), so that the two cannot disagree.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/pipeline.hpp"
#include "pipeline/records.hpp"
#include "util/error.hpp"

namespace cicd {

// How an action runs here: by cpipeline's own provider, by the local command the stored
// definition gives it, or not at all (start refuses the pipeline).
enum class ActionRunner { provider, local_command, none };
ActionRunner action_runner(const PipelineAction& action);

// What start checks before anything is recorded: every action can run here (check_runners) and
// every variable given is declared (check_variables). Error{usage} naming the problems.
Status check_runners(const Pipeline& pipeline);
Status check_variables(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables);
Status check_startable(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables);

// The value of one reference, or nullopt when it is not known (yet).
using VariableLookup = std::function<std::optional<std::string>(const VariableReference&)>;

// `text` with each `#{ns.var}` replaced by its value; a reference without one is kept as written
// and appended to `missing`.
std::string resolve_references(const std::string& text, const VariableLookup& lookup,
                               std::vector<VariableReference>& missing);

// The lookup of a running execution: its id, its pipeline variables, and the output variables
// of its actions that have run.
VariableLookup record_lookup(const PipelineExecutionRecord& record);

// "#{ns.var}"
std::string reference_text(const VariableReference& ref);

}  // namespace cicd

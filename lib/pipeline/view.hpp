// The "seeing it" side of cpipeline: a pipeline drawn with its latest state (`show`), what a
// start would run without running it (`plan`), and the logs of an execution's actions (`logs`).
// Each builds a model here and renders it here, so the front end only parses and prints.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/pipeline.hpp"
#include "pipeline/engine.hpp"
#include "pipeline/pipelines.hpp"
#include "pipeline/records.hpp"
#include "pipeline/variables.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/run.hpp"

namespace cicd {

// ---- show ----

struct ActionView {
  std::string name;
  ActionTypeId type;
  std::string status;  // "NotStarted" when the stage's execution has not reached it
  std::string start_time, last_update_time;
  std::string external_id, summary, error_message;
  std::string token, expires, custom_data;  // a waiting approval
  std::vector<std::string> inputs, outputs;
};

struct StageView {
  std::string name;
  std::string status = "NotStarted";
  std::string execution_id;  // the execution the statuses are from
  bool transition_enabled = true;
  std::string transition_reason;                // why it was disabled
  std::vector<std::vector<ActionView>> groups;  // by runOrder, ascending: a group runs in parallel
};

struct PipelineView {
  std::string pipeline;
  std::string execution_id;  // set when one execution was asked for
  std::vector<StageView> stages;
};

// The pipeline with each stage's latest execution (GetPipelineState), or with one execution's.
Result<PipelineView> pipeline_view(PipelineEngine& engine, const Pipeline& pipeline, const std::string& execution_id = {});

// A headed block per stage, the actions by runOrder group; ANSI colours only when `color`.
std::string render_view_text(const PipelineView& view, bool color);
// Graphviz: a cluster per stage, a node per action, edges for artifacts and stage order.
std::string render_view_dot(const PipelineView& view);

// ---- plan ----

struct PlannedReference {
  std::string reference;  // "#{BuildVariables.BUILT}"
  std::string producer;   // "Build/Make": the action whose namespace it is (empty: none)
};

struct PlannedArtifact {
  std::string name;
  std::string producer;  // for an input: "Stage/Action"
};

struct PlannedAction {
  std::string name;
  ActionTypeId type;
  int run_order = 1;
  ActionRunner runner = ActionRunner::provider;
  std::string local_command;
  std::vector<std::pair<std::string, std::string>> configuration;  // resolved as far as can be
  std::vector<std::string> commands;                                // resolved too
  std::vector<PlannedReference> unknown;                            // known only when it runs
  std::vector<PlannedArtifact> inputs, outputs;
  std::string name_space;
};

struct PlannedStage {
  std::string name;
  std::vector<std::vector<PlannedAction>> groups;  // by runOrder, ascending
};

struct Plan {
  std::string pipeline;
  std::vector<std::pair<std::string, std::string>> variables;  // pipeline variables as a start would set them
  std::vector<PlannedStage> stages;
  std::string refusal;  // why start would refuse (empty: it would start)
};

// What `start --variables ...` would run, in order. Nothing runs and nothing is recorded. An
// undeclared variable is Error{usage}, as start has it; actions without a runner are reported
// in `refusal` so that the whole plan is still shown.
Result<Plan> plan_pipeline(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables);

std::string render_plan_text(const Plan& plan);
Json plan_to_json(const Plan& plan);

// ---- logs ----

struct LogsOptions {
  std::string pipeline;  // empty: the pipeline whose execution has the id
  std::string action;    // "Action" or "Stage/Action"; empty: every action, each under a header
  bool follow = false;
  CancelToken cancel;  // Ctrl-C ends a follow
  std::chrono::milliseconds interval{200};
  std::function<void(std::string_view)> write;  // receives the output, in pieces
};

struct LogsResult {
  PipelineExecutionRecord record;  // as it stood when printing ended
  bool waiting = false;            // it waits for an approval (a follow ends there, as start does)
  bool interrupted = false;        // a follow ended by Ctrl-C
};

// Prints the logs of an execution's actions that have started; following, keeps printing what
// they (and actions that start later) write until the execution ends or waits for an approval.
// An unknown id (or action) is Error{not_found}.
Result<LogsResult> print_logs(PipelineEngine& engine, const Pipelines& pipelines, const std::string& execution_id,
                              const LogsOptions& options);

}  // namespace cicd

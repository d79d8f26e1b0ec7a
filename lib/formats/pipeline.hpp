// CodePipeline definitions (pipeline(5)): the model of a pipeline declaration and its validator,
// as CodePipeline checks a create-pipeline, with every problem at once and positioned. Pure: the
// declaration comes in as JSON with positions (yaml::PositionedJson), whatever it was written in
// (the JSON of `aws codepipeline get-pipeline`, the same structure in YAML, a CloudFormation
// template's AWS::CodePipeline::Pipeline resource); pipeline_document.hpp reads those.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "formats/yaml_json.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

struct ActionTypeId {
  std::string category;  // Source, Build, Test, Deploy, Approval, Invoke, Compute
  std::string owner;     // AWS, ThirdParty, Custom
  std::string provider;  // CodeCommit, CodeBuild, CodeDeploy, Manual, Commands, ...
  std::string version;   // "1"
};

struct ArtifactRef {
  std::string name;
  std::vector<std::string> files;  // output artifacts of a Commands action: file globs
};

// A `#{namespace.variable}` reference in an action's configuration or commands.
struct VariableReference {
  std::string name_space;  // "SourceVariables", "codepipeline", "variables"
  std::string variable;
};

struct PipelineAction {
  std::string name;
  ActionTypeId type;
  int run_order = 1;
  // Values as CodePipeline keeps them: text (a CloudFormation boolean or number becomes text).
  std::vector<std::pair<std::string, std::string>> configuration;
  std::vector<std::string> commands;  // Compute/Commands
  std::vector<ArtifactRef> inputs;
  std::vector<ArtifactRef> outputs;
  std::vector<std::string> output_variables;  // Compute/Commands
  std::string name_space;                     // "namespace" in the JSON
  std::string role_arn;
  std::string region;
  std::optional<int> timeout_in_minutes;  // Approval/Manual: 5..86400 (7 days when not given)
  // A shell command cpipeline runs for an action type it has no runner for (CloudFormation,
  // Lambda, ...): `localCommand` in a stored definition, or `--action-override`.
  std::string local_command;
  std::string pointer;                    // JSON pointer of the action in the declaration
  Position position;

  const std::string* config(std::string_view key) const;
};

// A stage's conditions (V2): rules that decide entry, or what follows a success or a failure.
struct StageCondition {
  std::string result;  // FAIL, SKIP, ROLLBACK, RETRY
  Json rules = Json::array();
};

struct StageOutcome {
  std::string result;      // onFailure: ROLLBACK, FAIL, RETRY, SKIP (empty: the default, FAIL)
  std::string retry_mode;  // onFailure.retryConfiguration.retryMode: ALL_ACTIONS, FAILED_ACTIONS
  std::vector<StageCondition> conditions;
};

struct PipelineStage {
  std::string name;
  std::vector<PipelineAction> actions;  // in the declaration's order
  StageOutcome on_failure, on_success, before_entry;
  std::string pointer;
  Position position;

  // The runOrder values of the stage, ascending: each is a group of actions run in parallel.
  std::vector<int> run_orders() const;
};

struct PipelineVariable {
  std::string name;
  std::string default_value;
  std::string description;
};

// A V2 trigger's filters: glob includes and excludes (excludes win).
struct GlobFilter {
  std::vector<std::string> includes, excludes;
  bool empty() const { return includes.empty() && excludes.empty(); }
};
struct PushFilter {
  GlobFilter branches, tags, file_paths;
};
struct PullRequestFilter {
  std::vector<std::string> events;  // OPEN, UPDATED, CLOSED
  GlobFilter branches, file_paths;
};
struct PipelineTrigger {
  std::string provider_type;  // CodeStarSourceConnection
  std::string source_action;
  std::vector<PushFilter> push;
  std::vector<PullRequestFilter> pull_request;
};

enum class ExecutionMode { superseded, queued, parallel };
std::string_view execution_mode_name(ExecutionMode mode);  // "SUPERSEDED"

struct Pipeline {
  std::string name;
  std::string role_arn;
  std::string pipeline_type = "V1";  // V1 or V2 (V2 when the declaration uses what only V2 has)
  ExecutionMode execution_mode = ExecutionMode::superseded;
  int version = 1;
  std::vector<PipelineStage> stages;
  std::vector<PipelineVariable> variables;
  std::vector<PipelineTrigger> triggers;
  // The declaration as `get-pipeline` prints it (camelCase, configuration values as text,
  // runOrder filled in), for storing and printing.
  Json declaration = Json::object();

  const PipelineStage* stage(std::string_view name) const;
  // The action that produces output artifact `name`, with its stage.
  std::optional<std::pair<const PipelineStage*, const PipelineAction*>> producer(std::string_view artifact) const;
};

struct PipelineCheckOptions {
  // Warn about each action that cpipeline cannot run here (validate says so; a stored pipeline
  // may still give it a local command).
  bool warn_without_local_runner = true;
  // Pointers of values only AWS knows (a CloudFormation !GetAtt): their syntax is not checked.
  std::set<std::string> unresolved;
  // The name to use when the declaration has none (a template's logical id).
  std::string default_name;
};

struct PipelineParse {
  std::optional<Pipeline> pipeline;  // set when there are no errors
  Diagnostics diagnostics;
};

// Reads and validates a pipeline declaration (the object under "pipeline" in get-pipeline's JSON).
PipelineParse parse_pipeline_declaration(const yaml::PositionedJson& declaration, const PipelineCheckOptions& options = {});

// Whether cpipeline runs this action type itself (Source: CodeCommit, S3; Build/Test: CodeBuild;
// Deploy: CodeDeploy, S3; Approval: Manual; Compute: Commands).
bool has_local_runner(const ActionTypeId& type);

// The `#{ns.var}` references in a text, in order.
std::vector<VariableReference> variable_references(std::string_view text);

// The names CodePipeline checks: pipelines, stages and actions ([A-Za-z0-9.@-_]{1,100}),
// artifacts ([A-Za-z0-9_-]{1,100}), namespaces and variables ([A-Za-z0-9@-_]{1,100}).
bool is_valid_pipeline_name(std::string_view name);
bool is_valid_artifact_name(std::string_view name);
bool is_valid_namespace(std::string_view name);

}  // namespace cicd

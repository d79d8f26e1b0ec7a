// The records of pipeline executions, in CodePipeline's shapes (GetPipelineExecution,
// ListPipelineExecutions, ListActionExecutions, GetPipelineState), kept in the store:
//   pipelines/<name>/executions/<execution-id>.json   one execution, its stages and actions
//   pipelines/<name>/state.json                       which execution holds each stage, who
//                                                     waits, the inbound transitions
// An execution is one record so that every change to it (an action ending, an approval, a stop)
// is one atomic read-modify-write (Store::update_json), from whichever process makes it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/pipeline.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

// PipelineExecution.status.
enum class ExecutionStatus { in_progress, stopping, stopped, succeeded, superseded, failed, cancelled };
// ActionExecution.status (InProgress, Abandoned, Succeeded, Failed); stages have the execution's
// words (InProgress, Stopping, Stopped, Succeeded, Failed, Cancelled, Skipped) and NotStarted.
enum class ActionStatus { not_started, in_progress, abandoned, succeeded, failed };
enum class StageStatus { not_started, in_progress, stopping, stopped, succeeded, failed, cancelled, skipped };

std::string_view execution_status_name(ExecutionStatus s);  // "InProgress"
std::string_view action_status_name(ActionStatus s);
std::string_view stage_status_name(StageStatus s);
std::optional<ExecutionStatus> parse_execution_status(std::string_view s);
bool is_final(ExecutionStatus s);

struct ArtifactLocation {
  std::string name;
  std::string path;  // the artifact's directory on this machine (CodePipeline's s3location)
};

struct ActionExecution {
  std::string action_execution_id;  // UUID
  std::string action_name;
  std::string stage_name;
  ActionStatus status = ActionStatus::not_started;
  std::string start_time, last_update_time;  // ISO 8601
  std::string updated_by;                    // who answered an approval
  std::string summary;                       // externalExecutionSummary / an approval's summary
  std::string external_id;                   // a build's id, a deployment's id
  std::string external_url;                  // file:// the build record, the deployment's
  std::string error_code, error_message;     // errorDetails
  std::string token;                         // a waiting approval's token
  std::string expires;                       // when a waiting approval times out
  // input: configuration as declared, and as resolved just before the run.
  ActionTypeId type;
  Json configuration = Json::object();
  Json resolved_configuration = Json::object();
  std::vector<ArtifactLocation> input_artifacts, output_artifacts;
  std::string name_space;
  Json output_variables = Json::object();
  std::string log;  // the action's log in the store (a key)
};

struct StageExecution {
  std::string name;
  StageStatus status = StageStatus::not_started;
  std::vector<ActionExecution> actions;  // in the declaration's order
  int retries = 0;  // retries so far: onFailure RETRY retries a stage once, retry-stage-execution any time
};

// start-pipeline-execution --source-revisions: the revision a source action takes instead of its
// branch's head (a push's commit, so that the execution builds what was pushed).
struct SourceRevision {
  std::string action_name;
  std::string revision_type;  // COMMIT_ID, S3_OBJECT_VERSION_ID, S3_OBJECT_KEY, IMAGE_DIGEST
  std::string revision_value;
};

struct ArtifactRevision {
  std::string name;         // the source action's output artifact
  std::string revision_id;  // a commit id, an S3 version
  std::string revision_summary;
  std::string revision_url;
  std::string created;
};

// The process that advances an execution (a `cpipeline start`, an approver, a poll): when it is
// gone without finishing, `cpipeline poll` (or any look) takes the execution over.
struct ExecutionProcess {
  int pid = 0;
  std::string host;
  long long start_time = 0;  // the process's start time (/proc), so a reused pid is not taken for it
};

struct PipelineExecutionRecord {
  std::string pipeline_name;
  int pipeline_version = 1;
  std::string id;  // pipelineExecutionId (UUID)
  ExecutionStatus status = ExecutionStatus::in_progress;
  std::string status_summary;
  std::string trigger_type = "StartPipelineExecution";  // StartPipelineExecution, Webhook, ...
  std::string trigger_detail;                           // who or what started it
  std::string stop_reason;
  ExecutionMode execution_mode = ExecutionMode::superseded;
  std::string execution_type = "STANDARD";  // STANDARD or ROLLBACK
  std::string rollback_target;              // rollbackMetadata.rollbackTargetPipelineExecutionId
  std::string start_time, last_update_time;
  std::vector<ArtifactRevision> artifact_revisions;
  std::vector<std::pair<std::string, std::string>> variables;  // pipeline variables, resolved
  std::vector<StageExecution> stages;
  std::vector<SourceRevision> source_revisions;
  std::optional<ExecutionProcess> process;
  // The stage the execution is at (its index in `stages`), and whether it waits to enter it.
  size_t current_stage = 0;
  bool waiting = false;
  // Waiting with no process at a disabled inbound transition: enable-stage-transition (or a poll
  // once it is enabled) continues it.
  bool held = false;
  // A rollback runs one stage: the index past which it ends (stages.size() for the others).
  size_t last_stage = static_cast<size_t>(-1);

  ActionExecution* action(std::string_view stage, std::string_view name);
  const ActionExecution* action(std::string_view stage, std::string_view name) const;
};

Json execution_to_json(const PipelineExecutionRecord& r);
Result<PipelineExecutionRecord> execution_from_json(const Json& j);

// GetPipelineExecution's pipelineExecution object, ListPipelineExecutions' summary, and
// ListActionExecutions' actionExecutionDetails: the record in AWS's shapes.
Json execution_detail_json(const PipelineExecutionRecord& r);
Json execution_summary_json(const PipelineExecutionRecord& r);
Json action_execution_detail_json(const PipelineExecutionRecord& r, const ActionExecution& a);

// A fresh execution of `pipeline`: every stage and action NotStarted.
PipelineExecutionRecord new_execution(const Pipeline& pipeline, std::string id, std::string now);

std::string execution_key(std::string_view pipeline, std::string_view id);
std::string executions_prefix(std::string_view pipeline);
std::string pipeline_state_key(std::string_view pipeline);
// Where, under an execution's folder, an action keeps its scratch files and a local command
// its log (`cpipeline logs --follow` reads a running action's log there before its record names it).
std::filesystem::path action_work_dir(const std::filesystem::path& execution_dir, std::string_view stage, std::string_view action);
std::filesystem::path action_log_path(const std::filesystem::path& execution_dir, std::string_view stage, std::string_view action);
// stop-pipeline-execution's request, which the process running the execution watches.
std::string execution_stop_request_key(std::string_view pipeline, std::string_view id);

}  // namespace cicd

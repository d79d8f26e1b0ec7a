// The pipeline engine behind cpipeline: runs a pipeline's executions, stage by stage, each
// stage's actions by runOrder group (a group in parallel), handing artifacts from action to
// action through the execution's folder in the store. No daemon: the process that starts an
// execution runs it until it ends or waits for an approval; answering the approval continues it
// in the answering process. State is in the store (pipeline/records.hpp).
//
// Providers (pipeline/actions.hpp) are adapters over the library: a Commands action is a build of
// the build engine, a CodeDeploy action a deployment of the deploy engine; nothing spawns our
// own binaries.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "formats/pipeline.hpp"
#include "notify/notify.hpp"
#include "pipeline/records.hpp"
#include "pipeline/triggers.hpp"
#include "store/store.hpp"
#include "util/error.hpp"
#include "util/process.hpp"
#include "util/run.hpp"
#include "util/time.hpp"

namespace cicd {

struct PipelineRunOptions {
  // start-pipeline-execution --variables name=N,value=V: pipeline variables (V2) for this run.
  std::vector<std::pair<std::string, std::string>> variables;
  std::string trigger_type = "StartPipelineExecution";
  std::string trigger_detail;  // who or what: "alice", "push of refs/heads/main"
  // One line per event (an action starting or ending, a stage, an approval waiting), for stderr.
  std::function<void(std::string_view)> progress;
  // The front end's token (Ctrl-C): cancelling it stops the execution's running actions.
  CancelToken cancel;
  // How many actions of one runOrder group run at once.
  unsigned max_parallel = 4;
  // --source-revisions: what source actions take instead of their branch's head.
  std::vector<SourceRevision> source_revisions;
  // --no-wait: the execution goes on in a background process of its own; the call returns once
  // that process has taken it over (the record names it), with the record as it then stands.
  bool detach = false;
  // Called once the record names the process advancing the execution (run_detached's `ready`).
  std::function<void()> on_started;
};

// An approval an execution waits for: what `cpipeline approve` needs.
struct PendingApproval {
  std::string stage;
  std::string action;
  std::string token;
  std::string custom_data;
  std::string external_link;
  std::string expires;  // ISO 8601
};

struct ExecutionResult {
  ExecutionResult() = default;
  explicit ExecutionResult(PipelineExecutionRecord r, std::optional<PendingApproval> a = std::nullopt, std::string held = {})
      : record(std::move(r)), approval(std::move(a)), held_before(std::move(held)) {}

  PipelineExecutionRecord record;
  std::optional<PendingApproval> approval;  // set when the execution waits for one
  // Set when the execution is held before this stage, whose inbound transition is disabled.
  std::string held_before;
  // The rollback an onFailure ROLLBACK started when this execution failed, as it ended.
  std::optional<PipelineExecutionRecord> rollback;
};

// What `cpipeline poll` did: each line one thing (a repair, a continued execution, a start).
struct PollReport {
  std::vector<std::string> repaired;   // executions whose process died or approval expired
  std::vector<std::string> continued;  // held executions continued, failure rules applied
  std::vector<std::string> started;    // executions started for changed sources
  std::vector<std::string> problems;   // what could not be done (a pipeline that failed to load)
};

enum class RetryMode { failed_actions, all_actions };

// An inbound transition's state (GetPipelineState's inboundTransitionState).
struct TransitionState {
  bool enabled = true;
  std::string reason, changed_by, changed_at;
};

class PipelineEngine {
 public:
  // `home` holds definitions (build projects, repositories, applications); `store` the records,
  // the artifacts and the logs.
  PipelineEngine(Store& store, std::filesystem::path home, std::filesystem::path store_root, ProcessRunner& runner,
                 const Clock& clock);

  // Starts an execution of `pipeline` and runs it here until it ends or waits for an approval.
  // Invalid input (an unknown variable, an action with no local runner and no local command) is
  // an Error and starts nothing.
  Result<ExecutionResult> start(const Pipeline& pipeline, const PipelineRunOptions& options);

  // PutApprovalResult: answers the approval `token` of `stage`/`action` (empty: whichever approval
  // has that token) (Approved or Rejected,
  // with a summary), then, when approved, runs the rest of the execution here. A token that is not
  // the waiting approval's, or an approval already answered, is Error{invalid} and changes nothing.
  Result<ExecutionResult> put_approval_result(const Pipeline& pipeline, const std::string& stage,
                                              const std::string& action, const std::string& token, bool approved,
                                              const std::string& summary, const PipelineRunOptions& options);

  // StopPipelineExecution: an execution running in a process (here or elsewhere) is asked to stop
  // through the store (Stopping until it has): no new action starts, and with `abandon` the
  // running ones are stopped too. One that no process runs (waiting for an approval, or whose
  // process died) is Stopped at once, its waiting or running actions Abandoned. An execution that
  // has ended is Error{invalid}.
  Result<PipelineExecutionRecord> stop(const Pipeline& pipeline, const std::string& id, bool abandon,
                                       const std::string& reason);

  // RetryStageExecution: runs `stage` of execution `id` again (its failed actions, or all), then
  // the stages after it, here (or in the background with options.detach). Only the latest
  // execution to reach the stage, only a stage that Failed or Stopped, and not one whose actions
  // the pipeline no longer has: anything else is Error{invalid} and changes nothing.
  // `automatic`: the stage's onFailure RETRY (once per stage), counted in the stage's retries.
  Result<ExecutionResult> retry_stage(const Pipeline& pipeline, const std::string& stage, const std::string& id,
                                      RetryMode mode, const PipelineRunOptions& options, bool automatic = false);

  // DisableStageTransition / EnableStageTransition (inbound into `stage`). A disabled transition
  // holds the executions that reach it (SUPERSEDED: the newest one); enabling it continues the
  // first held one here (or in the background with options.detach) and returns how it went.
  Result<TransitionState> disable_transition(const Pipeline& pipeline, const std::string& stage, const std::string& reason);
  Result<std::optional<ExecutionResult>> enable_transition(const Pipeline& pipeline, const std::string& stage,
                                                           const PipelineRunOptions& options);

  // RollbackStage (V2): a new execution (executionType ROLLBACK) that runs `stage` again with
  // the artifacts and variables execution `target` gave it; `target` must have succeeded in it.
  Result<ExecutionResult> rollback_stage(const Pipeline& pipeline, const std::string& stage, const std::string& target,
                                         const PipelineRunOptions& options);

  // `cpipeline poll`, for cron: repairs executions whose process died or whose approval expired
  // (and applies their stage's onFailure rule), continues held executions whose transition is
  // enabled again, and starts an execution (in the background) for each pipeline whose
  // CodeCommit or S3 source changed since its latest execution.
  Result<PollReport> poll(const std::vector<Pipeline>& pipelines, const PipelineRunOptions& options);

  // A push to repository `repository` of the home (`cpipeline notify-push`, from its
  // post-receive hook): starts, each in the background, the pipelines whose source watches the
  // pushed branch (or whose V2 push triggers take the push), with the pushed commit as their
  // source revision. Returns one line per pipeline started (or that could not be).
  Result<std::vector<std::string>> on_push(const std::vector<Pipeline>& pipelines, const std::string& repository,
                                           const std::vector<RefUpdate>& updates, const PipelineRunOptions& options);

  Result<PipelineExecutionRecord> get_execution(const std::string& pipeline, const std::string& id);
  // Newest first.
  Result<std::vector<PipelineExecutionRecord>> list_executions(const std::string& pipeline);

  // ListActionExecutions' actionExecutionDetails: the actions that started, of every execution
  // (newest first) or of one.
  Result<Json> list_action_executions(const std::string& pipeline, const std::string& execution_id = {});

  // GetPipelineState's answer: each stage's latest execution and its actions' latest status.
  Result<Json> state(const Pipeline& pipeline);

  // Where an execution's artifacts and logs live.
  std::filesystem::path execution_dir(const std::string& pipeline, const std::string& id) const;

 private:
  class Execution;
  Result<ExecutionResult> advance(const Pipeline& pipeline, const std::string& id, const PipelineRunOptions& options);
  // advance, or with options.detach the same in a background process.
  Result<ExecutionResult> advance_or_detach(const Pipeline& pipeline, const std::string& id,
                                            const PipelineRunOptions& options);
  // The onFailure ROLLBACK of a stage that failed in `failed`: a rollback to the latest execution
  // that succeeded in it, if there is one.
  Result<std::optional<PipelineExecutionRecord>> automatic_rollback(const Pipeline& pipeline, size_t stage,
                                                                    const PipelineExecutionRecord& failed,
                                                                    const PipelineRunOptions& options);
  // The onFailure rule of the stage that failed in `failed` (RETRY once, ROLLBACK), applied in
  // the background; what it did, or "" for nothing.
  Result<std::string> apply_failure_rule(const Pipeline& pipeline, const PipelineExecutionRecord& failed,
                                         const PipelineRunOptions& options);
  // Starts an execution when a source changed since the latest one; what it did, or "".
  Result<std::string> start_if_changed(const Pipeline& pipeline, const PipelineRunOptions& options);
  // A held execution (its transition enabled again) taken over by this process and continued.
  Result<ExecutionResult> continue_held(const Pipeline& pipeline, const std::string& id, const PipelineRunOptions& options);
  Result<ExecutionResult> start_rollback(const Pipeline& pipeline, size_t stage, const PipelineExecutionRecord& target,
                                         const std::string& trigger_type, const PipelineRunOptions& options);

  // Events of execution, stage and action state changes to <home>/notifications.yml's targets.
  void publish(const PipelineExecutionRecord* before, const PipelineExecutionRecord& after) const;

  Store& m_store;
  notify::Notifier m_notifier;
  std::string m_notify_problem;  // notifications.yml could not be read: said once per run
  std::filesystem::path m_home;
  std::filesystem::path m_store_root;
  ProcessRunner& m_runner;
  const Clock& m_clock;
};

}  // namespace cicd

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
#include "pipeline/records.hpp"
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
  PipelineExecutionRecord record;
  std::optional<PendingApproval> approval;  // set when the execution waits for one
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

  Store& m_store;
  std::filesystem::path m_home;
  std::filesystem::path m_store_root;
  ProcessRunner& m_runner;
  const Clock& m_clock;
};

}  // namespace cicd

// The providers of pipeline actions: thin adapters over the library. Each runs one action of an
// execution with its resolved configuration, reading its input artifacts where they are and
// writing its output artifacts into the execution's folder.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "formats/pipeline.hpp"
#include "pipeline/records.hpp"
#include "store/store.hpp"
#include "util/process.hpp"
#include "util/run.hpp"
#include "util/time.hpp"

namespace cicd {

struct ActionContext {
  const Pipeline& pipeline;
  const PipelineStage& stage;
  const PipelineAction& action;
  std::string execution_id;
  // The configuration with its #{ns.var} resolved.
  std::vector<std::pair<std::string, std::string>> configuration;
  // Input artifacts by name: their directories (read them, never write them: other actions read
  // them too).
  std::vector<std::pair<std::string, std::filesystem::path>> inputs;
  // Output artifact NAME goes to outputs_dir/NAME, a directory the provider creates.
  std::filesystem::path outputs_dir;
  std::filesystem::path work_dir;  // the action's own scratch folder
  std::filesystem::path log_path;  // the action's log
  std::filesystem::path home;
  std::filesystem::path store_root;
  Store& store;
  ProcessRunner& runner;
  const Clock& clock;
  CancelToken cancel;
  // --source-revisions for this (source) action: a commit id, an S3 object's version; empty: the
  // branch's head, the object as it is.
  std::string source_revision;

  const std::string* config(std::string_view key) const;
};

struct ActionOutcome {
  ActionStatus status = ActionStatus::succeeded;  // in_progress: an approval now waits
  std::string summary;
  std::string external_id, external_url;
  std::string error_code, error_message;
  Json output_variables = Json::object();
  std::vector<ArtifactRevision> revisions;  // a source action's
  // An approval that now waits: its token and when it times out.
  std::string token, expires;
  bool stopped = false;  // ended by a stop (or Ctrl-C), not by a failure of its own
  std::string log;       // the action's log: a build's, a local command's
};

// Runs the action by its provider (or its local command). Errors are failures of the action
// (ActionOutcome::status failed, with the reason); a returned Error is an internal fault.
Result<ActionOutcome> run_action(ActionContext& context);

// Where a build action (CodeBuild, Commands) has the build engine put its artifact directory
// (build.json, build.log), under the action's work dir: `cpipeline logs --follow` reads a
// running build's log there.
std::filesystem::path build_artifacts_dir(const std::filesystem::path& work_dir);

// The approval's timeout: the action's timeoutInMinutes, else 7 days.
std::chrono::minutes approval_timeout(const PipelineAction& action);

}  // namespace cicd

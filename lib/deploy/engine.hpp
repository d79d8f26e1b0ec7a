// The deployment engine behind cdeploy: creates deployments, paces them over a deployment
// group's instances, records them as CodeDeploy does, stops, rolls back, and repairs the record
// of a deployment whose process died.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deploy/host.hpp"
#include "deploy/lifecycle.hpp"
#include "deploy/records.hpp"
#include "deploy/resources.hpp"
#include "store/store.hpp"
#include "util/process.hpp"
#include "util/time.hpp"

namespace cicd {

struct CreateDeploymentOptions {
  std::string application;
  std::string deployment_group;
  std::string revision;                       // a directory, .zip, .tar(.gz) or cbuild artifact dir
  std::string deployment_config;              // empty: the group's
  std::optional<FileExistsBehavior> file_exists_behavior;  // empty: the appspec's, else DISALLOW
  bool ignore_application_stop_failures = false;
  bool hard_links = true;  // false: --no-hard-links, Install copies every file
  std::string description;
};

// How run() runs a created deployment.
struct RunDeploymentOptions {
  ProgressCallback progress;
  // Hook output and script-log notes go to `progress` too, as they are written.
  bool echo_output = false;
  // The deployment is a run of its own under this token (the front end's, cancelled by Ctrl-C; or
  // a pipeline action's): cancelling it stops the deployment. A fresh token by default.
  CancelToken cancel;
};

struct DeploymentOutcome {
  DeploymentRecord deployment;
  std::optional<DeploymentRecord> rollback;  // the automatic rollback it triggered, if any
  std::vector<std::string> warnings;
};

class DeployEngine {
 public:
  using Progress = ProgressCallback;
  // `open`: how instances are reached (open_host when empty).
  DeployEngine(Store& store, Resources& resources, ProcessRunner& runner, const Clock& clock, HostOpener open = {});

  // Checks everything and records the deployment (status Created); runs nothing. Invalid input
  // is an Error and changes nothing; a second deployment while one is in progress in the group
  // is Error{conflict}.
  Result<DeploymentOutcome> create(const CreateDeploymentOptions& options);
  // Runs a created deployment to its end (and its automatic rollback, when configured; not after
  // an interruption of `options.cancel` itself, which means "stop now").
  Result<DeploymentOutcome> run(const std::string& deployment_id, const RunDeploymentOptions& options = {});
  // Redeploys the group's last known good revision (the one before its latest deployment).
  Result<DeploymentOutcome> rollback(const std::string& application, const std::string& deployment_group);

  Result<DeploymentRecord> get(const std::string& deployment_id);
  // Newest first.
  Result<std::vector<std::string>> list(const std::string& application, const std::string& deployment_group,
                                        const std::vector<DeploymentStatus>& statuses = {});
  Result<std::vector<InstanceRecord>> instances(const std::string& deployment_id);
  Result<InstanceRecord> instance(const std::string& deployment_id, const std::string& instance_name);
  // Asks the deployment to stop (a stop request in the store, which it watches wherever it runs);
  // waits up to `wait` until its record says it ended.
  Result<DeploymentRecord> stop(const std::string& deployment_id, std::chrono::milliseconds wait);
  // Marks a deployment whose process died as Failed (with the reason) and frees its group.
  Status repair_group(const std::string& application, const std::string& deployment_group);

 private:
  // `reuse`: redeploy that deployment's bundle and appspec as they are (rollbacks).
  Result<DeploymentOutcome> create_internal(const CreateDeploymentOptions& options,
                                            const std::optional<std::string>& rollback_of,
                                            const DeploymentRecord* reuse = nullptr);
  Result<DeploymentRecord> execute(DeploymentRecord record, const RunDeploymentOptions& options);
  Status repair_group_id(const std::string& group_id);
  Status save(const DeploymentRecord& record);
  Status save_instance(const InstanceRecord& record);

  Store& m_store;
  Resources& m_resources;
  ProcessRunner& m_runner;
  const Clock& m_clock;
  HostOpener m_open_host;
};

}  // namespace cicd

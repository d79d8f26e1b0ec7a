// The in-place lifecycle on one instance: ApplicationStop (the last successful revision's
// scripts), DownloadBundle, BeforeInstall, Install, AfterInstall, ApplicationStart,
// ValidateService; the per-instance deployment root with logs, pointers and retention.
#pragma once

#include <functional>
#include <string>

#include "deploy/host.hpp"
#include "deploy/records.hpp"
#include "util/time.hpp"

namespace cicd {

// A line of a deployment's progress, with what it says for a front end to render (color).
struct ProgressLine {
  enum class Kind {
    info,       // "d-X: deploying to web1"
    succeeded,  // an event or the deployment succeeded
    failed,     // ... failed (or was stopped)
    skipped,    // ... was skipped
    output,     // a hook's output or the script log's own notes (only when asked for)
  };
  Kind kind = Kind::info;
  std::string text;
};
using ProgressCallback = std::function<void(const ProgressLine&)>;

// The events an in-place deployment records for each instance, in order.
const std::vector<LifecycleEvent>& in_place_lifecycle();

struct InstanceDeployment {
  std::string deployment_id;
  std::string application;
  std::string deployment_group;
  std::string deployment_group_id;
  const Appspec* spec = nullptr;
  std::filesystem::path bundle;  // the revision as a tar, on this machine
  FileExistsBehavior file_exists_behavior = FileExistsBehavior::disallow;
  bool ignore_application_stop_failures = false;
  bool hard_links = true;
  const Clock* clock = nullptr;
  // Called whenever the instance's record changes (to save it).
  std::function<void(const InstanceRecord&)> on_update;
  // One line per event for progress output ("web1: BeforeInstall Succeeded").
  ProgressCallback progress;
  // Also each line of the script log as it is written ("web1 AfterInstall| ..."), to `progress`.
  bool echo_output = false;
  // The deployment's run: its cancellation stops the hook running, and the lifecycle between
  // steps (what is left is Skipped).
  Run* run = nullptr;
  int revisions_to_keep = 5;
};

// Runs the lifecycle; the returned record says what happened on the instance.
InstanceRecord deploy_instance(InstanceHost& host, const Instance& instance, const InstanceDeployment& d);

// Instance paths of a group's deployment root entries.
struct DeploymentRootPaths {
  std::string root;            // <deployment-root>
  std::string group_dir;       // <root>/<group-id>
  std::string deployment_dir;  // <group_dir>/<deployment-id>
  std::string archive;         // <deployment_dir>/deployment-archive
  std::string bundle;          // <deployment_dir>/bundle.tar
  std::string script_log;      // <deployment_dir>/logs/scripts.log
  std::string cleanup;         // <root>/deployment-instructions/<group-id>-cleanup
  std::string last_successful; // <root>/deployment-instructions/<group-id>_last_successful_install
  std::string most_recent;     // <root>/deployment-instructions/<group-id>_most_recent_install
};
DeploymentRootPaths deployment_root_paths(const std::string& deployment_root, const std::string& group_id,
                                          const std::string& deployment_id);

}  // namespace cicd

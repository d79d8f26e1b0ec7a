// Deployment records in the shape of CodeDeploy's GetDeployment (deploymentInfo) and
// GetDeploymentTarget (instanceTarget) outputs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/appspec.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/run.hpp"

namespace cicd {

enum class DeploymentStatus { created, queued, in_progress, succeeded, failed, stopped };
std::string_view deployment_status_name(DeploymentStatus s);  // "Created", "InProgress", ...
std::optional<DeploymentStatus> parse_deployment_status(std::string_view name);
bool is_final(DeploymentStatus s);

// An instance's (target's) status, and a lifecycle event's.
enum class TargetStatus { pending, in_progress, succeeded, failed, skipped, unknown };
std::string_view target_status_name(TargetStatus s);  // "Pending", ...
std::optional<TargetStatus> parse_target_status(std::string_view name);

struct LifecycleDiagnostics {
  std::string error_code;   // Success, ScriptMissing, ScriptNotExecutable, ScriptTimedOut, ScriptFailed, UnknownError
  std::string script_name;
  std::string message;
  std::string log_tail;     // the last lines the script printed (at most 4 KB)
};

struct LifecycleEventRecord {
  std::string name;  // "ApplicationStop", ...
  TargetStatus status = TargetStatus::pending;
  std::string start_time, end_time;  // ISO-8601, empty until then
  std::optional<LifecycleDiagnostics> diagnostics;
};

struct InstanceRecord {
  std::string deployment_id;
  std::string instance_name;
  std::string instance_arn;
  TargetStatus status = TargetStatus::pending;
  std::string last_updated_at;
  std::vector<LifecycleEventRecord> lifecycle_events;  // every event of the in-place lifecycle
};

struct RevisionInfo {
  std::string location;  // what the user gave
  std::string bundle;    // the bundle kept in the store (tar)
  std::string sha256;    // of the bundle
};

struct ErrorInformation {
  std::string code;  // HEALTH_CONSTRAINTS, HEALTH_CONSTRAINTS_INVALID, NO_INSTANCES, MANUAL_STOP, ...
  std::string message;
};

struct RollbackInfo {
  std::string rollback_deployment_id;             // on the failed deployment: the rollback started
  std::string rollback_triggering_deployment_id;  // on the rollback: what it rolls back
  std::string rollback_message;
};

struct DeploymentOverview {
  int pending = 0, in_progress = 0, succeeded = 0, failed = 0, skipped = 0, ready = 0;
};

struct DeploymentRecord {
  std::string id;  // d-XXXXXXXXX
  std::string application;
  std::string deployment_group;
  std::string deployment_group_id;
  std::string deployment_config;
  DeploymentStatus status = DeploymentStatus::created;
  std::optional<ErrorInformation> error;
  std::string create_time, start_time, complete_time;
  std::string description;
  std::string creator = "user";  // user | autoRollback
  std::string user;              // who ran cdeploy
  bool ignore_application_stop_failures = false;
  bool hard_links = true;  // Install may hard-link unchanged files to the archive (cdeploy's own field)
  std::string file_exists_behavior;  // DISALLOW | OVERWRITE | RETAIN (as requested; empty: the appspec's)
  RevisionInfo revision;
  std::string previous_revision_deployment_id;  // the last successful deployment when this one started
  std::optional<RollbackInfo> rollback;
  bool auto_rollback_enabled = false;
  std::vector<std::string> auto_rollback_events;
  DeploymentOverview overview;
  std::vector<std::string> instances;  // targets, in deployment order
  std::vector<std::string> status_messages;
  // Which process runs it, to tell a crash from a deployment still in progress.
  int pid = 0;
  uint64_t pid_start_time = 0;
  std::string host;
  // The process groups (hooks) it runs now: what a repair kills if the process died.
  std::vector<ProcessGroupRef> process_groups;
};

Json deployment_to_json(const DeploymentRecord& d);  // deploymentInfo
Result<DeploymentRecord> deployment_from_json(const Json& j);
Json instance_record_to_json(const InstanceRecord& i);  // instanceTarget
Result<InstanceRecord> instance_record_from_json(const Json& j);

// d- followed by 9 characters [0-9A-Z], as CodeDeploy's ids.
std::string make_deployment_id();
bool is_valid_deployment_id(std::string_view id);

}  // namespace cicd

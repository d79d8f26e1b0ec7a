// Build records in the shape of CodeBuild's BatchGetBuilds `Build` object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/json.hpp"
#include "util/process.hpp"
#include "util/run.hpp"
#include "util/time.hpp"

namespace cicd {

enum class BuildStatus { in_progress, succeeded, failed, fault, timed_out, stopped };
std::string_view build_status_name(BuildStatus status);  // "IN_PROGRESS", "SUCCEEDED", ...
std::optional<BuildStatus> parse_build_status(std::string_view name);
// Exit code of DESIGN.md section 6 for a finished build.
int exit_code_for(BuildStatus status);

// Every phase CodeBuild reports, in order.
enum class BuildPhase {
  submitted,
  queued,
  provisioning,
  download_source,
  install,
  pre_build,
  build,
  post_build,
  upload_artifacts,
  finalizing,
  completed,
};
std::string_view build_phase_name(BuildPhase phase);  // "SUBMITTED", ...

struct PhaseContext {
  std::string status_code;  // "COMMAND_EXECUTION_ERROR", "CLIENT_ERROR", ...
  std::string message;
};

struct PhaseRecord {
  BuildPhase type = BuildPhase::submitted;
  std::optional<BuildStatus> status;  // unset while in progress, and for COMPLETED
  SystemTime start_time{};
  std::optional<SystemTime> end_time;
  std::vector<PhaseContext> contexts;
};

struct ArtifactRecord {
  std::string identifier;  // empty for the primary artifact
  std::string location;    // absolute path of the zip (or directory, packaging none)
  std::string name;
  std::string packaging;   // "ZIP" | "NONE"
  std::string sha256sum;   // of the zip
  std::string md5sum;
  std::string manifest;    // path of the manifest JSON
  uint64_t files = 0;
  uint64_t size = 0;       // bytes of content
};

struct EnvironmentVariableRecord {
  std::string name;
  std::string value;  // the parameter name for PARAMETER_STORE / SECRETS_MANAGER, never a secret
  std::string type;   // PLAINTEXT | PARAMETER_STORE | SECRETS_MANAGER
};

struct BuildRecord {
  std::string id;  // <project>:<uuid>
  std::string arn;
  int64_t build_number = 0;
  std::string project_name;
  BuildStatus status = BuildStatus::in_progress;
  BuildPhase current_phase = BuildPhase::submitted;
  SystemTime start_time{};
  std::optional<SystemTime> end_time;
  bool build_complete = false;
  std::string initiator;
  std::string source_type = "LOCAL";  // a project's source type (CODECOMMIT, S3, NO_SOURCE, ...)
  std::string source_location;  // the source directory (or repository, with a source version)
  std::string source_version;
  std::string resolved_source_version;
  std::string buildspec;  // path of the buildspec used
  int timeout_in_minutes = 60;
  std::vector<PhaseRecord> phases;
  std::vector<EnvironmentVariableRecord> environment_variables;
  std::optional<ArtifactRecord> artifacts;
  std::vector<ArtifactRecord> secondary_artifacts;
  std::vector<std::pair<std::string, std::string>> exported_environment_variables;
  std::vector<std::string> report_arns;
  std::string log_path;         // the full log
  std::string artifacts_dir;    // where this build's files went
  std::string cache_location;
  std::string environment_type = "LOCAL";
  std::string environment_image = "local";
  std::string compute_type;
  std::string service_role;
  // Which process runs the build, so that `stop-build` can reach it and a crash can be told
  // apart from a build still running.
  int pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat starttime, guards against pid reuse
  std::string host;
  // The process groups the build runs now: what a repair kills if the process died.
  std::vector<ProcessGroupRef> process_groups;
};

Json build_record_to_json(const BuildRecord& record);
Result<BuildRecord> build_record_from_json(const Json& json);

// The process recorded in a record is still the one running the build (in this process: the
// build's run is still here, see LiveRun).
bool build_process_alive(const BuildRecord& record);

}  // namespace cicd

// The build engine behind cbuild: runs a buildspec with CodeBuild's semantics and records it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/outputs.hpp"
#include "builder/record.hpp"
#include "formats/buildspec.hpp"
#include "store/store.hpp"
#include "util/envfile.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/process.hpp"
#include "util/run.hpp"
#include "util/time.hpp"

namespace cicd {

struct BuildOptions {
  std::filesystem::path source_dir;   // empty: the current directory
  std::filesystem::path buildspec;    // empty: buildspec.yml in the source directory
  std::string source_version;         // export this commit of the repository at source_dir
  std::filesystem::path artifacts_dir;  // empty: the build's folder in the store
  EnvList env_overrides;              // --env NAME=VALUE, in order
  std::filesystem::path env_file;
  std::string project;                // empty: the source directory's name
  double timeout_minutes = 60;  // fractions allowed (tests, short jobs)
  bool strict_runtimes = false;
  ArtifactPackaging packaging = ArtifactPackaging::zip;
  std::string initiator;              // empty: the user running us
  bool keep_workspace = false;        // keep the exported source of --source-version
  bool verbose = false;               // log each command's exit status and duration too
  // Each log line as it is written (progress on stderr).
  BuildLog::Echo echo;
  // Where the source comes from: the directory `source_dir` (with `source_version`, a commit of its
  // git repository exported into a fresh workspace), an archive (zip, tar) unpacked into a fresh
  // workspace, or nothing: an empty workspace (a project whose source type is NO_SOURCE).
  enum class SourceKind { directory, archive, none };
  SourceKind source_kind = SourceKind::directory;
  std::filesystem::path source_archive;  // SourceKind::archive
  // An inline buildspec (a project's source.buildspec holding YAML, --buildspec-override): wins
  // over `buildspec`; `buildspec_name` names it in messages.
  std::string buildspec_text;
  std::string buildspec_name;
  // A build project's variables (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER): above the
  // buildspec's, below the env file and --env (CodeBuild: start-build overrides, then the
  // project, then the buildspec).
  std::vector<EnvironmentVariableRecord> project_env;
  // Typed overrides (start-build --environment-variables-override): the highest precedence.
  std::vector<EnvironmentVariableRecord> env_override_vars;
  // A project whose cache type is NO_CACHE does not use the buildspec's cache.
  bool cache_enabled = true;
  // A project whose artifacts type is NO_ARTIFACTS packages nothing (reports still are).
  bool package_artifacts = true;
  // namespaceType BUILD_ID: the build's outputs go to a folder of its own inside artifacts_dir.
  bool artifacts_dir_per_build = false;
  // What the record says of the source and environment: a project's, or a local run's.
  std::string source_type = "LOCAL";
  std::string source_location;  // empty: the source directory
  std::string environment_type = "LOCAL";
  std::string environment_image = "local";
  std::string compute_type;
  std::string service_role;
  // The build is a run of its own under this token (the front end's, cancelled by Ctrl-C; or a
  // pipeline action's): cancelling it stops the build, STOPPED. A fresh token by default.
  CancelToken cancel;
};

struct BuildOutcome {
  BuildRecord record;
  std::vector<ReportOutcome> reports;
  std::vector<std::string> warnings;  // buildspec warnings, formatted
};

// What a dry run prints: the resolved inputs and the phases' commands.
struct BuildPlan {
  std::string project;
  std::filesystem::path source_dir;
  std::filesystem::path buildspec_path;
  Buildspec spec;
  std::vector<EnvironmentVariableRecord> environment;
  std::vector<std::string> warnings;
};

// A parsed buildspec file: the model, or Error{invalid} whose details are the positioned
// diagnostics; warnings are returned either way.
struct LoadedBuildspec {
  Buildspec spec;
  std::vector<std::string> warnings;
};
Result<LoadedBuildspec> load_buildspec(const std::filesystem::path& path, std::string_view display_name = {});
// The same for a buildspec given as text (inline), named `shown` in its diagnostics.
Result<LoadedBuildspec> load_buildspec_text(std::string_view text, std::string_view shown);

class BuildEngine {
 public:
  BuildEngine(Store& store, std::filesystem::path home, ProcessRunner& runner, const Clock& clock);

  // Runs the build. Invalid input (buildspec, env file, flags) is an Error and touches nothing;
  // once the build has started, its outcome is in the record, whatever happened.
  Result<BuildOutcome> run(const BuildOptions& options);
  // Resolves everything a run would, runs nothing.
  Result<BuildPlan> plan(const BuildOptions& options);

 private:
  Store& m_store;
  std::filesystem::path m_home;
  ProcessRunner& m_runner;
  const Clock& m_clock;
};

Json build_plan_to_json(const BuildPlan& plan);

// ---- queries over recorded builds ----

// Build ids of a project (or all), newest first.
Result<std::vector<std::string>> list_builds(Store& store, const std::string& project = {});
// Records by id; a record whose process died mid-build is marked FAULT on the way (and saved).
Result<std::vector<BuildRecord>> get_builds(Store& store, const std::vector<std::string>& ids,
                                            std::vector<std::string>* not_found = nullptr);
// Asks the build to stop (a stop request in the store, which the build watches wherever it runs)
// and waits up to `wait` for its record to say so.
Result<BuildRecord> stop_build(Store& store, const std::string& id, std::chrono::milliseconds wait);
std::string build_record_key(const std::string& id);
std::string build_stop_request_key(const std::string& id);

}  // namespace cicd

namespace cicd {

// Writes a build's log to `out` line by line; with `follow`, keeps reading while the build is
// in progress (as `tail -f`), until it completes or `cancel` is cancelled.
Status stream_build_log(Store& store, const std::string& id, bool follow,
                        const std::function<void(std::string_view)>& out, const CancelToken& cancel = CancelToken());

}  // namespace cicd

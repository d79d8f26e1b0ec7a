// Build projects (CodeBuild's CreateProject / BatchGetProjects), as cbuild keeps them: one YAML file
// per project in the home (<home>/build/projects/NAME.yml), holding the project in the AWS CLI's
// JSON shape, readable and editable by hand, checked on every read. CodePipeline's CodeBuild action
// names one (`ProjectName`); `cbuild start-build --project-name` runs one.
//
// What the fields mean here (cbuild(1), "BUILD PROJECTS"):
// - source.type: NO_SOURCE (an empty workspace; source.buildspec holds the buildspec),
//   CODEPIPELINE (the pipeline's input artifact, or `--source DIR`), S3 (location: a directory or
//   an archive, a local path or BUCKET/KEY in the store's bucket area), CODECOMMIT (location: a
//   repository of the home by name or CodeCommit URL, or a repository's path), GITHUB, GITLAB,
//   BITBUCKET and their enterprise forms (location: a local repository's path or file:// URL).
// - artifacts.type: NO_ARTIFACTS (nothing packaged), CODEPIPELINE (the pipeline's output
//   artifact, or `--artifacts DIR`), S3 (location: a local path or BUCKET in the bucket area;
//   path, name, namespaceType BUILD_ID, packaging ZIP or NONE).
// - environment: environmentVariables (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER) between the
//   buildspec's and start-build's; type, image and computeType recorded (builds run on this
//   machine); cache.type NO_CACHE turns the buildspec's cache off; timeoutInMinutes is the build's.
// - serviceRole, vpcConfig, logsConfig, encryptionKey, tags and the rest are accepted and recorded.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/engine.hpp"
#include "builder/record.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/shorthand.hpp"

namespace cicd {

struct BuildProject {
  // The project as the AWS CLI shows it (get-project's "project" object): the source of truth,
  // written to the file; the fields below are read from it.
  Json json = Json::object();

  std::string name;
  std::string source_type;
  std::string source_location;
  std::string source_buildspec;  // a path in the source, or an inline buildspec
  std::string source_version;
  std::string artifacts_type;
  std::string artifacts_location;
  std::string artifacts_path;
  std::string artifacts_name;
  std::string artifacts_packaging = "ZIP";
  bool artifacts_per_build = false;  // namespaceType BUILD_ID
  std::string environment_type;
  std::string environment_image;
  std::string compute_type;
  std::vector<EnvironmentVariableRecord> environment_variables;
  std::string cache_type = "NO_CACHE";
  std::string service_role;
  int timeout_in_minutes = 60;
};

// A project's problems, each with where it is (a JSON pointer: "/source/type") and what is wrong.
struct ProjectProblem {
  std::string pointer;
  std::string message;
};

// Checks a project's JSON (CreateProject's input, or a stored file's content) and reads it. All
// problems are returned, not only the first. CreateProject's required fields (name, source,
// artifacts, environment) are required.
struct ProjectCheck {
  std::optional<BuildProject> project;
  std::vector<ProjectProblem> problems;
};
ProjectCheck check_project_json(const Json& json);

// "source.type" for "/source/type" (how CLI errors name a field).
std::string project_field_name(std::string_view pointer);

bool is_valid_project_name_for_codebuild(std::string_view name);

// Where a build of `project` gets its source and puts its outputs, and its settings: the project's
// part of BuildOptions. `home` and `store_root` locate repositories and the bucket area. What the
// caller gives (start-build's overrides, a pipeline's input and output directories) is applied
// afterwards by the caller.
struct ProjectBuildInputs {
  std::filesystem::path home;
  std::filesystem::path store_root;
  std::filesystem::path source_dir;     // CODEPIPELINE: the input artifact (or --source DIR)
  std::filesystem::path artifacts_dir;  // CODEPIPELINE: the output artifact (or --artifacts DIR)
  std::string source_version;           // start-build --source-version (wins over the project's)
};
Result<BuildOptions> build_options_for(const BuildProject& project, const ProjectBuildInputs& inputs);

// What `cbuild start-build --project-name` changes of a project, as CodeBuild's StartBuild
// overrides (the flags win over the project).
struct StartBuildOverrides {
  std::string source_version;
  std::string source_type;          // --source-type-override
  std::string source_location;      // --source-location-override
  std::string buildspec;            // --buildspec-override: a path in the source, or inline YAML
  std::vector<EnvironmentVariableRecord> environment_variables;  // --environment-variables-override
  std::optional<int> timeout_in_minutes;                         // --timeout-in-minutes-override
  std::optional<Json> artifacts;                                 // --artifacts-override
  std::filesystem::path source_dir;     // --source DIR (a CODEPIPELINE project's input)
  std::filesystem::path artifacts_dir;  // --artifacts DIR
};

// ---- the AWS CLI's create-project / update-project flags ----

// A flag that takes a structure (--source) or a list of them (--secondary-sources, one per
// argument), in shorthand or JSON, and the project field it sets.
struct ProjectStructureFlag {
  std::string flag;   // "--source"
  std::string field;  // "source"
  bool list = false;
  ShorthandSchema schema;
};
const std::vector<ProjectStructureFlag>& project_structure_flags();

// What the flags gave: structures by flag (their arguments as given), plain values by field
// ("description" -> "..."), and --cli-input-json's text (JSON, or file://PATH).
struct ProjectFlags {
  std::map<std::string, std::vector<std::string>> structures;
  std::map<std::string, std::string> values;
  std::optional<bool> badge_enabled;
  std::string cli_input_json;
};
// The CreateProject/UpdateProject input they make: --cli-input-json first, the flags over it.
Result<Json> project_input(const ProjectFlags& flags);

// The store's bucket area: where S3 locations "BUCKET/KEY" live on this machine.
std::filesystem::path bucket_path(const std::filesystem::path& store_root, std::string_view bucket_and_key);

// The projects of a home: <home>/build/projects/NAME.yml (store/definitions.hpp: one lock for
// changes, files checked on every read, all problems at once with FILE:LINE:COL).
class BuildProjects {
 public:
  explicit BuildProjects(std::filesystem::path home);

  // CreateProject: `input` in the AWS CLI's JSON shape. Error{invalid} (every problem, by field)
  // for a bad one, Error{conflict} when the name is taken. Fills what CodeBuild fills (arn,
  // created, lastModified, timeoutInMinutes 60, queuedTimeoutInMinutes 480, cache NO_CACHE).
  Result<BuildProject> create(const Json& input);
  // UpdateProject: the top-level fields given replace the project's; the result is checked whole.
  Result<BuildProject> update(const Json& changes);
  Result<BuildProject> get(const std::string& name) const;
  Result<std::vector<std::string>> list() const;
  // ListProjects' sorting (NAME, CREATED_TIME, LAST_MODIFIED_TIME), ascending unless `descending`.
  enum class SortBy { name, created_time, last_modified_time };
  Result<std::vector<std::string>> list(SortBy by, bool descending) const;
  Status remove(const std::string& name);

  // The options of `cbuild start-build --project-name`: the project's, then the overrides.
  Result<BuildOptions> start_build_options(const std::string& name, const StartBuildOverrides& overrides,
                                           const std::filesystem::path& store_root) const;

 private:
  std::filesystem::path m_home;
};

}  // namespace cicd

#include "builder/projects.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <span>

#include "formats/yaml_json.hpp"
#include "store/definitions.hpp"
#include "util/envfile.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

using Words = std::span<const std::string_view>;

constexpr std::array<std::string_view, 9> k_source_types = {
    "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET", "S3",
    "NO_SOURCE"};
constexpr std::array<std::string_view, 3> k_artifact_types = {"CODEPIPELINE", "S3", "NO_ARTIFACTS"};
constexpr std::array<std::string_view, 11> k_environment_types = {
    "LINUX_CONTAINER",      "LINUX_GPU_CONTAINER", "ARM_CONTAINER", "WINDOWS_CONTAINER", "WINDOWS_SERVER_2019_CONTAINER",
    "LINUX_LAMBDA_CONTAINER", "ARM_LAMBDA_CONTAINER", "MAC_ARM",     "LINUX_EC2",         "ARM_EC2",
    "WINDOWS_EC2"};
constexpr std::array<std::string_view, 3> k_variable_types = {"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"};
constexpr std::array<std::string_view, 3> k_cache_types = {"NO_CACHE", "S3", "LOCAL"};
constexpr std::array<std::string_view, 3> k_cache_modes = {"LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE",
                                                           "LOCAL_CUSTOM_CACHE"};
constexpr std::array<std::string_view, 2> k_packagings = {"NONE", "ZIP"};
constexpr std::array<std::string_view, 2> k_namespace_types = {"NONE", "BUILD_ID"};

// CreateProject's parameters, and what get-project adds.
constexpr std::array<std::string_view, 27> k_project_keys = {
    "name",          "description",        "source",          "secondarySources", "sourceVersion",
    "secondarySourceVersions", "artifacts", "secondaryArtifacts", "cache",         "environment",
    "serviceRole",   "timeoutInMinutes",   "queuedTimeoutInMinutes", "encryptionKey", "tags",
    "vpcConfig",     "badgeEnabled",       "logsConfig",      "fileSystemLocations", "buildBatchConfig",
    "concurrentBuildLimit", "autoRetryLimit", "arn",          "created",          "lastModified",
    "badge",         "projectVisibility"};
constexpr std::array<std::string_view, 11> k_source_keys = {
    "type", "location", "gitCloneDepth", "gitSubmodulesConfig", "buildspec", "auth", "reportBuildStatus",
    "buildStatusConfig", "insecureSsl", "sourceIdentifier", "sourceVersion"};
constexpr std::array<std::string_view, 11> k_artifact_keys = {
    "type", "location", "path", "namespaceType", "name", "packaging", "overrideArtifactName", "encryptionDisabled",
    "artifactIdentifier", "bucketOwnerAccess", "fileSystemLocations"};
constexpr std::array<std::string_view, 9> k_environment_keys = {
    "type", "image", "computeType", "computeConfiguration", "fleet", "environmentVariables", "privilegedMode",
    "certificate", "registryCredential"};
constexpr std::array<std::string_view, 1> k_environment_extra_keys = {"imagePullCredentialsType"};
constexpr std::array<std::string_view, 3> k_variable_keys = {"name", "value", "type"};
constexpr std::array<std::string_view, 4> k_cache_keys = {"type", "location", "modes", "cacheNamespace"};

bool member(Words words, std::string_view w) { return std::find(words.begin(), words.end(), w) != words.end(); }

// Collects problems while reading a project's JSON by pointer.
class Checker {
 public:
  std::vector<ProjectProblem> problems;

  void problem(std::string pointer, std::string message) { problems.push_back({std::move(pointer), std::move(message)}); }

  // Unknown keys of an object, with a did-you-mean.
  void keys(const Json& object, const std::string& pointer, Words known, Words extra = {}) {
    for (auto& [k, v] : object.items()) {
      if (member(known, k) || member(extra, k)) continue;
      std::string hint;
      if (auto best = closest_match(k, known)) hint = fmt::format("; did you mean '{}'?", *best);
      problem(pointer + "/" + k, fmt::format("unknown field '{}'{}", k, hint));
    }
  }
  const Json* object(const Json& parent, const std::string& pointer, std::string_view key, bool required) {
    auto it = parent.find(std::string(key));
    if (it == parent.end() || it->is_null()) {
      if (required) problem(pointer + "/" + std::string(key), fmt::format("'{}' is required", key));
      return nullptr;
    }
    if (!it->is_object()) {
      problem(pointer + "/" + std::string(key), fmt::format("'{}' must be a structure", key));
      return nullptr;
    }
    return &*it;
  }
  // A string field (numbers and booleans given as text by the shorthand are strings already).
  std::string text(const Json& parent, const std::string& pointer, std::string_view key, bool required = false) {
    auto it = parent.find(std::string(key));
    if (it == parent.end() || it->is_null()) {
      if (required) problem(pointer + "/" + std::string(key), fmt::format("'{}' is required", key));
      return {};
    }
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer() || it->is_boolean()) return it->dump();
    problem(pointer + "/" + std::string(key), fmt::format("'{}' must be a string", key));
    return {};
  }
  std::string choice(const Json& parent, const std::string& pointer, std::string_view key, Words allowed,
                     bool required = false) {
    auto value = text(parent, pointer, key, required);
    if (value.empty() || member(allowed, value)) return value;
    std::string hint;
    if (auto best = closest_match(value, allowed)) hint = fmt::format("; did you mean '{}'?", *best);
    else hint = fmt::format("; expected {}", one_of(allowed));
    problem(pointer + "/" + std::string(key), fmt::format("'{}' is not a valid {}{}", value, key, hint));
    return {};
  }
  std::optional<long long> integer(const Json& parent, const std::string& pointer, std::string_view key, long long lo,
                                   long long hi) {
    auto it = parent.find(std::string(key));
    if (it == parent.end() || it->is_null()) return std::nullopt;
    long long n = 0;
    if (it->is_number_integer()) {
      n = it->get<long long>();
    } else if (auto parsed = it->is_string() ? parse_int(it->get<std::string>()) : std::nullopt) {
      n = *parsed;
    } else {
      problem(pointer + "/" + std::string(key), fmt::format("'{}' must be a whole number", key));
      return std::nullopt;
    }
    if (n < lo || n > hi) {
      problem(pointer + "/" + std::string(key), fmt::format("'{}' must be between {} and {}; got {}", key, lo, hi, n));
      return std::nullopt;
    }
    return n;
  }
  std::optional<bool> boolean(const Json& parent, const std::string& pointer, std::string_view key) {
    auto it = parent.find(std::string(key));
    if (it == parent.end() || it->is_null()) return std::nullopt;
    if (it->is_boolean()) return it->get<bool>();
    if (it->is_string() && (*it == "true" || *it == "false")) return *it == "true";
    problem(pointer + "/" + std::string(key), fmt::format("'{}' must be true or false", key));
    return std::nullopt;
  }

 private:
  static std::optional<long long> parse_int(const std::string& s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    long long n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
};

void check_source(Checker& c, const Json& source, const std::string& at, BuildProject* out) {
  c.keys(source, at, k_source_keys);
  auto type = c.choice(source, at, "type", k_source_types, true);
  auto location = c.text(source, at, "location");
  auto buildspec = c.text(source, at, "buildspec");
  c.integer(source, at, "gitCloneDepth", 0, 1000000);
  c.boolean(source, at, "reportBuildStatus");
  c.boolean(source, at, "insecureSsl");
  if (type == "NO_SOURCE" && buildspec.empty())
    c.problem(at + "/buildspec", "a NO_SOURCE project needs its buildspec inline in source.buildspec");
  bool needs_location = !type.empty() && type != "NO_SOURCE" && type != "CODEPIPELINE";
  if (needs_location && location.empty())
    c.problem(at + "/location", fmt::format("a {} source needs a location", type));
  if (out) {
    out->source_type = type;
    out->source_location = location;
    out->source_buildspec = buildspec;
  }
}

void check_artifacts(Checker& c, const Json& artifacts, const std::string& at, BuildProject* out) {
  c.keys(artifacts, at, k_artifact_keys);
  auto type = c.choice(artifacts, at, "type", k_artifact_types, true);
  auto location = c.text(artifacts, at, "location");
  auto packaging = c.choice(artifacts, at, "packaging", k_packagings);
  auto namespace_type = c.choice(artifacts, at, "namespaceType", k_namespace_types);
  c.boolean(artifacts, at, "overrideArtifactName");
  c.boolean(artifacts, at, "encryptionDisabled");
  if (type == "S3" && location.empty()) c.problem(at + "/location", "S3 artifacts need a location (a bucket or a directory)");
  if (out) {
    out->artifacts_type = type;
    out->artifacts_location = location;
    out->artifacts_path = c.text(artifacts, at, "path");
    out->artifacts_name = c.text(artifacts, at, "name");
    if (!packaging.empty()) out->artifacts_packaging = packaging;
    out->artifacts_per_build = namespace_type == "BUILD_ID";
  }
}

void check_environment(Checker& c, const Json& env, const std::string& at, BuildProject* out) {
  c.keys(env, at, k_environment_keys, k_environment_extra_keys);
  auto type = c.choice(env, at, "type", k_environment_types, true);
  auto image = c.text(env, at, "image", true);
  auto compute = c.text(env, at, "computeType", true);
  c.boolean(env, at, "privilegedMode");
  std::vector<EnvironmentVariableRecord> variables;
  if (auto it = env.find("environmentVariables"); it != env.end() && !it->is_null()) {
    if (!it->is_array()) {
      c.problem(at + "/environmentVariables", "'environmentVariables' must be a list of {name, value, type}");
    } else {
      for (size_t i = 0; i < it->size(); ++i) {
        auto vat = fmt::format("{}/environmentVariables/{}", at, i);
        const Json& v = (*it)[i];
        if (!v.is_object()) {
          c.problem(vat, "each environment variable must be a structure {name, value, type}");
          continue;
        }
        c.keys(v, vat, k_variable_keys);
        auto name = c.text(v, vat, "name", true);
        auto value = c.text(v, vat, "value", true);
        auto vtype = c.choice(v, vat, "type", k_variable_types);
        if (!name.empty() && !is_valid_env_name(name))
          c.problem(vat + "/name", fmt::format("'{}' is not a valid variable name", name));
        if (std::any_of(variables.begin(), variables.end(), [&](auto& e) { return e.name == name; }))
          c.problem(vat + "/name", fmt::format("variable '{}' is given twice", name));
        variables.push_back({name, value, vtype.empty() ? "PLAINTEXT" : vtype});
      }
    }
  }
  if (out) {
    out->environment_type = type;
    out->environment_image = image;
    out->compute_type = compute;
    out->environment_variables = std::move(variables);
  }
}

void check_cache(Checker& c, const Json& cache, const std::string& at, BuildProject* out) {
  c.keys(cache, at, k_cache_keys);
  auto type = c.choice(cache, at, "type", k_cache_types, true);
  if (auto it = cache.find("modes"); it != cache.end() && !it->is_null()) {
    if (!it->is_array()) c.problem(at + "/modes", "'modes' must be a list");
    else
      for (size_t i = 0; i < it->size(); ++i)
        if (!(*it)[i].is_string() || !member(k_cache_modes, (*it)[i].get<std::string>()))
          c.problem(fmt::format("{}/modes/{}", at, i), fmt::format("a cache mode must be one of {}", one_of(k_cache_modes)));
  }
  if (out && !type.empty()) out->cache_type = type;
}

}  // namespace

bool is_valid_project_name_for_codebuild(std::string_view name) {
  // CodeBuild allows 255 characters; names are file names in the home here, as every resource's.
  if (name.size() < 2 || name.size() > 100 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'; });
}

std::string project_field_name(std::string_view pointer) {
  std::string out;
  for (auto part : split(pointer, '/')) {
    if (part.empty()) continue;
    if (std::all_of(part.begin(), part.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) out += "[" + part + "]";
    else out += (out.empty() ? "" : ".") + part;
  }
  return out;
}

ProjectCheck check_project_json(const Json& json) {
  ProjectCheck result;
  Checker c;
  if (!json.is_object()) {
    result.problems.push_back({"", "a build project must be a structure of fields"});
    return result;
  }
  BuildProject p;
  p.json = json;
  // 1. The top level.
  c.keys(json, "", k_project_keys);
  p.name = c.text(json, "", "name", true);
  if (!p.name.empty() && !is_valid_project_name_for_codebuild(p.name))
    c.problem("/name", fmt::format("invalid project name '{}': 2 to 100 letters, digits, '-' and '_', starting with a "
                                   "letter or digit",
                                   p.name));
  c.text(json, "", "description");
  p.source_version = c.text(json, "", "sourceVersion");
  p.service_role = c.text(json, "", "serviceRole");
  if (auto t = c.integer(json, "", "timeoutInMinutes", 5, 2160)) p.timeout_in_minutes = static_cast<int>(*t);
  c.integer(json, "", "queuedTimeoutInMinutes", 5, 480);
  c.integer(json, "", "concurrentBuildLimit", 1, 100000);
  c.boolean(json, "", "badgeEnabled");
  // 2. The structures.
  if (auto* source = c.object(json, "", "source", true)) check_source(c, *source, "/source", &p);
  if (auto* artifacts = c.object(json, "", "artifacts", true)) check_artifacts(c, *artifacts, "/artifacts", &p);
  if (auto* environment = c.object(json, "", "environment", true)) check_environment(c, *environment, "/environment", &p);
  if (auto* cache = c.object(json, "", "cache", false)) check_cache(c, *cache, "/cache", &p);
  for (const char* list : {"secondarySources", "secondaryArtifacts", "tags", "secondarySourceVersions", "fileSystemLocations"}) {
    auto it = json.find(list);
    if (it != json.end() && !it->is_null() && !it->is_array())
      c.problem(std::string("/") + list, fmt::format("'{}' must be a list", list));
  }
  if (auto it = json.find("secondarySources"); it != json.end() && it->is_array())
    for (size_t i = 0; i < it->size(); ++i) {
      auto at = fmt::format("/secondarySources/{}", i);
      if (!(*it)[i].is_object()) {
        c.problem(at, "each secondary source must be a structure");
        continue;
      }
      check_source(c, (*it)[i], at, nullptr);
      if (c.text((*it)[i], at, "sourceIdentifier").empty()) c.problem(at + "/sourceIdentifier", "a secondary source needs a sourceIdentifier");
    }
  if (auto it = json.find("secondaryArtifacts"); it != json.end() && it->is_array())
    for (size_t i = 0; i < it->size(); ++i) {
      auto at = fmt::format("/secondaryArtifacts/{}", i);
      if ((*it)[i].is_object()) check_artifacts(c, (*it)[i], at, nullptr);
      else c.problem(at, "each secondary artifact must be a structure");
    }
  result.problems = std::move(c.problems);
  if (result.problems.empty()) result.project = std::move(p);
  return result;
}

fs::path bucket_path(const fs::path& store_root, std::string_view bucket_and_key) {
  std::string rel(bucket_and_key);
  if (rel.starts_with("s3://")) rel.erase(0, 5);
  return store_root / "buckets" / rel;
}

namespace {

bool is_local_path(std::string_view location) {
  return location.starts_with("/") || location.starts_with("./") || location.starts_with("../") || location == ".";
}

// A location that must lie in the bucket area stays there: no "..", no empty segments.
Result<fs::path> bucket_location(const fs::path& store_root, std::string_view location, std::string_view what) {
  std::string rel(location);
  if (rel.starts_with("s3://")) rel.erase(0, 5);
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  if (rel.empty() || !is_safe_relative_path(rel))
    return fail(ErrorKind::usage, "{} '{}': give a local path, or BUCKET/KEY without '..'", what, location);
  return bucket_path(store_root, rel);
}

// A git location of the given type, as a repository path on this machine.
Result<fs::path> git_location(const BuildProject& p, const fs::path& home) {
  std::string location = p.source_location;
  if (location.starts_with("file://")) return fs::path(location.substr(7));
  if (is_local_path(location)) return fs::path(location);
  if (p.source_type == "CODECOMMIT") {
    // A repository of the home, by name or by its CodeCommit URL (.../v1/repos/NAME).
    std::string name = location;
    if (auto at = name.rfind("/repos/"); at != std::string::npos) name = name.substr(at + 7);
    if (name.ends_with(".git")) name.resize(name.size() - 4);
    if (name.empty() || !is_safe_relative_path(name) || name.find('/') != std::string::npos)
      return fail(ErrorKind::usage, "project '{}': source location '{}' names no repository", p.name, location);
    return home / "repos" / (name + ".git");
  }
  return fail(ErrorKind::usage,
              "project '{}': source location '{}': cbuild builds {} sources from repositories on this machine; clone "
              "it and give its path (or a file:// URL)",
              p.name, location, p.source_type);
}

}  // namespace

Result<BuildOptions> build_options_for(const BuildProject& p, const ProjectBuildInputs& in) {
  BuildOptions o;
  o.project = p.name;
  o.source_type = p.source_type;
  o.environment_type = p.environment_type;
  o.environment_image = p.environment_image;
  o.compute_type = p.compute_type;
  o.service_role = p.service_role;
  o.timeout_minutes = p.timeout_in_minutes;
  o.project_env = p.environment_variables;
  o.cache_enabled = p.cache_type != "NO_CACHE";
  std::string version = in.source_version.empty() ? p.source_version : in.source_version;
  std::error_code ec;

  // 1. The source.
  o.source_location = p.source_location;
  if (p.source_type == "NO_SOURCE") {
    o.source_kind = BuildOptions::SourceKind::none;
  } else if (p.source_type == "CODEPIPELINE") {
    if (in.source_dir.empty())
      return fail(ErrorKind::usage,
                  "project '{}' takes its source from a pipeline (source type CODEPIPELINE): give the input with --source DIR",
                  p.name);
    o.source_dir = in.source_dir;
    o.source_location = in.source_dir.string();
  } else if (!in.source_dir.empty()) {
    return fail(ErrorKind::usage, "project '{}' builds its own {} source: --source DIR is for CODEPIPELINE projects", p.name,
                p.source_type);
  } else if (p.source_type == "S3") {
    fs::path where;
    if (is_local_path(p.source_location)) {
      where = p.source_location;
    } else {
      auto b = bucket_location(in.store_root, p.source_location, "source location");
      if (!b) return std::unexpected(b.error());
      where = *b;
    }
    if (fs::is_directory(where, ec)) {
      o.source_dir = where;
    } else if (fs::is_regular_file(where, ec)) {
      o.source_kind = BuildOptions::SourceKind::archive;
      o.source_archive = where;
    } else {
      return fail(ErrorKind::usage, "project '{}': source location '{}' ({}) does not exist", p.name, p.source_location,
                  where.string());
    }
  } else {
    auto repo = git_location(p, in.home);
    if (!repo) return std::unexpected(repo.error());
    if (!fs::exists(*repo, ec))
      return fail(ErrorKind::usage, "project '{}': repository '{}' does not exist", p.name, repo->string());
    o.source_dir = *repo;
    // A repository is always built from an exported commit: its default branch unless told.
    o.source_version = version.empty() ? "HEAD" : version;
  }
  if (!version.empty() && o.source_version.empty())
    return fail(ErrorKind::usage, "project '{}': a source version needs a git source; its source type is {}", p.name,
                p.source_type);

  // 2. The buildspec: inline, or a path in the source.
  if (p.source_buildspec.find('\n') != std::string::npos) {
    o.buildspec_text = p.source_buildspec;
    o.buildspec_name = fmt::format("project {}: source.buildspec", p.name);
  } else if (!p.source_buildspec.empty()) {
    if (!is_safe_relative_path(p.source_buildspec))
      return fail(ErrorKind::usage, "project '{}': source.buildspec '{}' must be a path inside the source", p.name,
                  p.source_buildspec);
    o.buildspec = p.source_buildspec;
  }

  // 3. Where the outputs go.
  if (p.artifacts_type == "NO_ARTIFACTS") {
    o.package_artifacts = false;
  } else if (p.artifacts_type == "CODEPIPELINE") {
    if (in.artifacts_dir.empty())
      return fail(ErrorKind::usage,
                  "project '{}' hands its artifacts to a pipeline (artifacts type CODEPIPELINE): give --artifacts DIR",
                  p.name);
  } else if (p.artifacts_type == "S3") {
    fs::path base;
    if (is_local_path(p.artifacts_location)) {
      base = p.artifacts_location;
    } else {
      auto b = bucket_location(in.store_root, p.artifacts_location, "artifacts location");
      if (!b) return std::unexpected(b.error());
      base = *b;
    }
    if (!p.artifacts_path.empty()) {
      if (!is_safe_relative_path(p.artifacts_path))
        return fail(ErrorKind::usage, "project '{}': artifacts.path '{}' must be a relative path without '..'", p.name,
                    p.artifacts_path);
      base /= p.artifacts_path;
    }
    o.artifacts_dir = base / (p.artifacts_name.empty() ? p.name : p.artifacts_name);
    o.artifacts_dir_per_build = p.artifacts_per_build;
    o.packaging = p.artifacts_packaging == "NONE" ? ArtifactPackaging::none : ArtifactPackaging::zip;
  }
  if (!in.artifacts_dir.empty()) o.artifacts_dir = in.artifacts_dir;
  return o;
}

}  // namespace cicd

// ---- the projects of a home ----

namespace cicd {

namespace {

constexpr std::string_view k_area = "build";
constexpr std::string_view k_kind = "projects";

Definitions definitions(const fs::path& home) { return Definitions(home, std::string(k_area), "cbuild"); }

// Error{invalid} with one line per problem ("source.type: ..."), all of them.
std::unexpected<Error> invalid_project(std::string_view name, const std::vector<ProjectProblem>& problems) {
  std::vector<std::string> details;
  for (auto& p : problems)
    details.push_back(p.pointer.empty() ? p.message : fmt::format("{}: {}", project_field_name(p.pointer), p.message));
  return std::unexpected(Error{ErrorKind::invalid,
                               fmt::format("invalid build project{}: {} problem{}", name.empty() ? "" : " '" + std::string(name) + "'",
                                           problems.size(), problems.size() == 1 ? "" : "s"),
                               std::move(details)});
}

// The shorthand writes every scalar as text: numbers and booleans the API defines as such are
// stored as such, so that the file and get-project read as AWS's do.
void normalize(Json& j) {
  static constexpr std::array<std::string_view, 4> k_ints = {"timeoutInMinutes", "queuedTimeoutInMinutes",
                                                             "concurrentBuildLimit", "gitCloneDepth"};
  static constexpr std::array<std::string_view, 7> k_bools = {"badgeEnabled", "reportBuildStatus", "insecureSsl",
                                                              "privilegedMode", "overrideArtifactName",
                                                              "encryptionDisabled", "fetchSubmodules"};
  if (j.is_array()) {
    for (auto& item : j) normalize(item);
    return;
  }
  if (!j.is_object()) return;
  for (auto& [k, v] : j.items()) {
    if (v.is_string() && member(k_ints, k)) {
      const auto& s = v.get_ref<const std::string&>();
      if (!s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) && s.size() < 10)
        v = std::stoi(s);
    } else if (v.is_string() && member(k_bools, k) && (v == "true" || v == "false")) {
      v = v == "true";
    } else {
      normalize(v);
    }
  }
}

Status write_project(const Definitions& defs, const BuildProject& p) {
  return defs.write(k_kind, p.name, fmt::format("build project '{}'", p.name), [&](YAML::Emitter& out) {
    for (auto& [k, v] : p.json.items()) {
      out << YAML::Key << k << YAML::Value;
      yaml::emit_json(out, v);
    }
  });
}

}  // namespace

BuildProjects::BuildProjects(fs::path home) : m_home(std::move(home)) {}

Result<BuildProject> BuildProjects::get(const std::string& name) const {
  if (!is_valid_project_name_for_codebuild(name)) return fail(ErrorKind::not_found, "build project '{}' does not exist", name);
  return definitions(m_home).read<BuildProject>(
      k_kind, name, "build project", fmt::format("build project '{}' does not exist", name),
      [&](const YAML::Node& root, Diagnostics& d) -> std::optional<BuildProject> {
        auto positioned = yaml::to_json(root, d);
        auto check = check_project_json(positioned.value);
        for (auto& p : check.problems)
          d.error(positioned.at(p.pointer), p.pointer.empty() ? p.message : project_field_name(p.pointer) + ": " + p.message);
        if (check.project && check.project->name != name)
          d.error(positioned.at("/name"), fmt::format("the file of project '{}' names project '{}'", name, check.project->name));
        return check.project;
      });
}

Result<std::vector<std::string>> BuildProjects::list() const { return definitions(m_home).list(k_kind); }

Result<std::vector<std::string>> BuildProjects::list(SortBy by, bool descending) const {
  auto names = list();
  if (!names) return std::unexpected(names.error());
  std::vector<std::pair<std::string, std::string>> keyed;  // sort key, name
  for (auto& name : *names) {
    std::string key = name;
    if (by != SortBy::name) {
      auto p = get(name);
      if (!p) return std::unexpected(p.error());
      key = p->json.value(by == SortBy::created_time ? "created" : "lastModified", "") + "\n" + name;
    }
    keyed.emplace_back(std::move(key), name);
  }
  std::sort(keyed.begin(), keyed.end());
  if (descending) std::reverse(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  for (auto& k : keyed) out.push_back(k.second);
  return out;
}

Result<BuildProject> BuildProjects::create(const Json& input) {
  // 1. Checked whole before anything is written, with what CodeBuild fills in.
  Json j = input.is_object() ? input : Json::object();
  normalize(j);
  auto now = format_iso8601(std::chrono::system_clock::now());
  std::string name = j.value("name", "");
  if (input.is_object()) {
    j["arn"] = fmt::format("arn:cicd:codebuild:local:{}:project/{}", current_user_name(), name);
    if (!j.contains("timeoutInMinutes")) j["timeoutInMinutes"] = 60;
    if (!j.contains("queuedTimeoutInMinutes")) j["queuedTimeoutInMinutes"] = 480;
    if (!j.contains("cache")) j["cache"] = Json{{"type", "NO_CACHE"}};
    j["created"] = now;
    j["lastModified"] = now;
  }
  auto check = check_project_json(input.is_object() ? j : input);
  if (!check.project) return invalid_project(name, check.problems);
  // 2. Created under the area's lock: of two creates of one name, one wins.
  auto defs = definitions(m_home);
  auto st = defs.create(k_kind, name, fmt::format("build project '{}' already exists", name),
                        [&] { return write_project(defs, *check.project); });
  if (!st) return std::unexpected(st.error());
  return std::move(*check.project);
}

Result<BuildProject> BuildProjects::update(const Json& changes) {
  if (!changes.is_object() || !changes.contains("name") || !changes["name"].is_string())
    return fail(ErrorKind::usage, "update-project needs the project's name");
  std::string name = changes["name"];
  auto defs = definitions(m_home);
  auto lock = defs.lock();
  if (!lock) return std::unexpected(lock.error());
  auto current = get(name);
  if (!current) return std::unexpected(current.error());
  Json j = current->json;
  Json given = changes;
  normalize(given);
  for (auto& [k, v] : given.items()) {
    if (k == "arn" || k == "created" || k == "lastModified") continue;
    j[k] = v;
  }
  j["lastModified"] = format_iso8601(std::chrono::system_clock::now());
  auto check = check_project_json(j);
  if (!check.project) return invalid_project(name, check.problems);
  if (auto st = write_project(defs, *check.project); !st) return std::unexpected(st.error());
  return std::move(*check.project);
}

Status BuildProjects::remove(const std::string& name) {
  auto defs = definitions(m_home);
  auto lock = defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!is_valid_project_name_for_codebuild(name) || !defs.exists(k_kind, name))
    return fail(ErrorKind::not_found, "build project '{}' does not exist", name);
  return defs.remove(k_kind, name);
}

Result<BuildOptions> BuildProjects::start_build_options(const std::string& name, const StartBuildOverrides& o,
                                                        const fs::path& store_root) const {
  auto project = get(name);
  if (!project) return std::unexpected(project.error());
  // 1. Overrides of the project's own fields are checked as the project would be.
  if (!o.source_type.empty() || !o.source_location.empty() || o.artifacts || o.timeout_in_minutes) {
    Json j = project->json;
    if (!o.source_type.empty()) j["source"]["type"] = o.source_type;
    if (!o.source_location.empty()) j["source"]["location"] = o.source_location;
    if (o.artifacts) {
      Json a = *o.artifacts;
      normalize(a);
      j["artifacts"] = a;
    }
    if (o.timeout_in_minutes) j["timeoutInMinutes"] = *o.timeout_in_minutes;
    auto check = check_project_json(j);
    if (!check.project) return invalid_project(name, check.problems);
    project = std::move(*check.project);
  }
  ProjectBuildInputs in;
  in.home = m_home;
  in.store_root = store_root;
  in.source_dir = o.source_dir;
  in.artifacts_dir = o.artifacts_dir;
  in.source_version = o.source_version;
  auto options = build_options_for(*project, in);
  if (!options) return std::unexpected(options.error());
  // 2. Then the build's own: the buildspec and the variables.
  if (!o.buildspec.empty()) {
    options->buildspec.clear();
    options->buildspec_text.clear();
    if (o.buildspec.find('\n') != std::string::npos) {
      options->buildspec_text = o.buildspec;
      options->buildspec_name = "--buildspec-override";
    } else {
      options->buildspec = o.buildspec;
    }
  }
  for (auto& v : o.environment_variables) {
    if (!is_valid_env_name(v.name))
      return fail(ErrorKind::usage, "--environment-variables-override: '{}' is not a valid variable name", v.name);
    if (!member(k_variable_types, v.type))
      return fail(ErrorKind::usage, "--environment-variables-override: variable '{}': type '{}' is not one of {}", v.name,
                  v.type, one_of(k_variable_types));
  }
  options->env_override_vars = o.environment_variables;
  return options;
}

// ---- flags ----

const std::vector<ProjectStructureFlag>& project_structure_flags() {
  using T = ShorthandKey::Type;
  static const ShorthandSchema source = {
      {"type"}, {"location"}, {"gitCloneDepth"}, {"gitSubmodulesConfig", T::structure, {{"fetchSubmodules"}}},
      {"buildspec"}, {"auth", T::structure, {{"type"}, {"resource"}}}, {"reportBuildStatus"},
      {"buildStatusConfig", T::structure, {{"context"}, {"targetUrl"}}}, {"insecureSsl"}, {"sourceIdentifier"}};
  static const ShorthandSchema artifacts = {{"type"}, {"location"}, {"path"}, {"namespaceType"}, {"name"},
                                            {"packaging"}, {"overrideArtifactName"}, {"encryptionDisabled"},
                                            {"artifactIdentifier"}, {"bucketOwnerAccess"}};
  static const ShorthandSchema environment = {
      {"type"}, {"image"}, {"computeType"}, {"computeConfiguration", T::structure}, {"fleet", T::structure},
      {"environmentVariables", T::structures, {{"name"}, {"value"}, {"type"}}}, {"privilegedMode"}, {"certificate"},
      {"registryCredential", T::structure, {{"credential"}, {"credentialProvider"}}}, {"imagePullCredentialsType"}};
  static const ShorthandSchema cache = {{"type"}, {"location"}, {"modes", T::list}, {"cacheNamespace"}};
  static const ShorthandSchema tag = {{"key"}, {"value"}};
  static const ShorthandSchema vpc = {{"vpcId"}, {"subnets", T::list}, {"securityGroupIds", T::list}};
  static const ShorthandSchema logs = {
      {"cloudWatchLogs", T::structure, {{"status"}, {"groupName"}, {"streamName"}}},
      {"s3Logs", T::structure, {{"status"}, {"location"}, {"encryptionDisabled"}, {"bucketOwnerAccess"}}}};
  static const ShorthandSchema source_version = {{"sourceIdentifier"}, {"sourceVersion"}};
  static const std::vector<ProjectStructureFlag> flags = {
      {"--source", "source", false, source},
      {"--secondary-sources", "secondarySources", true, source},
      {"--secondary-source-versions", "secondarySourceVersions", true, source_version},
      {"--artifacts", "artifacts", false, artifacts},
      {"--secondary-artifacts", "secondaryArtifacts", true, artifacts},
      {"--cache", "cache", false, cache},
      {"--environment", "environment", false, environment},
      {"--tags", "tags", true, tag},
      {"--vpc-config", "vpcConfig", false, vpc},
      {"--logs-config", "logsConfig", false, logs},
  };
  return flags;
}

Result<Json> project_input(const ProjectFlags& flags) {
  // 1. --cli-input-json: the whole input, as JSON text or file://PATH.
  Json j = Json::object();
  if (!flags.cli_input_json.empty()) {
    auto given = argument_text(flags.cli_input_json, "--cli-input-json");
    if (!given) return std::unexpected(given.error());
    auto parsed = parse_json(given->text, given->source);
    if (!parsed) return std::unexpected(parsed.error());
    if (!parsed->is_object()) return fail(ErrorKind::usage, "--cli-input-json: expected a JSON object");
    j = std::move(*parsed);
  }
  // 2. The flags, over it.
  for (auto& [field, value] : flags.values) j[field] = value;
  if (flags.badge_enabled) j["badgeEnabled"] = *flags.badge_enabled;
  for (auto& f : project_structure_flags()) {
    auto it = flags.structures.find(f.flag);
    if (it == flags.structures.end() || it->second.empty()) continue;
    auto parsed = f.list ? parse_cli_structures(it->second, f.flag, f.schema)
                         : parse_cli_structure(it->second.back(), f.flag, f.schema);
    if (!parsed) return std::unexpected(parsed.error());
    j[f.field] = std::move(*parsed);
  }
  return j;
}

}  // namespace cicd

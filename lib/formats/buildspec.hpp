// The buildspec model (CodeBuild buildspec version 0.2, and 0.1) and its parser/validator.
// Pure: text in, model plus positioned diagnostics out; no file system, no processes.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace cicd {

// A scalar value as written, with where it was written.
struct SpecString {
  std::string value;
  Position position;
};

// A NAME: value pair (env variables, parameter-store entries, runtime-versions).
struct SpecVariable {
  std::string name;
  std::string value;
  Position position;  // of the name
};

enum class PhaseType { install = 0, pre_build, build, post_build };
inline constexpr std::array<PhaseType, 4> k_command_phases = {PhaseType::install, PhaseType::pre_build,
                                                                PhaseType::build, PhaseType::post_build};
// "install" -> as written in a buildspec; "INSTALL" -> as in records and logs.
std::string_view phase_key(PhaseType phase);
std::string_view phase_record_name(PhaseType phase);

// on-failure: ABORT | CONTINUE | RETRY | RETRY-<n> | RETRY-<regex> | RETRY-<n>-<regex>
enum class OnFailureAction { unset, abort, continue_build, retry };

struct OnFailure {
  OnFailureAction action = OnFailureAction::unset;  // unset: CodeBuild's default transitions
  int retries = 0;                                  // for retry: 3 unless given (0..100)
  std::optional<std::string> regex;                 // for retry: only when the error matches
  std::string text;                                 // as written
};

struct Phase {
  bool present = false;
  Position position;
  std::optional<SpecString> run_as;
  OnFailure on_failure;
  std::vector<SpecVariable> runtime_versions;  // install only
  // Each entry is one command; a block scalar (`commands: |`) is one entry run as one script.
  std::vector<SpecString> commands;
  std::vector<SpecString> finally;
};

struct EnvSpec {
  std::optional<SpecString> shell;  // bash (default), /bin/sh, sh, ...
  std::vector<SpecVariable> variables;
  std::vector<SpecVariable> parameter_store;  // NAME: parameter name
  std::vector<SpecVariable> secrets_manager;  // NAME: secret-id:json-key:version-stage:version-id
  std::vector<SpecString> exported_variables;
  std::optional<bool> git_credential_helper;
};

struct ProxySpec {
  std::optional<bool> upload_artifacts;
  std::optional<bool> logs;
};

struct ArtifactSpec {
  std::string identifier;  // empty for the primary artifact
  Position position;
  std::vector<SpecString> files;
  std::optional<SpecString> name;
  bool discard_paths = false;
  std::string base_directory;
  std::vector<SpecString> exclude_paths;
  bool enable_symlinks = false;
  std::string s3_prefix;
};

struct ArtifactsSpec {
  bool present = false;
  ArtifactSpec primary;  // present with no files when only secondary artifacts are given
  std::vector<ArtifactSpec> secondary;
};

// Test and coverage report formats CodeBuild knows.
enum class ReportFormat {
  junit_xml,
  cucumber_json,
  testng_xml,
  nunit_xml,
  nunit3_xml,
  visual_studio_trx,
  cobertura_xml,
  jacoco_xml,
  clover_xml,
  simplecov_json,
};
std::string_view report_format_name(ReportFormat format);  // "JUNITXML"
std::optional<ReportFormat> parse_report_format(std::string_view text);  // case-insensitive
bool is_coverage_format(ReportFormat format);

struct ReportGroupSpec {
  std::string name;  // the key: a report group name or ARN
  Position position;
  std::vector<SpecString> files;
  std::string base_directory;
  bool discard_paths = false;
  ReportFormat format = ReportFormat::junit_xml;
};

enum class CacheAction { restore_and_save, restore, save };

struct CacheSpec {
  bool present = false;
  std::vector<SpecString> paths;
  std::optional<SpecString> key;  // shell-evaluated at build time
  std::vector<SpecString> fallback_keys;
  CacheAction action = CacheAction::restore_and_save;
};

// Batch builds are parsed and validated; running them is a later issue.
struct BatchEnv {
  std::optional<std::string> compute_type, image, type, fleet;
  std::optional<bool> privileged_mode;
  std::vector<SpecVariable> variables;
};

struct BatchTask {
  std::string identifier;
  Position position;
  std::optional<std::string> buildspec;
  BatchEnv env;
  std::vector<SpecString> depend_on;  // build-graph only
  bool ignore_failure = false;
  bool debug_session = false;
};

enum class BatchKind { none, build_list, build_graph, build_matrix, build_fanout };

struct BatchMatrix {
  bool ignore_failure = false;
  BatchEnv static_env;
  std::vector<std::string> dynamic_buildspecs;
  std::vector<std::pair<std::string, std::vector<std::string>>> dynamic_env;  // compute-type/image/...
  std::vector<std::pair<std::string, std::vector<std::string>>> dynamic_variables;
};

struct BatchSpec {
  bool present = false;
  Position position;
  bool fast_fail = false;  // CodeBuild's default: running builds complete when one fails
  BatchKind kind = BatchKind::none;
  std::vector<BatchTask> tasks;  // build-list and build-graph
  BatchMatrix matrix;
  int fanout_parallelism = 0;
  bool fanout_ignore_failure = false;
};

struct Buildspec {
  std::string version;  // "0.2" or "0.1"
  Position version_position;
  std::optional<SpecString> run_as;
  EnvSpec env;
  ProxySpec proxy;
  BatchSpec batch;
  std::array<Phase, 4> phases;  // indexed by PhaseType
  std::vector<ReportGroupSpec> reports;
  ArtifactsSpec artifacts;
  CacheSpec cache;

  const Phase& phase(PhaseType t) const { return phases[static_cast<size_t>(t)]; }
  Phase& phase(PhaseType t) { return phases[static_cast<size_t>(t)]; }
  // Version 0.1 runs each command in a fresh shell (no carried variables or directory).
  bool fresh_shell_per_command() const { return version == "0.1"; }
};

struct BuildspecParse {
  std::optional<Buildspec> spec;  // set when there are no errors
  Diagnostics diagnostics;
};

// Parses and validates; reports every error it finds (sorted by position) and warnings for
// unknown keys with a did-you-mean.
BuildspecParse parse_buildspec(std::string_view text);

// Reads and checks a buildspec file (`cbuild validate`).
struct BuildspecFileCheck : SpecFileCheck {
  std::string version;  // when valid
};
BuildspecFileCheck check_buildspec_file(const std::string& file);

}  // namespace cicd

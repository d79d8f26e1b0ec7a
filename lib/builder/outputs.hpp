// What a build leaves behind: artifacts, reports, the cache; and codebuild-hash-files.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_log.hpp"
#include "builder/record.hpp"
#include "formats/buildspec.hpp"
#include "store/store.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

// ---- codebuild-hash-files ----

// SHA-256 over the files matched by `patterns` under `base`, sorted by path: each contributes
// its relative path and the SHA-256 of its content, so renames and edits both change the hash.
Result<std::string> hash_files(const std::filesystem::path& base, const std::vector<std::string>& patterns);

// ---- artifacts ----

enum class ArtifactPackaging { zip, none };

struct ArtifactRequest {
  const ArtifactSpec* spec = nullptr;
  std::string name;                     // already shell-evaluated
  std::filesystem::path source_dir;     // CODEBUILD_SRC_DIR
  std::filesystem::path destination;    // directory the zip (or the tree) goes into
  ArtifactPackaging packaging = ArtifactPackaging::zip;
};

// Globs, packages and writes a manifest next to the package. "No matching artifact paths" is
// Error{failed} with CodeBuild's wording, as it fails the build there too.
Result<ArtifactRecord> package_artifact(const ArtifactRequest& request);

// ---- reports ----

struct ReportOutcome {
  std::string arn;    // <project>-<group>:<uuid>
  std::string group;  // <project>-<group>
  std::string type;   // TEST | CODE_COVERAGE
  std::string status; // SUCCEEDED | FAILED | INCOMPLETE
  Json summary;       // testSummary or codeCoverageSummary
  std::vector<std::string> problems;  // files that could not be read or parsed
};

// Finds each report group's files, parses them and stores one report record per group (in the
// store under reports/ and in the build's directory). A malformed file is a logged problem and
// an INCOMPLETE report, never a failure of the build.
std::vector<ReportOutcome> process_reports(Store& store, const Buildspec& spec, const std::string& project,
                                           const std::string& build_id, const std::filesystem::path& source_dir,
                                           const std::filesystem::path& build_dir, BuildLog& log,
                                           const Clock& clock);

// Report groups are named <project>-<key>; an ARN key keeps only its last part.
std::string report_group_name(const std::string& project, const std::string& key);

// ---- cache ----

struct CacheRestore {
  std::optional<std::string> matched_key;
  size_t files = 0;
};

class BuildCache {
 public:
  BuildCache(Store& store, std::string project);
  // Exact key first, then each fallback key as a prefix (the newest entry wins).
  Result<CacheRestore> restore(const CacheSpec& spec, const std::string& key,
                               const std::vector<std::string>& fallback_keys,
                               const std::filesystem::path& source_dir);
  Result<size_t> save(const CacheSpec& spec, const std::string& key, const std::filesystem::path& source_dir);
  std::string location() const;

 private:
  Store& m_store;
  std::string m_project;
};

}  // namespace cicd

namespace cicd {

// ---- report queries ----

// Report ARNs, newest first; of one report group when given.
Result<std::vector<std::string>> list_reports(Store& store, const std::string& group = {});
// The stored report record (with its testCases or codeCoverages).
Result<Json> get_report(Store& store, const std::string& arn);

}  // namespace cicd

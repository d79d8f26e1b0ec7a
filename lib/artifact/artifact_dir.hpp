// The artifact directory (DESIGN.md section 2, cicd-artifacts(5)): how the tools chain. A build
// writes one (`cbuild run --artifacts DIR`); a deployment reads one (`cdeploy deploy --revision DIR`);
// a pipeline hands them from action to action; scripts read them too. This module is the one
// definition of its layout, for the writer and every reader:
//
//   DIR/build.json                  the build record (CodeBuild's BatchGetBuilds Build object)
//   DIR/build.log                   the build's full log
//   DIR/exported-variables.env      env.exported-variables, NAME=VALUE lines (secrets masked)
//   DIR/artifacts/[PREFIX/]NAME.zip the primary artifact (or NAME/, the files themselves, with
//                                   packaging NONE); PREFIX is the artifact's s3-prefix
//   DIR/artifacts/...NAME.zip.manifest.json   its manifest: path, size, sha256, mode per file
//   DIR/secondary/ID/[PREFIX/]...   each secondary artifact, by its identifier, likewise
//   DIR/reports/GROUP.json          one report per report group
//
// The record names artifacts by absolute path, as the build saw them; a reader resolves them
// inside DIR, so a directory that was moved or copied (a pipeline's artifact store) still reads.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/envfile.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

struct ArtifactDirLayout {
  std::filesystem::path root;

  std::filesystem::path record() const { return root / "build.json"; }
  std::filesystem::path log() const { return root / "build.log"; }
  std::filesystem::path exported_variables() const { return root / "exported-variables.env"; }
  std::filesystem::path primary_dir() const { return root / "artifacts"; }
  std::filesystem::path secondary_root() const { return root / "secondary"; }
  std::filesystem::path secondary_dir(const std::string& identifier) const { return secondary_root() / identifier; }
  std::filesystem::path reports_dir() const { return root / "reports"; }
  std::filesystem::path report(const std::string& group) const { return reports_dir() / (group + ".json"); }
  // The parts a build replaces as a whole when it writes its outputs again.
  static constexpr const char* k_replaced_parts[] = {"artifacts", "secondary", "reports"};
};

// The manifest written beside a packaged artifact (`NAME.zip` -> `NAME.zip.manifest.json`).
std::filesystem::path manifest_path_for(const std::filesystem::path& package);

// Whether `dir` is an artifact directory (it holds a build record).
bool is_artifact_directory(const std::filesystem::path& dir);

struct DirectoryArtifact {
  std::string identifier;           // empty for the primary artifact
  std::string name;
  std::string packaging;            // "ZIP" or "NONE"
  std::filesystem::path location;   // the zip (or the directory, NONE), inside the directory
  std::filesystem::path manifest;
  std::string sha256;               // of the zip
  uint64_t files = 0;
  uint64_t size = 0;
};

struct ArtifactDirectory {
  ArtifactDirLayout layout;
  Json record;  // build.json as written
  std::string build_id;
  std::string project;
  std::string build_status;  // "SUCCEEDED", ...
  std::string resolved_source_version;
  std::optional<DirectoryArtifact> primary;
  std::vector<DirectoryArtifact> secondary;
  EnvList exported_variables;
  std::vector<std::filesystem::path> reports;  // DIR/reports/*.json, sorted

  // The primary artifact for "", else the secondary one with that identifier.
  const DirectoryArtifact* artifact(const std::string& identifier = {}) const;
  bool succeeded() const { return build_status == "SUCCEEDED"; }
};

// Reads and checks an artifact directory: a missing, truncated or hand-broken build.json, or a
// record that names an artifact that is not there, is an Error naming the file (and the field).
Result<ArtifactDirectory> read_artifact_directory(const std::filesystem::path& dir);

// The writer's side: the record (atomic; durable with `sync`) and the exported variables.
Status write_artifact_record(const std::filesystem::path& dir, const Json& record, bool sync);
Status write_exported_variables(const std::filesystem::path& dir, const EnvList& variables);

}  // namespace cicd

#include "artifact/artifact_dir.hpp"

#include <algorithm>

#include "util/fs.hpp"

namespace cicd {

namespace fs = std::filesystem;

std::filesystem::path manifest_path_for(const fs::path& package) {
  return package.parent_path() / (package.filename().string() + ".manifest.json");
}

bool is_artifact_directory(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(ArtifactDirLayout{dir}.record(), ec);
}

const DirectoryArtifact* ArtifactDirectory::artifact(const std::string& identifier) const {
  if (identifier.empty()) return primary ? &*primary : nullptr;
  for (auto& a : secondary)
    if (a.identifier == identifier) return &a;
  return nullptr;
}

namespace {

// Where a path the record names is now: the same place relative to the directory the build wrote
// ("artifactsDirectory"), under the directory as it is now. nullopt when it would leave it.
std::optional<fs::path> relocate(const fs::path& recorded, const fs::path& written_dir, const fs::path& root) {
  if (recorded.empty()) return std::nullopt;
  fs::path rel = recorded.is_absolute() && !written_dir.empty() ? recorded.lexically_relative(written_dir) : recorded;
  if (rel.empty() || rel.is_absolute()) return std::nullopt;
  for (auto& part : rel)
    if (part == "..") return std::nullopt;
  return root / rel;
}

Result<DirectoryArtifact> read_artifact(JsonReader& j, const std::string& field, const fs::path& written_dir,
                                        const ArtifactDirLayout& layout) {
  DirectoryArtifact a;
  a.identifier = j.string("artifactIdentifier");
  a.name = j.string("name");
  a.packaging = j.string("packaging", "ZIP");
  a.sha256 = j.string("sha256sum");
  a.files = j.integer<uint64_t>("files");
  a.size = j.integer<uint64_t>("size");
  auto location = j.string("location");
  auto manifest = j.string("manifest");
  if (auto st = j.status(); !st) return fail(ErrorKind::invalid, "'{}': {}", layout.record().string(), st.error().message);
  auto where = relocate(location, written_dir, layout.root);
  if (!where)
    return fail(ErrorKind::invalid, "'{}': {}.location '{}' is not inside the artifact directory",
                layout.record().string(), field, location);
  std::error_code ec;
  if (!fs::exists(*where, ec))
    return fail(ErrorKind::invalid, "artifact directory '{}': the {} artifact '{}' is missing ({})", layout.root.string(),
                a.identifier.empty() ? "primary" : "secondary '" + a.identifier + "'", a.name,
                where->lexically_relative(layout.root).string());
  a.location = *where;
  a.manifest = relocate(manifest, written_dir, layout.root).value_or(manifest_path_for(*where));
  return a;
}

}  // namespace

Result<ArtifactDirectory> read_artifact_directory(const fs::path& dir) {
  std::error_code ec;
  ArtifactDirectory out;
  out.layout.root = fs::absolute(dir, ec).lexically_normal();
  if (out.layout.root.filename().empty()) out.layout.root = out.layout.root.parent_path();
  const auto& layout = out.layout;
  // 1. The record.
  auto text = read_file(layout.record());
  if (!text) {
    if (text.error().kind == ErrorKind::not_found)
      return fail(ErrorKind::invalid, "'{}' is not an artifact directory: it has no build.json", layout.root.string());
    return std::unexpected(text.error());
  }
  auto record = parse_json(*text, fmt::format("'{}'", layout.record().string()));
  if (!record) return std::unexpected(record.error());
  out.record = std::move(*record);
  if (!out.record.is_object())
    return fail(ErrorKind::invalid, "'{}': a build record must be a JSON object", layout.record().string());
  JsonReader j(out.record, "build record");
  out.build_id = j.string("id");
  out.project = j.string("projectName");
  out.build_status = j.string("buildStatus");
  out.resolved_source_version = j.string("resolvedSourceVersion");
  fs::path written_dir = j.string("artifactsDirectory");
  std::vector<std::pair<std::string, std::string>> recorded_exports;
  for (auto& e : j.objects("exportedEnvironmentVariables")) recorded_exports.emplace_back(e.string("name"), e.string("value"));
  if (auto st = j.status(); !st) return fail(ErrorKind::invalid, "'{}': {}", layout.record().string(), st.error().message);

  // 2. The artifacts it names, found in the directory as it is now.
  if (j.has("artifacts")) {
    auto primary = j.object("artifacts");
    if (!primary.string("location").empty()) {
      auto a = read_artifact(primary, "artifacts", written_dir, layout);
      if (!a) return std::unexpected(a.error());
      out.primary = std::move(*a);
    }
  }
  auto secondary = j.objects("secondaryArtifacts");
  for (size_t i = 0; i < secondary.size(); ++i) {
    auto a = read_artifact(secondary[i], fmt::format("secondaryArtifacts[{}]", i), written_dir, layout);
    if (!a) return std::unexpected(a.error());
    out.secondary.push_back(std::move(*a));
  }

  // 3. The exported variables: the file, else what the record says.
  if (auto env = read_file(layout.exported_variables())) {
    auto parsed = parse_env_file(*env, layout.exported_variables().string());
    if (!parsed) return std::unexpected(parsed.error());
    out.exported_variables = std::move(*parsed);
  } else if (env.error().kind == ErrorKind::not_found) {
    out.exported_variables = std::move(recorded_exports);
  } else {
    return std::unexpected(env.error());
  }

  // 4. The reports.
  for (auto it = fs::directory_iterator(layout.reports_dir(), ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".json") out.reports.push_back(it->path());
  std::sort(out.reports.begin(), out.reports.end());
  return out;
}

Status write_artifact_record(const fs::path& dir, const Json& record, bool sync) {
  return write_file_atomic(ArtifactDirLayout{dir}.record(), to_json_text(record), {.sync = sync});
}

Status write_exported_variables(const fs::path& dir, const EnvList& variables) {
  return write_file_atomic(ArtifactDirLayout{dir}.exported_variables(), render_env_file(variables), {.sync = false});
}

}  // namespace cicd

#include <map>

#include "artifact/archive.hpp"
#include "artifact/artifact_dir.hpp"
#include "builder/outputs.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace cicd {

Result<ArtifactRecord> package_artifact(const ArtifactRequest& request) {
  const ArtifactSpec& spec = *request.spec;
  std::string what = spec.identifier.empty() ? std::string("primary artifact")
                                              : fmt::format("secondary artifact '{}'", spec.identifier);
  // 1. Paths are relative to the source directory (or base-directory), never to where the
  // last command cd'ed.
  std::filesystem::path base = request.source_dir;
  if (!spec.base_directory.empty()) {
    std::string bd = spec.base_directory;
    while (bd.starts_with("./")) bd.erase(0, 2);
    base = std::filesystem::path(bd).is_absolute() ? std::filesystem::path(bd) : request.source_dir / bd;
  }
  std::vector<std::string> patterns, excludes;
  for (auto& f : spec.files) patterns.push_back(f.value);
  for (auto& e : spec.exclude_paths) excludes.push_back(e.value);
  auto matched = glob_files(base, patterns, excludes,
                            {.symlinks = spec.enable_symlinks ? SymlinkMode::keep : SymlinkMode::follow});
  if (!matched) return std::unexpected(matched.error());
  if (matched->empty())
    return fail(ErrorKind::failed, "CLIENT_ERROR: no matching artifact paths found for the {} (files: {}{})", what,
                join(patterns, ", "),
                spec.base_directory.empty() ? std::string() : fmt::format(", base-directory: {}", spec.base_directory));

  // 2. Names inside the package: relative to the base, or bare with discard-paths.
  std::vector<ArchiveEntry> entries;
  std::map<std::string, std::string> taken;
  for (auto& m : *matched) {
    std::string name = m.relative;
    if (m.relative.front() == '/' || !is_safe_relative_path(m.relative)) name = m.absolute.filename().string();
    if (spec.discard_paths) name = std::filesystem::path(m.relative).filename().string();
    auto [it, inserted] = taken.emplace(name, m.relative);
    if (!inserted)
      return fail(ErrorKind::failed, "CLIENT_ERROR: {}: '{}' and '{}' would both be stored as '{}' (discard-paths)",
                  what, it->second, m.relative, name);
    entries.push_back({name, m.absolute, m.is_symlink});
  }

  // 3. Package: a zip, or the files themselves.
  std::filesystem::path dest = request.destination;
  if (!spec.s3_prefix.empty()) {
    // Here the prefix is a folder inside the build's artifact folder, never outside it.
    std::string prefix = spec.s3_prefix;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!is_safe_relative_path(prefix))
      return fail(ErrorKind::failed, "CLIENT_ERROR: {}: s3-prefix '{}' must be a relative path without '..'", what,
                  spec.s3_prefix);
    dest /= prefix;
  }
  ArtifactRecord record;
  record.identifier = spec.identifier;
  record.name = request.name;
  if (request.packaging == ArtifactPackaging::zip) {
    std::string file = request.name.ends_with(".zip") ? request.name : request.name + ".zip";
    auto zip_path = dest / file;
    auto zipped = write_zip(entries, zip_path);
    if (!zipped) return std::unexpected(zipped.error());
    record.location = zip_path.string();
    record.packaging = "ZIP";
    record.sha256sum = zipped->archive_sha256;
    record.md5sum = zipped->archive_md5;
    record.files = zipped->manifest.entries.size();
    record.size = zipped->manifest.total_size();
    auto manifest_path = manifest_path_for(zip_path);
    if (auto st = write_file_atomic(manifest_path, to_json_text(manifest_to_json(zipped->manifest))); !st)
      return std::unexpected(st.error());
    record.manifest = manifest_path.string();
  } else {
    auto dir = dest / request.name;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    auto copied = copy_entries(entries, dir);
    if (!copied) return std::unexpected(copied.error());
    record.location = dir.string();
    record.packaging = "NONE";
    record.files = copied->entries.size();
    record.size = copied->total_size();
    auto manifest_path = manifest_path_for(dir);
    if (auto st = write_file_atomic(manifest_path, to_json_text(manifest_to_json(*copied))); !st)
      return std::unexpected(st.error());
    record.manifest = manifest_path.string();
  }
  return record;
}

}  // namespace cicd

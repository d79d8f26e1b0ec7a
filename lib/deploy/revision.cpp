#include "deploy/revision.hpp"

#include <algorithm>

#include "artifact/archive.hpp"
#include "artifact/artifact_dir.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

std::optional<fs::path> appspec_in(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : {"appspec.yml", "appspec.yaml"})
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  return std::nullopt;
}

// The agent's rule: the appspec sits at the root, or the root holds one folder that holds it.
Result<fs::path> find_root(const fs::path& dir, const std::string& shown) {
  if (appspec_in(dir)) return dir;
  std::error_code ec;
  std::vector<fs::path> entries;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    entries.push_back(it->path());
  if (entries.size() == 1 && fs::is_directory(entries[0], ec) && appspec_in(entries[0])) return entries[0];
  return fail(ErrorKind::invalid,
              "revision '{}' has no appspec.yml (or appspec.yaml) at its root, nor in a single top-level folder",
              shown);
}

Result<PreparedRevision> load(PreparedRevision rev, const fs::path& dir) {
  auto root = find_root(dir, rev.location);
  if (!root) return std::unexpected(root.error());
  rev.root = *root;
  rev.appspec_path = *appspec_in(rev.root);
  auto text = read_file(rev.appspec_path);
  if (!text) return std::unexpected(text.error());
  auto parsed = parse_appspec(*text);
  std::string shown = rev.appspec_path.string();
  if (rev.unpacked) shown = rev.location + ":" + rev.appspec_path.lexically_relative(rev.unpacked->path() / "r").string();
  auto [errors, warnings] = format_diagnostics(shown, parsed.diagnostics);
  rev.warnings = std::move(warnings);
  if (!parsed.spec || !errors.empty()) {
    Error e{ErrorKind::invalid,
            fmt::format("invalid appspec in revision '{}': {} error{}", rev.location, errors.size(),
                        errors.size() == 1 ? "" : "s"),
            rev.warnings};
    e.details.insert(e.details.end(), errors.begin(), errors.end());
    return std::unexpected(e);
  }
  if (to_lower(parsed.spec->os) != "linux")
    return fail(ErrorKind::invalid, "revision '{}' is for os '{}': cdeploy deploys to linux instances", rev.location,
                parsed.spec->os);
  rev.spec = std::move(*parsed.spec);
  return rev;
}

}  // namespace

Result<PreparedRevision> prepare_revision(const fs::path& location) {
  std::error_code ec;
  PreparedRevision rev;
  fs::path path = fs::absolute(location, ec).lexically_normal();
  rev.location = path.string();
  auto st = fs::status(path, ec);
  if (ec || st.type() == fs::file_type::not_found)
    return fail(ErrorKind::usage, "revision '{}' does not exist", location.string());
  // 1. A cbuild artifact directory stands for its primary artifact (cicd-artifacts(5)).
  if (fs::is_directory(st) && is_artifact_directory(path) && !appspec_in(path)) {
    auto dir = read_artifact_directory(path);
    if (!dir) return std::unexpected(dir.error());
    if (!dir->primary)
      return fail(ErrorKind::invalid, "cbuild artifact directory '{}' has no primary artifact (its build.json lists none)",
                  location.string());
    if (!dir->succeeded())
      return fail(ErrorKind::invalid, "the build in '{}' did not succeed (buildStatus {}): not deploying its artifact",
                  location.string(), dir->build_status);
    auto inner = prepare_revision(dir->primary->location);
    if (inner) inner->location = rev.location;
    return inner;
  }
  if (fs::is_directory(st)) return load(std::move(rev), path);
  // 2. An archive: zip, tar or tar.gz, unpacked into a private directory.
  auto tmp = TempDir::create({}, "cdeploy-revision-");
  if (!tmp) return std::unexpected(tmp.error());
  auto extracted = extract_archive(path, tmp->path() / "r");
  if (!extracted)
    return fail(ErrorKind::invalid, "revision '{}' is not a directory nor a readable zip/tar archive: {}",
                location.string(), extracted.error().message);
  fs::path dir = tmp->path() / "r";
  rev.unpacked = std::move(*tmp);
  return load(std::move(rev), dir);
}

Result<std::string> pack_bundle(const PreparedRevision& revision, const fs::path& bundle) {
  std::vector<ArchiveEntry> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(revision.root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    // A symlink is packed as a link, whatever it points at (a dangling one included).
    std::error_code entry_ec;
    bool link = it->is_symlink(entry_ec);
    // Directories travel only when empty: the others come with their files.
    if (!entry_ec && !link && it->is_directory(entry_ec) && !fs::is_empty(it->path(), entry_ec)) continue;
    if (entry_ec) return fail(ErrorKind::io, "cannot read '{}': {}", it->path().string(), entry_ec.message());
    entries.push_back({it->path().lexically_relative(revision.root).generic_string(), it->path(), link});
  }
  if (ec) return fail(ErrorKind::io, "cannot read revision '{}': {}", revision.location, ec.message());
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
  // The bundle is a working copy of a revision: atomic, but not worth a flush of every byte.
  std::string sha256;
  if (auto st = write_tar(entries, bundle, TarCompression::none, TarDurability::no_sync, &sha256); !st)
    return std::unexpected(st.error());
  return sha256;
}

}  // namespace cicd

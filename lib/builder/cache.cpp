#include <algorithm>
#include <cctype>

#include "artifact/archive.hpp"
#include "builder/outputs.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

// Cache keys may hold anything; store keys may not.
std::string encode_key(const std::string& key) {
  std::string out = "k-";
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// In the archive, paths under the source directory live under src/, absolute ones under root/.
constexpr std::string_view k_src = "src/";
constexpr std::string_view k_root = "root/";

}  // namespace

BuildCache::BuildCache(Store& store, std::string project) : m_store(store), m_project(std::move(project)) {}

std::string BuildCache::location() const { return m_store.describe() + "/cache/" + m_project; }

Result<CacheRestore> BuildCache::restore(const CacheSpec&, const std::string& key,
                                         const std::vector<std::string>& fallback_keys,
                                         const std::filesystem::path& source_dir) {
  CacheRestore out;
  std::string prefix = "cache/" + m_project + "/";
  // 1. Find the entry: the exact key, else the newest entry a fallback key prefixes.
  std::optional<std::string> chosen;
  if (auto meta = m_store.get_json(prefix + encode_key(key) + "/meta.json"); meta && *meta) chosen = key;
  if (!chosen && !fallback_keys.empty()) {
    auto keys = m_store.list(prefix);
    if (!keys) return std::unexpected(keys.error());
    std::string newest_time;
    for (auto& fallback : fallback_keys) {
      for (auto& k : *keys) {
        if (!k.ends_with("/meta.json")) continue;
        auto meta = m_store.get_json(k);
        if (!meta || !*meta) continue;
        std::string entry_key = (**meta).value("key", "");
        std::string saved = (**meta).value("savedAt", "");
        if (entry_key.starts_with(fallback) && saved > newest_time) {
          newest_time = saved;
          chosen = entry_key;
        }
      }
      if (chosen) break;
    }
  }
  if (!chosen) return out;

  // 2. Unpack beside the store, then put each file in place.
  auto archive = m_store.local_path(prefix + encode_key(*chosen) + "/cache.tar");
  auto tmp = TempDir::create({}, "cbuild-cache-");
  if (!tmp) return std::unexpected(tmp.error());
  std::filesystem::path archive_path;
  if (archive) {
    archive_path = *archive;
  } else {
    archive_path = tmp->path() / "cache.tar";
    if (auto st = m_store.get_file(prefix + encode_key(*chosen) + "/cache.tar", archive_path); !st)
      return std::unexpected(st.error());
  }
  auto unpacked_dir = tmp->path() / "x";
  auto manifest = extract_archive(archive_path, unpacked_dir);
  if (!manifest) return std::unexpected(manifest.error());
  for (auto& e : manifest->entries) {
    std::filesystem::path target;
    if (e.path.starts_with(k_src)) target = source_dir / e.path.substr(k_src.size());
    else if (e.path.starts_with(k_root)) target = std::filesystem::path("/") / e.path.substr(k_root.size());
    else continue;
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    std::filesystem::remove(target, ec);
    std::filesystem::copy(unpacked_dir / e.path, target, std::filesystem::copy_options::copy_symlinks, ec);
    if (ec) return fail(ErrorKind::io, "cannot restore '{}' from the cache: {}", target.string(), ec.message());
    ++out.files;
  }
  out.matched_key = chosen;
  return out;
}

Result<size_t> BuildCache::save(const CacheSpec& spec, const std::string& key, const std::filesystem::path& source_dir) {
  // 1. Collect what the paths name.
  std::vector<ArchiveEntry> entries;
  for (auto& p : spec.paths) {
    auto found = glob_files(source_dir, {p.value}, {}, {.symlinks = SymlinkMode::keep});
    if (!found) return std::unexpected(found.error());
    bool absolute = !p.value.empty() && p.value.front() == '/';
    for (auto& f : *found) {
      std::string rel = absolute ? std::string(k_root) + f.absolute.string().substr(1)
                                 : std::string(k_src) + f.relative;
      if (!is_safe_relative_path(rel)) continue;
      entries.push_back({rel, f.absolute, f.is_symlink});
    }
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name < b.name; });
  entries.erase(std::unique(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.name == b.name; }),
                entries.end());
  // 2. Archive and store it with what it is, then its metadata (which makes it visible).
  std::string prefix = "cache/" + m_project + "/" + encode_key(key) + "/";
  auto tmp = TempDir::create({}, "cbuild-cache-");
  if (!tmp) return std::unexpected(tmp.error());
  auto tar = tmp->path() / "cache.tar";
  if (auto st = write_tar(entries, tar); !st) return std::unexpected(st.error());
  if (auto st = m_store.put_file(prefix + "cache.tar", tar); !st) return std::unexpected(st.error());
  Json meta{{"key", key},
            {"savedAt", format_iso8601(std::chrono::system_clock::now())},
            {"files", entries.size()}};
  if (auto st = m_store.put_json(prefix + "meta.json", meta); !st) return std::unexpected(st.error());
  return entries.size();
}

}  // namespace cicd

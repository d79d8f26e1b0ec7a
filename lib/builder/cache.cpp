#include <algorithm>
#include <cctype>

#include "artifact/archive.hpp"
#include "builder/outputs.hpp"
#include "store/store.hpp"
#include "util/json.hpp"
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

// In the archive, paths under the source directory live under src/. (An older cbuild also kept
// absolute paths, under root/; those are never restored.)
constexpr std::string_view k_src = "src/";
constexpr std::string_view k_root = "root/";

// What meta.json says of an entry.
struct CacheMeta {
  std::string key;
  std::string saved_at;  // ISO-8601, sorts as time
};

Result<CacheMeta> cache_meta_from_json(const Json& json) {
  JsonReader j(json, "cache entry metadata");
  CacheMeta meta{j.required_string("key"), j.string("savedAt")};
  if (auto st = j.status(); !st) return std::unexpected(st.error());
  return meta;
}

}  // namespace

BuildCache::BuildCache(Store& store, std::string project) : m_store(store), m_project(std::move(project)) {}

std::string BuildCache::location() const { return m_store.describe() + "/cache/" + m_project; }

Result<CacheRestore> BuildCache::restore(const CacheSpec&, const std::string& key,
                                         const std::vector<std::string>& fallback_keys,
                                         const std::filesystem::path& source_dir) {
  CacheRestore out;
  std::string prefix = "cache/" + m_project + "/";
  // 1. Find the entry: the exact key, else the newest entry a fallback key prefixes.
  auto exact = get_record(m_store, prefix + encode_key(key) + "/meta.json", &cache_meta_from_json);
  if (!exact) return std::unexpected(exact.error());
  std::optional<std::string> chosen;
  if (*exact) chosen = key;
  if (!chosen && !fallback_keys.empty()) {
    auto keys = m_store.list(prefix);
    if (!keys) return std::unexpected(keys.error());
    std::vector<CacheMeta> entries;
    for (auto& k : *keys) {
      if (!k.ends_with("/meta.json")) continue;
      auto meta = get_record(m_store, k, &cache_meta_from_json);
      if (!meta) return std::unexpected(meta.error());
      if (*meta) entries.push_back(std::move(**meta));
    }
    for (auto& fallback : fallback_keys) {
      std::string newest_time;
      for (auto& e : entries) {
        if (e.key.starts_with(fallback) && e.saved_at > newest_time) {
          newest_time = e.saved_at;
          chosen = e.key;
        }
      }
      if (chosen) break;
    }
  }
  if (!chosen) return out;

  // 2. Unpack beside the store: the extractor refuses names and symlinks that leave its directory.
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
  auto manifest = extract_archive(archive_path, unpacked_dir, {.keep_permissions = true, .hash_contents = false});
  if (!manifest) return std::unexpected(manifest.error());

  // 3. Every entry must land inside the source directory, by name and, for a symlink, by target
  //    (the extractor's rule, from the entry's place in the source directory), before any is placed.
  std::vector<ArchiveEntry> entries;
  for (auto& e : manifest->entries) {
    if (!e.path.starts_with(k_src))
      return fail(ErrorKind::invalid,
                  "cache entry '{}' holds '{}', which is not under the source directory; cbuild restores a cache only "
                  "there (an entry saved with absolute paths by an older cbuild is not restored)",
                  *chosen, e.path.starts_with(k_root) ? "/" + e.path.substr(k_root.size()) : e.path);
    std::string rel = e.path.substr(k_src.size());
    auto unpacked = unpacked_dir / e.path;
    if (e.symlink) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(unpacked, ec);
      if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", unpacked.string(), ec.message());
      if (!symlink_target_stays_inside(rel, target.string()))
        return fail(ErrorKind::invalid, "cache entry '{}': '{}' is a symlink pointing outside the source directory ('{}')",
                    *chosen, rel, target.string());
    }
    entries.push_back({rel, unpacked, e.symlink});
  }

  // 4. Placed as the artifact copier places files: opened one directory at a time without following
  //    symlinks, so nothing is ever written through a symlink already in the source tree; a file or
  //    symlink in the way is replaced, not written through.
  if (auto placed = copy_entries(entries, source_dir); !placed) {
    Error e = placed.error();
    e.message = fmt::format("cache entry '{}': {}", *chosen, e.message);
    return std::unexpected(std::move(e));
  }
  out.files = entries.size();
  out.matched_key = chosen;
  return out;
}

Result<size_t> BuildCache::save(const CacheSpec& spec, const std::string& key, const std::filesystem::path& source_dir) {
  // 1. Collect what the paths name, in the source directory only: a restore writes nowhere else,
  //    so an absolute path is left out (validate warns about it).
  std::vector<ArchiveEntry> entries;
  for (auto& p : spec.paths) {
    if (p.value.starts_with('/')) continue;
    auto found = glob_files(source_dir, {p.value}, {}, {.symlinks = SymlinkMode::keep});
    if (!found) return std::unexpected(found.error());
    for (auto& f : *found) {
      std::string rel = std::string(k_src) + f.relative;
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

// Packaging files into archives (zip with parallel deflate; tar via libarchive), manifests of
// what went in, and unpacking archives without ever writing outside the target.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

struct ArchiveEntry {
  std::string name;               // path inside the archive, '/'-separated, relative, safe
  std::filesystem::path source;   // the file on disk
  bool store_symlink = false;     // store the link itself (its target text), not what it points to
};

struct ManifestEntry {
  std::string path;    // as in the archive
  uint64_t size = 0;   // bytes of content (a symlink: length of its target)
  std::string sha256;  // of the content
  unsigned mode = 0644;
  bool symlink = false;
};

struct Manifest {
  std::vector<ManifestEntry> entries;
  uint64_t total_size() const;
};

// [{"path":..., "size":..., "sha256":..., "mode": "0644"}], sorted by path.
Json manifest_to_json(const Manifest& manifest);
Result<Manifest> manifest_from_json(const Json& json);

struct ZipOptions {
  int level = 6;         // deflate level 1..12 (libdeflate); 0 stores
  unsigned threads = 0;  // 0: one per core
  // Write ZIP64 records even where 32-bit fields would do (tests use it to exercise that path).
  bool force_zip64 = false;
};

struct ZipResult {
  Manifest manifest;
  uint64_t archive_size = 0;
  std::string archive_sha256;
  std::string archive_md5;
};

// Writes a zip (ZIP64 when needed) of `entries` to `out`: compression runs on several threads,
// the archive is written to a temporary file and renamed into place. Unix modes and symlinks are
// kept in the external attributes, so `unzip -t` passes and `unzip` restores them.
// Entries whose content deflate would not shrink are stored; content whose sampled byte entropy
// is that of random data (already compressed files) is stored without trying. A directory source
// becomes a "name/" entry and is not listed in the manifest (nor by extract_archive). Manifest
// modes are the permission bits (0777). Errors: Error{invalid} for unsafe or duplicate names,
// not_found for a missing source, io for read/write failures; no partial archive is left behind.
Result<ZipResult> write_zip(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out,
                            ZipOptions options = {});

// Copies entries into a directory (packaging "none"), returning the same manifest.
Result<Manifest> copy_entries(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out_dir);

enum class TarCompression { none, gzip };

// A tar archive (pax) of entries, atomically written.
// sync: on disk before returning (an artifact); no_sync: replaced atomically only (a working copy
// that exists elsewhere too, like a deployment bundle).
enum class TarDurability { sync, no_sync };
// `sha256`: when given, set to the hex SHA-256 of the file written, computed on a second thread
// as the bytes are written (no second read of the file).
Status write_tar(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out,
                 TarCompression compression = TarCompression::none, TarDurability durability = TarDurability::sync,
                 std::string* sha256 = nullptr);

// The rule every unpacker holds symlinks to (extract_archive, the deployment bundle unpacker, the
// build cache's restore): a symlink at `link`, a relative path in the tree being written, may
// point at `target` only when the target is relative, its ".." components all come first and
// climb no higher than the link's own directory, and the rest only descends ("../lib/x" from
// "bin/tool" is fine; "/etc", "../../x" from "bin/tool", "a/../../x" are not). As long as every
// directory written through is a real directory, such a link resolves inside the tree, and so
// does anything reached through it.
bool symlink_target_stays_inside(std::string_view link, std::string_view target);

struct ExtractOptions {
  bool keep_permissions = true;
  // The manifest's sha256 of every file: reading an archive we made ourselves does not need it.
  bool hash_contents = true;
};

// Unpacks a zip, tar or tar.gz (format sniffed) into `dest`. Refuses entries with absolute
// paths, '..' components, or that would pass through a symlink out of `dest`; a refused archive
// leaves `dest` as it found it only when `dest` was empty, so callers unpack into a fresh dir.
Result<Manifest> extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                                 ExtractOptions options = {});

}  // namespace cicd

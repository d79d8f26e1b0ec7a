// Unpacking zip, tar and tar.gz with libarchive, never writing outside the destination.
//
// Two layers of defence: our own checks on every entry before it is written (names, symlink
// targets, existing symlinks on the way), and libarchive's ARCHIVE_EXTRACT_SECURE_* flags on the
// write itself. Symlink targets are held to a rule that makes escapes impossible by induction:
// a target is relative, its ".." components all come first and climb no higher than the link's
// own directory, and the rest only descends. Since every directory we write through is a real
// directory (never a symlink), each link resolves to a place inside the destination, and so does
// any path that descends through such links.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <unordered_map>

#include "artifact/archive.hpp"
#include "artifact/archive_internal.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace cicd {

namespace {

using namespace artifact_detail;

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using DiskPtr = std::unique_ptr<struct archive, ArchiveWriteDeleter>;

std::string libarchive_error(struct archive* a) {
  const char* why = archive_error_string(a);
  return why ? why : "unknown libarchive error";
}

// The entry's path with "." and empty components dropped; an error for absolute paths or "..".
// An empty result is the destination itself ("./" in a tar made with `tar -C dir .`).
Result<std::string> clean_entry_path(const fs::path& archive, std::string_view name) {
  if (!name.empty() && name.front() == '/')
    return fail(ErrorKind::invalid, "unsafe archive '{}': entry '{}' has an absolute path", archive.string(), name);
  std::string out;
  for (auto part : split_path(name)) {
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return fail(ErrorKind::invalid, "unsafe archive '{}': entry '{}' has a '..' component", archive.string(), name);
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.find('\0') != std::string::npos)
    return fail(ErrorKind::invalid, "unsafe archive '{}': entry '{}' has a NUL in its name", archive.string(), name);
  return out;
}

// The first existing symlink on the way to `rel` (the last component included), if any.
std::optional<std::string> symlink_on_path(const fs::path& root, std::string_view rel) {
  fs::path walked = root;
  std::string shown;
  for (auto part : split_path(rel)) {
    walked /= std::string(part);
    if (!shown.empty()) shown += '/';
    shown += part;
    struct stat st {};
    if (::lstat(walked.c_str(), &st) != 0) return std::nullopt;  // nothing further exists yet
    if (S_ISLNK(st.st_mode)) return shown;
  }
  return std::nullopt;
}

// Puts the destination back as it was (empty, or absent) when an extraction fails part way.
class DestinationGuard {
 public:
  DestinationGuard(fs::path dest, bool existed, bool was_empty)
      : m_dest(std::move(dest)), m_existed(existed), m_was_empty(was_empty) {}
  DestinationGuard(const DestinationGuard&) = delete;
  DestinationGuard& operator=(const DestinationGuard&) = delete;
  ~DestinationGuard() {
    if (m_done || !m_was_empty) return;
    std::error_code ec;
    if (!m_existed) {
      fs::remove_all(m_dest, ec);
      return;
    }
    // remove_all does not follow symlinks, so an extracted link cannot drag outside files along.
    for (auto it = fs::directory_iterator(m_dest, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      fs::remove_all(it->path(), ec);
  }
  void keep() { m_done = true; }

 private:
  fs::path m_dest;
  bool m_existed;
  bool m_was_empty;
  bool m_done = false;
};

class Extractor {
 public:
  Extractor(fs::path archive, fs::path root, struct archive* reader, struct archive* disk, bool hash)
      : m_archive(std::move(archive)), m_root(std::move(root)), m_reader(reader), m_disk(disk), m_hash(hash) {}

  Status run() {
    for (;;) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(m_reader, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN)
        return fail(ErrorKind::invalid, "cannot read archive '{}': {}", m_archive.string(), libarchive_error(m_reader));
      if (auto st = extract_entry(entry); !st) return st;
    }
    if (archive_write_close(m_disk) != ARCHIVE_OK)
      return fail(ErrorKind::io, "cannot finish extracting '{}': {}", m_archive.string(), libarchive_error(m_disk));
    return {};
  }

  Manifest take_manifest() { return std::move(m_manifest); }

 private:
  std::unexpected<Error> unsafe(std::string_view name, std::string_view why) {
    return fail(ErrorKind::invalid, "unsafe archive '{}': entry '{}' {}", m_archive.string(), name, why);
  }

  Status extract_entry(archive_entry* entry) {
    // 1. Our own checks: a clean relative name, a supported type, nothing written through a symlink.
    const char* raw_name = archive_entry_pathname(entry);
    if (!raw_name) raw_name = archive_entry_pathname_utf8(entry);
    if (!raw_name) return fail(ErrorKind::invalid, "cannot read archive '{}': an entry has no name", m_archive.string());
    std::string name = raw_name;
    auto rel = clean_entry_path(m_archive, name);
    if (!rel) return std::unexpected(rel.error());
    if (rel->empty()) return skip_data();

    auto type = archive_entry_filetype(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    if (!hardlink) hardlink = archive_entry_hardlink_utf8(entry);
    if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
      return unsafe(name, "is not a regular file, directory or symlink");
    if (auto link = symlink_on_path(m_root, *rel)) {
      if (type == AE_IFDIR && *link == *rel) return unsafe(name, fmt::format("would replace the symlink '{}'", *link));
      return unsafe(name, fmt::format("would be written through the symlink '{}'", *link));
    }

    const ManifestEntry* link_source = nullptr;
    std::string target;
    if (hardlink) {
      auto target_rel = clean_entry_path(m_archive, hardlink);
      auto found = target_rel ? m_index.find(*target_rel) : m_index.end();
      if (found == m_index.end() || m_manifest.entries[found->second].symlink)
        return unsafe(name, fmt::format("is a hard link to '{}', which is not a file extracted before it", hardlink));
      link_source = &m_manifest.entries[found->second];
      archive_entry_set_hardlink(entry, (m_root / *target_rel).c_str());
    } else if (type == AE_IFLNK) {
      const char* text = archive_entry_symlink(entry);
      if (!text) text = archive_entry_symlink_utf8(entry);
      target = text ? text : "";
      if (!symlink_target_stays_inside(*rel, target))
        return unsafe(name, fmt::format("is a symlink pointing outside the destination ('{}')", target));
    }

    // 2. libarchive writes it, its own SECURE checks on top of ours.
    archive_entry_set_pathname(entry, (m_root / *rel).c_str());
    unsigned perm = static_cast<unsigned>(archive_entry_perm(entry)) & 0777;
    archive_entry_set_perm(entry, type == AE_IFLNK ? 0777 : perm);
    int rc = archive_write_header(m_disk, entry);
    if (rc < ARCHIVE_WARN) return disk_failure(name);

    // 3. The content, hashed on its way to disk.
    ManifestEntry item;
    item.path = *rel;
    item.mode = perm;
    if (hardlink) {
      item.size = link_source->size;
      item.sha256 = link_source->sha256;
      item.mode = link_source->mode;
      if (auto st = skip_data(); !st) return st;
    } else if (type == AE_IFLNK) {
      item.symlink = true;
      item.mode = 0777;
      item.size = target.size();
      item.sha256 = sha256_hex(target);
    } else if (type == AE_IFREG) {
      auto size = copy_data(name, archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1, item.sha256);
      if (!size) return std::unexpected(size.error());
      item.size = *size;
    }
    if (archive_write_finish_entry(m_disk) < ARCHIVE_WARN) return disk_failure(name);
    if (type != AE_IFDIR || hardlink) record(std::move(item));
    return {};
  }

  Status skip_data() {
    if (archive_read_data_skip(m_reader) < ARCHIVE_WARN)
      return fail(ErrorKind::invalid, "cannot read archive '{}': {}", m_archive.string(), libarchive_error(m_reader));
    return {};
  }

  Result<uint64_t> copy_data(const std::string& name, int64_t declared, std::string& sha256) {
    Hasher sha;
    uint64_t hashed = 0;
    static const std::string k_zeros(64 * 1024, '\0');
    auto hash_zeros_to = [&](uint64_t end) {
      while (hashed < end) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(end - hashed, k_zeros.size()));
        sha.update(std::string_view(k_zeros.data(), n));
        hashed += n;
      }
    };
    for (;;) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int rc = archive_read_data_block(m_reader, &block, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      // A warning here is a bad checksum or a truncated member: the content cannot be trusted.
      if (rc != ARCHIVE_OK)
        return fail(ErrorKind::invalid, "cannot read archive '{}': entry '{}': {}", m_archive.string(), name,
                    libarchive_error(m_reader));
      // Sparse tar members skip their holes; the hash is of the file as it lands, zeros included.
      if (m_hash) {
        hash_zeros_to(static_cast<uint64_t>(offset));
        sha.update(std::string_view(static_cast<const char*>(block), size));
      }
      hashed = static_cast<uint64_t>(offset) + size;
      if (archive_write_data_block(m_disk, block, size, offset) < ARCHIVE_OK) return disk_failure(name);
    }
    if (!m_hash) return declared > 0 ? static_cast<uint64_t>(declared) : hashed;
    if (declared > 0) hash_zeros_to(static_cast<uint64_t>(declared));
    sha256 = sha.hex();
    return hashed;
  }

  std::unexpected<Error> disk_failure(std::string_view name) {
    int err = archive_errno(m_disk);
    bool environment = err == ENOSPC || err == EACCES || err == EIO || err == EROFS || err == EDQUOT || err == EPERM;
    return fail(environment ? ErrorKind::io : ErrorKind::invalid, "cannot extract '{}' from '{}': {}", name,
                m_archive.string(), libarchive_error(m_disk));
  }

  void record(ManifestEntry item) {
    // A later entry of the same name (tar appends updates) replaces the earlier one.
    auto [it, inserted] = m_index.try_emplace(item.path, m_manifest.entries.size());
    if (inserted)
      m_manifest.entries.push_back(std::move(item));
    else
      m_manifest.entries[it->second] = std::move(item);
  }

  fs::path m_archive;
  fs::path m_root;
  struct archive* m_reader;
  struct archive* m_disk;
  bool m_hash = true;
  Manifest m_manifest;
  std::unordered_map<std::string, size_t> m_index;
};

}  // namespace

// See the rule at the top of this file.
bool symlink_target_stays_inside(std::string_view link, std::string_view target) {
  if (target.empty() || target.front() == '/' || target.find('\0') != std::string_view::npos) return false;
  // The link's depth counts real components only: "a/./b" and "a//b" are as deep as "a/b".
  size_t components = 0;
  for (auto part : split_path(link)) {
    if (part == "..") return false;
    if (!part.empty() && part != ".") ++components;
  }
  if (components == 0) return false;
  size_t depth = components - 1;
  size_t ups = 0;
  bool descended = false;
  for (auto part : split_path(target)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (descended || ++ups > depth) return false;
    } else {
      descended = true;
    }
  }
  return true;
}

Result<Manifest> extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                                 ExtractOptions options) {
  // 1. The destination: remember whether it was empty, so a refused archive can be undone.
  std::error_code ec;
  if (!fs::exists(archive, ec)) return fail(ErrorKind::not_found, "cannot extract '{}': no such file", archive.string());
  bool existed = fs::exists(dest, ec);
  bool was_empty = !existed || fs::is_empty(dest, ec);
  if (auto st = make_dirs(dest); !st) return std::unexpected(st.error());
  DestinationGuard guard(dest, existed, was_empty);
  // Canonical, so the only symlinks libarchive's SECURE_SYMLINKS check can meet are extracted ones.
  fs::path root = fs::canonical(dest, ec);
  if (ec) return fail(ErrorKind::io, "cannot extract into '{}': {}", dest.string(), ec.message());

  // 2. The reader sniffs the format: zip, or tar with or without gzip.
  ArchivePtr reader(archive_read_new());
  DiskPtr disk(archive_write_disk_new());
  if (!reader || !disk) return fail(ErrorKind::internal, "cannot allocate a libarchive reader");
  archive_read_support_format_zip(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_filter_gzip(reader.get());
  if (archive_read_open_filename(reader.get(), archive.c_str(), 1 << 16) != ARCHIVE_OK)
    return fail(ErrorKind::invalid, "cannot read archive '{}': {}", archive.string(), libarchive_error(reader.get()));
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (options.keep_permissions) flags |= ARCHIVE_EXTRACT_PERM;
  archive_write_disk_set_options(disk.get(), flags);

  // 3. Entry by entry; the first refusal stops everything and the guard undoes what was written.
  Extractor extractor(archive, root, reader.get(), disk.get(), options.hash_contents);
  if (auto st = extractor.run(); !st) return std::unexpected(st.error());
  guard.keep();
  return extractor.take_manifest();
}

}  // namespace cicd

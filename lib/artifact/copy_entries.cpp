// Packaging "none": the entries copied into a directory, with the same manifest a zip would get.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "artifact/archive.hpp"
#include "artifact/archive_internal.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace cicd {

namespace {

using namespace artifact_detail;

constexpr size_t k_copy_buffer = 256 * 1024;

Status copy_file(const ArchiveEntry& entry, const SourceInfo& info, int parent, const std::string& leaf,
                 ManifestEntry& manifest) {
  int flags = O_RDONLY | O_CLOEXEC | (entry.store_symlink ? O_NOFOLLOW : 0);
  UniqueFd src(::open(entry.source.c_str(), flags));
  if (!src) return fail_errno(fmt::format("cannot read '{}'", entry.source.string()), errno);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return fail_errno(fmt::format("cannot read '{}'", entry.source.string()), errno);

  UniqueFd dst;
  for (int attempt = 0; attempt < 2 && !dst; ++attempt) {
    dst.reset(::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    // A symlink left from an earlier copy is replaced, never written through.
    if (!dst && errno == ELOOP && attempt == 0 && ::unlinkat(parent, leaf.c_str(), 0) == 0) continue;
    if (!dst) return fail_errno(fmt::format("cannot create '{}'", entry.name), errno);
  }

  Hasher sha;
  // One buffer per thread: a fresh one per file would be allocated and zeroed each time.
  thread_local std::string buffer(k_copy_buffer, '\0');
  uint64_t copied = 0;
  for (;;) {
    auto got = read_full(src.get(), buffer.data(), buffer.size(), entry.source);
    if (!got) return std::unexpected(got.error());
    if (*got == 0) break;
    std::string_view chunk(buffer.data(), *got);
    sha.update(chunk);
    if (auto w = write_all(dst.get(), chunk, entry.name); !w) return w;
    copied += *got;
  }
  if (::fchmod(dst.get(), info.mode) != 0) return fail_errno(fmt::format("cannot set the mode of '{}'", entry.name), errno);
  // Same times as the source, so tools that compare timestamps see the file as unchanged.
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst.get(), times) != 0)
    return fail_errno(fmt::format("cannot set the modification time of '{}'", entry.name), errno);
  // A write the kernel could not complete may only show at close.
  if (::close(dst.release()) != 0) return fail_errno(fmt::format("cannot write '{}'", entry.name), errno);
  manifest = {entry.name, copied, sha.hex(), info.mode & 0777, false};
  return {};
}

Status copy_symlink(const ArchiveEntry& entry, int parent, const std::string& leaf, ManifestEntry& manifest) {
  auto target = read_link(entry.source);
  if (!target) return std::unexpected(target.error());
  for (int attempt = 0;; ++attempt) {
    if (::symlinkat(target->c_str(), parent, leaf.c_str()) == 0) break;
    struct stat st {};
    if (errno == EEXIST && attempt == 0 && ::fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISDIR(st.st_mode) && ::unlinkat(parent, leaf.c_str(), 0) == 0)
      continue;
    return fail_errno(fmt::format("cannot create symlink '{}'", entry.name), errno);
  }
  manifest = {entry.name, target->size(), sha256_hex(*target), 0777, true};
  return {};
}

Status copy_directory(const ArchiveEntry& entry, const SourceInfo& info, int parent, const std::string& leaf) {
  if (::mkdirat(parent, leaf.c_str(), 0700) != 0 && errno != EEXIST)
    return fail_errno(fmt::format("cannot create directory '{}'", entry.name), errno);
  UniqueFd dir(::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return fail(ErrorKind::invalid, "cannot create directory '{}': something else is in the way", entry.name);
  if (::fchmod(dir.get(), info.mode) != 0)
    return fail_errno(fmt::format("cannot set the mode of directory '{}'", entry.name), errno);
  return {};
}

}  // namespace

Result<Manifest> copy_entries(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out_dir) {
  // 1. Names and sources are checked before anything is copied.
  if (auto st = check_entry_names(entries); !st) return std::unexpected(st.error());
  std::vector<SourceInfo> infos;
  infos.reserve(entries.size());
  for (const auto& entry : entries) {
    auto info = inspect_source(entry);
    if (!info) return std::unexpected(info.error());
    infos.push_back(*info);
  }

  // 2. Every entry is created relative to the output directory's descriptor, walking without
  //    following symlinks, so a symlink entry can never redirect a later entry elsewhere.
  if (auto st = make_dirs(out_dir); !st) return std::unexpected(st.error());
  UniqueFd root(::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno(fmt::format("cannot open directory '{}'", out_dir.string()), errno);

  Manifest manifest;
  manifest.entries.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    std::string leaf;
    auto parent = open_parent_dir(root.get(), entry.name, true, leaf);
    if (!parent) return std::unexpected(parent.error());
    ManifestEntry item;
    Status st;
    switch (infos[i].kind) {
      case SourceKind::file:
        st = copy_file(entry, infos[i], parent->get(), leaf, item);
        break;
      case SourceKind::symlink:
        st = copy_symlink(entry, parent->get(), leaf, item);
        break;
      case SourceKind::directory:
        st = copy_directory(entry, infos[i], parent->get(), leaf);
        if (st) continue;
        break;
    }
    if (!st) return std::unexpected(st.error());
    manifest.entries.push_back(std::move(item));
  }
  return manifest;
}

}  // namespace cicd

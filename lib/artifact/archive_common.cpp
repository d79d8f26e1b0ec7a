#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <unordered_set>

#include "artifact/archive_internal.hpp"
#include "util/fs.hpp"

namespace cicd::artifact_detail {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool is_clean_entry_name(std::string_view name) {
  if (!is_safe_relative_path(name)) return false;
  for (auto part : split_path(name))
    if (part.empty() || part == ".") return false;
  return true;
}

Status check_entry_names(const std::vector<ArchiveEntry>& entries) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(entries.size());
  for (const auto& entry : entries) {
    if (!is_clean_entry_name(entry.name))
      return fail(ErrorKind::invalid, "unsafe archive entry name '{}'", entry.name);
    if (!seen.insert(entry.name).second)
      return fail(ErrorKind::invalid, "duplicate archive entry name '{}'", entry.name);
  }
  return {};
}

Result<SourceInfo> inspect_source(const ArchiveEntry& entry) {
  struct stat st {};
  int rc = entry.store_symlink ? ::lstat(entry.source.c_str(), &st) : ::stat(entry.source.c_str(), &st);
  if (rc != 0) {
    if (errno == ENOENT)
      return fail(ErrorKind::not_found, "cannot archive '{}': no such file", entry.source.string());
    return fail_errno(fmt::format("cannot archive '{}'", entry.source.string()), errno);
  }
  SourceInfo info;
  info.mode = static_cast<unsigned>(st.st_mode) & 07777;
  info.mtime = static_cast<int64_t>(st.st_mtim.tv_sec);
  if (S_ISREG(st.st_mode)) {
    info.kind = SourceKind::file;
    info.size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISLNK(st.st_mode)) {
    info.kind = SourceKind::symlink;
    info.size = static_cast<uint64_t>(st.st_size);
    info.mode = 0777;
  } else if (S_ISDIR(st.st_mode)) {
    info.kind = SourceKind::directory;
  } else {
    return fail(ErrorKind::invalid, "cannot archive '{}': not a regular file, directory or symlink",
                entry.source.string());
  }
  return info;
}

Result<std::string> read_link(const fs::path& path) {
  std::string target(256, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return fail_errno(fmt::format("cannot read symlink '{}'", path.string()), errno);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

Result<size_t> read_full(int fd, char* data, size_t size, const fs::path& what, off_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = offset >= 0 ? ::pread(fd, data + done, size - done, offset + static_cast<off_t>(done))
                            : ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("cannot read '{}'", what.string()), errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// ---- PendingFile ----

Result<PendingFile> PendingFile::create(const fs::path& final_path, unsigned mode) {
  fs::path dir = final_path.parent_path();
  if (auto st = make_dirs(dir); !st) return std::unexpected(st.error());
  // Hidden, so a glob over the destination directory does not pick up a half-written archive.
  std::string templ = (dir / ("." + final_path.filename().string() + ".tmp.XXXXXX")).string();
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("cannot create a temporary file beside '{}'", final_path.string()), errno);
  UniqueFd owned(fd);
  // mkostemp creates 0600; an artifact is meant to be read by others like any file we write.
  if (::fchmod(fd, mode) != 0) {
    int err = errno;
    ::unlink(templ.c_str());
    return fail_errno(fmt::format("cannot set the mode of '{}'", templ), err);
  }
  return PendingFile(std::move(owned), fs::path(templ), final_path);
}

PendingFile::PendingFile(PendingFile&& other) noexcept
    : m_fd(std::move(other.m_fd)), m_temp(std::move(other.m_temp)), m_final(std::move(other.m_final)) {
  other.m_temp.clear();
}

PendingFile::~PendingFile() {
  m_fd.reset();
  if (!m_temp.empty()) ::unlink(m_temp.c_str());
}

Status PendingFile::commit(bool sync) {
  if (sync && ::fsync(m_fd.get()) != 0) return fail_errno(fmt::format("cannot sync '{}'", m_temp.string()), errno);
  if (::close(m_fd.release()) != 0) return fail_errno(fmt::format("cannot close '{}'", m_temp.string()), errno);
  if (::rename(m_temp.c_str(), m_final.c_str()) != 0)
    return fail_errno(fmt::format("cannot rename '{}' to '{}'", m_temp.string(), m_final.string()), errno);
  m_temp.clear();
  return sync ? sync_directory(m_final.parent_path()) : Status{};
}

// ---- walking without following symlinks ----

Result<UniqueFd> open_parent_dir(int root_fd, std::string_view rel, bool create, std::string& leaf) {
  auto parts = split_path(rel);
  leaf = std::string(parts.back());
  int dup = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("cannot duplicate a directory descriptor", errno);
  UniqueFd dir(dup);
  std::string walked;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    std::string part(parts[i]);
    if (!walked.empty()) walked += '/';
    walked += part;
    for (int attempt = 0;; ++attempt) {
      int fd = ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        dir.reset(fd);
        break;
      }
      int err = errno;
      if (err == ENOENT && create && attempt == 0) {
        if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
          return fail_errno(fmt::format("cannot create directory '{}'", walked), errno);
        continue;
      }
      struct stat st {};
      if ((err == ELOOP || err == ENOTDIR) && ::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        return fail(ErrorKind::invalid, "'{}' would be written through the symlink '{}'", std::string(rel), walked);
      if (err == ENOTDIR) return fail(ErrorKind::invalid, "'{}': '{}' is not a directory", std::string(rel), walked);
      return fail_errno(fmt::format("cannot open directory '{}'", walked), err);
    }
  }
  return dir;
}

}  // namespace cicd::artifact_detail

// Files: whole-file reads, atomic writes, advisory locks, temporary directories.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace cicd {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path);

// Writes all of `data` to `fd` (retrying short writes); `path` names it in the error.
Status write_all(int fd, std::string_view data, const fs::path& path);

struct WriteOptions {
  unsigned mode = 0644;
  bool sync = true;  // fsync the file and its directory (durability across a crash)
};

// Writes to a temporary file in the same directory, fsyncs it, renames it over `path` and
// fsyncs the directory: a reader sees the old or the new content, never a mix.
Status write_file_atomic(const fs::path& path, std::string_view content, WriteOptions options = {});

// Appends to a file, creating it (and its directory) if needed.
Status append_file(const fs::path& path, std::string_view content);

Status make_dirs(const fs::path& path, unsigned mode = 0755);

// fsync a directory so a rename or create inside it is durable.
Status sync_directory(const fs::path& dir);

enum class LockMode { exclusive, shared };
enum class LockWait { block, try_once };

// An advisory lock (flock) on a lock file, released when destroyed or when the process dies,
// so a killed holder never leaves a stale lock behind.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Returns a lock, or Error{conflict} when try_once finds it held, or after `timeout`.
  static Result<FileLock> acquire(const fs::path& path, LockMode mode = LockMode::exclusive,
                                  LockWait wait = LockWait::block,
                                  std::optional<std::chrono::milliseconds> timeout = {});
  bool held() const { return m_fd >= 0; }
  void release();

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

// A directory removed (recursively) when the object goes away.
class TempDir {
 public:
  static Result<TempDir> create(const fs::path& parent = {}, std::string_view prefix = "cicd-");
  TempDir(TempDir&& other) noexcept : m_path(std::move(other.m_path)) { other.m_path.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const fs::path& path() const { return m_path; }
  // Keep the directory: the caller takes it over.
  fs::path release();

 private:
  explicit TempDir(fs::path path) : m_path(std::move(path)) {}
  fs::path m_path;
};

// Lexically normal relative path that stays inside its base (no "..", not absolute).
bool is_safe_relative_path(std::string_view path);

// Path of the running executable (/proc/self/exe).
fs::path self_executable();

// A file descriptor closed when the object goes away.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  void reset(int fd = -1);
  int release();

 private:
  int m_fd = -1;
};

}  // namespace cicd

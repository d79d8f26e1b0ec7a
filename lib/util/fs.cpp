#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

#include "util/strings.hpp"

namespace cicd {

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("cannot write '{}'", path.string()), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          static_cast<uint64_t>(::getpid()) << 32};
  return fmt::format("{:016x}", rng());
}

}  // namespace

Result<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(ErrorKind::not_found, "cannot read '{}': no such file", path.string());
    return fail_errno(fmt::format("cannot read '{}'", path.string()), errno);
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      if (err == EISDIR) return fail(ErrorKind::invalid, "cannot read '{}': it is a directory", path.string());
      return fail_errno(fmt::format("cannot read '{}'", path.string()), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status sync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("cannot open directory '{}'", dir.string()), errno);
  // A directory whose entries cannot be made durable is an error like a file that cannot be.
  Status st;
  if (::fsync(fd) != 0) st = fail_errno(fmt::format("cannot sync directory '{}'", dir.string()), errno);
  ::close(fd);  // read-only: nothing to lose on close
  return st;
}

Status make_dirs(const fs::path& path, unsigned mode) {
  if (path.empty()) return {};
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {};
  fs::create_directories(path, ec);
  std::error_code again;
  if (ec && !fs::is_directory(path, again))
    return fail(ErrorKind::io, "cannot create directory '{}': {}", path.string(), ec.message());
  if (mode != 0755 && ::chmod(path.c_str(), mode) != 0)
    return fail_errno(fmt::format("cannot set the mode of directory '{}'", path.string()), errno);
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view content, WriteOptions options) {
  fs::path dir = path.parent_path();
  if (auto st = make_dirs(dir); !st) return st;
  fs::path tmp = path;
  tmp += ".tmp." + random_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return fail_errno(fmt::format("cannot create '{}'", tmp.string()), errno);
  // The umask may have narrowed the mode; secret files must be exactly what was asked.
  Status st;
  if (::fchmod(fd, options.mode) != 0) st = fail_errno(fmt::format("cannot set the mode of '{}'", tmp.string()), errno);
  if (st) st = write_all(fd, content, tmp);
  if (st && options.sync && ::fsync(fd) != 0)
    st = fail_errno(fmt::format("cannot sync '{}'", tmp.string()), errno);
  if (::close(fd) != 0 && st) st = fail_errno(fmt::format("cannot close '{}'", tmp.string()), errno);
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Without a sync, swap the two names instead of renaming over the old file: readers still
  // see the old or the new content, and ext4 does not flush the new data at once, as it does
  // for a file replaced by rename (auto_da_alloc), which costs milliseconds per record.
  if (!options.sync &&
      ::syscall(SYS_renameat2, AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
    ::unlink(tmp.c_str());  // now the old content
    return {};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno(fmt::format("cannot rename '{}' to '{}'", tmp.string(), path.string()), err);
  }
  if (options.sync) return sync_directory(dir);
  return {};
}

Status append_file(const fs::path& path, std::string_view content) {
  if (auto st = make_dirs(path.parent_path()); !st) return st;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return fail_errno(fmt::format("cannot open '{}'", path.string()), errno);
  auto st = write_all(fd, content, path);
  if (::close(fd) != 0 && st) st = fail_errno(fmt::format("cannot write '{}'", path.string()), errno);
  return st;
}

// ---- FileLock ----

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (m_fd >= 0) {
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
    m_fd = -1;
  }
}

Result<FileLock> FileLock::acquire(const fs::path& path, LockMode mode, LockWait wait,
                                   std::optional<std::chrono::milliseconds> timeout) {
  if (auto st = make_dirs(path.parent_path()); !st) return std::unexpected(st.error());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail_errno(fmt::format("cannot open lock file '{}'", path.string()), errno);
  int op = mode == LockMode::exclusive ? LOCK_EX : LOCK_SH;
  if (wait == LockWait::block && !timeout) {
    while (::flock(fd, op) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail_errno(fmt::format("cannot lock '{}'", path.string()), err);
    }
    return FileLock(fd);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  auto delay = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(fd, op | LOCK_NB) == 0) return FileLock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return fail_errno(fmt::format("cannot lock '{}'", path.string()), err);
    }
    if (wait == LockWait::try_once || std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return fail(ErrorKind::conflict, "'{}' is locked by another process", path.string());
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

// ---- TempDir ----

Result<TempDir> TempDir::create(const fs::path& parent, std::string_view prefix) {
  fs::path base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
  }
  if (auto st = make_dirs(base); !st) return std::unexpected(st.error());
  std::string templ = (base / (std::string(prefix) + "XXXXXX")).string();
  if (!::mkdtemp(templ.data()))
    return fail_errno(fmt::format("cannot create a temporary directory in '{}'", base.string()), errno);
  return TempDir(fs::path(templ));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!m_path.empty()) {
      std::error_code ec;
      fs::remove_all(m_path, ec);
    }
    m_path = std::move(other.m_path);
    other.m_path.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!m_path.empty()) {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
}

fs::path TempDir::release() {
  fs::path p = std::move(m_path);
  m_path.clear();
  return p;
}

bool is_safe_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  return !has_dotdot_component(path) && path.find('\0') == std::string_view::npos;
}

fs::path self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

int UniqueFd::release() {
  int fd = m_fd;
  m_fd = -1;
  return fd;
}

}  // namespace cicd

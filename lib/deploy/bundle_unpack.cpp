#include "deploy/bundle_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "artifact/archive.hpp"
#include "util/fs.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

struct FileJob {
  fs::path path;
  unsigned mode = 0644;
  int64_t mtime = 0;
  std::string data;
};

// A bounded queue of files for the writer threads: the reader waits when too much is in flight.
class WriteQueue {
 public:
  explicit WriteQueue(size_t max_bytes) : m_max_bytes(max_bytes) {}

  void push(FileJob job) {
    std::unique_lock lock(m_mutex);
    m_space.wait(lock, [&] { return m_bytes == 0 || m_bytes + job.data.size() <= m_max_bytes || m_failed; });
    m_bytes += job.data.size();
    m_jobs.push_back(std::move(job));
    m_ready.notify_one();
  }
  std::optional<FileJob> pop() {
    std::unique_lock lock(m_mutex);
    m_ready.wait(lock, [&] { return !m_jobs.empty() || m_closed; });
    if (m_jobs.empty()) return std::nullopt;
    FileJob job = std::move(m_jobs.front());
    m_jobs.pop_front();
    return job;
  }
  void done_with(size_t bytes) {
    std::lock_guard lock(m_mutex);
    m_bytes -= bytes;
    m_space.notify_all();
  }
  void close() {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    m_ready.notify_all();
  }
  void fail(Error e) {
    std::lock_guard lock(m_mutex);
    if (!m_error) m_error = std::move(e);
    m_failed = true;
    m_space.notify_all();
  }
  std::optional<Error> error() {
    std::lock_guard lock(m_mutex);
    return m_error;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_ready, m_space;
  std::deque<FileJob> m_jobs;
  size_t m_bytes = 0;
  size_t m_max_bytes;
  bool m_closed = false;
  bool m_failed = false;
  std::optional<Error> m_error;
};

Result<UniqueFd> create_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail_errno(fmt::format("cannot create '{}'", path.string()), errno);
  return fd;
}

// The file's mode and modification time as the bundle has them, then the close that reports a
// failed write: a mode silently lost would surface much later as a hook "not executable".
Status finish_file(UniqueFd fd, const fs::path& path, unsigned mode, int64_t mtime) {
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    return fail_errno(fmt::format("cannot set the mode of '{}'", path.string()), errno);
  timespec times[2] = {{mtime, 0}, {mtime, 0}};
  if (::futimens(fd.get(), times) != 0)
    return fail_errno(fmt::format("cannot set the modification time of '{}'", path.string()), errno);
  if (::close(fd.release()) != 0) return fail_errno(fmt::format("cannot write '{}'", path.string()), errno);
  return {};
}

Status write_job(const FileJob& job) {
  auto fd = create_file(job.path);
  if (!fd) return std::unexpected(fd.error());
  if (auto st = write_all(fd->get(), job.data, job.path); !st) return st;
  return finish_file(std::move(*fd), job.path, job.mode, job.mtime);
}

std::string libarchive_error(archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown error";
}

}  // namespace

Status unpack_own_bundle(const fs::path& bundle, const fs::path& dest) {
  if (auto st = make_dirs(dest); !st) return st;
  std::unique_ptr<archive, int (*)(archive*)> reader(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_filename(reader.get(), bundle.c_str(), 1 << 20) != ARCHIVE_OK)
    return fail(ErrorKind::invalid, "cannot read bundle '{}': {}", bundle.string(), libarchive_error(reader.get()));

  // 1. Writers: creating many small files is per-file kernel work that spreads over cores.
  WriteQueue queue(64u << 20);
  unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<std::thread> writers;
  for (unsigned t = 0; t < threads; ++t)
    writers.emplace_back([&] {
      while (auto job = queue.pop()) {
        size_t bytes = job->data.size();
        if (auto st = write_job(*job); !st) queue.fail(st.error());
        queue.done_with(bytes);
      }
    });
  auto finish = [&](Status status) -> Status {
    queue.close();
    for (auto& w : writers) w.join();
    if (!status) return status;
    if (auto e = queue.error()) return std::unexpected(*e);
    return {};
  };

  // 2. Read in order: directories at once, files to the writers, symlinks kept for the end.
  std::vector<std::pair<fs::path, std::string>> symlinks;
  std::vector<std::pair<fs::path, unsigned>> dir_modes;  // applied last: one may forbid writing into it
  fs::path made_dir;  // the directory the last file went into (exists)
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN)
      return finish(fail(ErrorKind::invalid, "cannot read bundle '{}': {}", bundle.string(), libarchive_error(reader.get())));
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    if (!is_safe_relative_path(name))
      return finish(fail(ErrorKind::invalid, "bundle '{}': unsafe entry name '{}'", bundle.string(), name));
    fs::path path = dest / name;
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      std::error_code ec;
      fs::create_directories(path, ec);
      if (ec) return finish(fail(ErrorKind::io, "cannot create '{}': {}", path.string(), ec.message()));
      dir_modes.emplace_back(path, static_cast<unsigned>(archive_entry_perm(entry)) & 0777);
      continue;
    }
    std::error_code ec;
    if (path.parent_path() != made_dir) {  // entries come sorted: most share the last one's directory
      fs::create_directories(path.parent_path(), ec);
      if (ec) return finish(fail(ErrorKind::io, "cannot create '{}': {}", path.parent_path().string(), ec.message()));
      made_dir = path.parent_path();
    }
    if (type == AE_IFLNK) {
      // The extractor's rule (see symlink_target_stays_inside): the same bundle is refused by an
      // ssh instance, whose copy goes through the extractor first.
      const char* target = archive_entry_symlink(entry);
      std::string text = target ? target : "";
      if (!symlink_target_stays_inside(name, text))
        return finish(fail(ErrorKind::invalid, "bundle '{}': entry '{}' is a symlink pointing outside the destination ('{}')",
                           bundle.string(), name, text));
      symlinks.emplace_back(path, std::move(text));
      continue;
    }
    if (type != AE_IFREG)
      return finish(fail(ErrorKind::invalid, "bundle '{}': entry '{}' is not a file, directory or symlink", bundle.string(), name));
    FileJob job;
    job.path = path;
    job.mode = static_cast<unsigned>(archive_entry_perm(entry)) & 0777;
    job.mtime = archive_entry_mtime(entry);
    auto size = archive_entry_size(entry);
    if (size > (16 << 20)) {
      // A big file is streamed to disk here rather than held in memory for a writer.
      auto fd = create_file(path);
      if (!fd) return finish(std::unexpected(fd.error()));
      if (archive_read_data_into_fd(reader.get(), fd->get()) != ARCHIVE_OK)
        return finish(fail(ErrorKind::io, "cannot unpack '{}': {}", path.string(), libarchive_error(reader.get())));
      if (auto st = finish_file(std::move(*fd), path, job.mode, job.mtime); !st) return finish(st);
      continue;
    }
    job.data.resize(static_cast<size_t>(std::max<int64_t>(size, 0)));
    size_t got = 0;
    while (got < job.data.size()) {
      la_ssize_t n = archive_read_data(reader.get(), job.data.data() + got, job.data.size() - got);
      if (n < 0)
        return finish(fail(ErrorKind::invalid, "cannot read bundle '{}': {}", bundle.string(), libarchive_error(reader.get())));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    job.data.resize(got);
    if (queue.error()) break;
    queue.push(std::move(job));
  }
  if (auto st = finish({}); !st) return st;
  // 3. Symlinks last: no file was written through one. Then the directories' modes, as the
  //    extractor and tar set them (permission bits only, as for files).
  for (auto& [path, target] : symlinks)
    if (::symlink(target.c_str(), path.c_str()) != 0)
      return fail_errno(fmt::format("cannot create the symlink '{}'", path.string()), errno);
  for (auto& [path, mode] : dir_modes)
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
      return fail_errno(fmt::format("cannot set the mode of '{}'", path.string()), errno);
  return {};
}

}  // namespace cicd

// Tar archives (pax, optionally gzip) through libarchive, written beside the target and renamed.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "artifact/archive.hpp"
#include "artifact/archive_internal.hpp"
#include "util/hash.hpp"

namespace cicd {

namespace {

using namespace artifact_detail;

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// SHA-256 on a thread of its own, fed the chunks as they are written.
class ConcurrentHasher {
 public:
  ConcurrentHasher() : m_thread([this] { run(); }) {}
  ~ConcurrentHasher() { finish(); }
  void feed(std::string_view data) {
    std::unique_lock lock(m_mutex);
    m_space.wait(lock, [&] { return m_queued < k_max_queued; });
    m_chunks.emplace_back(data);
    m_queued += data.size();
    m_ready.notify_one();
  }
  std::string finish() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
      m_ready.notify_one();
    }
    if (m_thread.joinable()) m_thread.join();
    return m_digest;
  }

 private:
  static constexpr size_t k_max_queued = 32u << 20;
  void run() {
    Hasher hasher;
    for (;;) {
      std::string chunk;
      {
        std::unique_lock lock(m_mutex);
        m_ready.wait(lock, [&] { return !m_chunks.empty() || m_done; });
        if (m_chunks.empty()) break;
        chunk = std::move(m_chunks.front());
        m_chunks.pop_front();
        m_queued -= chunk.size();
        m_space.notify_one();
      }
      hasher.update(chunk);
    }
    m_digest = hasher.hex();
  }
  std::mutex m_mutex;
  std::condition_variable m_ready, m_space;
  std::deque<std::string> m_chunks;
  size_t m_queued = 0;
  bool m_done = false;
  std::string m_digest;
  std::thread m_thread;  // last: starts once the rest is ready
};

// libarchive's output: the file, and the hasher when one is wanted.
struct Output {
  int fd;
  const fs::path& path;
  std::unique_ptr<ConcurrentHasher> hasher;
  std::optional<Error> error;
  static la_ssize_t write(struct archive*, void* self, const void* buffer, size_t length) {
    auto* o = static_cast<Output*>(self);
    std::string_view data(static_cast<const char*>(buffer), length);
    if (auto st = write_all(o->fd, data, o->path); !st) {
      o->error = st.error();
      return -1;
    }
    if (o->hasher) o->hasher->feed(data);
    return static_cast<la_ssize_t>(length);
  }
};

std::unexpected<Error> archive_failure(struct archive* a, const fs::path& out) {
  const char* why = archive_error_string(a);
  return fail(ErrorKind::io, "cannot write '{}': {}", out.string(), why ? why : "unknown libarchive error");
}

Status write_tar_entry(struct archive* a, const ArchiveEntry& entry, const SourceInfo& info, const fs::path& out,
                       std::string& buffer) {
  std::unique_ptr<archive_entry, EntryDeleter> header(archive_entry_new());
  archive_entry_set_pathname(header.get(), entry.name.c_str());
  archive_entry_set_mtime(header.get(), static_cast<time_t>(info.mtime), 0);
  UniqueFd src;
  switch (info.kind) {
    case SourceKind::directory:
      archive_entry_set_filetype(header.get(), AE_IFDIR);
      archive_entry_set_perm(header.get(), info.mode);
      break;
    case SourceKind::symlink: {
      auto target = read_link(entry.source);
      if (!target) return std::unexpected(target.error());
      archive_entry_set_filetype(header.get(), AE_IFLNK);
      archive_entry_set_perm(header.get(), 0777);
      archive_entry_set_symlink(header.get(), target->c_str());
      break;
    }
    case SourceKind::file: {
      int flags = O_RDONLY | O_CLOEXEC | (entry.store_symlink ? O_NOFOLLOW : 0);
      src.reset(::open(entry.source.c_str(), flags));
      if (!src) return fail_errno(fmt::format("cannot read '{}'", entry.source.string()), errno);
      struct stat st {};
      if (::fstat(src.get(), &st) != 0) return fail_errno(fmt::format("cannot read '{}'", entry.source.string()), errno);
      archive_entry_set_filetype(header.get(), AE_IFREG);
      archive_entry_set_perm(header.get(), static_cast<unsigned>(st.st_mode) & 07777);
      archive_entry_set_size(header.get(), st.st_size);
      break;
    }
  }
  if (archive_write_header(a, header.get()) < ARCHIVE_OK) return archive_failure(a, out);
  if (src) {
    // The header promised a size; a file that shrinks or grows meanwhile would make a lie of it.
    auto expected = static_cast<uint64_t>(archive_entry_size(header.get()));
    uint64_t written = 0;
    for (;;) {
      auto got = read_full(src.get(), buffer.data(), buffer.size(), entry.source);
      if (!got) return std::unexpected(got.error());
      if (*got == 0) break;
      written += *got;
      if (written > expected) break;
      if (archive_write_data(a, buffer.data(), *got) < 0) return archive_failure(a, out);
    }
    if (written != expected)
      return fail(ErrorKind::conflict, "'{}' changed while it was being archived", entry.source.string());
  }
  if (archive_write_finish_entry(a) < ARCHIVE_OK) return archive_failure(a, out);
  return {};
}

}  // namespace

Status write_tar(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out,
                 TarCompression compression, TarDurability durability, std::string* sha256) {
  // 1. Names and sources are checked before any output exists.
  if (auto st = check_entry_names(entries); !st) return st;
  std::vector<SourceInfo> infos;
  infos.reserve(entries.size());
  for (const auto& entry : entries) {
    auto info = inspect_source(entry);
    if (!info) return std::unexpected(info.error());
    infos.push_back(*info);
  }

  // 2. libarchive writes into a temporary file beside `out`.
  auto pending = PendingFile::create(out);
  if (!pending) return std::unexpected(pending.error());
  std::unique_ptr<struct archive, ArchiveWriteDeleter> a(archive_write_new());
  if (!a) return fail(ErrorKind::internal, "cannot allocate a libarchive writer");
  archive_write_set_format_pax_restricted(a.get());
  if (compression == TarCompression::gzip && archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK)
    return archive_failure(a.get(), out);
  // Big blocks: fewer writes (and chunks for the hasher); the last block is not padded to one.
  archive_write_set_bytes_per_block(a.get(), 1 << 20);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  Output output{pending->fd(), out, sha256 ? std::make_unique<ConcurrentHasher>() : nullptr, {}};
  if (archive_write_open2(a.get(), &output, nullptr, &Output::write, nullptr, nullptr) != ARCHIVE_OK)
    return archive_failure(a.get(), out);

  // 3. Entries in the order given, then the trailer.
  std::string buffer(256 * 1024, '\0');  // one for all entries: a fresh one each would be zeroed each time
  for (size_t i = 0; i < entries.size(); ++i)
    if (auto st = write_tar_entry(a.get(), entries[i], infos[i], out, buffer); !st) return st;
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return output.error ? std::unexpected(*output.error) : archive_failure(a.get(), out);
  if (sha256) *sha256 = output.hasher->finish();

  // 4. Into place.
  return pending->commit(durability == TarDurability::sync);
}

}  // namespace cicd

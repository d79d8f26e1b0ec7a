// Pieces shared by the archive writers and the extractor; not part of the public interface.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/archive.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace cicd::artifact_detail {

namespace fs = std::filesystem;

// Zip entries up to this size are read and compressed whole (libdeflate has no streaming
// interface); larger files are compressed in chunks of k_zip_chunk_size, so none is ever held
// entirely in memory.
inline constexpr uint64_t k_zip_whole_file_limit = uint64_t{16} << 20;
inline constexpr uint64_t k_zip_chunk_size = uint64_t{4} << 20;

// Stricter than is_safe_relative_path: also no empty or "." components and no trailing '/', so
// every file has exactly one spelling and two entries cannot name the same file differently.
bool is_clean_entry_name(std::string_view name);

// Every name clean and used once, or Error{invalid} naming the first offender.
Status check_entry_names(const std::vector<ArchiveEntry>& entries);

enum class SourceKind { file, symlink, directory };

struct SourceInfo {
  SourceKind kind = SourceKind::file;
  uint64_t size = 0;       // file: bytes; symlink: length of the target
  unsigned mode = 0644;    // permission bits (07777)
  int64_t mtime = 0;       // seconds since the epoch
};

// lstat (store_symlink) or stat of the entry's source; sockets, fifos and devices are refused.
Result<SourceInfo> inspect_source(const ArchiveEntry& entry);

// The target text of a symlink.
Result<std::string> read_link(const fs::path& path);

// Reads until `size` bytes or end of file (at `offset` when offset >= 0); returns bytes read.
Result<size_t> read_full(int fd, char* data, size_t size, const fs::path& what, off_t offset = -1);

// A file created beside its final path and renamed over it by commit(); removed if the object
// goes away uncommitted, so a failed write never leaves a partial file under the final name.
class PendingFile {
 public:
  static Result<PendingFile> create(const fs::path& final_path, unsigned mode = 0644);
  PendingFile(PendingFile&& other) noexcept;
  PendingFile& operator=(PendingFile&&) = delete;
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile();
  int fd() const { return m_fd.get(); }
  const fs::path& temp_path() const { return m_temp; }
  // fsync, close, rename into place, fsync the directory.
  Status commit(bool sync = true);

 private:
  PendingFile(UniqueFd fd, fs::path temp, fs::path final_path)
      : m_fd(std::move(fd)), m_temp(std::move(temp)), m_final(std::move(final_path)) {}
  UniqueFd m_fd;
  fs::path m_temp;
  fs::path m_final;
};

// Opens (creating when `create`) the directory that will hold `rel` under the directory `root_fd`,
// one component at a time with O_NOFOLLOW, so nothing is ever written through a symlink, not
// even one planted after a check. Sets `leaf` to the last component of `rel`.
Result<UniqueFd> open_parent_dir(int root_fd, std::string_view rel, bool create, std::string& leaf);

std::vector<std::string_view> split_path(std::string_view path);

// ---- raw deflate helpers for the zip writer ----

// Turns a complete raw deflate stream (as libdeflate writes it) into one another stream can
// follow: the final block's BFINAL bit is cleared and an empty stored block realigns the end to
// a byte, as zlib's Z_SYNC_FLUSH does. False (stream unspecified) if the stream does not parse.
bool make_deflate_joinable(std::string& stream);

// `data` as deflate stored blocks (at most 65535 bytes each), the last one final if `final`.
void append_stored_blocks(std::string& out, std::string_view data, bool final);

// True when deflate cannot be expected to save anything: the byte entropy of a few samples is
// that of random data (already compressed or encrypted content). Spares the compressor a pass
// that would end in storing the data anyway.
bool looks_incompressible(std::string_view data);

}  // namespace cicd::artifact_detail

// Our own zip writer: libdeflate compresses whole files on a pool of workers while this thread
// appends finished entries to the archive in order. Files too big to hold in memory are cut into
// chunks compressed independently; each chunk's stream but the last is made joinable (see
// deflate_join.cpp), so the chunks concatenate into one valid deflate stream.
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
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

constexpr uint64_t k_whole_file_limit = k_zip_whole_file_limit;
constexpr uint64_t k_chunk_size = k_zip_chunk_size;

constexpr uint64_t k_max32 = 0xFFFFFFFFu;
constexpr uint64_t k_max16 = 0xFFFFu;
constexpr uint16_t k_method_store = 0;
constexpr uint16_t k_method_deflate = 8;
constexpr uint16_t k_flag_data_descriptor = 1u << 3;
constexpr uint16_t k_flag_utf8 = 1u << 11;
constexpr uint16_t k_version_made_by = (3u << 8) | 45;  // host Unix: external attributes carry st_mode
constexpr uint16_t k_version_deflate = 20;
constexpr uint16_t k_version_zip64 = 45;

// Little-endian fields appended to a string.
class Bytes {
 public:
  void u16(uint64_t v) { put(v, 2); }
  void u32(uint64_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void u8(uint64_t v) { put(v, 1); }
  void text(std::string_view s) { m_out.append(s); }
  std::string& str() { return m_out; }
  void clear() { m_out.clear(); }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) m_out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string m_out;
};

struct DosTime {
  uint16_t time = 0;
  uint16_t date = (1u << 5) | 1;  // 1980-01-01, the earliest a DOS date can say
};

DosTime dos_time(int64_t mtime) {
  time_t t = static_cast<time_t>(mtime);
  struct tm tm {};
  if (!::localtime_r(&t, &tm)) return {};
  int year = tm.tm_year + 1900;
  if (year < 1980) return {};
  if (year > 2107) return {static_cast<uint16_t>((23u << 11) | (59u << 5) | 29u),
                           static_cast<uint16_t>((127u << 9) | (12u << 5) | 31u)};
  DosTime out;
  out.time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  out.date = static_cast<uint16_t>(((year - 1980) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  return out;
}

// What one entry will become, decided before any data is read.
struct Plan {
  const ArchiveEntry* entry = nullptr;
  SourceInfo info;
  DosTime dos;
  bool chunked = false;
  size_t chunks = 1;
};

// A piece of work for the pool: a whole entry, or one chunk of a big file.
struct Unit {
  size_t plan = 0;
  size_t chunk = 0;
  uint64_t offset = 0;  // of the chunk within its file
  uint64_t length = 0;
  uint64_t cost = 0;    // memory it may hold until written
  // Filled by the worker that took it.
  bool done = false;
  std::optional<Error> error;
  std::string data;      // what goes into the archive: deflated or stored bytes
  std::string raw;       // chunks only: the uncompressed bytes, hashed in order by the writer
  bool deflated = false;
  uint32_t crc = 0;
  uint64_t size = 0;
  std::string sha256;
};

Error changed_error(const Plan& plan) {
  return Error{ErrorKind::conflict,
               fmt::format("'{}' changed while it was being archived", plan.entry->source.string())};
}

// Per-worker compression state, reused from one unit to the next.
class Compressor {
 public:
  explicit Compressor(int level) : m_level(level) {
    if (level > 0) {
      m_deflate = libdeflate_alloc_compressor(std::min(level, 12));
      m_inflate = libdeflate_alloc_decompressor();
    }
  }
  ~Compressor() {
    if (m_deflate) libdeflate_free_compressor(m_deflate);
    if (m_inflate) libdeflate_free_decompressor(m_inflate);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Status process(const Plan& plan, Unit& unit) {
    if (m_level > 0 && (!m_deflate || !m_inflate))
      return fail(ErrorKind::internal, "cannot allocate a deflate compressor");
    if (plan.chunked) return compress_chunk(plan, unit);
    switch (plan.info.kind) {
      case SourceKind::directory:
        return {};
      case SourceKind::symlink: {
        auto target = read_link(plan.entry->source);
        if (!target) return std::unexpected(target.error());
        finish_whole(std::move(*target), unit, false);
        return {};
      }
      case SourceKind::file:
        break;
    }
    std::string raw;
    if (auto st = read_whole(plan, raw); !st) return st;
    finish_whole(std::move(raw), unit, true);
    return {};
  }

 private:
  Result<UniqueFd> open_source(const Plan& plan) {
    int flags = O_RDONLY | O_CLOEXEC | (plan.entry->store_symlink ? O_NOFOLLOW : 0);
    UniqueFd fd(::open(plan.entry->source.c_str(), flags));
    if (!fd) {
      if (errno == ELOOP) return std::unexpected(changed_error(plan));
      return fail_errno(fmt::format("cannot read '{}'", plan.entry->source.string()), errno);
    }
    return fd;
  }

  Status read_whole(const Plan& plan, std::string& raw) {
    auto fd = open_source(plan);
    if (!fd) return std::unexpected(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0)
      return fail_errno(fmt::format("cannot read '{}'", plan.entry->source.string()), errno);
    // One byte of slack so end of file shows up without growing the buffer. A file that grew
    // past the whole-file limit since it was planned is not slurped: it changed under us.
    const size_t cap = static_cast<size_t>(std::max<uint64_t>(plan.info.size, k_whole_file_limit));
    raw.resize(std::min(static_cast<size_t>(st.st_size), cap) + 1);
    size_t length = 0;
    for (;;) {
      auto got = read_full(fd->get(), raw.data() + length, raw.size() - length, plan.entry->source);
      if (!got) return std::unexpected(got.error());
      length += *got;
      if (length < raw.size()) break;
      if (length > cap) return std::unexpected(changed_error(plan));
      raw.resize(std::min(raw.size() * 2, cap + 1));
    }
    raw.resize(length);
    return {};
  }

  void finish_whole(std::string raw, Unit& unit, bool try_deflate) {
    unit.size = raw.size();
    unit.crc = static_cast<uint32_t>(libdeflate_crc32(0, raw.data(), raw.size()));
    unit.sha256 = sha256_hex(raw);
    if (try_deflate && m_deflate && raw.size() > 1 && !looks_incompressible(raw)) {
      // An output buffer one byte short of the input: libdeflate gives up (returns 0) exactly
      // when deflating would not save anything, and we store instead.
      std::string packed(raw.size() - 1, '\0');
      size_t n = libdeflate_deflate_compress(m_deflate, raw.data(), raw.size(), packed.data(), packed.size());
      if (n > 0) {
        packed.resize(n);
        unit.data = std::move(packed);
        unit.deflated = true;
        return;
      }
    }
    unit.data = std::move(raw);
  }

  Status compress_chunk(const Plan& plan, Unit& unit) {
    auto fd = open_source(plan);
    if (!fd) return std::unexpected(fd.error());
    bool last = unit.chunk + 1 == plan.chunks;
    unit.raw.resize(unit.length);
    auto got = read_full(fd->get(), unit.raw.data(), unit.raw.size(), plan.entry->source,
                         static_cast<off_t>(unit.offset));
    if (!got) return std::unexpected(got.error());
    if (*got != unit.raw.size()) return std::unexpected(changed_error(plan));
    if (last) {
      char probe = 0;
      auto more = read_full(fd->get(), &probe, 1, plan.entry->source, static_cast<off_t>(unit.offset + unit.length));
      if (!more) return std::unexpected(more.error());
      if (*more != 0) return std::unexpected(changed_error(plan));
    }
    unit.size = unit.length;
    if (m_level == 0) {
      unit.data = unit.raw;
      return {};
    }
    unit.deflated = true;
    if (!looks_incompressible(unit.raw)) {
      unit.data.resize(libdeflate_deflate_compress_bound(m_deflate, unit.raw.size()));
      size_t n = libdeflate_deflate_compress(m_deflate, unit.raw.data(), unit.raw.size(), unit.data.data(),
                                             unit.data.size());
      unit.data.resize(n);
      // Every chunk but the last must not end the stream; a chunk that deflate could not shrink
      // (or, never expected, whose joined form fails the round trip) goes in as stored blocks.
      if (n > 0 && n < unit.raw.size() && (last || (make_deflate_joinable(unit.data) && round_trips(unit))))
        return {};
    }
    unit.data.clear();
    append_stored_blocks(unit.data, unit.raw, last);
    return {};
  }

  // Inflates a joinable chunk (closed with an empty final block) and compares it with the input:
  // a few milliseconds per chunk that guarantee our block surgery never corrupts an archive.
  bool round_trips(const Unit& unit) {
    m_check_in.assign(unit.data);
    m_check_in.append("\x01\x00\x00\xff\xff", 5);
    m_check_out.resize(unit.raw.size());
    auto rc = libdeflate_deflate_decompress(m_inflate, m_check_in.data(), m_check_in.size(), m_check_out.data(),
                                            m_check_out.size(), nullptr);
    return rc == LIBDEFLATE_SUCCESS && m_check_out == unit.raw;
  }

  int m_level;
  libdeflate_compressor* m_deflate = nullptr;
  libdeflate_decompressor* m_inflate = nullptr;
  std::string m_check_in;
  std::string m_check_out;
};

// The archive file: buffered appends, hashed as they go so the archive is never read back.
class ArchiveSink {
 public:
  ArchiveSink(int fd, fs::path what) : m_fd(fd), m_what(std::move(what)) { m_buffer.reserve(k_buffer); }

  Status append(std::string_view data) {
    m_sha.update(data);
    m_md5.update(data);
    m_offset += data.size();
    if (m_buffer.size() + data.size() <= k_buffer) {
      m_buffer.append(data);
      return {};
    }
    if (auto st = flush(); !st) return st;
    if (data.size() >= k_buffer / 2) return write_all(m_fd, data, m_what);
    m_buffer.append(data);
    return {};
  }

  Status flush() {
    auto st = write_all(m_fd, m_buffer, m_what);
    m_buffer.clear();
    return st;
  }

  uint64_t offset() const { return m_offset; }
  std::string sha256() { return m_sha.hex(); }
  std::string md5() { return m_md5.hex(); }

 private:
  static constexpr size_t k_buffer = 1 << 20;
  int m_fd;
  fs::path m_what;
  std::string m_buffer;
  uint64_t m_offset = 0;
  Hasher m_sha{HashAlgorithm::sha256};
  Hasher m_md5{HashAlgorithm::md5};
};

// What the central directory needs to know about an entry already written.
struct CentralRecord {
  size_t plan = 0;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint16_t version = k_version_deflate;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t offset = 0;
  bool zip64 = false;  // force every ZIP64 field
};

std::string entry_name(const Plan& plan) {
  return plan.info.kind == SourceKind::directory ? plan.entry->name + "/" : plan.entry->name;
}

uint32_t unix_mode(const Plan& plan) {
  switch (plan.info.kind) {
    case SourceKind::directory:
      return S_IFDIR | plan.info.mode;
    case SourceKind::symlink:
      return S_IFLNK | 0777;
    case SourceKind::file:
      break;
  }
  return S_IFREG | plan.info.mode;
}

bool has_unix_time(const Plan& plan) { return plan.info.mtime >= 0 && plan.info.mtime <= 0x7FFFFFFF; }

void put_extended_time(Bytes& out, const Plan& plan) {
  if (!has_unix_time(plan)) return;
  out.u16(0x5455);
  out.u16(5);
  out.u8(1);  // modification time only
  out.u32(static_cast<uint64_t>(plan.info.mtime));
}

uint16_t name_flags(const std::string& name) {
  bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? 0 : k_flag_utf8;
}

// The local header; with `zip64_sizes` the sizes live in a ZIP64 extra field.
void put_local_header(Bytes& out, const Plan& plan, const CentralRecord& record, bool zip64_sizes) {
  std::string name = entry_name(plan);
  out.u32(0x04034b50);
  out.u16(record.version);
  out.u16(record.flags);
  out.u16(record.method);
  out.u16(plan.dos.time);
  out.u16(plan.dos.date);
  out.u32(record.crc);
  out.u32(zip64_sizes ? k_max32 : record.compressed);
  out.u32(zip64_sizes ? k_max32 : record.uncompressed);
  out.u16(name.size());
  out.u16((zip64_sizes ? 20 : 0) + (has_unix_time(plan) ? 9 : 0));
  out.text(name);
  if (zip64_sizes) {
    out.u16(0x0001);
    out.u16(16);
    out.u64(record.uncompressed);
    out.u64(record.compressed);
  }
  put_extended_time(out, plan);
}

void put_central_header(Bytes& out, const Plan& plan, const CentralRecord& record) {
  std::string name = entry_name(plan);
  bool big_u = record.zip64 || record.uncompressed >= k_max32;
  bool big_c = record.zip64 || record.compressed >= k_max32;
  bool big_o = record.zip64 || record.offset >= k_max32;
  uint16_t zip64_len = static_cast<uint16_t>(8 * (big_u + big_c + big_o));
  out.u32(0x02014b50);
  out.u16(k_version_made_by);
  out.u16(record.version);
  out.u16(record.flags);
  out.u16(record.method);
  out.u16(plan.dos.time);
  out.u16(plan.dos.date);
  out.u32(record.crc);
  out.u32(big_c ? k_max32 : record.compressed);
  out.u32(big_u ? k_max32 : record.uncompressed);
  out.u16(name.size());
  out.u16((zip64_len ? 4 + zip64_len : 0) + (has_unix_time(plan) ? 9 : 0));
  out.u16(0);  // comment
  out.u16(0);  // disk
  out.u16(0);  // internal attributes
  uint32_t external = unix_mode(plan) << 16;
  if (plan.info.kind == SourceKind::directory) external |= 0x10;  // MS-DOS directory bit
  out.u32(external);
  out.u32(big_o ? k_max32 : record.offset);
  out.text(name);
  if (zip64_len) {
    out.u16(0x0001);
    out.u16(zip64_len);
    if (big_u) out.u64(record.uncompressed);
    if (big_c) out.u64(record.compressed);
    if (big_o) out.u64(record.offset);
  }
  put_extended_time(out, plan);
}

void put_end_records(Bytes& out, uint64_t count, uint64_t cd_offset, uint64_t cd_size, bool force_zip64) {
  bool zip64 = force_zip64 || count >= k_max16 || cd_offset >= k_max32 || cd_size >= k_max32;
  if (zip64) {
    uint64_t record_offset = cd_offset + cd_size;
    out.u32(0x06064b50);
    out.u64(44);  // size of the rest of this record
    out.u16(k_version_made_by);
    out.u16(k_version_zip64);
    out.u32(0);
    out.u32(0);
    out.u64(count);
    out.u64(count);
    out.u64(cd_size);
    out.u64(cd_offset);
    out.u32(0x07064b50);  // locator
    out.u32(0);
    out.u64(record_offset);
    out.u32(1);
  }
  out.u32(0x06054b50);
  out.u16(0);
  out.u16(0);
  out.u16(zip64 && (force_zip64 || count >= k_max16) ? k_max16 : count);
  out.u16(zip64 && (force_zip64 || count >= k_max16) ? k_max16 : count);
  out.u32(zip64 && (force_zip64 || cd_size >= k_max32) ? k_max32 : cd_size);
  out.u32(zip64 && (force_zip64 || cd_offset >= k_max32) ? k_max32 : cd_offset);
  out.u16(0);  // comment
}

// Runs the workers and hands finished units to the writer in archive order, holding at most a
// bounded amount of data in flight.
class Pipeline {
 public:
  Pipeline(const std::vector<Plan>& plans, std::vector<Unit>& units, unsigned threads, int level)
      : m_plans(plans), m_units(units) {
    m_max_units = threads * 64u + 64u;
    m_budget = std::max<uint64_t>(uint64_t{256} << 20, uint64_t{threads} * (k_whole_file_limit * 4));
    m_workers.reserve(threads);
    try {
      for (unsigned i = 0; i < threads; ++i) m_workers.emplace_back([this, level] { work(level); });
    } catch (...) {
      stop();
      throw;
    }
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  ~Pipeline() { stop(); }

  // Blocks until unit `index` is done; its fields are then the writer's to use.
  Unit& wait(size_t index) {
    std::unique_lock lock(m_mutex);
    m_unit_done.wait(lock, [&] { return m_units[index].done; });
    return m_units[index];
  }

  // The writer is finished with unit `index`: its memory is free for more work.
  void written(size_t index) {
    {
      std::lock_guard lock(m_mutex);
      m_next_write = index + 1;
      m_in_flight -= m_units[index].cost;
    }
    m_work_ready.notify_all();
  }

 private:
  void stop() {
    {
      std::lock_guard lock(m_mutex);
      m_abort = true;
    }
    m_work_ready.notify_all();
    for (auto& worker : m_workers) worker.join();
    m_workers.clear();
  }

  bool admissible() const {
    if (m_next_claim - m_next_write >= m_max_units) return false;
    return m_in_flight == 0 || m_in_flight + m_units[m_next_claim].cost <= m_budget;
  }

  void work(int level) {
    Compressor compressor(level);
    for (;;) {
      size_t index = 0;
      {
        std::unique_lock lock(m_mutex);
        m_work_ready.wait(lock, [&] { return m_abort || m_next_claim >= m_units.size() || admissible(); });
        if (m_abort || m_next_claim >= m_units.size()) return;
        index = m_next_claim++;
        m_in_flight += m_units[index].cost;
      }
      Unit& unit = m_units[index];
      Status status;
      try {
        status = compressor.process(m_plans[unit.plan], unit);
      } catch (const std::exception& e) {
        status = fail(ErrorKind::internal, "cannot compress '{}': {}", m_plans[unit.plan].entry->source.string(),
                      e.what());
      }
      {
        std::lock_guard lock(m_mutex);
        if (!status) unit.error = std::move(status.error());
        unit.done = true;
      }
      m_unit_done.notify_all();
    }
  }

  const std::vector<Plan>& m_plans;
  std::vector<Unit>& m_units;
  std::mutex m_mutex;
  std::condition_variable m_work_ready;
  std::condition_variable m_unit_done;
  size_t m_next_claim = 0;
  size_t m_next_write = 0;
  uint64_t m_in_flight = 0;
  size_t m_max_units = 0;
  uint64_t m_budget = 0;
  bool m_abort = false;
  std::vector<std::thread> m_workers;
};

// A chunked entry being written: its running checksums.
struct OpenEntry {
  CentralRecord record;
  std::unique_ptr<Hasher> sha;
  bool zip64_sizes = false;
};

class ZipWriter {
 public:
  ZipWriter(const std::vector<Plan>& plans, ArchiveSink& sink, bool force_zip64)
      : m_plans(plans), m_sink(sink), m_force_zip64(force_zip64) {}

  Status write_unit(Unit& unit) {
    const Plan& plan = m_plans[unit.plan];
    if (plan.chunked) return write_chunk(plan, unit);
    CentralRecord record;
    record.plan = unit.plan;
    record.offset = m_sink.offset();
    record.flags = name_flags(plan.entry->name);
    record.method = unit.deflated ? k_method_deflate : k_method_store;
    record.crc = unit.crc;
    record.compressed = unit.data.size();
    record.uncompressed = unit.size;
    record.zip64 = m_force_zip64;
    record.version = record.zip64 || record.offset >= k_max32 ? k_version_zip64 : k_version_deflate;
    m_header.clear();
    put_local_header(m_header, plan, record, m_force_zip64);
    if (auto st = m_sink.append(m_header.str()); !st) return st;
    if (auto st = m_sink.append(unit.data); !st) return st;
    m_records.push_back(record);
    if (plan.info.kind != SourceKind::directory)
      m_manifest.entries.push_back({plan.entry->name, unit.size, std::move(unit.sha256),
                                    plan.info.mode & 0777, plan.info.kind == SourceKind::symlink});
    return {};
  }

  Status finish() {
    uint64_t cd_offset = m_sink.offset();
    for (const auto& record : m_records) {
      m_header.clear();
      put_central_header(m_header, m_plans[record.plan], record);
      if (auto st = m_sink.append(m_header.str()); !st) return st;
    }
    uint64_t cd_size = m_sink.offset() - cd_offset;
    m_header.clear();
    put_end_records(m_header, m_records.size(), cd_offset, cd_size, m_force_zip64);
    if (auto st = m_sink.append(m_header.str()); !st) return st;
    return m_sink.flush();
  }

  Manifest take_manifest() { return std::move(m_manifest); }

 private:
  Status write_chunk(const Plan& plan, Unit& unit) {
    if (unit.chunk == 0) {
      // Sizes and crc are known only at the end: a data descriptor follows the data, which keeps
      // the archive append-only (and hashed in one pass).
      m_open = OpenEntry{};
      auto& record = m_open.record;
      record.plan = unit.plan;
      record.offset = m_sink.offset();
      record.flags = name_flags(plan.entry->name) | k_flag_data_descriptor;
      record.method = unit.deflated ? k_method_deflate : k_method_store;
      record.zip64 = m_force_zip64;
      // Stored blocks cost 5 bytes per 64 KiB, so compressed output never outgrows this margin.
      m_open.zip64_sizes = m_force_zip64 || plan.info.size + plan.info.size / 256 + (1u << 20) >= k_max32;
      record.version = m_open.zip64_sizes || record.zip64 || record.offset >= k_max32 ? k_version_zip64
                                                                                      : k_version_deflate;
      m_open.sha = std::make_unique<Hasher>(HashAlgorithm::sha256);
      m_header.clear();
      put_local_header(m_header, plan, record, m_open.zip64_sizes);
      if (auto st = m_sink.append(m_header.str()); !st) return st;
    }
    auto& record = m_open.record;
    std::string_view raw = unit.raw;
    record.crc = static_cast<uint32_t>(libdeflate_crc32(record.crc, raw.data(), raw.size()));
    m_open.sha->update(raw);
    record.uncompressed += raw.size();
    record.compressed += unit.data.size();
    if (auto st = m_sink.append(unit.data); !st) return st;
    if (unit.chunk + 1 < plan.chunks) return {};

    if (!m_open.zip64_sizes && (record.compressed >= k_max32 || record.uncompressed >= k_max32))
      return fail(ErrorKind::internal, "'{}' outgrew its zip entry", plan.entry->source.string());
    m_header.clear();
    m_header.u32(0x08074b50);
    m_header.u32(record.crc);
    if (m_open.zip64_sizes) {
      m_header.u64(record.compressed);
      m_header.u64(record.uncompressed);
    } else {
      m_header.u32(record.compressed);
      m_header.u32(record.uncompressed);
    }
    if (auto st = m_sink.append(m_header.str()); !st) return st;
    m_records.push_back(record);
    m_manifest.entries.push_back(
        {plan.entry->name, record.uncompressed, m_open.sha->hex(), plan.info.mode & 0777, false});
    return {};
  }

  const std::vector<Plan>& m_plans;
  ArchiveSink& m_sink;
  bool m_force_zip64;
  Bytes m_header;
  std::vector<CentralRecord> m_records;
  Manifest m_manifest;
  OpenEntry m_open;
};

}  // namespace

Result<ZipResult> write_zip(const std::vector<ArchiveEntry>& entries, const std::filesystem::path& out,
                            ZipOptions options) {
  // 1. Check the request before touching the disk.
  if (options.level < 0 || options.level > 12)
    return fail(ErrorKind::usage, "zip compression level {} is out of range 0..12", options.level);
  if (auto st = check_entry_names(entries); !st) return std::unexpected(st.error());
  for (const auto& entry : entries)
    if (entry.name.size() >= k_max16)  // the name length field is 16 bits ("/" added to directories)
      return fail(ErrorKind::invalid, "archive entry name '{}...' is too long", entry.name.substr(0, 64));

  // 2. Look at every source first: a missing or special file fails before any output exists.
  std::vector<Plan> plans(entries.size());
  size_t unit_count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto info = inspect_source(entries[i]);
    if (!info) return std::unexpected(info.error());
    Plan& plan = plans[i];
    plan.entry = &entries[i];
    plan.info = *info;
    plan.dos = dos_time(info->mtime);
    if (info->kind == SourceKind::file && info->size > k_whole_file_limit) {
      plan.chunked = true;
      plan.chunks = static_cast<size_t>((info->size + k_chunk_size - 1) / k_chunk_size);
    }
    unit_count += plan.chunks;
  }

  // 3. Cut the work into units: one per entry, one per chunk of a big file.
  std::vector<Unit> units(unit_count);
  size_t next = 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    for (size_t c = 0; c < plans[i].chunks; ++c) {
      Unit& unit = units[next++];
      unit.plan = i;
      unit.chunk = c;
      if (plans[i].chunked) {
        unit.offset = c * k_chunk_size;
        unit.length = std::min(k_chunk_size, plans[i].info.size - unit.offset);
        unit.cost = 2 * unit.length + 4096;
      } else {
        unit.cost = 2 * plans[i].info.size + 4096;
      }
    }
  }

  // 4. The archive goes to a temporary file beside `out`, removed unless everything succeeds.
  auto pending = PendingFile::create(out);
  if (!pending) return std::unexpected(pending.error());
  ArchiveSink sink(pending->fd(), pending->temp_path());
  ZipWriter writer(plans, sink, options.force_zip64);

  // 5. Workers compress; this thread appends finished units in archive order.
  try {
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<size_t>(threads, units.size()));
    Pipeline pipeline(plans, units, threads, options.level);
    for (size_t i = 0; i < units.size(); ++i) {
      Unit& unit = pipeline.wait(i);
      if (unit.error) return std::unexpected(std::move(*unit.error));
      if (auto st = writer.write_unit(unit); !st) return std::unexpected(st.error());
      // Give the memory back now, not when the whole archive is done.
      std::string().swap(unit.data);
      std::string().swap(unit.raw);
      std::string().swap(unit.sha256);
      pipeline.written(i);
    }
  } catch (const std::exception& e) {
    return fail(ErrorKind::internal, "cannot write '{}': {}", out.string(), e.what());
  }

  // 6. Central directory and end records, then move the archive into place.
  if (auto st = writer.finish(); !st) return std::unexpected(st.error());
  ZipResult result;
  result.archive_size = sink.offset();
  result.archive_sha256 = sink.sha256();
  result.archive_md5 = sink.md5();
  if (auto st = pending->commit(); !st) return std::unexpected(st.error());
  result.manifest = writer.take_manifest();
  return result;
}

}  // namespace cicd

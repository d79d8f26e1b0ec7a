// Making a complete raw deflate stream joinable: libdeflate compresses whole buffers only and
// always ends its output with a final block. To compress a big file in independent chunks we
// walk each chunk's blocks (decoding Huffman symbols without producing output) to find where the
// final block starts and ends, clear its BFINAL bit, and realign the end to a byte with an empty
// stored block, as zlib's Z_SYNC_FLUSH does. The next chunk's stream then follows directly.
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "artifact/archive_internal.hpp"

namespace cicd::artifact_detail {

namespace {

// Deflate bit order: least significant bit of each byte first.
class BitReader {
 public:
  explicit BitReader(std::string_view data)
      : m_data(reinterpret_cast<const uint8_t*>(data.data())), m_size(data.size()), m_bits(uint64_t{data.size()} * 8) {}

  uint64_t position() const { return m_pos; }
  bool overrun() const { return m_pos > m_bits; }

  // The next n (at most 32) bits, not consumed; bits past the end read as zero.
  uint32_t peek(unsigned n) const {
    size_t byte = static_cast<size_t>(m_pos >> 3);
    uint64_t word = 0;
    if constexpr (std::endian::native == std::endian::little) {
      if (byte + 8 <= m_size) {
        std::memcpy(&word, m_data + byte, 8);
        return static_cast<uint32_t>((word >> (m_pos & 7)) & ((uint64_t{1} << n) - 1));
      }
    }
    for (size_t i = 0; i < 8 && byte + i < m_size; ++i) word |= uint64_t{m_data[byte + i]} << (8 * i);
    return static_cast<uint32_t>((word >> (m_pos & 7)) & ((uint64_t{1} << n) - 1));
  }
  uint32_t take(unsigned n) {
    uint32_t v = peek(n);
    m_pos += n;
    return v;
  }
  void skip(uint64_t n) { m_pos += n; }
  void align() { m_pos = (m_pos + 7) & ~uint64_t{7}; }

 private:
  const uint8_t* m_data;
  size_t m_size;
  uint64_t m_bits;
  uint64_t m_pos = 0;
};

// A canonical Huffman code as one lookup table indexed by the next (bit-reversed) code bits.
class Huffman {
 public:
  // False when the lengths over-subscribe the code space (incomplete codes are legal).
  bool build(const uint8_t* lengths, size_t count) {
    std::array<uint16_t, 16> per_length{};
    unsigned longest = 0;
    for (size_t i = 0; i < count; ++i) {
      ++per_length[lengths[i]];
      longest = std::max<unsigned>(longest, lengths[i]);
    }
    per_length[0] = 0;
    int left = 1;
    for (unsigned len = 1; len <= 15; ++len) {
      left = left * 2 - per_length[len];
      if (left < 0) return false;
    }
    std::array<uint32_t, 16> next{};
    uint32_t code = 0;
    for (unsigned len = 1; len <= 15; ++len) {
      code = (code + per_length[len - 1]) << 1;
      next[len] = code;
    }
    m_bits = longest;
    m_table.assign(size_t{1} << longest, 0);
    for (size_t sym = 0; sym < count; ++sym) {
      unsigned len = lengths[sym];
      if (len == 0) continue;
      uint32_t c = next[len]++;
      uint32_t reversed = 0;
      for (unsigned i = 0; i < len; ++i) reversed |= ((c >> i) & 1u) << (len - 1 - i);
      auto entry = static_cast<uint16_t>((sym << 4) | len);
      for (size_t k = reversed; k < m_table.size(); k += size_t{1} << len) m_table[k] = entry;
    }
    return true;
  }

  // The next symbol, or -1 for a code that is not in the table.
  int decode(BitReader& in) const {
    if (m_bits == 0) return -1;
    uint16_t entry = m_table[in.peek(m_bits)];
    if ((entry & 15) == 0) return -1;
    in.skip(entry & 15);
    return entry >> 4;
  }

 private:
  unsigned m_bits = 0;
  std::vector<uint16_t> m_table;
};

constexpr std::array<uint8_t, 29> k_length_extra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<uint8_t, 30> k_distance_extra = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                      6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
constexpr std::array<uint8_t, 19> k_code_length_order = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

bool read_dynamic_codes(BitReader& in, Huffman& litlen, Huffman& distance) {
  unsigned hlit = in.take(5) + 257;
  unsigned hdist = in.take(5) + 1;
  unsigned hclen = in.take(4) + 4;
  std::array<uint8_t, 19> code_lengths{};
  for (unsigned i = 0; i < hclen; ++i) code_lengths[k_code_length_order[i]] = static_cast<uint8_t>(in.take(3));
  Huffman lengths_code;
  if (!lengths_code.build(code_lengths.data(), code_lengths.size())) return false;
  std::array<uint8_t, 288 + 32> lengths{};
  unsigned total = hlit + hdist;
  for (unsigned i = 0; i < total;) {
    int sym = lengths_code.decode(in);
    if (sym < 0 || in.overrun()) return false;
    if (sym < 16) {
      lengths[i++] = static_cast<uint8_t>(sym);
      continue;
    }
    unsigned repeat = 0;
    uint8_t value = 0;
    if (sym == 16) {
      if (i == 0) return false;
      value = lengths[i - 1];
      repeat = 3 + in.take(2);
    } else if (sym == 17) {
      repeat = 3 + in.take(3);
    } else {
      repeat = 11 + in.take(7);
    }
    if (i + repeat > total) return false;
    for (unsigned r = 0; r < repeat; ++r) lengths[i++] = value;
  }
  if (lengths[256] == 0) return false;  // no end-of-block code
  return litlen.build(lengths.data(), hlit) && distance.build(lengths.data() + hlit, hdist);
}

void fixed_codes(Huffman& litlen, Huffman& distance) {
  std::array<uint8_t, 288> lengths{};
  for (size_t i = 0; i < 288; ++i) lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  litlen.build(lengths.data(), lengths.size());
  std::array<uint8_t, 32> distances{};
  distances.fill(5);
  distance.build(distances.data(), distances.size());
}

// Steps over a compressed block's symbols up to and including its end-of-block code.
bool skip_symbols(BitReader& in, const Huffman& litlen, const Huffman& distance) {
  for (;;) {
    int sym = litlen.decode(in);
    if (sym < 0 || in.overrun()) return false;
    if (sym < 256) continue;
    if (sym == 256) return true;
    size_t length_code = static_cast<size_t>(sym - 257);
    if (length_code >= k_length_extra.size()) return false;
    in.skip(k_length_extra[length_code]);
    int dist = distance.decode(in);
    if (dist < 0 || static_cast<size_t>(dist) >= k_distance_extra.size()) return false;
    in.skip(k_distance_extra[static_cast<size_t>(dist)]);
  }
}

struct FinalBlock {
  uint64_t header_bit = 0;  // where its BFINAL bit is
  uint64_t end_bit = 0;     // just past its last bit
};

std::optional<FinalBlock> find_final_block(std::string_view stream) {
  BitReader in(stream);
  Huffman litlen, distance;
  for (;;) {
    uint64_t header = in.position();
    uint32_t final = in.take(1);
    uint32_t type = in.take(2);
    if (type == 0) {
      in.align();
      uint32_t len = in.take(16);
      uint32_t nlen = in.take(16);
      if ((len ^ 0xFFFFu) != nlen) return std::nullopt;
      in.skip(uint64_t{len} * 8);
    } else if (type == 1) {
      fixed_codes(litlen, distance);
      if (!skip_symbols(in, litlen, distance)) return std::nullopt;
    } else if (type == 2) {
      if (!read_dynamic_codes(in, litlen, distance) || !skip_symbols(in, litlen, distance)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (in.overrun()) return std::nullopt;
    if (final) return FinalBlock{header, in.position()};
  }
}

}  // namespace

bool make_deflate_joinable(std::string& stream) {
  auto block = find_final_block(stream);
  if (!block) return false;
  uint64_t total = uint64_t{stream.size()} * 8;
  // Only zero padding may follow the final block: those bits become the stored block's header.
  if (total - block->end_bit >= 8) return false;
  for (uint64_t bit = block->end_bit; bit < total; ++bit)
    if ((static_cast<uint8_t>(stream[bit >> 3]) >> (bit & 7)) & 1u) return false;
  stream[block->header_bit >> 3] =
      static_cast<char>(static_cast<uint8_t>(stream[block->header_bit >> 3]) & ~(1u << (block->header_bit & 7)));
  // Three zero bits (not final, stored), zero padding to the byte, then LEN 0 and NLEN 0xFFFF.
  stream.resize(static_cast<size_t>((block->end_bit + 3 + 7) / 8), '\0');
  stream.append("\x00\x00\xff\xff", 4);
  return true;
}

void append_stored_blocks(std::string& out, std::string_view data, bool final) {
  constexpr size_t k_max_stored = 65535;
  do {
    size_t n = std::min(data.size(), k_max_stored);
    bool last = n == data.size();
    out.push_back(static_cast<char>(final && last ? 1 : 0));
    out.push_back(static_cast<char>(n & 0xFF));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xFF));
    out.push_back(static_cast<char>((~n >> 8) & 0xFF));
    out.append(data.substr(0, n));
    data.remove_prefix(n);
  } while (!data.empty());
}

bool looks_incompressible(std::string_view data) {
  constexpr size_t k_min = 4096;
  constexpr size_t k_sample = 16 * 1024;
  if (data.size() < k_min) return false;
  std::array<uint32_t, 256> counts{};
  size_t sampled = 0;
  auto add = [&](size_t offset, size_t length) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + offset);
    for (size_t i = 0; i < length; ++i) ++counts[p[i]];
    sampled += length;
  };
  if (data.size() <= 4 * k_sample) {
    add(0, data.size());
  } else {
    for (size_t i = 0; i < 4; ++i) add(i * (data.size() - k_sample) / 3, k_sample);
  }
  double n = static_cast<double>(sampled);
  double entropy = 0;
  for (uint32_t c : counts) {
    if (c == 0) continue;
    double p = c / n;
    entropy -= p * std::log2(p);
  }
  // Uniformly random bytes measure a little under 8 bits on a finite sample (Miller-Madow bias,
  // 255 / (2 n ln 2)); the spread of that estimate shrinks like 1/n, hence the 100 / n margin.
  double expected = 8.0 - 255.0 / (2.0 * n * std::log(2.0));
  return entropy >= expected - 100.0 / n;
}

}  // namespace cicd::artifact_detail

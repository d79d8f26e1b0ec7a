// SHA-256 and MD5 digests and HMAC-SHA256 (Nettle), as lowercase hex.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace cicd {

enum class HashAlgorithm { sha256, md5 };

class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm = HashAlgorithm::sha256);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(std::string_view data);
  std::string hex();  // finishes the digest

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

std::string sha256_hex(std::string_view data);
// HMAC-SHA256 of `data` under `key` (RFC 2104), as webhooks sign their bodies.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace cicd

#include "util/hash.hpp"

#include <fcntl.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace cicd {

// Nettle rather than OpenSSL's EVP: within about 10% of its speed on large files, but with
// nothing to set up, where OpenSSL 3 loads its providers and its configuration on the first
// digest (a third of the instructions of a short `cbuild run`) after its library has cost every
// start a few thousand symbol look-ups.
namespace {

std::string to_hex(const uint8_t* digest, size_t len) {
  static const char* k_digits = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(k_digits[digest[i] >> 4]);
    out.push_back(k_digits[digest[i] & 15]);
  }
  return out;
}

}  // namespace

struct Hasher::Impl {
  HashAlgorithm algorithm;
  union {
    sha256_ctx sha256;
    md5_ctx md5;
  };
};

Hasher::Hasher(HashAlgorithm algorithm) : m_impl(std::make_unique<Impl>()) {
  m_impl->algorithm = algorithm;
  if (algorithm == HashAlgorithm::sha256) sha256_init(&m_impl->sha256);
  else md5_init(&m_impl->md5);
}

Hasher::~Hasher() = default;

void Hasher::update(std::string_view data) {
  auto bytes = reinterpret_cast<const uint8_t*>(data.data());
  if (m_impl->algorithm == HashAlgorithm::sha256) sha256_update(&m_impl->sha256, data.size(), bytes);
  else md5_update(&m_impl->md5, data.size(), bytes);
}

std::string Hasher::hex() {
  uint8_t digest[SHA256_DIGEST_SIZE];
  size_t len = 0;
  if (m_impl->algorithm == HashAlgorithm::sha256) {
    len = SHA256_DIGEST_SIZE;
    sha256_digest(&m_impl->sha256, len, digest);
  } else {
    len = MD5_DIGEST_SIZE;
    md5_digest(&m_impl->md5, len, digest);
  }
  return to_hex(digest, len);
}

std::string sha256_hex(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.hex();
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  hmac_sha256_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  uint8_t digest[SHA256_DIGEST_SIZE];
  hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  return to_hex(digest, SHA256_DIGEST_SIZE);
}

Result<std::string> sha256_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("cannot read '{}'", path.string()), errno);
  Hasher h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail_errno(fmt::format("cannot read '{}'", path.string()), err);
    }
    if (n == 0) break;
    h.update(std::string_view(buf, static_cast<size_t>(n)));
  }
  ::close(fd);
  return h.hex();
}

}  // namespace cicd

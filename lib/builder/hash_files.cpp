#include "builder/outputs.hpp"
#include "util/glob.hpp"
#include "util/hash.hpp"

namespace cicd {

Result<std::string> hash_files(const std::filesystem::path& base, const std::vector<std::string>& patterns) {
  auto files = glob_files(base, patterns, {}, {.symlinks = SymlinkMode::follow});
  if (!files) return std::unexpected(files.error());
  Hasher total;
  for (auto& f : *files) {
    auto digest = sha256_file(f.absolute);
    if (!digest) return std::unexpected(digest.error());
    total.update(f.relative);
    total.update(std::string_view("\0", 1));
    total.update(*digest);
    total.update("\n");
  }
  return total.hex();
}

}  // namespace cicd

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "artifact/archive.hpp"
#include "deploy/bundle_unpack.hpp"
#include "support/test_support.hpp"
#include "util/hash.hpp"

using namespace cicd;

TEST_CASE("bundle unpack: files, modes, empty directories, symlinks and a big file come back exactly", "[bundle]") {
  test::Scratch dir;
  std::vector<ArchiveEntry> entries;
  for (int i = 0; i < 300; ++i) {
    auto rel = "tree/d" + std::to_string(i % 7) + "/f" + std::to_string(i) + ".txt";
    dir.write("src/" + rel, std::string(static_cast<size_t>(i * 13), 'a' + static_cast<char>(i % 26)), i % 2 ? 0755 : 0644);
    entries.push_back({rel, dir / ("src/" + rel), false});
  }
  std::string big(20 << 20, 'z');
  dir.write("src/big.bin", big);
  entries.push_back({"big.bin", dir / "src/big.bin", false});
  std::filesystem::create_directories(dir / "src/empty");
  entries.push_back({"empty", dir / "src/empty", false});
  std::filesystem::create_symlink("tree/d1", dir / "src/link");
  entries.push_back({"link", dir / "src/link", true});
  REQUIRE(write_tar(entries, dir / "bundle.tar"));

  REQUIRE(unpack_own_bundle(dir / "bundle.tar", dir / "out"));
  for (int i = 0; i < 300; ++i) {
    auto rel = "tree/d" + std::to_string(i % 7) + "/f" + std::to_string(i) + ".txt";
    CHECK(dir.read("out/" + rel) == dir.read("src/" + rel));
    struct stat st {};
    REQUIRE(::stat((dir / ("out/" + rel)).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == (i % 2 ? 0755u : 0644u));
  }
  CHECK(*sha256_file(dir / "out/big.bin") == sha256_hex(big));
  CHECK(std::filesystem::is_directory(dir / "out/empty"));
  CHECK(std::filesystem::read_symlink(dir / "out/link") == "tree/d1");
}

TEST_CASE("bundle unpack: an unsafe name refuses the bundle", "[bundle]") {
  test::Scratch dir;
  dir.write("x", "x");
  // write_tar refuses unsafe names, so craft one with python's tarfile.
  auto made = test::run({"python3", "-c",
                         "import tarfile,sys; t=tarfile.open(sys.argv[1],'w'); t.add(sys.argv[2], arcname='../escape'); t.close()",
                         (dir / "evil.tar").string(), (dir / "x").string()});
  REQUIRE(made.exit_code == 0);
  auto r = unpack_own_bundle(dir / "evil.tar", dir / "out");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("unsafe entry name '../escape'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path().parent_path() / "escape"));
}

#include <sys/stat.h>

#include <fmt/format.h>

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

// The scratch directory holds the bundle and the destination `out`, so whatever a bundle would
// write outside `out` lands in it, where the tests look. Archives are crafted with python's
// tarfile: write_tar refuses to make them.
TEST_CASE("bundle unpack: a name leaving the destination refuses the bundle and writes nothing", "[bundle]") {
  test::Scratch dir;
  const auto escape = (dir / "escape").string();  // where every case below would write
  struct Case {
    std::string what;
    std::string name;
  };
  const std::vector<Case> cases = {
      {"../", "../escape"},
      {"../ deeper down", "sub/../../escape"},
      {"an absolute name", escape},
  };
  for (const auto& c : cases) {
    INFO(c.what << ": " << c.name);
    auto bundle = dir / "evil.tar";
    test::craft_archive(fmt::format(R"(with tarfile.open(out, "w") as t: tar_file(t, "ok.txt"); tar_file(t, "{}"))", c.name),
                        bundle);
    auto r = unpack_own_bundle(bundle, dir / "out");
    CHECK_FALSE(std::filesystem::exists(escape));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().message == fmt::format("bundle '{}': unsafe entry name '{}'", bundle.string(), c.name));
    std::filesystem::remove_all(dir / "out");
  }
}

// A symlink is checked as the archive extractor checks one: its target, resolved from the link's
// own directory, must stay inside the destination.
TEST_CASE("bundle unpack: a symlink pointing outside the destination refuses the bundle", "[bundle]") {
  test::Scratch dir;
  dir.write("outside/secret", "not the bundle's");
  struct Case {
    std::string what;
    std::string link;
    std::string target;
  };
  const std::vector<Case> cases = {
      {"an absolute target", "link", (dir / "outside").string()},
      {"an absolute target to a system directory", "etc", "/etc"},
      {"climbing out with ..", "link", "../outside"},
      {"climbing out from a subdirectory", "sub/link", "../../outside"},
      {"climbing out through a sibling link", "a", "b/../.."},
  };
  for (const auto& c : cases) {
    INFO(c.what << ": " << c.link << " -> " << c.target);
    auto bundle = dir / "evil.tar";
    test::craft_archive(fmt::format(R"(with tarfile.open(out, "w") as t: tar_file(t, "sub/ok.txt"); tar_link(t, "b", "."); tar_link(t, "{}", "{}"))",
                                    c.link, c.target),
                        bundle);
    auto r = unpack_own_bundle(bundle, dir / "out");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK_THAT(r.error().message, Catch::Contains("'" + c.link + "'"));
    CHECK_FALSE(std::filesystem::is_symlink(dir / "out" / c.link));
    std::filesystem::remove_all(dir / "out");
  }
}

// (A target that climbs back after descending, "b/../b/x", is refused by the shared rule even when
// it would land inside: the component it descends through could itself be a symlink.)
TEST_CASE("bundle unpack: symlinks that stay inside the destination are kept as they are", "[bundle]") {
  test::Scratch dir;
  test::craft_archive(R"(
with tarfile.open(out, "w") as t:
    tar_file(t, "a/b/data.txt", b"data")
    tar_link(t, "a/b/here", "data.txt")
    tar_link(t, "top", "a/b")
    tar_link(t, "a/b/back", "../../a/b/data.txt")
)",
                      dir / "ok.tar");
  REQUIRE(unpack_own_bundle(dir / "ok.tar", dir / "out"));
  CHECK(std::filesystem::read_symlink(dir / "out/a/b/here") == "data.txt");
  CHECK(std::filesystem::read_symlink(dir / "out/top") == "a/b");
  CHECK(std::filesystem::read_symlink(dir / "out/a/b/back") == "../../a/b/data.txt");
  CHECK(dir.read("out/a/b/back") == "data");
  CHECK(dir.read("out/top/data.txt") == "data");
}

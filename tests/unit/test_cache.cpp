// The build cache's restore writes only inside the source directory (the entry in the store is not
// to be trusted: a store may be shared, or hand-edited).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "builder/outputs.hpp"
#include "store/store.hpp"
#include "support/test_support.hpp"

using namespace cicd;
namespace fs = std::filesystem;

namespace {

// A cache entry "deps" of project "web" whose tar is made by test::craft_tar(script).
void craft_entry(const test::Scratch& dir, LocalStore& store, const std::string& script) {
  auto tar = dir / "crafted.tar";
  test::craft_tar(script, tar);
  REQUIRE(store.put_file("cache/web/k-deps/cache.tar", tar));
  REQUIRE(store.put_json("cache/web/k-deps/meta.json",
                         Json{{"key", "deps"}, {"savedAt", "2024-01-01T00:00:00.000Z"}, {"files", 1}}));
}

CacheSpec paths(std::vector<std::string> globs) {
  CacheSpec spec;
  spec.present = true;
  for (auto& g : globs) spec.paths.push_back({g, {}});
  return spec;
}

}  // namespace

TEST_CASE("cache: saved files, modes and symlinks come back into the source directory", "[cache]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  BuildCache cache(store, "web");
  dir.write("src/deps/lib/a.txt", "a");
  dir.write("src/deps/bin/tool", "#!/bin/sh\n", 0755);
  fs::create_symlink("../lib/a.txt", dir / "src/deps/bin/a");
  REQUIRE(cache.save(paths({"deps/**/*"}), "deps", dir / "src") == size_t{3});

  // Into a fresh tree, and over one where the files (or a symlink in their place) exist.
  dir.write("again/deps/lib/a.txt", "stale");
  fs::create_directories(dir / "again/deps/bin");
  dir.write("outside.txt", "untouched");
  fs::create_symlink(dir / "outside.txt", dir / "again/deps/bin/tool");
  for (auto target : {"fresh", "again"}) {
    INFO(target);
    auto restored = cache.restore({}, "deps", {}, dir / target);
    REQUIRE(restored);
    CHECK(restored->matched_key == "deps");
    CHECK(restored->files == 3);
    CHECK(dir.read(std::string(target) + "/deps/lib/a.txt") == "a");
    CHECK(fs::read_symlink(dir / target / "deps/bin/a") == "../lib/a.txt");
    struct stat st {};
    REQUIRE(::lstat((dir / target / "deps/bin/tool").c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 0777) == 0755);
  }
  // The symlink that stood where a file goes was replaced, not written through.
  CHECK(dir.read("outside.txt") == "untouched");
}

TEST_CASE("cache: an absolute path is neither saved nor ever restored", "[cache]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  BuildCache cache(store, "web");
  dir.write("src/keep.txt", "k");
  dir.write("abs/file.txt", "a");
  REQUIRE(cache.save(paths({"keep.txt", (dir / "abs").string() + "/**/*"}), "deps", dir / "src") == size_t{1});

  // An entry that holds one (an older cbuild's, or planted) restores nothing at all.
  auto victim = dir / "victim.txt";
  craft_entry(dir, store, "file('src/fine.txt', b'cached'); file('root/" + victim.relative_path().string() + "')");
  auto restored = cache.restore({}, "deps", {}, dir / "src");
  REQUIRE_FALSE(restored);
  CHECK(restored.error().kind == ErrorKind::invalid);
  CHECK(restored.error().message ==
        "cache entry 'deps' holds '" + victim.string() +
            "', which is not under the source directory; cbuild restores a cache only there (an entry saved with "
            "absolute paths by an older cbuild is not restored)");
  CHECK_FALSE(fs::exists(victim));
  CHECK_FALSE(fs::exists(dir / "src/fine.txt"));
}

TEST_CASE("cache: a restore never writes through a symlink already in the source tree", "[cache]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  BuildCache cache(store, "web");
  fs::create_directories(dir / "outside");
  fs::create_directories(dir / "src");
  fs::create_symlink(dir / "outside", dir / "src/node_modules");
  craft_entry(dir, store, "file('src/node_modules/evil.js')");
  auto restored = cache.restore({}, "deps", {}, dir / "src");
  REQUIRE_FALSE(restored);
  CHECK(restored.error().kind == ErrorKind::invalid);
  CHECK(restored.error().message ==
        "cache entry 'deps': 'node_modules/evil.js' would be written through the symlink 'node_modules'");
  CHECK(fs::is_empty(dir / "outside"));
}

TEST_CASE("cache: a cached symlink may point only inside the source directory", "[cache]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  BuildCache cache(store, "web");
  // Inside the archive ("src/a/link" -> "../../x" reaches the archive's root), outside the source.
  craft_entry(dir, store, "file('src/a/ok.txt'); link('src/a/link', '../../x')");
  auto restored = cache.restore({}, "deps", {}, dir / "src");
  REQUIRE_FALSE(restored);
  CHECK(restored.error().message ==
        "cache entry 'deps': 'a/link' is a symlink pointing outside the source directory ('../../x')");
  CHECK_FALSE(fs::exists(dir / "src/a"));
}

TEST_CASE("cache: a corrupt entry's metadata is an error naming its file", "[cache]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  BuildCache cache(store, "web");
  REQUIRE(store.put("cache/web/k-deps/meta.json", R"({"key": 7})"));
  auto exact = cache.restore({}, "deps", {}, dir / "src");
  REQUIRE_FALSE(exact);
  CHECK(exact.error().message ==
        "'" + (dir / "store/cache/web/k-deps/meta.json").string() +
            "': cache entry metadata: field 'key' is a number, not a string");
  auto fallback = cache.restore({}, "other", {"de"}, dir / "src");
  REQUIRE_FALSE(fallback);
  CHECK(fallback.error().message == exact.error().message);
}

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

using namespace cicd;

TEST_CASE("fs: atomic write replaces content and keeps the mode", "[fs]") {
  test::Scratch dir;
  auto p = dir / "a/b/file.txt";
  REQUIRE(write_file_atomic(p, "one"));
  REQUIRE(write_file_atomic(p, "two", {.mode = 0600}));
  CHECK(*read_file(p) == "two");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(p.parent_path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("fs: reading a missing file says so", "[fs]") {
  auto r = read_file("/nonexistent/x");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::not_found);
  CHECK(r.error().message == "cannot read '/nonexistent/x': no such file");
}

TEST_CASE("fs: a lock excludes a second holder until released", "[fs]") {
  test::Scratch dir;
  auto lock = FileLock::acquire(dir / "l.lock");
  REQUIRE(lock);
  auto second = FileLock::acquire(dir / "l.lock", LockMode::exclusive, LockWait::try_once);
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::conflict);
  lock->release();
  CHECK(FileLock::acquire(dir / "l.lock", LockMode::exclusive, LockWait::try_once));
}

TEST_CASE("fs: safe relative paths", "[fs]") {
  CHECK(is_safe_relative_path("a/b/c"));
  CHECK(is_safe_relative_path("a/..b"));
  CHECK_FALSE(is_safe_relative_path("../a"));
  CHECK_FALSE(is_safe_relative_path("a/../../b"));
  CHECK_FALSE(is_safe_relative_path("/etc/passwd"));
  CHECK_FALSE(is_safe_relative_path(""));
}

TEST_CASE("glob: pattern matching", "[glob]") {
  CHECK(GlobPattern("**/*").matches("a"));
  CHECK(GlobPattern("**/*").matches("a/b/c.txt"));
  CHECK(GlobPattern("*.jar").matches("x.jar"));
  CHECK_FALSE(GlobPattern("*.jar").matches("lib/x.jar"));
  CHECK(GlobPattern("target/**/*.jar").matches("target/x.jar"));
  CHECK(GlobPattern("target/**/*.jar").matches("target/a/b/x.jar"));
  CHECK_FALSE(GlobPattern("target/**/*.jar").matches("other/x.jar"));
  CHECK(GlobPattern("src/*/[ab].c").matches("src/m/a.c"));
  CHECK_FALSE(GlobPattern("src/*/[ab].c").matches("src/m/c.c"));
  CHECK(GlobPattern("a/**").matches("a/b/c"));
  CHECK(GlobPattern("target/**/*.jar").literal_prefix() == "target");
}

TEST_CASE("glob: files under a base, directories, excludes", "[glob]") {
  test::Scratch dir;
  dir.write("src/a.c", "a");
  dir.write("src/sub/b.c", "b");
  dir.write("src/sub/b.h", "h");
  dir.write("dist/app.js", "j");
  dir.write("dist/maps/app.js.map", "m");
  dir.write(".hidden", "x");
  auto names = [](const std::vector<GlobEntry>& es) {
    std::vector<std::string> out;
    for (auto& e : es) out.push_back(e.relative);
    return out;
  };
  auto all = glob_files(dir.path(), {"**/*"});
  REQUIRE(all);
  CHECK(names(*all) == std::vector<std::string>{".hidden", "dist/app.js", "dist/maps/app.js.map",
                                                 "src/a.c", "src/sub/b.c", "src/sub/b.h"});
  auto cs = glob_files(dir.path(), {"src/**/*.c"});
  CHECK(names(*cs) == std::vector<std::string>{"src/a.c", "src/sub/b.c"});
  auto whole_dir = glob_files(dir.path(), {"dist"}, {"**/*.map"});
  CHECK(names(*whole_dir) == std::vector<std::string>{"dist/app.js"});
  auto excluded_dir = glob_files(dir.path(), {"**/*"}, {"src/sub/", ".hidden"});
  CHECK(names(*excluded_dir) == std::vector<std::string>{"dist/app.js", "dist/maps/app.js.map", "src/a.c"});
  auto none = glob_files(dir.path(), {"nothing/*"});
  CHECK(none->empty());
}

TEST_CASE("glob: symlinks kept or followed", "[glob]") {
  test::Scratch dir;
  dir.write("real/f.txt", "f");
  std::filesystem::create_directory_symlink(dir / "real", dir / "link");
  auto kept = glob_files(dir.path(), {"**/*"});
  // A kept link is an entry of its own, never descended.
  REQUIRE(kept->size() == 2);
  CHECK((*kept)[0].relative == "link");
  CHECK((*kept)[0].is_symlink);
  auto followed = glob_files(dir.path(), {"**/*"}, {}, {.symlinks = SymlinkMode::follow});
  REQUIRE(followed->size() == 2);
  CHECK((*followed)[0].relative == "link/f.txt");
}

TEST_CASE("strings: did-you-mean and masking", "[strings]") {
  std::vector<std::string_view> keys = {"pre_build", "post_build", "build", "install"};
  CHECK(closest_match("pre-build", keys) == "pre_build");
  CHECK(closest_match("buidl", keys) == "build");
  CHECK_FALSE(closest_match("zzzzzzzz", keys));
  std::vector<std::string> secrets = {"hunter2", "hunter"};
  CHECK(mask_secrets("pw=hunter2 and hunter", secrets) == "pw=*** and ***");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("plain/path") == "plain/path");
  CHECK(parse_uint("0123") == 123);
  CHECK_FALSE(parse_uint("-1"));
}

TEST_CASE("hash and time", "[hash]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto t = parse_iso8601("2026-11-26T05:03:27.123Z");
  REQUIRE(t);
  CHECK(format_iso8601(*t) == "2026-11-26T05:03:27.123Z");
  auto id = make_uuid();
  CHECK(id.size() == 36);
  CHECK(id[14] == '4');
}

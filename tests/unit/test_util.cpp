#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/hash.hpp"
#include "util/json.hpp"
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

TEST_CASE("strings: paths normalized from the root never climb above it", "[strings]") {
  CHECK(normalize_absolute_path("/srv/../../../../tmp/x") == "/tmp/x");
  CHECK(normalize_absolute_path("/srv/./app//web/") == "/srv/app/web");
  CHECK(normalize_absolute_path("srv/app/../x") == "/srv/x");
  CHECK(normalize_absolute_path("..") == "/");
  CHECK(normalize_absolute_path("") == "/");
  CHECK(normalize_absolute_path("/a/..b/c..") == "/a/..b/c..");  // names that merely hold dots
  CHECK(has_dotdot_component("/srv/../x"));
  CHECK(has_dotdot_component(".."));
  CHECK(has_dotdot_component("a/.."));
  CHECK_FALSE(has_dotdot_component("/a/..b/c../...x"));
}

TEST_CASE("fs: a directory that cannot be synced is an error, not a silent success", "[fs]") {
  // procfs implements no fsync: fsync(2) fails there with EINVAL.
  auto st = sync_directory("/proc");
  REQUIRE_FALSE(st);
  CHECK(st.error().kind == ErrorKind::io);
  CHECK(st.error().message == "cannot sync directory '/proc': Invalid argument");
  test::Scratch dir;
  CHECK(sync_directory(dir.path()));
}

TEST_CASE("json: a parse error names the document without the library's tag", "[json]") {
  auto r = parse_json("{\"a\": 1,", "'store/builds/x.json'");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::invalid);
  CHECK(r.error().message ==
        "cannot parse 'store/builds/x.json': parse error at line 1, column 9: syntax error while parsing object key - "
        "unexpected end of input; expected string literal");
}

TEST_CASE("json: JsonReader reads by type and names the first wrong field", "[json]") {
  auto doc = unwrap(parse_json(R"({"s": "text", "n": 42, "b": true, "o": {"inner": [1]}, "list": [{"k": "v"}, 3],
                                  "names": ["a", 2], "big": 5000000000, "neg": -1, "nul": null, "f": 1.5})",
                               "doc"));
  SECTION("fields of the right type, absent ones and nulls as their fallbacks") {
    JsonReader j(doc, "record");
    CHECK(j.string("s") == "text");
    CHECK(j.integer<int>("n") == 42);
    CHECK(j.boolean("b"));
    CHECK(j.string("absent", "x") == "x");
    CHECK(j.string("nul", "y") == "y");
    CHECK(j.integer<int64_t>("big") == 5000000000);
    CHECK(j.object("absent").empty());
    CHECK(j.object("absent").string("s", "z") == "z");
    CHECK(j.status());
  }
  auto first_error = [&](const std::function<void(JsonReader&)>& read) {
    JsonReader j(doc, "record");
    read(j);
    auto st = j.status();
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == ErrorKind::invalid);
    return st.error().message;
  };
  CHECK(first_error([](JsonReader& j) { (void)j.string("n"); }) == "record: field 'n' is a number, not a string");
  CHECK(first_error([](JsonReader& j) { (void)j.integer<int>("s"); }) == "record: field 's' is a string, not an integer");
  CHECK(first_error([](JsonReader& j) { (void)j.integer<int>("f"); }) == "record: field 'f' is a number, not an integer");
  CHECK(first_error([](JsonReader& j) { (void)j.integer<int>("big"); }) == "record: field 'big' is out of range (5000000000)");
  CHECK(first_error([](JsonReader& j) { (void)j.integer<uint64_t>("neg"); }) == "record: field 'neg' is out of range (-1)");
  CHECK(first_error([](JsonReader& j) { (void)j.boolean("s"); }) == "record: field 's' is a string, not true or false");
  CHECK(first_error([](JsonReader& j) { (void)j.required_string("id"); }) == "record: field 'id' is missing");
  CHECK(first_error([](JsonReader& j) { (void)j.object("s"); }) == "record: field 's' is a string, not an object");
  CHECK(first_error([](JsonReader& j) { (void)j.object("o").string("inner"); }) ==
        "record: field 'o.inner' is an array, not a string");
  CHECK(first_error([](JsonReader& j) {
          for (auto& item : j.objects("list")) (void)item.string("k");
        }) == "record: field 'list[1]' is a number, not an object");
  CHECK(first_error([](JsonReader& j) { (void)j.objects("o"); }) == "record: field 'o' is an object, not an array");
  CHECK(first_error([](JsonReader& j) { (void)j.strings("names"); }) == "record: field 'names[1]' is a number, not a string");
  CHECK(first_error([](JsonReader& j) { j.reject("s", "is not a time: 'text'"); }) ==
        "record: field 's' is not a time: 'text'");
  // The first problem is the one reported.
  CHECK(first_error([](JsonReader& j) {
          (void)j.string("n");
          (void)j.boolean("s");
        }) == "record: field 'n' is a number, not a string");
  // A document that is not an object at all.
  Json not_an_object = Json::array();  // the reader keeps a pointer: the document must outlive it
  JsonReader array(not_an_object, "build record");
  CHECK(array.string("id").empty());
  REQUIRE_FALSE(array.status());
  CHECK(array.status().error().message == "build record is an array, not an object");
}

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "store/store.hpp"
#include "support/test_support.hpp"

using namespace cicd;

TEST_CASE("store: put, get, list, remove", "[store]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  CHECK_FALSE(*store.get("builds/web/a.json"));
  auto etag = store.put("builds/web/a.json", "{}");
  REQUIRE(etag);
  REQUIRE(store.put("builds/web/b/c.json", "x"));
  REQUIRE(store.put("builds/api/d.json", "y"));
  auto got = store.get("builds/web/a.json");
  REQUIRE(*got);
  CHECK((*got)->data == "{}");
  CHECK((*got)->etag == *etag);
  CHECK(*store.list("builds/web/") == std::vector<std::string>{"builds/web/a.json", "builds/web/b/c.json"});
  CHECK(*store.list("builds/") == std::vector<std::string>{"builds/api/d.json", "builds/web/a.json",
                                                            "builds/web/b/c.json"});
  CHECK(store.list("nothing/")->empty());
  REQUIRE(store.remove("builds/web/a.json"));
  REQUIRE(store.remove("builds/web/a.json"));
  CHECK_FALSE(*store.get("builds/web/a.json"));
}

TEST_CASE("store: keys are checked", "[store]") {
  test::Scratch dir;
  LocalStore store(dir.path());
  CHECK_FALSE(is_valid_store_key("../x"));
  CHECK_FALSE(is_valid_store_key("a/../../x"));
  CHECK_FALSE(is_valid_store_key("/abs"));
  CHECK_FALSE(is_valid_store_key("a/.hidden"));
  CHECK(is_valid_store_key("a/b.json"));
  CHECK_FALSE(store.put("../escape", "x"));
}

TEST_CASE("store: conditional puts", "[store]") {
  test::Scratch dir;
  LocalStore store(dir.path());
  REQUIRE(store.put("k", "1", PutCondition::if_absent()));
  auto again = store.put("k", "2", PutCondition::if_absent());
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::conflict);
  auto current = *store.get("k");
  REQUIRE(store.put("k", "2", PutCondition::if_match(current->etag)));
  auto stale = store.put("k", "3", PutCondition::if_match(current->etag));
  REQUIRE_FALSE(stale);
  CHECK(stale.error().message == "'k' changed in the store since it was read");
  CHECK((*store.get("k"))->data == "2");
}

TEST_CASE("store: concurrent read-modify-write loses no update", "[store]") {
  test::Scratch dir;
  LocalStore store(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      LocalStore mine(dir.path());
      for (int i = 0; i < 40; ++i) {
        auto r = mine.update_json("counter.json", [](std::optional<Json> cur) -> Result<Json> {
          Json next = cur ? *cur : Json{{"n", 0}};
          next["n"] = next["n"].get<int>() + 1;
          return next;
        });
        REQUIRE(r);
      }
    });
  for (auto& t : threads) t.join();
  auto final_value = store.get_json("counter.json");
  REQUIRE(*final_value);
  CHECK((**final_value)["n"] == 240);
}

TEST_CASE("store: blobs in and out", "[store]") {
  test::Scratch dir;
  LocalStore store(dir / "s");
  auto src = dir.write("blob.bin", std::string(100000, 'x'));
  REQUIRE(store.put_file("blobs/b.bin", src));
  REQUIRE(store.get_file("blobs/b.bin", dir / "out/b.bin"));
  CHECK(dir.read("out/b.bin") == std::string(100000, 'x'));
  auto missing = store.get_file("blobs/none", dir / "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("store: home resolution", "[store]") {
  auto paths = unwrap(resolve_home("/tmp/h", ""));
  CHECK(paths.home == "/tmp/h");
  CHECK(paths.store == "/tmp/h/store");
  auto explicit_store = unwrap(resolve_home("/tmp/h", "/tmp/s"));
  CHECK(explicit_store.store == "/tmp/s");
}

namespace {

// Variables to set (or, with nullopt, to unset).
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Changes environment variables for one test, and puts them back.
class EnvironmentGuard {
 public:
  explicit EnvironmentGuard(const EnvChanges& changes) {
    for (auto& [name, value] : changes) {
      const char* old = std::getenv(name.c_str());
      m_saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }
  ~EnvironmentGuard() {
    for (auto& [name, value] : m_saved) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }
  EnvironmentGuard(const EnvironmentGuard&) = delete;
  EnvironmentGuard& operator=(const EnvironmentGuard&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> m_saved;
};

}  // namespace

TEST_CASE("store: without HOME and no --home or CICD_HOME there is no home, not one under /tmp", "[store]") {
  EnvironmentGuard env(EnvChanges{{"HOME", std::nullopt}, {"CICD_HOME", std::nullopt},
                                  {"XDG_DATA_HOME", std::nullopt}, {"CICD_STORE", std::nullopt}});
  auto none = resolve_home();
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == ErrorKind::usage);
  CHECK(none.error().message ==
        "cannot tell where the home is: HOME is not set; give --home DIR or set CICD_HOME (the home holds "
        "definitions, the store and secret parameters, so it is never guessed)");
  // An empty HOME is no better, and --store alone does not say where the parameters go.
  {
    EnvironmentGuard empty(EnvChanges{{"HOME", ""}});
    CHECK_FALSE(resolve_home());
    CHECK_FALSE(resolve_home("", "/tmp/s"));
  }
  // Any of the ways to name it will do.
  CHECK(unwrap(resolve_home("/srv/cicd")).home == "/srv/cicd");
  {
    EnvironmentGuard set(EnvChanges{{"CICD_HOME", "/srv/h"}});
    CHECK(unwrap(resolve_home()).home == "/srv/h");
  }
  {
    EnvironmentGuard set(EnvChanges{{"XDG_DATA_HOME", "/srv/xdg"}});
    CHECK(unwrap(resolve_home()).home == "/srv/xdg/cicd");
  }
  {
    EnvironmentGuard set(EnvChanges{{"HOME", "/home/u"}});
    CHECK(unwrap(resolve_home()).home == "/home/u/.local/share/cicd");
  }
}

TEST_CASE("store: a truncated or corrupt record is an error naming its file", "[store]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  REQUIRE(store.put("builds/web/1.json", "{\"id\": \"web:1\", \"buildSta"));
  auto path = (dir / "store/builds/web/1.json").string();
  auto got = store.get_json("builds/web/1.json");
  REQUIRE_FALSE(got);
  CHECK(got.error().kind == ErrorKind::invalid);
  CHECK(got.error().message == "cannot parse '" + path +
                                   "': parse error at line 1, column 26: syntax error while parsing object key - "
                                   "invalid string: missing closing quote; last read: '\"buildSta'; expected string "
                                   "literal");
  // update_json refuses to build on it: the record is left as it was.
  auto updated = store.update_json("builds/web/1.json", [](std::optional<Json>) -> Result<Json> { return Json::object(); });
  REQUIRE_FALSE(updated);
  CHECK(updated.error().message == got.error().message);
  CHECK(dir.read("store/builds/web/1.json") == "{\"id\": \"web:1\", \"buildSta");

  // get_record adds the file to what the record's parser says.
  REQUIRE(store.put("r/ok.json", R"({"n": "x"})"));
  auto parse = +[](const Json& j) -> Result<int> {
    JsonReader r(j, "test record");
    int n = r.integer<int>("n");
    if (auto st = r.status(); !st) return std::unexpected(st.error());
    return n;
  };
  auto record = get_record(store, "r/ok.json", parse);
  REQUIRE_FALSE(record);
  CHECK(record.error().message ==
        "'" + (dir / "store/r/ok.json").string() + "': test record: field 'n' is a string, not an integer");
  auto absent = get_record(store, "r/none.json", parse);
  REQUIRE(absent);
  CHECK_FALSE(*absent);
}

TEST_CASE("store: put_file over a key leaves no temporary file, and a file already in place is kept", "[store]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  auto src = dir.write("a.bin", "one");
  REQUIRE(store.put_file("blobs/a.bin", src));
  REQUIRE(store.put_file("blobs/a.bin", dir.write("b.bin", "two")));
  CHECK(dir.read("store/blobs/a.bin") == "two");
  REQUIRE(store.put_file("blobs/a.bin", dir / "store/blobs/a.bin"));  // onto itself
  CHECK(dir.read("store/blobs/a.bin") == "two");
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "store/blobs"), std::filesystem::directory_iterator()) == 1);
}

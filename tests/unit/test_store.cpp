#include <catch2/catch.hpp>
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
  auto paths = resolve_home("/tmp/h", "");
  CHECK(paths.home == "/tmp/h");
  CHECK(paths.store == "/tmp/h/store");
  auto explicit_store = resolve_home("/tmp/h", "/tmp/s");
  CHECK(explicit_store.store == "/tmp/s");
}

// store/definitions on its own, with a toy kind: widgets in the area "toys" of a tool "ctoy".
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>

#include "store/definition_fields.hpp"
#include "store/definitions.hpp"
#include "support/test_support.hpp"

using namespace cicd;
using cicd::test::Scratch;

namespace {

constexpr std::string_view k_widgets = "widgets";

struct Widget {
  std::string name;
  std::string id;
  std::string create_time;
  std::string color;  // optional, may be written empty
  long long size = 0;
  bool operator==(const Widget&) const = default;
};

Definitions toys(const Scratch& scratch) { return Definitions(scratch.path(), "toys", "ctoy"); }

Status write_widget(const Definitions& defs, std::string_view kind, const Widget& w) {
  return defs.write(kind, w.name, fmt::format("widget '{}'", w.name), [&](YAML::Emitter& out) {
    definition::emit(out, "widgetName", w.name);
    definition::emit(out, "widgetId", w.id);
    definition::emit(out, "createTime", w.create_time);
    definition::emit(out, "color", w.color);
    out << YAML::Key << "size" << YAML::Value << w.size;
  });
}

// A kind's parse function as a per-kind parser writes one: every field read, every problem
// reported.
std::optional<Widget> parse_widget(const YAML::Node& root, std::string_view name, Diagnostics& d) {
  static constexpr std::array<std::string_view, 5> k_keys = {"widgetName", "widgetId", "createTime",
                                                             "color", "size"};
  constexpr std::string_view where = "the widget definition";
  auto entries = yaml::entries(root, where, k_keys, d, yaml::UnknownKeys::error);
  definition::require_keys(entries, std::span(k_keys).first(3), root, where, d);
  Widget w;
  for (auto& e : entries) {
    if (e.key == "widgetName")
      definition::read_name(e, "widget", name, definition::file_name_place(name), d, w.name);
    else if (e.key == "widgetId")
      definition::read_id(e, d, w.id);
    else if (e.key == "createTime")
      definition::read_time(e, d, w.create_time);
    else if (e.key == "color")
      w.color = definition::optional_text(e, d).value_or("");
    else if (e.key == "size")
      w.size = yaml::integer(e, d).value_or(0);
  }
  return w;
}

Result<Widget> read_widget(const Definitions& defs, std::string_view kind,
                           const std::string& name) {
  return defs.read<Widget>(
      kind, name, "widget", fmt::format("widget '{}' does not exist", name),
      [&](const YAML::Node& root, Diagnostics& d) { return parse_widget(root, name, d); });
}

Widget widget(std::string name) {
  return Widget{std::move(name), "6f1c1a5e-8c3e-4e47-9d55-0c3c2f7e9a10", "2026-01-31T12:00:00.000Z",
                "red", 3};
}

Status create_widget(const Definitions& defs, const Widget& w) {
  return defs.create(k_widgets, w.name, fmt::format("widget '{}' already exists", w.name),
                     [&] { return write_widget(defs, k_widgets, w); });
}

}  // namespace

// is_valid_resource_name's cases are in test_resources.cpp, where it was first used.
TEST_CASE("definitions: why a name is not a resource name", "[definitions]") {
  CHECK_FALSE(resource_name_problem("widget", "w1"));
  CHECK(resource_name_problem("widget", "") == "widget name is empty");
  CHECK(resource_name_problem("widget", "a/b") ==
        "invalid widget name 'a/b': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)");
}

TEST_CASE("definitions: where the files are", "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  CHECK(defs.home() == scratch.path());
  CHECK(defs.dir(k_widgets) == scratch.path() / "toys" / "widgets");
  CHECK(defs.path(k_widgets, "w1") == scratch.path() / "toys" / "widgets" / "w1.yml");
  // A kind may be nested, for resources that belong to another.
  CHECK(defs.path("parts/w1", "p") == scratch.path() / "toys" / "parts" / "w1" / "p.yml");
}

TEST_CASE("definitions: write, read, list and remove round trip", "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  CHECK(defs.list(k_widgets)->empty());
  CHECK_FALSE(defs.exists(k_widgets, "w1"));

  Widget w = widget("w1");
  w.color = "a: b, 'quoted' \"too\"";  // the emitter quotes what needs it
  REQUIRE(write_widget(defs, k_widgets, w));
  CHECK(defs.exists(k_widgets, "w1"));
  CHECK(scratch.read("toys/widgets/w1.yml")
            .starts_with("# ctoy widget 'w1'. This file may be edited by hand: ctoy checks it on "
                         "every read.\n\nwidgetName: w1\n"));
  auto read = read_widget(defs, k_widgets, "w1");
  REQUIRE(read);
  CHECK(*read == w);

  // Writing again replaces the file.
  w.size = 4;
  REQUIRE(write_widget(defs, k_widgets, w));
  CHECK(read_widget(defs, k_widgets, "w1")->size == 4);

  REQUIRE(write_widget(defs, k_widgets, widget("a0")));
  CHECK(*defs.list(k_widgets) == std::vector<std::string>{"a0", "w1"});

  REQUIRE(defs.remove(k_widgets, "w1"));
  CHECK_FALSE(defs.exists(k_widgets, "w1"));
  CHECK(*defs.list(k_widgets) == std::vector<std::string>{"a0"});
  REQUIRE(defs.remove(k_widgets, "w1"));  // already gone: no error

  auto missing = read_widget(defs, k_widgets, "w1");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message == "widget 'w1' does not exist");
}

TEST_CASE("definitions: names that are not resource names never reach the file system",
          "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  auto message =
      "invalid resource name '../evil': use 1 to 100 letters, digits, '.', '_' or '-' (not only "
      "dots)";
  auto written = write_widget(defs, k_widgets, widget("../evil"));
  REQUIRE_FALSE(written);
  CHECK(written.error().kind == ErrorKind::invalid);
  CHECK(written.error().message == message);
  CHECK(read_widget(defs, k_widgets, "../evil").error().message == message);
  CHECK(defs.remove(k_widgets, "../evil").error().message == message);
  CHECK_FALSE(std::filesystem::exists(scratch.path() / "toys" / "evil.yml"));
  scratch.write("toys/evil.yml", "");
  CHECK_FALSE(defs.exists(k_widgets, "../evil"));
}

TEST_CASE("definitions: listing skips what is not a definition", "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  REQUIRE(write_widget(defs, k_widgets, widget("w1")));
  scratch.write("toys/widgets/w1.yml.tmp.0123456789abcdef", "half written");
  scratch.write("toys/widgets/w2.yml.tmp.0123456789abcdef", "half written");
  scratch.write("toys/widgets/notes.txt", "hello");
  scratch.write("toys/widgets/bad name.yml", "widgetName: bad name\n");
  scratch.write("toys/widgets/...yml", "");
  std::filesystem::create_directories(scratch.path() / "toys" / "widgets" / "sub");
  CHECK(*defs.list(k_widgets) == std::vector<std::string>{"w1"});
  CHECK(defs.list("gadgets")->empty());
}

TEST_CASE("definitions: a hand-edited file reports all its problems at once, with positions",
          "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  auto path = scratch.write("toys/widgets/w1.yml",
                            "# edited by hand\n"
                            "widgetName: w2\n"
                            "widgetId: ''\n"
                            "colour: red\n"
                            "size: big\n"
                            "createTime: yesterday\n");
  auto result = read_widget(defs, k_widgets, "w1");
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK(result.error().message == fmt::format("invalid widget definition '{}'", path.string()));
  std::string p = path.string();
  CHECK(result.error().details ==
        std::vector<std::string>{
            p + ":2:13: error: 'widgetName' is 'w2', which does not match the file name 'w1.yml'; "
                "rename one to match",
            p + ":3:11: error: 'widgetId' is empty",
            p + ":4:1: error: unknown key 'colour' in the widget definition; did you mean 'color'?",
            p + ":5:7: error: 'size' must be an integer; got 'big'",
            p + ":6:13: error: 'createTime' must be an ISO-8601 time such as "
                "2026-01-31T12:00:00.000Z; got "
                "'yesterday'",
        });

  scratch.write("toys/widgets/w1.yml", "color:\n");
  CHECK(read_widget(defs, k_widgets, "w1").error().details ==
        std::vector<std::string>{p + ":1:1: error: missing 'widgetName' in the widget definition",
                                 p + ":1:1: error: missing 'widgetId' in the widget definition",
                                 p + ":1:1: error: missing 'createTime' in the widget definition"});
  scratch.write("toys/widgets/w1.yml", "- w1\n");
  CHECK(read_widget(defs, k_widgets, "w1").error().details ==
        std::vector<std::string>{
            p + ":1:1: error: the widget definition must be a mapping of fields; got a list"});
  scratch.write("toys/widgets/w1.yml", "# nothing\n");
  CHECK(read_widget(defs, k_widgets, "w1").error().details ==
        std::vector<std::string>{
            p + ":1:1: error: the widget definition must be a mapping of fields; got an empty "
                "file"});
  scratch.write("toys/widgets/w1.yml", "widgetName: [w1\n");
  auto syntax = read_widget(defs, k_widgets, "w1").error().details;
  REQUIRE(syntax.size() == 1);
  CHECK(syntax[0].starts_with(p + ":2:1: error: invalid YAML: "));
}

TEST_CASE("definitions: an empty optional text reads as empty", "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  scratch.write(
      "toys/widgets/w1.yml",
      "widgetName: w1\nwidgetId: x\ncreateTime: 2026-01-31T12:00:00.000Z\ncolor:\nsize: 2\n");
  auto w = read_widget(defs, k_widgets, "w1");
  REQUIRE(w);
  CHECK(w->color.empty());
  CHECK(w->size == 2);
}

TEST_CASE("definitions: create under the lock, with a precondition", "[definitions]") {
  Scratch scratch;
  auto defs = toys(scratch);
  REQUIRE(create_widget(defs, widget("w1")));
  auto again = create_widget(defs, widget("w1"));
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::conflict);
  CHECK(again.error().message == "widget 'w1' already exists");

  // A part needs its widget; the check runs under the lock, before the existence test.
  auto create_part = [&](const std::string& parent, const std::string& name) {
    std::string kind = fmt::format("parts/{}", parent);
    return defs.create(
        kind, name, "part exists", [&] { return write_widget(defs, kind, widget(name)); },
        [&]() -> Status {
          if (!defs.exists(k_widgets, parent))
            return fail(ErrorKind::not_found, "widget '{}' does not exist", parent);
          return {};
        });
  };
  CHECK(create_part("nope", "p1").error().message == "widget 'nope' does not exist");
  REQUIRE(create_part("w1", "p1"));
  CHECK(create_part("w1", "p1").error().message == "part exists");
  CHECK(*defs.list("parts/w1") == std::vector<std::string>{"p1"});
  CHECK(std::filesystem::exists(scratch.path() / "toys" / ".lock"));
}

TEST_CASE("definitions: of concurrent creates of one name from threads exactly one succeeds",
          "[definitions]") {
  Scratch scratch;
  constexpr int k_threads = 8;
  std::atomic<int> won{0}, conflicts{0}, other{0};
  test::race_threads(k_threads, [&](int t) {
    Widget w = widget("w1");
    w.size = t;
    auto result = create_widget(toys(scratch), w);  // each its own object, as separate invocations
    if (result)
      ++won;
    else if (result.error().kind == ErrorKind::conflict)
      ++conflicts;
    else
      ++other;
  });
  CHECK(won == 1);
  CHECK(conflicts == k_threads - 1);
  CHECK(other == 0);
  CHECK(read_widget(toys(scratch), k_widgets, "w1"));
}

TEST_CASE("definitions: of concurrent creates of one name from processes exactly one succeeds",
          "[definitions]") {
  Scratch scratch;
  auto codes = test::race_processes(6, [&](int) {
    auto result = create_widget(toys(scratch), widget("w1"));
    return result ? 0 : result.error().kind == ErrorKind::conflict ? 1 : 2;
  });
  CHECK(std::count(codes.begin(), codes.end(), 0) == 1);
  CHECK(std::count(codes.begin(), codes.end(), 1) == 5);
  CHECK(read_widget(toys(scratch), k_widgets, "w1"));
}

TEST_CASE("definitions: the lock is exclusive across objects", "[definitions]") {
  Scratch scratch;
  auto held = toys(scratch).lock();
  REQUIRE(held);
  auto other =
      FileLock::acquire(scratch.path() / "toys" / ".lock", LockMode::exclusive, LockWait::try_once);
  REQUIRE_FALSE(other);
  CHECK(other.error().kind == ErrorKind::conflict);
  held->release();
  CHECK(FileLock::acquire(scratch.path() / "toys" / ".lock", LockMode::exclusive,
                          LockWait::try_once));
}

// Several builds in one process (as cpipeline runs actions): each is a run of its own, and stopping
// one touches nothing of the other.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "builder/engine.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;
using namespace std::chrono_literals;

namespace {

std::string wait_for_file(const std::filesystem::path& p) {
  std::string text;
  if (!test::wait_until([&] {
        text = read_file(p).value_or("");
        return !text.empty() && text.back() == '\n';
      }))
    FAIL("file never appeared: " << p);
  return text;
}

}  // namespace

TEST_CASE("builder: two builds in one process, one stopped: the other succeeds and its processes are untouched",
          "[builder][runs]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  PosixProcessRunner runner;
  SystemClock clock;
  BuildEngine engine(store, dir / "home", runner, clock);
  // a: runs until stopped. b: starts a background process, waits until a has been stopped, then
  // checks that its background process is still there.
  dir.write("a/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n"
                               "      - sleep 60 & echo $! > bg.pid; echo started > started; wait\n");
  dir.write("b/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n"
                               "      - sleep 60 & echo $! > bg.pid; echo started > started\n"
                               "      - while [ ! -e ../go ]; do sleep 0.05; done\n"
                               "      - kill -0 $(cat bg.pid) && echo still mine\n");
  CancelToken root;  // as a front end's: both runs descend from it
  auto options = [&](const std::string& name) {
    BuildOptions o;
    o.source_dir = dir / name;
    o.artifacts_dir = dir / ("out-" + name);
    o.project = name;
    o.cancel = root;
    return o;
  };
  auto options_a = options("a"), options_b = options("b");
  Result<BuildOutcome> a = fail(ErrorKind::internal, "not run"), b = fail(ErrorKind::internal, "not run");
  std::thread ta([&] { a = engine.run(options_a); });
  std::thread tb([&] { b = engine.run(options_b); });
  wait_for_file(dir / "a/started");
  wait_for_file(dir / "b/started");
  pid_t bg_a = std::stoi(dir.read("a/bg.pid"));
  pid_t bg_b = std::stoi(dir.read("b/bg.pid"));

  // Stop a the way stop-build does: a request in the store that the build watches.
  auto ids = list_builds(store, "a");
  REQUIRE(ids);
  REQUIRE(ids->size() == 1);
  auto stopped = stop_build(store, ids->front(), 30s);
  REQUIRE(stopped);
  CHECK(stopped->status == BuildStatus::stopped);
  CHECK(test::wait_gone(bg_a));
  CHECK(test::alive(bg_b));
  dir.write("go", "");
  ta.join();
  tb.join();

  REQUIRE(a);
  CHECK(a->record.status == BuildStatus::stopped);
  auto& phase = a->record.phases;
  auto build_phase = std::find_if(phase.begin(), phase.end(), [](auto& p) { return p.type == BuildPhase::build; });
  REQUIRE(build_phase != phase.end());
  REQUIRE_FALSE(build_phase->contexts.empty());
  CHECK(test::contains(build_phase->contexts.back().message, "stopped by " + current_user_name() + " (stop-build)"));
  REQUIRE(b);
  CHECK(b->record.status == BuildStatus::succeeded);
  CHECK(test::contains(unwrap(read_file(dir / "out-b/build.log")), "still mine"));
  // b's background process ends with b.
  CHECK(test::wait_gone(bg_b));
  CHECK_FALSE(root.cancelled());
}

TEST_CASE("builder: cancelling the parent token stops the build: STOPPED, with the reason", "[builder][runs]") {
  test::Scratch dir;
  LocalStore store(dir / "store");
  PosixProcessRunner runner;
  SystemClock clock;
  BuildEngine engine(store, dir / "home", runner, clock);
  dir.write("src/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n"
                                 "      - echo started > started; sleep 60\n");
  CancelToken parent;
  BuildOptions o;
  o.source_dir = dir / "src";
  o.artifacts_dir = dir / "out";
  o.cancel = parent;
  Result<BuildOutcome> r = fail(ErrorKind::internal, "not run");
  std::thread t([&] { r = engine.run(o); });
  wait_for_file(dir / "src/started");
  parent.cancel(CancelReason::stopped, "stopped with its pipeline");
  t.join();
  REQUIRE(r);
  CHECK(r->record.status == BuildStatus::stopped);
  auto& phases = r->record.phases;
  auto build_phase = std::find_if(phases.begin(), phases.end(), [](auto& p) { return p.type == BuildPhase::build; });
  REQUIRE(build_phase != phases.end());
  CHECK(build_phase->contexts.back().message == "the build was stopped with its pipeline while running: echo started > started; sleep 60");
}

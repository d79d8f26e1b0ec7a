// Timeouts, stops, crashes: in every case the children are gone and the record is written.
#include <signal.h>
#include <unistd.h>

#include <future>

#include "cli/cbuild_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {

// Children of `parent` whose command name (comm) is `name`.
std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
  std::vector<pid_t> out;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    auto pid_text = e.path().filename().string();
    if (pid_text.empty() || !std::isdigit(static_cast<unsigned char>(pid_text[0]))) continue;
    auto stat = read_file(e.path() / "stat");
    if (!stat) continue;
    auto open = stat->find('('), close = stat->rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat->substr(open + 1, close - open - 1);
    auto fields = split(stat->substr(close + 2), ' ');
    if (fields.size() > 1 && comm == name && std::stoi(fields[1]) == parent) out.push_back(std::stoi(pid_text));
  }
  return out;
}

// Waits for a file the build writes (its last line complete), returns its content.
std::string wait_for_file(const std::filesystem::path& p) {
  std::string text;
  bool written = wait_until([&] {
    text = read_file(p).value_or("");
    return !text.empty() && text.back() == '\n';
  });
  if (!written) FAIL("file never appeared: " << p);
  return text;
}

constexpr const char* k_long_build = R"YML(version: 0.2
phases:
  build:
    commands:
      - sleep 60 & echo $! > bg.pid; echo started > started; wait
  post_build:
    commands:
      - echo post ran
)YML";

}  // namespace

TEST_CASE("cbuild: a timeout kills the command's process group and records TIMED_OUT", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(k_long_build);
  auto r = f.build({"--timeout", "0.03"});
  CHECK(r.exit_code == 3);
  auto bg = std::stoi(f.scratch.read("src/bg.pid"));
  CHECK(wait_gone(bg));
  auto rec = f.record();
  CHECK(rec["buildStatus"] == "TIMED_OUT");
  CHECK(rec["buildComplete"] == true);
  CHECK(CbuildFixture::phase_status(rec, "BUILD") == "TIMED_OUT");
  CHECK(CbuildFixture::phase_status(rec, "POST_BUILD") == "");
  CHECK_FALSE(contains(f.log(), "post ran"));
}

TEST_CASE("cbuild: SIGINT and SIGTERM stop the build: STOPPED, exit 4, children gone", "[cbuild][control]") {
  for (int sig : {SIGINT, SIGTERM}) {
    CbuildFixture f;
    f.buildspec(k_long_build);
    auto pending = std::async(std::launch::async, [&] { return f.build(); });
    wait_for_file(f.src / "started");
    auto rec = f.record();
    int pid = rec["process"]["pid"];
    REQUIRE(pid > 0);
    ::kill(pid, sig);
    auto r = pending.get();
    CHECK(r.exit_code == 4);
    auto bg = std::stoi(f.scratch.read("src/bg.pid"));
    CHECK(wait_gone(bg));
    rec = f.record();
    CHECK(rec["buildStatus"] == "STOPPED");
    CHECK(CbuildFixture::phase_status(rec, "BUILD") == "STOPPED");
    CHECK(rec["phases"].back()["phaseType"] == "COMPLETED");
  }
}

TEST_CASE("cbuild: stop-build stops a running build by id", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(k_long_build);
  auto pending = std::async(std::launch::async, [&] { return f.build(); });
  wait_for_file(f.src / "started");
  std::string id = f.record()["id"];
  auto stop = f.cbuild({"stop-build", id, "--output", "json"});
  CHECK(stop.exit_code == 0);
  auto stopped = unwrap(parse_json(stop.out, "stop-build output"));
  CHECK(stopped["build"]["buildStatus"] == "STOPPED");
  CHECK(pending.get().exit_code == 4);
}

TEST_CASE("cbuild: a build whose process was killed is marked FAULT on the next look", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(k_long_build);
  auto pending = std::async(std::launch::async, [&] { return f.build(); });
  wait_for_file(f.src / "started");
  auto rec = f.record();
  std::string id = rec["id"];
  // The record in the store knows the build's process group (the shell's), for a later repair.
  auto live = f.cbuild({"batch-get-builds", id, "--output", "json"});
  REQUIRE(live.exit_code == 0);
  REQUIRE(unwrap(parse_json(live.out, "batch-get-builds"))["builds"][0]["process"]["processGroups"].size() == 1);
  ::kill(rec["process"]["pid"].get<int>(), SIGKILL);
  CHECK(pending.get().exit_code == 128 + SIGKILL);
  // Nothing of the build survives its tool: the run's guard ends it, with no command needed.
  auto bg = std::stoi(f.scratch.read("src/bg.pid"));
  CHECK(wait_gone(bg));
  auto got = f.cbuild({"batch-get-builds", id, "--output", "json"});
  REQUIRE(got.exit_code == 0);
  auto j = unwrap(parse_json(got.out, "batch-get-builds"));
  CHECK(j["builds"][0]["buildStatus"] == "FAULT");
  auto& last = j["builds"][0]["phases"].back();
  CHECK(last["phaseType"] == "BUILD");
  CHECK(last["phaseStatus"] == "FAULT");
  CHECK(contains(last["contexts"][0]["message"], "ended without finishing this build"));
  CHECK(j["builds"][0]["process"]["processGroups"].empty());
  // The next build in the same directory runs normally.
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo again\n");
  CHECK(f.build().exit_code == 0);
}

TEST_CASE("cbuild: when the tool and its guard are both killed, the next look kills what is left", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(k_long_build);
  auto pending = std::async(std::launch::async, [&] { return f.build(); });
  wait_for_file(f.src / "started");
  auto rec = f.record();
  std::string id = rec["id"];
  int tool = rec["process"]["pid"].get<int>();
  auto guards = children_named(tool, "cicd-run-guard");
  REQUIRE(guards.size() == 1);
  // The guard first, so that it cannot act.
  ::kill(guards[0], SIGKILL);
  ::kill(tool, SIGKILL);
  CHECK(pending.get().exit_code == 128 + SIGKILL);
  auto bg = std::stoi(f.scratch.read("src/bg.pid"));
  CHECK(alive(bg));
  auto got = f.cbuild({"batch-get-builds", id, "--output", "json"});
  REQUIRE(got.exit_code == 0);
  CHECK(unwrap(parse_json(got.out, "batch-get-builds"))["builds"][0]["buildStatus"] == "FAULT");
  CHECK(wait_gone(bg));
}

TEST_CASE("cbuild: processes a command leaves behind are gone when the build ends", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  install:
    commands:
      - (sleep 60; touch daemon.finished) > /dev/null 2>&1 & echo $! > daemon.pid
  build:
    commands:
      - kill -0 $(cat daemon.pid) && echo daemon still up during the build
)YML");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\ndaemon still up during the build\n"));
  CHECK(wait_gone(std::stoi(f.scratch.read("src/daemon.pid"))));
  // Stopped by the build's end, not waited for until it finished by itself.
  CHECK_FALSE(std::filesystem::exists(f.src / "daemon.finished"));
}

TEST_CASE("cbuild: a background process holding stdout does not hang the build", "[cbuild][control]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - (sleep 60; echo late) &
      - echo next
)YML");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\nnext\n"));
  // The build did not wait for the output to close: what the process wrote a minute later is not
  // in the log.
  CHECK_FALSE(contains(f.log(), "\nlate\n"));
}

TEST_CASE("cbuild: two builds in one source directory take turns", "[cbuild][control]") {
  CbuildFixture f;
  // The first build holds its command until the test lets it go, once the second build waits.
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - echo start >> turns; until [ -e go ]; do sleep 0.05; done; echo end >> turns
)YML");
  auto other_out = f.scratch / "out2";
  auto a = std::async(std::launch::async, [&] { return f.build(); });
  CHECK(wait_for_file(f.src / "turns") == "start\n");
  auto b = std::async(std::launch::async, [&] { return f.cbuild({"run", "-a", other_out.string()}); });
  CHECK(wait_until([&] { return contains(read_file(other_out / "build.log").value_or(""), "Waiting for another build in "); }));
  f.file("go", "");
  CHECK(a.get().exit_code == 0);
  CHECK(b.get().exit_code == 0);
  CHECK(f.scratch.read("src/turns") == "start\nend\nstart\nend\n");
  auto first = f.record();
  auto second = unwrap(parse_json(f.scratch.read("out2/build.json"), "b"));
  CHECK(first["buildNumber"] != second["buildNumber"]);
}

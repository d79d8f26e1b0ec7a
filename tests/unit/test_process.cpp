#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/signals.hpp"

using namespace cicd;
using namespace std::chrono_literals;

namespace {
ProcessSpec sh(std::string script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", std::move(script)};
  spec.stop_on_request = false;
  return spec;
}
// Alive and not a zombie (a killed orphan may wait for a reaper that never comes here).
bool alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close != std::string::npos && stat->size() > close + 2 && (*stat)[close + 2] != 'Z';
}
}  // namespace

TEST_CASE("process: exit status and output lines", "[process]") {
  auto spec = sh("echo one; echo two >&2; printf 'partial'; exit 3");
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->exit_code == 3);
  CHECK_FALSE(r->succeeded());
  CHECK(sink->out() == "one\npartial\n");
  CHECK(sink->err() == "two\n");
  CHECK(r->describe() == "exit status 3");
}

TEST_CASE("process: environment, cwd and stdin", "[process]") {
  test::Scratch dir;
  auto spec = sh("echo \"$FOO\"; pwd; cat");
  spec.environment = {{"FOO", "bar baz"}, {"PATH", "/usr/bin:/bin"}};
  spec.cwd = dir.path().string();
  spec.stdin_mode = StdinMode::data;
  spec.stdin_data = "from stdin\n";
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->succeeded());
  CHECK(sink->out() == "bar baz\n" + std::filesystem::canonical(dir.path()).string() + "\nfrom stdin\n");
}

TEST_CASE("process: a missing program is an error, not a crash", "[process]") {
  ProcessSpec spec;
  spec.argv = {"no-such-program-cicd"};
  auto r = run_process(spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "cannot run 'no-such-program-cicd': command not found");
}

TEST_CASE("process: timeout kills the whole process group", "[process]") {
  test::Scratch dir;
  auto pidfile = dir / "grandchild.pid";
  // The grandchild ignores nothing; the group kill must reach it.
  auto spec = sh("sleep 30 & echo $! > " + pidfile.string() + "; wait");
  spec.timeout = 300ms;
  spec.kill_grace = 200ms;
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK(r->describe() == "timed out");
  pid_t grandchild = std::stoi(dir.read("grandchild.pid"));
  for (int i = 0; i < 50 && alive(grandchild); ++i) std::this_thread::sleep_for(20ms);
  CHECK_FALSE(alive(grandchild));
}

TEST_CASE("process: TERM is followed by KILL when ignored", "[process]") {
  auto spec = sh("trap '' TERM; while :; do sleep 0.05; done");
  spec.timeout = 200ms;
  spec.kill_grace = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK(r->term_signal == SIGKILL);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("process: a background child holding stdout does not hang the caller", "[process]") {
  test::Scratch dir;
  auto spec = sh("echo started; sleep 5 & echo $! > " + (dir / "bg.pid").string() + "; exit 0");
  spec.drain_after_exit = 100ms;
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  auto start = std::chrono::steady_clock::now();
  PosixProcessRunner runner;
  auto r = runner.run(spec);
  REQUIRE(r);
  CHECK(r->succeeded());
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(sink->out() == "started\n");
  pid_t bg = std::stoi(dir.read("bg.pid"));
  CHECK(alive(bg));
  runner.kill_leftovers();
  for (int i = 0; i < 50 && alive(bg); ++i) std::this_thread::sleep_for(20ms);
  CHECK_FALSE(alive(bg));
}

TEST_CASE("process: a stop request stops the child", "[process]") {
  install_stop_handlers();
  reset_stop();
  auto spec = sh("sleep 30");
  spec.stop_on_request = true;
  spec.kill_grace = 200ms;
  std::thread t([] {
    std::this_thread::sleep_for(150ms);
    request_stop(SIGINT);
  });
  auto r = run_process(spec);
  t.join();
  reset_stop();
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK_FALSE(r->succeeded());
}

TEST_CASE("process: killed by a signal is reported", "[process]") {
  auto r = run_process(sh("kill -9 $$"));
  REQUIRE(r);
  CHECK(r->term_signal == SIGKILL);
  CHECK(r->describe().starts_with("signal 9"));
}

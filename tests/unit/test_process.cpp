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
  CHECK(test::wait_gone(grandchild));
}

TEST_CASE("process: TERM is followed by KILL when ignored", "[process]") {
  auto spec = sh("trap '' TERM; while :; do sleep 0.05; done");
  spec.timeout = 200ms;
  spec.kill_grace = 300ms;
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK(r->term_signal == SIGKILL);  // TERM alone would never have ended it
}

TEST_CASE("process: a background child holding stdout does not hang the caller", "[process]") {
  test::Scratch dir;
  // The background child would hold stdout for a minute and then write to it.
  auto spec = sh("echo started; (sleep 60; echo late) & echo $! > " + (dir / "bg.pid").string() + "; exit 0");
  spec.drain_after_exit = 100ms;
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  PosixProcessRunner runner;
  auto r = runner.run(spec);
  REQUIRE(r);
  CHECK(r->succeeded());
  // The caller got its answer while the child still ran: it did not wait for the output to close.
  pid_t bg = std::stoi(dir.read("bg.pid"));
  CHECK(test::alive(bg));
  CHECK(sink->out() == "started\n");
  runner.kill_leftovers();
  CHECK(test::wait_gone(bg));
}

TEST_CASE("process: a stop request stops the child", "[process]") {
  install_stop_handlers();
  reset_stop();
  test::Scratch dir;
  auto started = dir / "started";
  auto spec = sh("touch " + started.string() + "; sleep 30");
  spec.stop_on_request = true;
  spec.kill_grace = 200ms;
  // The stop comes once the child runs.
  std::thread t([&] {
    test::wait_until([&] { return std::filesystem::exists(started); });
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

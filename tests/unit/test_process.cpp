#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/run.hpp"
#include <sys/wait.h>

using namespace cicd;
using namespace std::chrono_literals;

namespace {
ProcessSpec sh(std::string script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", std::move(script)};
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
  auto spec = sh("echo started; sleep 5 & echo $! > " + (dir / "bg.pid").string() + "; exit 0");
  spec.drain_after_exit = 100ms;
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  Run run;
  spec.run = &run;
  spec.leftovers = Leftovers::until_run_ends;
  PosixProcessRunner runner;
  auto r = runner.run(spec);
  REQUIRE(r);
  CHECK(r->succeeded());
  CHECK(sink->out() == "started\n");
  pid_t bg = std::stoi(dir.read("bg.pid"));
  // Its group lives on with the run (a build's background process), and ends with it.
  CHECK(test::alive(bg));
  REQUIRE(run.groups().size() == 1);
  CHECK(run.groups()[0].pgid == r->pid);
  run.end(200ms);
  // SIGKILL sent: wait for it to land.
  CHECK(test::wait_gone(bg));
  CHECK(run.groups().empty());
}

TEST_CASE("process: leftovers kept, or killed when the child exits", "[process]") {
  test::Scratch dir;
  for (auto leftovers : {Leftovers::keep, Leftovers::kill}) {
    auto spec = sh("sleep 30 & echo $! > " + (dir / "bg.pid").string() + "; exit 0");
    spec.drain_after_exit = 50ms;
    spec.output_mode = OutputMode::null;
    Run run;
    spec.run = &run;
    spec.leftovers = leftovers;
    PosixProcessRunner runner;
    auto r = runner.run(spec);
    REQUIRE(r);
    pid_t bg = std::stoi(dir.read("bg.pid"));
    // The group is forgotten once its leader is reaped: the run's end does not touch it.
    CHECK(run.groups().empty());
    run.end(100ms);
    if (leftovers == Leftovers::kill) CHECK(test::wait_gone(bg));
    else CHECK(test::alive(bg));
    ::kill(bg, SIGKILL);
  }
}

TEST_CASE("process: cancelling the run stops the child, and only that run's", "[process]") {
  auto stopped_spec = sh("sleep 30");
  stopped_spec.kill_grace = 200ms;
  auto other_spec = sh("sleep 1; echo done");
  auto other_sink = std::make_shared<CaptureSink>();
  other_spec.sink = other_sink;
  CancelToken root;
  Run stopped(root), other(root);
  stopped_spec.run = &stopped;
  other_spec.run = &other;
  PosixProcessRunner runner;
  Result<ProcessResult> other_result = fail(ErrorKind::internal, "not run");
  std::thread t([&] { other_result = runner.run(other_spec); });
  std::thread stopper([&] {
    // Once the child runs.
    test::wait_until([&] { return !stopped.groups().empty(); });
    stopped.cancel(CancelReason::stopped, "stopped by a test");
  });
  auto r = runner.run(stopped_spec);
  stopper.join();
  t.join();
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK_FALSE(r->succeeded());
  CHECK(stopped.token().reason() == CancelReason::stopped);
  CHECK(stopped.token().message() == "stopped by a test");
  REQUIRE(other_result);
  CHECK(other_result->succeeded());
  CHECK(other_sink->out() == "done\n");
  CHECK_FALSE(other.token().cancelled());
  CHECK_FALSE(root.cancelled());
}

TEST_CASE("process: a cancelled parent token cancels every run under it", "[process]") {
  CancelToken root;
  Run a(root), b(root);
  root.cancel(CancelReason::interrupted, "interrupted by SIGINT");
  CHECK(a.token().cancelled());
  CHECK(b.token().cancelled());
  CHECK(a.token().reason() == CancelReason::parent_cancelled);
  CHECK(a.token().message() == "interrupted by SIGINT");
  auto spec = sh("sleep 30");
  spec.run = &a;
  spec.kill_grace = 100ms;
  auto r = run_process(spec);
  REQUIRE(r);
  CHECK(r->stopped);
}

TEST_CASE("process: a killed process's guard ends the run's groups", "[process][guard]") {
  test::Scratch dir;
  auto pidfile = dir / "sleep.pid";
  // A process of our own with a run, killed with SIGKILL while its child sleeps.
  pid_t tool = ::fork();
  REQUIRE(tool >= 0);
  if (tool == 0) {
    Run run;
    auto spec = sh("echo $$ > " + pidfile.string() + "; exec sleep 60");
    spec.run = &run;
    spec.output_mode = OutputMode::null;
    (void)run_process(spec);  // never returns: killed below
    ::_exit(0);
  }
  pid_t sleeper = 0;
  test::wait_until([&] {
    auto text = read_file(pidfile);
    if (text && !text->empty() && text->back() == '\n') sleeper = std::stoi(*text);
    return sleeper > 0;
  });
  REQUIRE(sleeper > 0);
  REQUIRE(test::alive(sleeper));
  ::kill(tool, SIGKILL);
  ::waitpid(tool, nullptr, 0);
  // The guard sends TERM at once, and KILL half a second later to what is left.
  CHECK(test::wait_gone(sleeper));
}

TEST_CASE("process: recorded groups are killed only when they are provably the run's", "[process]") {
  auto spec = sh("exec sleep 30");
  spec.output_mode = OutputMode::null;
  auto child = spawn_process(spec);
  REQUIRE(child);
  uint64_t start = process_start_time(child->pid);
  REQUIRE(start > 0);
  // Another start time: the id belongs to someone else now; nothing is touched.
  CHECK(kill_recorded_groups({{child->pid, start + 1}}) == 0);
  CHECK(test::alive(child->pid));
  CHECK(recorded_groups_alive({{child->pid, start}}));
  CHECK(kill_recorded_groups({{child->pid, start}}) == 1);
  finish_process(child->pid, nullptr, Leftovers::kill);
  CHECK_FALSE(test::alive(child->pid));
  CHECK_FALSE(recorded_groups_alive({{child->pid, start}}));
  if (child->stdout_fd >= 0) ::close(child->stdout_fd);
  if (child->pidfd >= 0) ::close(child->pidfd);
}

TEST_CASE("process: killed by a signal is reported", "[process]") {
  auto r = run_process(sh("kill -9 $$"));
  REQUIRE(r);
  CHECK(r->term_signal == SIGKILL);
  CHECK(r->describe().starts_with("signal 9"));
}

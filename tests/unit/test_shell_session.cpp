#include <catch2/catch.hpp>

#include "builder/shell_session.hpp"
#include "support/test_support.hpp"

using namespace cicd;

namespace {
struct Session {
  test::Scratch dir;
  PosixProcessRunner runner;
  std::shared_ptr<CaptureSink> sink = std::make_shared<CaptureSink>();
  ShellSession session;
  explicit Session(ShellKind kind = ShellKind::bash, bool carry = true)
      : session(runner, options(kind, carry)) {}
  ShellSessionOptions options(ShellKind kind, bool carry) {
    ShellSessionOptions o;
    o.state_dir = dir / "state";
    o.initial_cwd = dir.path();
    o.initial_environment = {{"PATH", "/usr/bin:/bin"}, {"START", "s"}};
    o.shell = kind;
    o.shell_path = kind == ShellKind::bash ? "/bin/bash" : "/bin/sh";
    o.carry_state = carry;
    return o;
  }
  int run(const std::string& cmd, std::map<std::string, std::string> forced = {}) {
    CommandRun how;
    how.sink = sink;
    how.forced = std::move(forced);
    auto r = session.run(cmd, how);
    REQUIRE(r);
    return r->exit_code;
  }
};
}  // namespace

TEST_CASE("shell session: variables and directory carry across commands", "[session]") {
  for (auto kind : {ShellKind::bash, ShellKind::posix_sh}) {
    Session s(kind);
    std::filesystem::create_directory(s.dir / "sub");
    CHECK(s.run("PLAIN='a b'; export EXPORTED=\"line1\nline2\"; cd sub") == 0);
    CHECK(s.run("echo \"$PLAIN|$START\"; pwd; printf '%s\\n' \"$EXPORTED\"; sh -c 'echo \"child:$EXPORTED\"'") == 0);
    auto sub = std::filesystem::canonical(s.dir / "sub").string();
    CHECK(s.sink->out() == "a b|s\n" + sub + "\nline1\nline2\nchild:line1\nline2\n");
  }
}

TEST_CASE("shell session: exit ends only the command, unset sticks", "[session]") {
  Session s;
  CHECK(s.run("export X=1; exit 3") == 3);
  CHECK(s.run("echo x=$X; unset START") == 0);
  CHECK(s.run("echo start=${START-unset}") == 0);
  CHECK(s.sink->out() == "x=1\nstart=unset\n");
}

TEST_CASE("shell session: forced variables win over the saved state", "[session]") {
  for (auto kind : {ShellKind::bash, ShellKind::posix_sh}) {
    Session s(kind);
    CHECK(s.run("export CODEBUILD_BUILD_SUCCEEDING=1", {{"CODEBUILD_BUILD_SUCCEEDING", "1"}}) == 0);
    CHECK(s.run("echo $CODEBUILD_BUILD_SUCCEEDING", {{"CODEBUILD_BUILD_SUCCEEDING", "0"}}) == 0);
    CHECK(s.run("echo $CODEBUILD_BUILD_SUCCEEDING; env | grep -c -e __CICD -e __cicd || true", {}) == 0);
    CHECK(s.run("echo $CODEBUILD_BUILD_SUCCEEDING", {{"CODEBUILD_BUILD_SUCCEEDING", "1"}}) == 0);
    CHECK(s.sink->out() == "0\n0\n0\n1\n");
  }
}

TEST_CASE("shell session: version 0.1 starts every command afresh", "[session]") {
  Session s(ShellKind::bash, false);
  std::filesystem::create_directory(s.dir / "sub");
  CHECK(s.run("export X=1; cd sub") == 0);
  CHECK(s.run("echo x=${X-unset}; basename $(pwd)") == 0);
  CHECK(s.sink->out() == "x=unset\n" + s.dir.path().filename().string() + "\n");
}

TEST_CASE("shell session: expand and values", "[session]") {
  Session s;
  CHECK(s.run("NAME=app; export VERSION=1.2; MULTI=$'a\\nb'") == 0);
  CommandRun how;
  auto name = s.session.expand("$NAME-$VERSION-$(echo x)", how);
  REQUIRE(name);
  CHECK(*name == "app-1.2-x");
  auto values = s.session.values({"NAME", "VERSION", "MULTI", "MISSING"}, how);
  REQUIRE(values);
  CHECK(*values == std::map<std::string, std::string>{{"MULTI", "a\nb"}, {"NAME", "app"}, {"VERSION", "1.2"}});
}

TEST_CASE("shell session: a command cannot break the session", "[session]") {
  Session s;
  // Reading stdin sees end of input, not the session's commands.
  CHECK(s.run("read line; echo \"read=$? line=${line-}\"") == 0);
  // Redirecting the shell's own output does not swallow the end-of-command report.
  CHECK(s.run("exec > redirected.txt; echo hidden") == 0);
  CHECK(s.run("echo after redirect") == 0);
  // set -e does not leak into the next command.
  CHECK(s.run("set -e") == 0);
  CHECK(s.run("false; echo still running") == 0);
  // Output without a final newline is still a line of its own.
  CHECK(s.run("printf 'no newline'") == 0);
  CHECK(s.sink->out() == "read=1 line=\nafter redirect\nstill running\nno newline\n");
  CHECK(s.dir.read("redirected.txt") == "hidden\n");
}

TEST_CASE("shell session: a timeout ends the command and the shell, the next command starts afresh", "[session]") {
  Session s;
  CHECK(s.run("export KEEP=1") == 0);
  CommandRun how;
  how.sink = s.sink;
  how.timeout = std::chrono::milliseconds(200);
  how.kill_grace = std::chrono::milliseconds(200);
  auto r = s.session.run("sleep 20", how);
  REQUIRE(r);
  CHECK(r->timed_out);
  // A killed shell saved nothing: the next command starts from the initial state (in a build,
  // a timeout ends the build, so nothing runs after it but the record).
  CHECK(s.run("echo ran ${KEEP-lost} $START") == 0);
  CHECK(s.sink->out() == "ran lost s\n");
}

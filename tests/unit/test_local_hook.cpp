// How LocalHost starts a hook script through sudo: env(1) takes any word with a '=' for an
// assignment, so a script path holding one must never be env's command.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "deploy/host.hpp"
#include "support/test_support.hpp"

using namespace cicd;

TEST_CASE("local hook: a sudo hook whose path holds '=' runs, with the hook variables", "[deploy][hook]") {
  test::Scratch dir;
  // A stand-in for `sudo -n --` (the tests run as root, where LocalHost needs no sudo): it runs the
  // rest of its arguments, as sudo does once it has decided to.
  dir.write("bin/sudo", "#!/bin/sh\n[ \"$1\" = -n ] && shift\n[ \"$1\" = -- ] && shift\nexec \"$@\"\n", 0755);
  auto script = dir.write("rev/scripts/mode=fast/start.sh",
                          "#!/bin/sh\necho \"$LIFECYCLE_EVENT $EXTRA $0\" > \"$(dirname \"$0\")/ran\"\n", 0755);
  HookRun run;
  run.script = script.string();
  run.cwd = (dir / "rev").string();
  run.env = {{"LIFECYCLE_EVENT", "ApplicationStart"}, {"EXTRA", "a=b"}};
  run.sudo = true;

  auto argv = local_hook_argv(run, HookVia::sudo);
  CHECK(argv == std::vector<std::string>{"sudo", "-n", "--", "env", "EXTRA=a=b", "LIFECYCLE_EVENT=ApplicationStart",
                                         "/bin/sh", "-c", "exec \"$0\"", script.string()});
  Environment path = {{"PATH", (dir / "bin").string() + ":" + std::getenv("PATH")}};
  auto r = test::run(argv, dir / "rev", path);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());  // not env printing its environment instead of running anything
  CHECK(dir.read("rev/scripts/mode=fast/ran") == "ApplicationStart a=b " + script.string() + "\n");

  // Without sudo the script is the command itself.
  CHECK(local_hook_argv(run, HookVia::direct) == std::vector<std::string>{script.string()});
  // A path without a '/' is not looked up in PATH.
  run.script = "start=1.sh";
  CHECK(local_hook_argv(run, HookVia::sudo).back() == "./start=1.sh");
}

// The command line: validate, dry-run, output formats, queries, run-as, runtime checks.
#include <pwd.h>
#include <unistd.h>

#include "cli/cbuild_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;

TEST_CASE("cbuild validate: all errors of a file at once, positioned, exit 2", "[cbuild][validate]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  pre-build:
    commands:
      - echo hi
  build:
    on-failure: SOMETIMES
    commands:
      - echo ok
artifacts:
  discard-paths: maybe
)YML", "bad.yml");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - make\n", "good.yml");
  auto r = f.cbuild({"validate", "good.yml", "bad.yml"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "bad.yml:3:3: warning: unknown key 'pre-build' in phases; did you mean 'pre_build'?"));
  CHECK(contains(r.err, "bad.yml:7:17: error: 'on-failure' must be ABORT, CONTINUE, RETRY"));
  CHECK(contains(r.err, "bad.yml:11:18: error:"));
  CHECK(contains(r.out, "good.yml: valid (version 0.2)\n"));
  CHECK(contains(r.out, "bad.yml: invalid\n"));
  CHECK(f.cbuild({"validate", "good.yml"}).exit_code == 0);
  auto json = f.cbuild({"validate", "bad.yml", "--output", "json"});
  auto j = unwrap(parse_json(json.out, "validate"));
  CHECK(j["results"][0]["valid"] == false);
  CHECK(j["results"][0]["errors"].size() == 3);  // on-failure, discard-paths, artifacts without files
}

TEST_CASE("cbuild validate: every buildspec of the corpus gets its expected outcome", "[cbuild][validate][corpus]") {
  int checked = 0;
  for (auto& row : corpus_files("buildspec")) {
    auto r = run({CICD_CBUILD, "validate", row.path().string()});
    INFO(row.file << "\n" << r.err);
    if (row.expect == "valid") CHECK(r.exit_code == 0);
    if (row.expect == "invalid") {
      CHECK(r.exit_code == 2);
      CHECK(contains(r.err, row.name() + ":"));
      CHECK(contains(r.err, ": error: "));
    }
    if (row.expect == "any") CHECK((r.exit_code == 0 || r.exit_code == 2));
    ++checked;
  }
  CHECK(checked == 54);  // the whole corpus, as the unit test counts it
}

TEST_CASE("cbuild: an invalid buildspec leaves the previous build's outputs untouched", "[cbuild][validate]") {
  CbuildFixture f;
  f.file("a.txt", "a");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\nartifacts:\n  files: [a.txt]\n");
  REQUIRE(f.build().exit_code == 0);
  auto before = f.scratch.read("out/build.json");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands: {}\n");
  auto r = f.build();
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "buildspec.yml:4:15: error:"));
  CHECK(contains(r.err, "cbuild: error: invalid buildspec"));
  CHECK(f.scratch.read("out/build.json") == before);
  CHECK(std::filesystem::exists(f.out / "artifacts/src.zip"));
  auto list = unwrap(parse_json(f.cbuild({"list-builds", "--output", "json"}).out, "list"));
  CHECK(list["ids"].size() == 1);
}

TEST_CASE("cbuild: usage errors exit 2 with a clear message", "[cbuild]") {
  CbuildFixture f;
  auto r = f.cbuild({"run", "--no-such-flag"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cbuild: error: The following argument was not expected: --no-such-flag"));
  auto missing = f.cbuild({"run"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "cbuild: error: cannot read buildspec '" + (f.src / "buildspec.yml").string() + "': no such file"));
  CHECK(f.cbuild({"run", "--env", "NOEQUALS"}).exit_code == 2);
  CHECK(f.cbuild({"--version"}).out == std::string(CICD_VERSION) + "\n");
}

TEST_CASE("cbuild and cdeploy: without HOME, --home or CICD_HOME they refuse instead of using /tmp", "[cbuild]") {
  CbuildFixture f;
  for (std::string tool : {CICD_CBUILD, CICD_CDEPLOY}) {
    INFO(tool);
    std::vector<std::string> args = {"env", "-u", "HOME", "-u", "CICD_HOME", "-u", "XDG_DATA_HOME", "-u", "CICD_STORE",
                                     tool};
    args.push_back(tool == CICD_CBUILD ? "list-parameters" : "list-applications");
    auto r = run(args, f.src);
    CHECK(r.exit_code == 2);
    std::string name = tool == CICD_CBUILD ? "cbuild" : "cdeploy";
    CHECK(r.err == name +
                       ": error: cannot tell where the home is: HOME is not set; give --home DIR or set CICD_HOME (the "
                       "home holds definitions, the store and secret parameters, so it is never guessed)\n");
    // --home is enough.
    args.insert(args.end() - 1, {"--home", (f.scratch / "h").string()});
    CHECK(run(args, f.src).exit_code == 0);
  }
}

TEST_CASE("cbuild: with no verb, runs the buildspec of the current directory", "[cbuild]") {
  CbuildFixture f;
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo default verb\n");
  auto r = f.cbuild({"-a", f.out.string()});
  CHECK(r.exit_code == 0);
  CHECK(contains(f.log(), "\ndefault verb\n"));
  CHECK(contains(r.out, "SUCCEEDED"));
}

TEST_CASE("cbuild: --dry-run prints the plan and runs nothing", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
env:
  variables:
    MODE: release
  parameter-store:
    TOKEN: /ci/token
phases:
  build:
    commands:
      - touch ran
artifacts:
  files: ['**/*']
)YML");
  auto r = f.cbuild({"run", "--dry-run"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "  env MODE=release\n"));
  CHECK(contains(r.out, "  env TOKEN=<PARAMETER_STORE /ci/token>\n"));
  CHECK(contains(r.out, "    $ touch ran\n"));
  CHECK(contains(r.out, "Nothing was run (--dry-run).\n"));
  CHECK_FALSE(std::filesystem::exists(f.src / "ran"));
  auto j = unwrap(parse_json(f.cbuild({"run", "--dry-run", "--output", "json"}).out, "plan"));
  CHECK(j["phases"][0]["commands"][0] == "touch ran");
  CHECK_FALSE(std::filesystem::exists(f.home / "store/builds"));
}

TEST_CASE("cbuild: --output json prints the record that list-builds, batch-get-builds and logs find", "[cbuild]") {
  CbuildFixture f;
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo from the log\n");
  auto r = f.cbuild({"run", "--output", "json"});
  REQUIRE(r.exit_code == 0);
  auto j = unwrap(parse_json(r.out, "run output"));
  std::string id = j["build"]["id"];
  CHECK(j["build"]["buildStatus"] == "SUCCEEDED");
  CHECK(j["build"]["currentPhase"] == "COMPLETED");
  // Without --artifacts, the build's files live in the store.
  auto store_dir = f.home / "store/builds/src" / id.substr(4);
  CHECK(std::filesystem::exists(store_dir / "build.json"));
  CHECK(std::filesystem::exists(store_dir / "build.log"));
  auto list = unwrap(parse_json(f.cbuild({"list-builds", "--project", "src", "--output", "json"}).out, "list"));
  CHECK(list["ids"] == Json::array({id}));
  auto got = unwrap(parse_json(f.cbuild({"batch-get-builds", id, "src:nope", "--output", "json"}).out, "get"));
  CHECK(got["builds"][0]["id"] == id);
  CHECK(got["buildsNotFound"] == Json::array({"src:nope"}));
  auto phases = got["builds"][0]["phases"];
  CHECK(phases[6]["phaseType"] == "BUILD");
  CHECK(phases[6].contains("durationInSeconds"));
  auto logs = f.cbuild({"logs", id});
  CHECK(logs.exit_code == 0);
  CHECK(contains(logs.out, "Running command echo from the log\nfrom the log\n"));
  CHECK(f.cbuild({"logs", "--follow", id}).exit_code == 0);
}

TEST_CASE("cbuild: runtime-versions are checked, not installed", "[cbuild][runtimes]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
env:
  variables:
    WANT_SH: "latest"
phases:
  install:
    runtime-versions:
      nodejs: 999
      perl: $WANT_SH
    commands:
      - echo install ran
)YML");
  auto r = f.build();
  CHECK(r.exit_code == 0);
  auto log = f.log();
  CHECK((contains(log, "Warning: runtime nodejs 999 requested, but this machine has node") ||
         contains(log, "Warning: runtime nodejs 999 requested, but 'node' is not installed")));
  CHECK(contains(log, "runtime perl latest: found "));
  auto strict = f.build({"--strict-runtimes"});
  CHECK(strict.exit_code == 1);
  auto rec = f.record();
  CHECK(CbuildFixture::phase_status(rec, "INSTALL") == "FAILED");
  CHECK(contains(CbuildFixture::phase_message(rec, "INSTALL"), "runtime nodejs 999 requested"));
  CHECK_FALSE(contains(f.log(), "install ran"));
}

TEST_CASE("cbuild: run-as runs commands as another user (needs root)", "[cbuild][runas]") {
  if (::geteuid() != 0) skip("run-as needs root");
  if (!::getpwnam("cicd-runas")) {
    auto made = run({"useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "cicd-runas"});
    if (made.exit_code != 0) skip("cannot create the test user: " + made.err);
  }
  CbuildFixture f;
  std::filesystem::permissions(f.scratch.path(), std::filesystem::perms(0755));
  std::filesystem::permissions(f.src, std::filesystem::perms(0777));
  f.buildspec(R"YML(version: 0.2
run-as: cicd-runas
phases:
  install:
    run-as: root
    commands:
      - echo "install as $(id -un)"
  build:
    commands:
      - echo "build as $(id -un) home=$HOME user=$USER"
      - export MADE_BY=$(id -un)
  post_build:
    run-as: root
    commands:
      - echo "post as $(id -un), carried $MADE_BY, home=$HOME"
)YML");
  auto r = f.build();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto log = f.log();
  CHECK(contains(log, "\ninstall as root\n"));
  std::string runas_home = ::getpwnam("cicd-runas")->pw_dir;
  CHECK(contains(log, "\nbuild as cicd-runas home=" + runas_home + " user=cicd-runas\n"));
  CHECK(contains(log, "\npost as root, carried cicd-runas, home=" + std::string(::getenv("HOME")) + "\n"));
}

// The buildspec semantics of DESIGN.md section 5, each checked on a real build.
#include "cli/cbuild_fixture.hpp"
#include "util/fs.hpp"

using namespace cicd;
using namespace cicd::test;

TEST_CASE("cbuild: variables and the working directory carry across commands and phases", "[cbuild]") {
  CbuildFixture f;
  std::filesystem::create_directories(f.src / "sub");
  f.buildspec(R"YML(version: 0.2
env:
  variables:
    LITERAL: "$HOME not expanded"
  exported-variables:
    - RESULT
    - PLAIN
phases:
  install:
    commands:
      - cd sub
      - PLAIN=carried
      - export EXPORTED=yes
  build:
    commands:
      - echo "pwd=$(basename $(pwd)) plain=$PLAIN exported=$EXPORTED literal=$LITERAL"
      - sh -c 'echo child sees $EXPORTED'
      - export RESULT="built in $(basename $PWD)"
)YML");
  auto r = f.build();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto log = f.log();
  CHECK(contains(log, "\npwd=sub plain=carried exported=yes literal=$HOME not expanded\n"));
  CHECK(contains(log, "\nchild sees yes\n"));
  auto rec = f.record();
  CHECK(rec["buildStatus"] == "SUCCEEDED");
  CHECK(rec["exportedEnvironmentVariables"] ==
        Json::parse(R"([{"name":"RESULT","value":"built in sub"},{"name":"PLAIN","value":"carried"}])"));
  CHECK(f.scratch.read("out/exported-variables.env") == "RESULT=\"built in sub\"\nPLAIN=carried\n");
}

TEST_CASE("cbuild: CODEBUILD_* variables", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - echo "src=$CODEBUILD_SRC_DIR id=$CODEBUILD_BUILD_ID n=$CODEBUILD_BUILD_NUMBER by=$CODEBUILD_INITIATOR ok=$CODEBUILD_BUILD_SUCCEEDING"
      - test -n "$CODEBUILD_START_TIME" && test "$CODEBUILD_CI" = true
)YML");
  REQUIRE(f.build({"--project", "web"}).exit_code == 0);
  auto first = f.record();
  REQUIRE(f.build({"--project", "web"}).exit_code == 0);
  auto second = f.record();
  CHECK(first["buildNumber"] == 1);
  CHECK(second["buildNumber"] == 2);
  std::string id = second["id"];
  CHECK(id.starts_with("web:"));
  CHECK(contains(f.log(), "src=" + f.src.string() + " id=" + id + " n=2 by=" + std::string(second["initiator"]) + " ok=1\n"));
}

TEST_CASE("cbuild: a failing command skips the rest of its phase, finally runs, the build stops after PRE_BUILD", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  pre_build:
    commands:
      - echo first
      - "false"
      - echo never
    finally:
      - echo finally ran
  build:
    commands:
      - echo build never
artifacts:
  files: ['**/*']
)YML");
  auto r = f.build();
  CHECK(r.exit_code == 1);
  auto log = f.log();
  CHECK(contains(log, "\nfirst\n"));
  CHECK_FALSE(contains(log, "\nnever\n"));
  CHECK(contains(log, "\nfinally ran\n"));
  CHECK_FALSE(contains(log, "build never"));
  CHECK(contains(log, "Phase complete: PRE_BUILD State: FAILED"));
  auto rec = f.record();
  CHECK(rec["buildStatus"] == "FAILED");
  CHECK(CbuildFixture::phase_message(rec, "PRE_BUILD") == "Error while executing command: false. Reason: exit status 1");
  CHECK(CbuildFixture::phase_types(rec) ==
        std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
                                 "FINALIZING", "COMPLETED"});
  CHECK_FALSE(std::filesystem::exists(f.out / "artifacts"));
}

TEST_CASE("cbuild: POST_BUILD runs after a BUILD failure with CODEBUILD_BUILD_SUCCEEDING=0, artifacts still go", "[cbuild]") {
  CbuildFixture f;
  f.file("app.txt", "app");
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - echo "during build $CODEBUILD_BUILD_SUCCEEDING"
      - exit 7
  post_build:
    commands:
      - echo "post_build sees $CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: [app.txt]
)YML");
  auto r = f.build();
  CHECK(r.exit_code == 1);
  auto log = f.log();
  CHECK(contains(log, "\nduring build 1\n"));
  CHECK(contains(log, "\npost_build sees 0\n"));
  auto rec = f.record();
  CHECK(CbuildFixture::phase_status(rec, "BUILD") == "FAILED");
  CHECK(CbuildFixture::phase_message(rec, "BUILD") == "Error while executing command: exit 7. Reason: exit status 7");
  CHECK(CbuildFixture::phase_status(rec, "POST_BUILD") == "SUCCEEDED");
  CHECK(CbuildFixture::phase_status(rec, "UPLOAD_ARTIFACTS") == "SUCCEEDED");
  CHECK(std::filesystem::exists(f.out / "artifacts/src.zip"));
  CHECK(rec["buildStatus"] == "FAILED");
}

TEST_CASE("cbuild: a command's own exit ends only that command", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - export KEPT=1; exit 0
      - echo "next command runs, KEPT=$KEPT"
)YML");
  REQUIRE(f.build({"--verbose"}).exit_code == 0);
  CHECK(contains(f.log(), "\nnext command runs, KEPT=1\n"));
  CHECK(contains(f.log(), "Command finished: exit status 0 after "));
}

TEST_CASE("cbuild: on-failure CONTINUE and ABORT", "[cbuild]") {
  SECTION("CONTINUE goes on to the next phase; the build still fails") {
    CbuildFixture f;
    f.buildspec(R"YML(version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands:
      - "false"
  build:
    commands:
      - echo "build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"
)YML");
    CHECK(f.build().exit_code == 1);
    CHECK(contains(f.log(), "\nbuild ran, succeeding=0\n"));
    auto rec = f.record();
    CHECK(CbuildFixture::phase_status(rec, "INSTALL") == "FAILED");
    CHECK(CbuildFixture::phase_status(rec, "BUILD") == "SUCCEEDED");
    CHECK(rec["buildStatus"] == "FAILED");
  }
  SECTION("ABORT in BUILD skips POST_BUILD") {
    CbuildFixture f;
    f.buildspec(R"YML(version: 0.2
phases:
  build:
    on-failure: ABORT
    commands:
      - "false"
  post_build:
    commands:
      - echo post never
)YML");
    CHECK(f.build().exit_code == 1);
    CHECK_FALSE(contains(f.log(), "post never"));
    CHECK(CbuildFixture::phase_status(f.record(), "POST_BUILD") == "");
  }
}

TEST_CASE("cbuild: on-failure RETRY forms", "[cbuild]") {
  SECTION("RETRY-2 reruns the phase until it passes") {
    CbuildFixture f;
    f.buildspec(R"YML(version: 0.2
phases:
  build:
    on-failure: RETRY-2
    commands:
      - echo x >> attempts
      - test $(wc -l < attempts) -ge 3
)YML");
    auto r = f.build();
    CHECK(r.exit_code == 0);
    CHECK(f.scratch.read("src/attempts") == "x\nx\nx\n");
    CHECK(contains(f.log(), "Phase BUILD failed; retrying (attempt 3 of 3)"));
    CHECK(CbuildFixture::phase_status(f.record(), "BUILD") == "SUCCEEDED");
  }
  SECTION("RETRY gives up after 3 retries") {
    CbuildFixture f;
    f.buildspec(R"YML(version: 0.2
phases:
  build:
    on-failure: RETRY
    commands:
      - echo x >> attempts
      - "false"
)YML");
    CHECK(f.build().exit_code == 1);
    CHECK(f.scratch.read("src/attempts") == "x\nx\nx\nx\n");
  }
  SECTION("RETRY-regex retries only when the error matches") {
    CbuildFixture f;
    f.buildspec(R"YML(version: 0.2
phases:
  build:
    on-failure: RETRY-1-connection reset
    commands:
      - echo x >> attempts
      - 'echo "error: connection reset by peer"; test $(wc -l < attempts) -ge 2'
  post_build:
    on-failure: RETRY-disk full
    commands:
      - echo y >> post_attempts
      - echo "permission denied"; false
)YML");
    CHECK(f.build().exit_code == 1);
    CHECK(f.scratch.read("src/attempts") == "x\nx\n");
    CHECK(f.scratch.read("src/post_attempts") == "y\n");
    CHECK(contains(f.log(), "the error does not match on-failure regex 'disk full': not retrying"));
  }
}

TEST_CASE("cbuild: commands as one block scalar run as one script", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands: |
      for i in 1 2; do
        echo "loop $i"
      done
      export FROM_BLOCK=yes
  post_build:
    commands:
      - echo "block exported $FROM_BLOCK"
)YML");
  REQUIRE(f.build().exit_code == 0);
  auto log = f.log();
  CHECK(contains(log, "\nloop 1\nloop 2\n"));
  CHECK(contains(log, "\nblock exported yes\n"));
}

TEST_CASE("cbuild: env.shell sh runs commands with /bin/sh", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
env:
  shell: sh
phases:
  build:
    commands:
      - X="it's"; cd /tmp
      - echo "shell=$(readlink -f /proc/$$/exe) x=$X pwd=$(pwd)"
)YML");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\nshell=" + std::filesystem::canonical("/bin/sh").string() + " x=it's pwd=/tmp\n"));
}

TEST_CASE("cbuild: variable precedence is command line over env file over buildspec", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
env:
  variables:
    A: from-buildspec
    B: from-buildspec
    C: from-buildspec
phases:
  build:
    commands:
      - echo "A=$A B=$B C=$C"
)YML");
  auto env_file = f.scratch.write("vars.env", "# comment\nB=from-file\nC=\"from file\"\n");
  REQUIRE(f.build({"--env-file", env_file.string(), "--env", "C=from-cli"}).exit_code == 0);
  CHECK(contains(f.log(), "\nA=from-buildspec B=from-file C=from-cli\n"));
}

TEST_CASE("cbuild: version 0.1 runs each command in a fresh shell", "[cbuild]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.1
environment_variables:
  plaintext:
    GIVEN: given
phases:
  build:
    commands:
      - export SET_HERE=1; mkdir -p d; cd d
      - echo "set=${SET_HERE-unset} given=$GIVEN dir=$(basename $(pwd))"
)YML");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\nset=unset given=given dir=src\n"));
}

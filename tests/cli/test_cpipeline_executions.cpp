// Pipelines run for real through the binary: a source from the store's bucket area or a git
// repository of the home, builds by the build engine (Commands actions and CodeBuild projects),
// a manual approval answered (rightly, wrongly, twice, rejected), an S3 deploy, and the records
// in CodePipeline's shapes.
#include "cli/cpipeline_fixture.hpp"
#include <signal.h>

#include <thread>

#include "util/fs.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {

// Source (S3 folder) -> Build (Commands: writes a file, exports a variable) -> Approve -> Ship (S3, extract).
const std::string k_site = R"(name: site
pipelineType: V2
variables:
  - {name: Greeting, defaultValue: hello}
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: site}
        outputArtifacts: [{name: Code}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Make
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands:
          - mkdir -p dist
          - 'echo "#{variables.Greeting} $(cat page.txt) #{SourceVariables.ObjectKey}" > dist/index.html'
          - export BUILT=yes
        outputVariables: [BUILT]
        inputArtifacts: [{name: Code}]
        outputArtifacts: [{name: Site, files: ["dist/**/*"]}]
        namespace: BuildVariables
  - name: Approve
    actions:
      - name: Review
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
        configuration: {CustomData: "built=#{BuildVariables.BUILT}"}
  - name: Ship
    actions:
      - name: Publish
        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: "1"}
        configuration: {BucketName: www, Extract: "true"}
        inputArtifacts: [{name: Site}]
)";

struct SiteFixture : CpipelineFixture {
  SiteFixture() {
    file("home/store/buckets/src/site/page.txt", "world\n");
    auto created = cpipeline({"create-pipeline", "--pipeline-definition", file("site.yml", k_site)});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
  }
  std::string token_of(const RunOutput& started) {
    auto j = json_of(started);
    REQUIRE(j.contains("approval"));
    return j["approval"]["token"].get<std::string>();
  }
};

}  // namespace

TEST_CASE("cpipeline executions: source, build, approval, deploy, the approval answered once", "[cpipeline][executions]") {
  SiteFixture f;
  auto started = f.cpipeline({"start", "--name", "site", "--output", "json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 6);  // waiting for the approval
  auto token = f.token_of(started);
  auto id = CpipelineFixture::json_of(started)["pipelineExecutionId"].get<std::string>();
  CHECK(CpipelineFixture::json_of(started)["approval"]["customData"] == "built=yes");
  CHECK(contains(started.err, "Build/Make Succeeded"));

  // The state shows the waiting approval and its token; the deploy has not run.
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "site", "--output", "json"}));
  CHECK(state["stageStates"][2]["actionStates"][0]["latestExecution"]["status"] == "InProgress");
  CHECK(state["stageStates"][2]["actionStates"][0]["latestExecution"]["token"] == token);
  CHECK_FALSE(state["stageStates"][3]["actionStates"][0].contains("latestExecution"));
  CHECK_FALSE(std::filesystem::exists(f.home / "store/buckets/www"));

  // A token that is not the approval's changes nothing.
  auto wrong = f.cpipeline({"approve", "--pipeline-name", "site", "--token", "not-the-token"});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err == "cpipeline: error: token 'not-the-token' is not the token of an approval of pipeline 'site'\n");

  auto approved = f.cpipeline({"put-approval-result", "--pipeline-name", "site", "--stage-name", "Approve", "--action-name",
                               "Review", "--token", token, "--result", "summary=looks good,status=Approved"});
  INFO(approved.err);
  REQUIRE(approved.exit_code == 0);
  CHECK(approved.out == "Execution " + id + " Succeeded\n");
  CHECK(unwrap(read_file(f.home / "store/buckets/www/dist/index.html")) == "hello world site\n");

  auto again = f.cpipeline({"approve", "--pipeline-name", "site", "--token", token});
  CHECK(again.exit_code == 2);
  CHECK(contains(again.err, "has ended (Succeeded): its approval can no longer be answered"));

  // The records, in CodePipeline's shapes.
  auto execution = CpipelineFixture::json_of(
      f.cpipeline({"get-pipeline-execution", "--pipeline-name", "site", "--pipeline-execution-id", id, "--output", "json"}));
  CHECK(execution["pipelineExecution"]["status"] == "Succeeded");
  CHECK(execution["pipelineExecution"]["variables"] == Json::parse(R"([{"name": "Greeting", "resolvedValue": "hello"}])"));
  CHECK(execution["pipelineExecution"]["artifactRevisions"][0]["name"] == "Code");
  auto actions = CpipelineFixture::json_of(f.cpipeline({"list-action-executions", "--pipeline-name", "site", "--output", "json"}));
  REQUIRE(actions["actionExecutionDetails"].size() == 4);
  Json review;
  for (auto& a : actions["actionExecutionDetails"])
    if (a["actionName"] == "Review") review = a;
  CHECK(review["status"] == "Succeeded");
  CHECK(review["output"]["outputVariables"]["ApprovalSummary"] == "looks good");
  CHECK(review["input"]["resolvedConfiguration"]["CustomData"] == "built=yes");
  CHECK(review["input"]["configuration"]["CustomData"] == "built=#{BuildVariables.BUILT}");
  auto list = CpipelineFixture::json_of(f.cpipeline({"list-pipeline-executions", "--pipeline-name", "site", "--output", "json"}));
  REQUIRE(list["pipelineExecutionSummaries"].size() == 1);
  CHECK(list["pipelineExecutionSummaries"][0]["sourceRevisions"][0]["actionName"] == "Fetch");
}

TEST_CASE("cpipeline executions: a rejected approval fails its stage and the execution", "[cpipeline][executions]") {
  SiteFixture f;
  auto started = f.cpipeline({"start", "--name", "site", "--variables", "name=Greeting,value=hi", "--output", "json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 6);
  auto token = f.token_of(started);
  auto rejected = f.cpipeline({"reject", "--pipeline-name", "site", "--token", token, "--summary", "not today"});
  CHECK(rejected.exit_code == 1);
  CHECK(contains(rejected.out, " Failed: action Review failed: rejected by "));
  CHECK(contains(rejected.out, ": not today\n"));
  CHECK_FALSE(std::filesystem::exists(f.home / "store/buckets/www"));
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "site", "--output", "json"}));
  CHECK(state["stageStates"][2]["latestExecution"]["status"] == "Failed");
  CHECK(state["stageStates"][2]["actionStates"][0]["latestExecution"]["errorDetails"]["code"] == "Rejected");
  // An undeclared variable starts nothing.
  auto bad = f.cpipeline({"start", "--name", "site", "--variables", "name=Nope,value=1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "cpipeline: error: pipeline 'site' declares no variable 'Nope'\n");
}

TEST_CASE("cpipeline executions: a CodeCommit source and a CodeBuild project, a failing build stops the pipeline",
          "[cpipeline][executions]") {
  CpipelineFixture f;
  // A bare repository of the home, with one commit on main pushed from a clone.
  auto bare = f.home / "repos/web.git";
  REQUIRE(run({"git", "init", "-q", "--bare", "-b", "main", bare.string()}).exit_code == 0);
  auto work = f.scratch / "work";
  REQUIRE(run({"git", "clone", "-q", bare.string(), work.string()}).exit_code == 0);
  f.file("work/buildspec.yml", "version: 0.2\nenv:\n  exported-variables: [LENGTH]\nphases:\n  build:\n    commands:\n"
                               "      - test \"$COMMIT\" = \"$CODEBUILD_RESOLVED_SOURCE_VERSION\" || test -n \"$COMMIT\"\n"
                               "      - export LENGTH=$(wc -c < app.txt)\n      - test \"$FAIL\" != yes\n"
                               "artifacts:\n  files: [app.txt]\n");
  f.file("work/app.txt", "v1\n");
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", work.string(), "-c", "user.name=Ann", "-c", "user.email=ann@example.com"});
    REQUIRE(run(args).exit_code == 0);
  };
  git({"add", "."});
  git({"commit", "-qm", "first version"});
  git({"push", "-q", "origin", "main"});
  auto cbuild = [&](std::vector<std::string> args) {
    args.insert(args.begin(), CICD_CBUILD);
    return run(args, f.scratch.path(), f.env());
  };
  REQUIRE(cbuild({"create-project", "--name", "web-build", "--source", "type=CODEPIPELINE", "--artifacts", "type=CODEPIPELINE",
                  "--environment", "type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL"})
              .exit_code == 0);
  auto pipeline = f.file("p.yml", R"Y(name: web
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        configuration: {RepositoryName: web, BranchName: main}
        outputArtifacts: [{name: Code}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Compile
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        configuration:
          ProjectName: web-build
          EnvironmentVariables: '[{"name":"COMMIT","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"},{"name":"FAIL","value":"no"}]'
        inputArtifacts: [{name: Code}]
        outputArtifacts: [{name: Built}]
        namespace: BuildVariables
  - name: Check
    actions:
      - name: Size
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ['test "$(cat app.txt)" = v1', 'test "#{BuildVariables.LENGTH}" = 3']
        inputArtifacts: [{name: Built}]
)Y");
  REQUIRE(f.cpipeline({"create-pipeline", "--pipeline-definition", pipeline}).exit_code == 0);
  auto ran = f.cpipeline({"start", "--name", "web", "--output", "json"});
  INFO(ran.err);
  REQUIRE(ran.exit_code == 0);
  auto id = CpipelineFixture::json_of(ran)["pipelineExecutionId"].get<std::string>();
  auto actions = CpipelineFixture::json_of(f.cpipeline({"list-action-executions", "--pipeline-name", "web", "--output", "json"}));
  Json checkout, compile;
  for (auto& a : actions["actionExecutionDetails"]) {
    if (a["actionName"] == "Checkout") checkout = a;
    if (a["actionName"] == "Compile") compile = a;
  }
  CHECK(checkout["output"]["outputVariables"]["CommitMessage"] == "first version\n");
  CHECK(checkout["output"]["outputVariables"]["BranchName"] == "main");
  CHECK(checkout["output"]["outputVariables"]["CommitId"].get<std::string>().size() == 40);
  CHECK(compile["output"]["outputVariables"]["LENGTH"] == "3");
  CHECK(compile["output"]["executionResult"]["externalExecutionId"].get<std::string>().starts_with("web-build:"));

  // The same pipeline whose build fails: the stage and the execution fail, the next stage never runs.
  auto failing = unwrap(read_file(pipeline));
  failing.replace(failing.find("\"value\":\"no\""), 12, "\"value\":\"yes\"");
  REQUIRE(f.cpipeline({"update-pipeline", "--pipeline-definition", f.file("p2.yml", failing)}).exit_code == 0);
  auto failed = f.cpipeline({"start", "--name", "web"});
  CHECK(failed.exit_code == 1);
  CHECK(contains(failed.out, " Failed: action Compile failed: build web-build:"));
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "web", "--output", "json"}));
  CHECK(state["stageStates"][1]["latestExecution"]["status"] == "Failed");
  // The Check stage's latest execution is still the first, successful one.
  CHECK(state["stageStates"][2]["latestExecution"]["pipelineExecutionId"] == id);
}

TEST_CASE("cpipeline executions: stop-pipeline-execution, waiting for an approval, running, and abandoning",
          "[cpipeline][executions][stop]") {
  SECTION("an execution waiting for an approval is stopped at once") {
    SiteFixture f;
    auto started = f.cpipeline({"start", "--name", "site", "--output", "json"});
    REQUIRE(started.exit_code == 6);
    auto token = f.token_of(started);
    auto id = CpipelineFixture::json_of(started)["pipelineExecutionId"].get<std::string>();
    auto stopped = f.cpipeline({"stop-pipeline-execution", "--pipeline-name", "site", "--pipeline-execution-id", id,
                                "--reason", "wrong branch"});
    INFO(stopped.err);
    REQUIRE(stopped.exit_code == 0);
    CHECK(stopped.out == "Execution " + id + " Stopped\n");
    auto late = f.cpipeline({"approve", "--pipeline-name", "site", "--token", token});
    CHECK(late.exit_code == 2);
    CHECK(contains(late.err, "has ended (Stopped)"));
    auto again = f.cpipeline({"stop-pipeline-execution", "--pipeline-name", "site", "--pipeline-execution-id", id});
    CHECK(again.exit_code == 2);
    auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "site", "--output", "json"}));
    CHECK(state["stageStates"][2]["actionStates"][0]["latestExecution"]["status"] == "Abandoned");
    // The stage it held is free: a new execution gets to the approval again.
    CHECK(f.cpipeline({"start", "--name", "site"}).exit_code == 6);
  }
  SECTION("a running execution stops after its running action (or at once with --abandon)") {
    bool abandon = GENERATE(false, true);
    CpipelineFixture f;
    f.file("home/store/buckets/src/app/run.sh", "#!/bin/sh\n");
    auto def = f.file("slow.yml", R"(name: slow
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: app}
        outputArtifacts: [{name: Code}]
  - name: Work
    actions:
      - name: Sleep
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["touch started", "sleep 3 && echo slept > $CODEBUILD_SRC_DIR/../slept"]
        inputArtifacts: [{name: Code}]
  - name: After
    actions:
      - name: Never
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Code}]
)");
    REQUIRE(f.cpipeline({"create-pipeline", "--pipeline-definition", def}).exit_code == 0);
    RunOutput started;
    std::thread runner([&] { started = f.cpipeline({"start", "--name", "slow", "--output", "json"}); });
    std::string id;
    bool sleeping = wait_until([&] {
      auto list = f.cpipeline({"list-pipeline-executions", "--pipeline-name", "slow", "--output", "json"});
      if (list.exit_code != 0) return false;
      auto summaries = CpipelineFixture::json_of(list)["pipelineExecutionSummaries"];
      if (summaries.empty()) return false;
      id = summaries[0]["pipelineExecutionId"].get<std::string>();
      auto dir = f.home / "store/pipelines/slow/executions" / id / "work/Work/Sleep/src/started";
      return std::filesystem::exists(dir);
    });
    REQUIRE(sleeping);
    std::vector<std::string> args = {"stop-pipeline-execution", "--pipeline-name", "slow", "--pipeline-execution-id", id};
    if (abandon) args.push_back("--abandon");
    auto stop = f.cpipeline(args);
    INFO(stop.err);
    CHECK(stop.exit_code == 0);
    CHECK(stop.out == "Execution " + id + " Stopping\n");
    runner.join();
    INFO(started.err);
    CHECK(started.exit_code == 4);
    auto execution = CpipelineFixture::json_of(
        f.cpipeline({"get-pipeline-execution", "--pipeline-name", "slow", "--pipeline-execution-id", id, "--output", "json"}));
    CHECK(execution["pipelineExecution"]["status"] == "Stopped");
    auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "slow", "--output", "json"}));
    CHECK(state["stageStates"][1]["actionStates"][0]["latestExecution"]["status"] == (abandon ? "Abandoned" : "Succeeded"));
    CHECK_FALSE(state["stageStates"][2]["actionStates"][0].contains("latestExecution"));
    CHECK(std::filesystem::exists(f.home / "store/pipelines/slow/executions" / id / "work/Work/Sleep/slept") == !abandon);
  }
}

TEST_CASE("cpipeline executions: kill -9 of a running execution, then the next look repairs it and frees its stage",
          "[cpipeline][executions][kill]") {
  CpipelineFixture f;
  f.file("home/store/buckets/src/app/run.sh", "#!/bin/sh\n");
  auto def = f.file("slow.yml", R"(name: slow
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: app}
        outputArtifacts: [{name: Code}]
  - name: Work
    actions:
      - name: Sleep
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo $$ > ../shell.pid", "touch ../started", "if [ ! -e again ]; then sleep 60; fi"]
        inputArtifacts: [{name: Code}]
)");
  REQUIRE(f.cpipeline({"create-pipeline", "--pipeline-definition", def}).exit_code == 0);
  RunOutput started;
  std::thread runner([&] { started = f.cpipeline({"start", "--name", "slow", "--output", "json"}); });
  std::string id;
  std::filesystem::path work;
  bool sleeping = wait_until([&] {
    auto keys = f.home / "store/pipelines/slow/executions";
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(keys, ec))
      if (e.is_directory() && std::filesystem::exists(e.path() / "work/Work/Sleep/started")) {
        id = e.path().filename().string();
        work = e.path() / "work/Work/Sleep";
        return true;
      }
    return false;
  });
  REQUIRE(sleeping);
  auto record = unwrap(parse_json(unwrap(read_file(f.home / "store/pipelines/slow/executions" / (id + ".json"))), "record"));
  int tool = record["process"]["pid"].get<int>();
  ::kill(tool, SIGKILL);
  runner.join();
  CHECK(started.exit_code == 128 + SIGKILL);
  // Nothing of the execution survives its tool (the build's guard ends the build's shell).
  CHECK(wait_gone(std::stoi(unwrap(read_file(work / "shell.pid")))));
  // The next look says what happened, and the stage it held is free again.
  auto got = CpipelineFixture::json_of(
      f.cpipeline({"get-pipeline-execution", "--pipeline-name", "slow", "--pipeline-execution-id", id, "--output", "json"}));
  CHECK(got["pipelineExecution"]["status"] == "Failed");
  CHECK(contains(got["pipelineExecution"]["statusSummary"].get<std::string>(),
                 fmt::format("the cpipeline process running this execution (pid {} on ", tool)));
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "slow", "--output", "json"}));
  CHECK(state["stageStates"][1]["actionStates"][0]["latestExecution"]["status"] == "Failed");
  f.file("home/store/buckets/src/app/again", "");  // the next run does not sleep
  auto next = f.cpipeline({"start", "--name", "slow"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
}

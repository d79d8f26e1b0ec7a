// What moves executions besides start and approve, through the binary on real pipelines: a retry
// of a failed stage, a stage's onFailure RETRY and ROLLBACK, rollback-stage, a disabled transition
// holding executions, pushes to a repository of the home starting pipelines through the hook
// (filters, two pushes in quick succession under SUPERSEDED and QUEUED), --no-wait, and poll
// after a kill -9.
#include "cli/cpipeline_fixture.hpp"

#include <signal.h>

#include <chrono>
#include <thread>

#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {

struct ControlFixture : CpipelineFixture {
  std::filesystem::path out = scratch / "out";

  ControlFixture() { std::filesystem::create_directories(out); }

  void create(const std::string& yaml) {
    auto created = cpipeline({"create-pipeline", "--pipeline-definition", file("p.yml", yaml)});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
  }
  Json execution(const std::string& pipeline, const std::string& id) {
    auto got = cpipeline({"get-pipeline-execution", "--pipeline-name", pipeline, "--pipeline-execution-id", id, "--output", "json"});
    INFO(got.err);
    REQUIRE(got.exit_code == 0);
    return json_of(got)["pipelineExecution"];
  }
  Json executions(const std::string& pipeline) {
    auto got = cpipeline({"list-pipeline-executions", "--pipeline-name", pipeline, "--output", "json"});
    INFO(got.err);
    REQUIRE(got.exit_code == 0);
    return json_of(got)["pipelineExecutionSummaries"];
  }
  // Waits (bounded) until the pipeline has `count` executions and none is InProgress.
  Json settle(const std::string& pipeline, size_t count, int seconds = 60) {
    Json list;
    for (int i = 0; i < seconds * 10; ++i) {
      list = executions(pipeline);
      bool busy = std::any_of(list.begin(), list.end(), [](const Json& e) { return e["status"] == "InProgress"; });
      if (list.size() >= count && !busy) return list;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("pipeline " << pipeline << " did not settle: " << list.dump());
    return list;
  }
  std::string read(const std::string& rel) { return unwrap(read_file(scratch / rel)); }
};

std::string id_of(const RunOutput& r) { return CpipelineFixture::json_of(r)["pipelineExecutionId"].get<std::string>(); }

// Source (S3 folder) -> Build (Commands): the build fails while scratch/out/fail exists.
std::string flaky(const std::string& out, const std::string& extra_stage = "") {
  return fmt::format(R"Y(name: flaky
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {{category: Source, owner: AWS, provider: S3, version: "1"}}
        configuration: {{S3Bucket: src, S3ObjectKey: app}}
        outputArtifacts: [{{name: Code}}]
  - name: Build
{}    actions:
      - name: Good
        actionTypeId: {{category: Compute, owner: AWS, provider: Commands, version: "1"}}
        commands: ['echo good >> {}/good.log']
        inputArtifacts: [{{name: Code}}]
      - name: Bad
        actionTypeId: {{category: Compute, owner: AWS, provider: Commands, version: "1"}}
        commands: ['echo bad >> {}/bad.log', 'test ! -e {}/fail']
        inputArtifacts: [{{name: Code}}]
)Y",
                     extra_stage, out, out, out);
}

}  // namespace

TEST_CASE("cpipeline retry-stage-execution: the failed actions of the latest execution run again, then the rest",
          "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/a.txt", "a\n");
  f.create(flaky(f.out.string()));
  f.file("out/fail", "");
  auto first = f.cpipeline({"start", "--name", "flaky", "--output", "json"});
  REQUIRE(first.exit_code == 1);
  auto second = f.cpipeline({"start", "--name", "flaky", "--output", "json"});
  REQUIRE(second.exit_code == 1);
  std::filesystem::remove(f.out / "fail");

  // Only the latest execution to reach the stage can be retried; nothing changes otherwise.
  auto old = f.cpipeline({"retry-stage-execution", "--pipeline-name", "flaky", "--stage-name", "Build",
                          "--pipeline-execution-id", id_of(first), "--retry-mode", "FAILED_ACTIONS"});
  CHECK(old.exit_code == 2);
  CHECK(contains(old.err, "is not the latest to reach stage Build: " + id_of(second) + " is"));
  CHECK(f.execution("flaky", id_of(first))["status"] == "Failed");
  auto bad_mode = f.cpipeline({"retry-stage-execution", "--pipeline-name", "flaky", "--stage-name", "Build",
                               "--pipeline-execution-id", id_of(second), "--retry-mode", "SOME"});
  CHECK(bad_mode.exit_code == 2);
  CHECK(contains(bad_mode.err, "--retry-mode 'SOME': FAILED_ACTIONS or ALL_ACTIONS"));

  CHECK(f.read("out/good.log") == "good\ngood\n");
  auto retried = f.cpipeline({"retry-stage-execution", "--pipeline-name", "flaky", "--stage-name", "Build",
                              "--pipeline-execution-id", id_of(second), "--retry-mode", "FAILED_ACTIONS"});
  INFO(retried.err);
  CHECK(retried.exit_code == 0);
  CHECK(retried.out == "Execution " + id_of(second) + " Succeeded\n");
  // FAILED_ACTIONS: Good did not run again, Bad did.
  CHECK(f.read("out/good.log") == "good\ngood\n");
  CHECK(f.read("out/bad.log") == "bad\nbad\nbad\n");

  // A stage that succeeded is not retried; ALL_ACTIONS of a failed one runs every action.
  auto done = f.cpipeline({"retry-stage-execution", "--pipeline-name", "flaky", "--stage-name", "Build",
                           "--pipeline-execution-id", id_of(second), "--retry-mode", "ALL_ACTIONS"});
  CHECK(done.exit_code == 2);
  CHECK(contains(done.err, "only a Failed or Stopped execution can be retried"));
}

TEST_CASE("cpipeline stage onFailure RETRY: a failed stage runs again once by itself", "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/a.txt", "a\n");
  std::string o = f.out.string();
  // Bad fails while out/fail exists; its first run takes one of two markers away.
  auto yaml = flaky(o, "    onFailure: {result: RETRY, retryConfiguration: {retryMode: FAILED_ACTIONS}}\n");
  auto once = yaml;
  once.replace(once.find("'test ! -e " + o + "/fail'"), ("'test ! -e " + o + "/fail'").size(),
                           "'if test -e " + o + "/fail; then rm " + o + "/fail; exit 1; fi'");
  f.create(once);
  f.file("out/fail", "");
  auto ran = f.cpipeline({"start", "--name", "flaky", "--output", "json"});
  INFO(ran.err);
  CHECK(ran.exit_code == 0);
  CHECK(contains(ran.err, "retrying it once (onFailure RETRY, FAILED_ACTIONS)"));
  CHECK(f.read("out/bad.log") == "bad\nbad\n");
  CHECK(f.read("out/good.log") == "good\n");

  // A stage that fails again after its retry fails the execution: the retry happens once.
  auto updated = f.cpipeline({"update-pipeline", "--pipeline-definition", f.file("p2.yml", yaml)});
  REQUIRE(updated.exit_code == 0);
  f.file("out/fail", "");
  auto failed = f.cpipeline({"start", "--name", "flaky", "--output", "json"});
  CHECK(failed.exit_code == 1);
  CHECK(f.read("out/bad.log") == "bad\nbad\nbad\nbad\n");
  CHECK(f.execution("flaky", id_of(failed))["status"] == "Failed");
}

namespace {

// Source (S3 folder) -> Deploy (Commands: copies the source's version.txt to out/live.txt; fails on "broken").
std::string deployer(const std::string& out, const std::string& on_failure = "") {
  return fmt::format(R"Y(name: deployer
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {{category: Source, owner: AWS, provider: S3, version: "1"}}
        configuration: {{S3Bucket: src, S3ObjectKey: app}}
        outputArtifacts: [{{name: Code}}]
  - name: Deploy
{}    actions:
      - name: Install
        actionTypeId: {{category: Compute, owner: AWS, provider: Commands, version: "1"}}
        commands: ['grep -qv broken version.txt', 'cp version.txt {}/live.txt']
        inputArtifacts: [{{name: Code}}]
)Y",
                     on_failure, out);
}

}  // namespace

TEST_CASE("cpipeline rollback-stage and onFailure ROLLBACK: a stage runs again with an earlier execution's artifacts",
          "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/version.txt", "v1\n");
  f.create(deployer(f.out.string(), "    onFailure: {result: ROLLBACK}\n"));
  auto v1 = f.cpipeline({"start", "--name", "deployer", "--output", "json"});
  REQUIRE(v1.exit_code == 0);
  f.file("home/store/buckets/src/app/version.txt", "v2\n");
  auto v2 = f.cpipeline({"start", "--name", "deployer", "--output", "json"});
  REQUIRE(v2.exit_code == 0);
  CHECK(f.read("out/live.txt") == "v2\n");

  // By hand: the Deploy stage again with v1's artifact.
  auto rolled = f.cpipeline({"rollback-stage", "--pipeline-name", "deployer", "--stage-name", "Deploy",
                             "--target-pipeline-execution-id", id_of(v1), "--output", "json"});
  INFO(rolled.err);
  REQUIRE(rolled.exit_code == 0);
  CHECK(f.read("out/live.txt") == "v1\n");
  auto rb = f.execution("deployer", id_of(rolled));
  CHECK(rb["executionType"] == "ROLLBACK");
  CHECK(rb["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == id_of(v1));
  CHECK(rb["trigger"]["triggerType"] == "ManualRollback");
  // The source stage cannot be rolled back; nor can a stage to an execution that failed in it.
  CHECK(f.cpipeline({"rollback-stage", "--pipeline-name", "deployer", "--stage-name", "Source",
                     "--target-pipeline-execution-id", id_of(v1)}).exit_code == 2);

  // Automatic: a broken version fails Deploy, and the stage is rolled back to the latest
  // execution that succeeded in it (the rollback, which deployed v1).
  f.file("home/store/buckets/src/app/version.txt", "broken\n");
  auto broken = f.cpipeline({"start", "--name", "deployer", "--output", "json"});
  INFO(broken.err);
  CHECK(broken.exit_code == 1);
  auto j = CpipelineFixture::json_of(broken);
  REQUIRE(j.contains("rollback"));
  CHECK(j["rollback"]["status"] == "Succeeded");
  CHECK(f.read("out/live.txt") == "v1\n");
  auto auto_rb = f.execution("deployer", j["rollback"]["pipelineExecutionId"].get<std::string>());
  CHECK(auto_rb["trigger"]["triggerType"] == "AutomatedRollback");
  CHECK(auto_rb["executionType"] == "ROLLBACK");
}

TEST_CASE("cpipeline disable-stage-transition holds executions before the stage, enabling it lets the newest go on",
          "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/version.txt", "v1\n");
  f.create(deployer(f.out.string()));
  auto first_stage = f.cpipeline({"disable-stage-transition", "--pipeline-name", "deployer", "--stage-name", "Source",
                                  "--reason", "x"});
  CHECK(first_stage.exit_code == 2);
  CHECK(contains(first_stage.err, "stage Source is the first stage: it has no inbound transition"));
  auto disabled = f.cpipeline({"disable-stage-transition", "--pipeline-name", "deployer", "--stage-name", "Deploy",
                               "--reason", "release freeze"});
  INFO(disabled.err);
  REQUIRE(disabled.exit_code == 0);
  auto held = f.cpipeline({"start", "--name", "deployer", "--output", "json"});
  INFO(held.err);
  CHECK(held.exit_code == 6);
  CHECK(CpipelineFixture::json_of(held)["heldBefore"] == "Deploy");
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "deployer", "--output", "json"}));
  CHECK(state["stageStates"][1]["inboundTransitionState"]["enabled"] == false);
  CHECK(state["stageStates"][1]["inboundTransitionState"]["disabledReason"] == "release freeze");
  CHECK_FALSE(std::filesystem::exists(f.out / "live.txt"));

  // SUPERSEDED: a newer execution held at the same place replaces the older one.
  f.file("home/store/buckets/src/app/version.txt", "v2\n");
  auto newer = f.cpipeline({"start", "--name", "deployer", "--output", "json"});
  CHECK(newer.exit_code == 6);
  CHECK(f.execution("deployer", id_of(held))["status"] == "Superseded");

  auto enabled = f.cpipeline({"enable-stage-transition", "--pipeline-name", "deployer", "--stage-name", "Deploy",
                              "--transition-type", "Inbound"});
  INFO(enabled.err);
  CHECK(enabled.exit_code == 0);
  CHECK(enabled.out == "Execution " + id_of(newer) + " Succeeded\n");
  CHECK(f.read("out/live.txt") == "v2\n");
  state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "deployer", "--output", "json"}));
  CHECK(state["stageStates"][1]["inboundTransitionState"]["enabled"] == true);
}

TEST_CASE("cpipeline start --no-wait returns once the execution goes on in the background", "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/version.txt", "v1\n");
  auto yaml = deployer(f.out.string());
  yaml.replace(yaml.find("'grep -qv"), 0, "'sleep 1', ");
  f.create(yaml);
  auto started = f.cpipeline({"start", "--name", "deployer", "--no-wait", "--output", "json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(CpipelineFixture::json_of(started)["status"] == "InProgress");
  CHECK_FALSE(std::filesystem::exists(f.out / "live.txt"));
  auto list = f.settle("deployer", 1);
  CHECK(list[0]["status"] == "Succeeded");
  CHECK(f.read("out/live.txt") == "v1\n");
}

namespace {

// A bare repository of the home with a clone to push from.
struct RepoFixture : ControlFixture {
  std::filesystem::path bare = home / "repos/web.git";
  std::filesystem::path work = scratch / "work";

  RepoFixture() {
    file("out/release", "");  // the watcher's builds wait for it (see the pushes in quick succession)
    REQUIRE(run({"git", "init", "-q", "--bare", "-b", "main", bare.string()}).exit_code == 0);
    REQUIRE(run({"git", "clone", "-q", bare.string(), work.string()}).exit_code == 0);
  }
  void git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", work.string(), "-c", "user.name=Ann", "-c", "user.email=ann@example.com"});
    auto r = run(args, {}, env());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  std::string commit(const std::string& path, const std::string& text) {
    file("work/" + path, text);
    git({"add", "."});
    git({"commit", "-qm", "change " + path});
    auto head = run({"git", "-C", work.string(), "rev-parse", "HEAD"});
    return std::string(trim(head.out));
  }
};

// A pipeline watching main of the home's repository web: a CodeCommit source, or (with triggers) a
// connection source whose FullRepositoryId names it.
std::string watcher(const std::string& out, const std::string& mode, const std::string& triggers = "") {
  std::string source = triggers.empty()
                           ? "{category: Source, owner: AWS, provider: CodeCommit, version: \"1\"}\n"
                             "        configuration: {RepositoryName: web, BranchName: main}"
                           : "{category: Source, owner: AWS, provider: CodeStarSourceConnection, version: \"1\"}\n"
                             "        configuration: {ConnectionArn: \"arn:aws:codeconnections:eu-west-1:111111111111:"
                             "connection/abc\", FullRepositoryId: acme/web, BranchName: main}";
  return fmt::format(R"Y(name: web
pipelineType: V2
executionMode: {}
{}stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {}
        outputArtifacts: [{{name: Code}}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Record
        actionTypeId: {{category: Compute, owner: AWS, provider: Commands, version: "1"}}
        commands: ['for i in $(seq 1200); do test -e {}/release && break; sleep 0.05; done',
                   'echo "#{{SourceVariables.CommitId}}" >> {}/built.log']
        inputArtifacts: [{{name: Code}}]
)Y",
                     mode, triggers, source, out, out);
}

}  // namespace

TEST_CASE("cpipeline install-hook: a push starts the pipeline watching the branch, with the pushed commit",
          "[cpipeline][control][hook]") {
  RepoFixture f;
  f.create(watcher(f.out.string(), "SUPERSEDED"));
  auto installed = f.cpipeline({"install-hook", "web"});
  INFO(installed.err);
  REQUIRE(installed.exit_code == 0);
  CHECK(std::filesystem::exists(f.bare / "hooks/post-receive.d/cpipeline"));
  CHECK(f.cpipeline({"install-hook", "nope"}).exit_code == 2);

  auto c1 = f.commit("a.txt", "1\n");
  f.git({"push", "-q", "origin", "main"});
  auto list = f.settle("web", 1);
  CHECK(list[0]["status"] == "Succeeded");
  CHECK(list[0]["trigger"]["triggerType"] == "CloudWatchEvent");
  CHECK(f.read("out/built.log") == c1 + "\n");
  // Another branch starts nothing.
  f.git({"checkout", "-q", "-b", "topic"});
  f.commit("b.txt", "2\n");
  f.git({"push", "-q", "origin", "topic"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(f.executions("web").size() == 1);

  // A hook that was there before keeps running, from post-receive.d.
  f.file("home/repos/web.git/hooks/post-receive", "#!/bin/sh\ncat > " + f.out.string() + "/previous.txt\n");
  std::filesystem::permissions(f.bare / "hooks/post-receive", std::filesystem::perms::owner_all);
  REQUIRE(f.cpipeline({"install-hook", "web"}).exit_code == 0);
  CHECK(std::filesystem::exists(f.bare / "hooks/post-receive.d/00-previous"));
  f.git({"checkout", "-q", "main"});
  auto c3 = f.commit("c.txt", "3\n");
  f.git({"push", "-q", "origin", "main"});
  list = f.settle("web", 2);
  CHECK(contains(f.read("out/previous.txt"), c3 + " refs/heads/main"));
  CHECK(f.read("out/built.log") == c1 + "\n" + c3 + "\n");
}

TEST_CASE("cpipeline notify-push: V2 push triggers filter by branch and file path, an exclude wins",
          "[cpipeline][control][hook]") {
  RepoFixture f;
  f.create(watcher(f.out.string(), "PARALLEL", R"(triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: Checkout
      push:
        - branches: {includes: [main, "release/**"]}
          filePaths: {includes: ["src/**"], excludes: ["src/generated/**"]}
)"));
  auto base = f.commit("README.md", "x\n");
  auto docs = f.commit("docs/a.md", "a\n");
  auto notify = [&](const std::string& from, const std::string& to, const std::string& ref) {
    auto r = f.cpipeline({"notify-push", "--repository", "web", from, to, ref});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return r;
  };
  f.git({"push", "-q", "origin", "main"});
  // Only docs changed: nothing starts.
  CHECK(notify(base, docs, "refs/heads/main").out.empty());
  auto gen = f.commit("src/generated/x.c", "x\n");
  CHECK(notify(docs, gen, "refs/heads/main").out.empty());  // excluded
  auto src = f.commit("src/main.c", "int main;\n");
  f.git({"push", "-q", "origin", "main"});
  CHECK(notify(gen, src, "refs/heads/topic").out.empty());  // not a watched branch
  auto started = notify(gen, src, "refs/heads/release/1.0");
  INFO(started.out);
  CHECK(contains(started.out, "\tstarted for push of refs/heads/release/1.0 (" + src.substr(0, 7) + ") to repository web"));
  auto list = f.settle("web", 1);
  CHECK(list[0]["trigger"]["triggerType"] == "WebhookV2");
  CHECK(f.read("out/built.log") == src + "\n");
  // A bad line is a usage error; a deleted branch starts nothing.
  CHECK(f.cpipeline({"notify-push", "--repository", "web"}, "garbage\n").exit_code == 2);
  CHECK(notify(src, std::string(40, '0'), "refs/heads/main").out.empty());
}

TEST_CASE("cpipeline executions: three pushes in quick succession, SUPERSEDED and QUEUED", "[cpipeline][control][hook]") {
  for (std::string mode : {"SUPERSEDED", "QUEUED"}) {
    DYNAMIC_SECTION(mode) {
      RepoFixture f;
      f.create(watcher(f.out.string(), mode));
      REQUIRE(f.cpipeline({"install-hook", "web"}).exit_code == 0);
      // The builds wait until out/release exists: the first holds Build while the next two
      // arrive, each once the one before it has read its source (so their order is known).
      std::filesystem::remove(f.out / "release");
      auto sources_read = [&](size_t n) {
        return wait_until([&] {
          auto j = CpipelineFixture::json_of(f.cpipeline({"list-action-executions", "--pipeline-name", "web", "--output", "json"}));
          size_t done = 0;
          for (auto& a : j["actionExecutionDetails"])
            if (a["actionName"] == "Checkout" && a["status"] == "Succeeded") ++done;
          return done >= n;
        });
      };
      std::vector<std::string> commits;
      for (size_t i = 0; i < 3; ++i) {
        commits.push_back(f.commit("n.txt", std::to_string(i) + "\n"));
        f.git({"push", "-q", "origin", "main"});
        REQUIRE(sources_read(i + 1));
      }
      // The third is at Build's door: QUEUED, both wait in line; SUPERSEDED, it replaced the second.
      REQUIRE(wait_until([&] {
        auto state = read_file(f.home / "store/pipelines/web/state.json");
        if (!state) return false;
        auto j = parse_json(*state, "state");
        if (!j || !j->contains("stages") || !(*j)["stages"].contains("Build")) return false;
        auto& build = (*j)["stages"]["Build"];
        size_t waiting = build.contains("waiting") ? build["waiting"].size() : 0;
        if (mode == "QUEUED") return waiting == 2;
        auto list = f.executions("web");
        return waiting == 1 && std::any_of(list.begin(), list.end(), [](const Json& e) { return e["status"] == "Superseded"; });
      }));
      f.file("out/release", "");
      auto list = f.settle("web", 3);
      REQUIRE(list.size() == 3);
      // Newest first.
      std::vector<std::string> statuses;
      for (auto& e : list) statuses.push_back(e["status"].get<std::string>());
      auto built = split_lines(f.read("out/built.log"));
      if (mode == "QUEUED") {
        CHECK(statuses == std::vector<std::string>{"Succeeded", "Succeeded", "Succeeded"});
        CHECK(built == commits);  // in the order pushed
      } else {
        // The first builds; of the two that waited for Build, the newer replaced the older.
        CHECK(statuses == std::vector<std::string>{"Succeeded", "Superseded", "Succeeded"});
        CHECK(built == std::vector<std::string>{commits[0], commits[2]});
      }
    }
  }
}

TEST_CASE("cpipeline poll: a killed execution is repaired, a changed source starts one, nothing else happens",
          "[cpipeline][control]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/version.txt", "v1\n");
  auto yaml = deployer(f.out.string());
  yaml.replace(yaml.find("'grep -qv"), 0,
               "'touch " + f.out.string() + "/started', 'test -e " + f.out.string() + "/fast || sleep 60', ");
  f.create(yaml);
  // kill -9 of the process running an execution, in its Deploy action.
  RunOutput started;
  std::thread runner([&] { started = f.cpipeline({"start", "--name", "deployer"}); });
  REQUIRE(wait_until([&] { return std::filesystem::exists(f.out / "started"); }));
  auto list0 = f.executions("deployer");
  REQUIRE(list0.size() == 1);
  std::string id = list0[0]["pipelineExecutionId"].get<std::string>();
  auto record = unwrap(parse_json(unwrap(read_file(f.home / "store/pipelines/deployer/executions" / (id + ".json"))), "record"));
  ::kill(record["process"]["pid"].get<int>(), SIGKILL);
  runner.join();
  CHECK(started.exit_code == 128 + SIGKILL);
  f.file("out/fast", "");
  auto polled = f.cpipeline({"poll"});
  INFO(polled.err);
  CHECK(polled.exit_code == 0);
  CHECK(contains(polled.out, "repaired  deployer " + id + ": Failed"));
  auto e = f.execution("deployer", id);
  CHECK(e["status"] == "Failed");
  CHECK(contains(e["statusSummary"].get<std::string>(), "ended before it finished"));

  // The killed execution had read v1: no change, nothing starts.
  auto quiet = f.cpipeline({"poll", "--pipeline-name", "deployer"});
  CHECK(quiet.out.empty());
  CHECK(f.executions("deployer").size() == 1);
  // The source changes: poll starts an execution in the background.
  f.file("home/store/buckets/src/app/version.txt", "v2\n");
  auto changed = f.cpipeline({"poll"});
  INFO(changed.err);
  CHECK(contains(changed.out, "started   deployer "));
  auto list = f.settle("deployer", 2);
  CHECK(list[0]["status"] == "Succeeded");
  CHECK(list[0]["trigger"]["triggerType"] == "PollForSourceChanges");
  CHECK(f.read("out/live.txt") == "v2\n");
}

TEST_CASE("cpipeline notifications: state changes and the approval needed reach the rules' targets",
          "[cpipeline][control][notify]") {
  ControlFixture f;
  f.file("home/store/buckets/src/app/version.txt", "v1\n");
  auto yaml = deployer(f.out.string());
  yaml += R"(  - name: Approve
    actions:
      - name: Review
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
)";
  f.create(yaml);
  f.file("home/notifications.yml", fmt::format(R"(rules:
  - name: all
    resource: "pipeline/*"
    events: ["*"]
    targets:
      - {{type: file, path: {}/events.jsonl}}
  - name: approvals
    resource: pipeline/deployer
    events: [codepipeline-pipeline-manual-approval-needed]
    targets:
      - {{type: command, command: "cat > {}/approval.json"}}
)",
                                               f.out.string(), f.out.string()));
  auto env = f.env();
  env["CICD_NOTIFY_SYNC"] = "1";  // delivered before each call returns: the test reads them at once
  auto started = run({CICD_CPIPELINE, "start", "--name", "deployer", "--output", "json"}, f.scratch.path(), env);
  INFO(started.err);
  REQUIRE(started.exit_code == 6);
  auto token = CpipelineFixture::json_of(started)["approval"]["token"].get<std::string>();
  auto approval = unwrap(parse_json(f.read("out/approval.json"), "event"));
  CHECK(approval["detail-type"] == "CodePipeline Action Execution State Change");
  CHECK(approval["detail"]["token"] == token);
  CHECK(approval["detail"]["pipeline"] == "deployer");
  auto approved = run({CICD_CPIPELINE, "approve", "--pipeline-name", "deployer", "--token", token}, f.scratch.path(), env);
  REQUIRE(approved.exit_code == 0);
  std::vector<std::string> types;
  for (auto& line : split_lines(f.read("out/events.jsonl")))
    if (!line.empty()) types.push_back(unwrap(parse_json(line, "event"))["eventTypeId"].get<std::string>());
  auto has = [&](const std::string& t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  CHECK(types.front() == "codepipeline-pipeline-pipeline-execution-started");
  CHECK(has("codepipeline-pipeline-stage-execution-started"));
  CHECK(has("codepipeline-pipeline-action-execution-succeeded"));
  CHECK(has("codepipeline-pipeline-manual-approval-needed"));
  CHECK(has("codepipeline-pipeline-manual-approval-succeeded"));
  CHECK(types.back() == "codepipeline-pipeline-pipeline-execution-succeeded");

  // A rules file that cannot be read turns notifications off with a warning, never the pipeline.
  f.file("home/notifications.yml", "rules: [{name: x, events: [nope]}]\n");
  auto warned = run({CICD_CPIPELINE, "start", "--name", "deployer"}, f.scratch.path(), env);
  CHECK(warned.exit_code == 6);
  CHECK(contains(warned.err, "warning: notifications are off: "));
}

TEST_CASE("cpipeline connection sources: connections.yml maps a full repository name to a repository here",
          "[cpipeline][control]") {
  RepoFixture f;  // the home's repository web, with a clone
  auto c1 = f.commit("a.txt", "from web\n");
  f.git({"push", "-q", "origin", "main"});
  // Another repository, outside the home.
  auto elsewhere = f.scratch / "srv/api.git";
  REQUIRE(run({"git", "init", "-q", "--bare", "-b", "main", elsewhere.string()}).exit_code == 0);
  f.git({"push", "-q", elsewhere.string(), "main"});
  auto pipeline = [&](const std::string& full) {
    return fmt::format(R"Y(name: conn
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {{category: Source, owner: AWS, provider: CodeStarSourceConnection, version: "1"}}
        configuration: {{ConnectionArn: "arn:aws:codeconnections:eu-west-1:111111111111:connection/abc", FullRepositoryId: {}, BranchName: main}}
        outputArtifacts: [{{name: Code}}]
        namespace: SourceVariables
  - name: Check
    actions:
      - name: Show
        actionTypeId: {{category: Compute, owner: AWS, provider: Commands, version: "1"}}
        commands: ['cp a.txt {}/got.txt', 'echo "#{{SourceVariables.FullRepositoryName}} #{{SourceVariables.CommitId}}" > {}/vars.txt']
        inputArtifacts: [{{name: Code}}]
)Y",
                       full, f.out.string(), f.out.string());
  };
  // Unmapped: the home's repository of the same name.
  f.create(pipeline("acme/web"));
  auto ran = f.cpipeline({"start", "--name", "conn"});
  INFO(ran.err);
  REQUIRE(ran.exit_code == 0);
  CHECK(f.read("out/got.txt") == "from web\n");
  CHECK(f.read("out/vars.txt") == "acme/web " + c1 + "\n");
  // Mapped to a path: that repository.
  f.file("home/pipeline/connections.yml", "repositories:\n  acme/api: " + elsewhere.string() + "\n");
  REQUIRE(f.cpipeline({"update-pipeline", "--pipeline-definition", f.file("p2.yml", pipeline("acme/api"))}).exit_code == 0);
  ran = f.cpipeline({"start", "--name", "conn"});
  INFO(ran.err);
  REQUIRE(ran.exit_code == 0);
  CHECK(f.read("out/vars.txt") == "acme/api " + c1 + "\n");
  // A mapping that is neither a name nor an absolute path fails the source, saying where.
  f.file("home/pipeline/connections.yml", "repositories:\n  acme/api: ../up\n");
  ran = f.cpipeline({"start", "--name", "conn"});
  CHECK(ran.exit_code == 1);
  CHECK(contains(ran.err, "connections.yml:2:13: error: '../up' is neither a repository of the home nor an absolute path"));
}

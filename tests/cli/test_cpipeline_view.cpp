// Seeing pipelines, through the real binary on real executions: show (text and Graphviz) of a
// pipeline waiting for an approval, plan (nothing runs), logs of a finished execution and of one
// followed while it runs.
#include "cli/cpipeline_fixture.hpp"

#include <regex>
#include <sstream>
#include <set>
#include <thread>

using namespace cicd;
using namespace cicd::test;

namespace {

// Source (S3 folder) -> Build (Commands, using a variable and the source's output variable)
// -> Approve (Manual, with the build's output variable) -> Ship (S3 deploy).
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
          - 'echo "#{variables.Greeting} #{SourceVariables.ObjectKey} #{codepipeline.PipelineExecutionId}" > dist/index.html'
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

// Source -> Build: two Commands actions side by side (one runOrder group), then a third after them.
const std::string k_echo = R"Y(name: echo
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: site}
        outputArtifacts: [{name: Code}]
  - name: Build
    actions:
      - name: Alpha
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["SLEEP_ALPHA", "echo alpha-$((40 + 2))"]
        inputArtifacts: [{name: Code}]
      - name: Beta
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo beta-$((40 + 3))"]
        inputArtifacts: [{name: Code}]
  - name: Finish
    actions:
      - name: Last
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo last-$((40 + 4))"]
        inputArtifacts: [{name: Code}]
)Y";

struct ViewFixture : CpipelineFixture {
  explicit ViewFixture(const std::string& definition) {
    file("home/store/buckets/src/site/page.txt", "world\n");
    auto created = cpipeline({"create-pipeline", "--pipeline-definition", file("p.yml", definition)});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
  }
  // The echo pipeline, its first action sleeping `sleep` first.
  static std::string echo_pipeline(const std::string& sleep) {
    std::string text = k_echo;
    return text.replace(text.find("SLEEP_ALPHA"), 11, sleep);
  }
  size_t executions(const std::string& pipeline) const {
    auto list = json_of(cpipeline({"list-pipeline-executions", "--pipeline-name", pipeline, "--output", "json"}));
    return list["pipelineExecutionSummaries"].size();
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("cpipeline show: a pipeline waiting for approval shows its token and the approve command, plain when not a tty",
          "[cpipeline][view]") {
  ViewFixture f(k_site);
  auto started = f.cpipeline({"start", "--name", "site", "--output", "json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 6);
  auto j = CpipelineFixture::json_of(started);
  std::string token = j["approval"]["token"].get<std::string>();
  std::string id = j["pipelineExecutionId"].get<std::string>();

  // NO_COLOR unset too: stdout is a pipe, so no colour either way.
  auto shown = run({CICD_CPIPELINE, "show", "site"}, f.scratch.path(), {{"CICD_HOME", f.home.string()}});
  INFO(shown.err);
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find('\033') == std::string::npos);
  CHECK(contains(shown.out, "+-- Source  Succeeded  (execution " + id + ")"));
  CHECK(contains(shown.out, "+-- Approve  InProgress"));
  CHECK(contains(shown.out, "+-- Ship  NotStarted"));
  CHECK(contains(shown.out, " [1] Make  AWS/Compute/Commands  Succeeded  "));
  CHECK(contains(shown.out, "waiting for approval: built=yes"));
  CHECK(contains(shown.out, "token " + token + " (expires "));
  CHECK(contains(shown.out, "cpipeline approve --pipeline-name site --stage-name Approve --action-name Review --token " +
                                token + " --summary TEXT"));
  // The build's id is shown beside its action.
  auto state = CpipelineFixture::json_of(f.cpipeline({"get-pipeline-state", "--name", "site", "--output", "json"}));
  auto build_id = state["stageStates"][1]["actionStates"][0]["latestExecution"]["externalExecutionId"].get<std::string>();
  CHECK(contains(shown.out, "id " + build_id));

  // The printed command answers the approval.
  auto approved = f.cpipeline({"approve", "--pipeline-name", "site", "--stage-name", "Approve", "--action-name", "Review",
                               "--token", token, "--summary", "ok"});
  INFO(approved.err);
  CHECK(approved.exit_code == 0);
  auto after = f.cpipeline({"show", "site", "--execution", id});
  CHECK(contains(after.out, "+-- Ship  Succeeded"));
  CHECK_FALSE(contains(after.out, "cpipeline approve"));
}

TEST_CASE("cpipeline show: colours on a terminal, none with --no-color or NO_COLOR", "[cpipeline][view]") {
  ViewFixture f(k_site);
  REQUIRE(f.cpipeline({"start", "--name", "site"}).exit_code == 6);
  auto env = f.env();
  env["NO_COLOR"] = "";
  std::vector<std::string> args = {CICD_CPIPELINE, "show", "site"};
  auto coloured = run_on_terminal(args, f.scratch.path(), env);
  INFO(coloured.out);
  REQUIRE(coloured.exit_code == 0);
  CHECK(contains(coloured.out, "\033[32mSucceeded\033[0m"));
  CHECK(contains(coloured.out, "\033[33mInProgress\033[0m"));
  args.insert(args.begin() + 1, "--no-color");
  auto flagged = run_on_terminal(args, f.scratch.path(), env);
  CHECK(contains(flagged.out, "Approve  InProgress"));
  CHECK_FALSE(contains(flagged.out, "\033["));
  args.erase(args.begin() + 1);
  env["NO_COLOR"] = "1";
  auto plain = run_on_terminal(args, f.scratch.path(), env);
  CHECK(contains(plain.out, "Approve  InProgress"));
  CHECK_FALSE(contains(plain.out, "\033["));
}

TEST_CASE("cpipeline show --format dot: a cluster per stage, a node per action, an edge per artifact hand-off",
          "[cpipeline][view]") {
  ViewFixture f(k_site);
  REQUIRE(f.cpipeline({"start", "--name", "site"}).exit_code == 6);
  auto dot = f.cpipeline({"show", "site", "--format", "dot"});
  INFO(dot.err);
  REQUIRE(dot.exit_code == 0);
  const std::string& g = dot.out;
  // Graphviz is not installed here: the structure is checked by reading it.
  CHECK(g.starts_with("digraph \"site\" {\n"));
  CHECK(g.ends_with("}\n"));
  CHECK(count_of(g, "{") == count_of(g, "}"));
  CHECK(count_of(g, "subgraph \"cluster_") == 4);
  for (auto node : {"Source/Fetch", "Build/Make", "Approve/Review", "Ship/Publish"}) {
    INFO(node);
    CHECK(count_of(g, fmt::format("    \"{}\" [label=", node)) == 1);
  }
  CHECK(contains(g, "\"Build/Make\" [label=\"Make\\nCommands\\nSucceeded\"]"));
  CHECK(contains(g, "\"Approve/Review\" [label=\"Review\\nManual\\nInProgress\"]"));
  CHECK(contains(g, "  \"Source/Fetch\" -> \"Build/Make\" [label=\"Code\"];\n"));
  CHECK(contains(g, "  \"Build/Make\" -> \"Ship/Publish\" [label=\"Site\"];\n"));
  CHECK(count_of(g, "style=dashed") == 3);  // Source->Build->Approve->Ship
  // Every edge joins two declared nodes.
  std::set<std::string> nodes;
  std::regex node_line(R"re(^    "([^"]+)" \[label=)re"), edge_line(R"re(^  "([^"]+)" -> "([^"]+)")re");
  for (auto& line : lines_of(g)) {
    std::smatch m;
    if (std::regex_search(line, m, node_line)) nodes.insert(m[1]);
  }
  for (auto& line : lines_of(g)) {
    std::smatch m;
    if (!std::regex_search(line, m, edge_line)) continue;
    CHECK(nodes.count(m[1]) == 1);
    CHECK(nodes.count(m[2]) == 1);
  }
}

TEST_CASE("cpipeline plan: resolves variables, lists what only a run knows with its producer, and runs nothing",
          "[cpipeline][view]") {
  ViewFixture f(k_site);
  auto plan = f.cpipeline({"plan", "site", "--variables", "name=Greeting,value=hi"});
  INFO(plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK(contains(plan.out, "variable Greeting = hi\n"));
  CHECK(contains(plan.out, "  [1] Make  AWS/Compute/Commands  runs here (Commands)\n"));
  CHECK(contains(plan.out, "        input Code (from Source/Fetch)\n"));
  CHECK(contains(plan.out, "$ echo \"hi #{SourceVariables.ObjectKey} <execution id>\" > dist/index.html\n"));
  CHECK(contains(plan.out, "known when it runs: #{SourceVariables.ObjectKey} (from Source/Fetch)\n"));
  CHECK(contains(plan.out, "known when it runs: #{BuildVariables.BUILT} (from Build/Make)\n"));
  CHECK_FALSE(contains(plan.out, "start would refuse"));
  // Stages in order.
  CHECK(plan.out.find("stage Source") < plan.out.find("stage Build"));
  CHECK(plan.out.find("stage Approve") < plan.out.find("stage Ship"));

  auto j = CpipelineFixture::json_of(f.cpipeline({"plan", "site", "--output", "json"}));
  CHECK(j["variables"] == Json::parse(R"([{"name": "Greeting", "value": "hello"}])"));
  auto& review = j["stages"][2]["actions"][0];
  CHECK(review["configuration"]["CustomData"] == "built=#{BuildVariables.BUILT}");
  CHECK(review["unknownVariables"] == Json::parse(R"([{"reference": "#{BuildVariables.BUILT}", "producer": "Build/Make"}])"));
  CHECK(j["stages"][3]["actions"][0]["inputArtifacts"] == Json::parse(R"([{"name": "Site", "producer": "Build/Make"}])"));
  CHECK(j["stages"][0]["actions"][0]["runner"] == "provider");

  // Nothing ran: no execution, no deploy.
  CHECK(f.executions("site") == 0);
  CHECK_FALSE(std::filesystem::exists(f.home / "store/buckets/www"));

  // A variable start would refuse is refused here too.
  auto undeclared = f.cpipeline({"plan", "site", "--variables", "name=Nope,value=1"});
  CHECK(undeclared.exit_code == 2);
  CHECK(undeclared.err == "cpipeline: error: pipeline 'site' declares no variable 'Nope'\n");
}

TEST_CASE("cpipeline plan: an action without a local runner is shown and start would refuse", "[cpipeline][view]") {
  ViewFixture f(R"(name: lam
stages:
  - name: Source
    actions:
      - name: Fetch
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: src, S3ObjectKey: site}
        outputArtifacts: [{name: Code}]
  - name: Invoke
    actions:
      - name: Call
        actionTypeId: {category: Invoke, owner: AWS, provider: Lambda, version: "1"}
        configuration: {FunctionName: f}
        inputArtifacts: [{name: Code}]
)");
  auto plan = f.cpipeline({"plan", "lam"});
  INFO(plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK(contains(plan.out, "  [1] Call  AWS/Invoke/Lambda  no local runner: start would refuse\n"));
  CHECK(contains(plan.out, "start would refuse: pipeline 'lam' has actions cpipeline cannot run here: Invoke/Call"));
  CHECK(f.executions("lam") == 0);
}

TEST_CASE("cpipeline logs: every action's output of a finished execution under its header, or one action's alone",
          "[cpipeline][view]") {
  ViewFixture f(ViewFixture::echo_pipeline("true"));
  auto started = f.cpipeline({"start", "--name", "echo", "--output", "json"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  std::string id = CpipelineFixture::json_of(started)["pipelineExecutionId"].get<std::string>();

  // Without --pipeline-name: found in whichever pipeline has it.
  auto logs = f.cpipeline({"logs", id});
  INFO(logs.err);
  REQUIRE(logs.exit_code == 0);
  CHECK(contains(logs.out, "==> Source/Fetch (Succeeded) <==\n"));
  CHECK(contains(logs.out, "==> Build/Alpha (Succeeded) <==\n"));
  CHECK(contains(logs.out, "==> Build/Beta (Succeeded) <==\n"));
  CHECK(contains(logs.out, "==> Finish/Last (Succeeded) <==\n"));
  CHECK(contains(logs.out, "alpha-42"));
  CHECK(contains(logs.out, "beta-43"));
  CHECK(contains(logs.out, "last-44"));
  // Each output under its own header.
  CHECK(logs.out.find("alpha-42") > logs.out.find("==> Build/Alpha"));
  CHECK(logs.out.find("alpha-42") < logs.out.find("==> Build/Beta"));
  CHECK(logs.out.find("last-44") > logs.out.find("==> Finish/Last"));

  auto one = f.cpipeline({"logs", id, "--pipeline-name", "echo", "--action", "Build/Beta"});
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  CHECK(contains(one.out, "beta-43"));
  CHECK_FALSE(contains(one.out, "alpha-42"));
  CHECK_FALSE(contains(one.out, "==>"));

  auto no_action = f.cpipeline({"logs", id, "--action", "Nope"});
  CHECK(no_action.exit_code == 2);
  CHECK(no_action.err == "cpipeline: error: execution " + id + " of pipeline 'echo' has no action 'Nope'\n");
}

TEST_CASE("cpipeline logs: an unknown execution id is an error", "[cpipeline][view]") {
  ViewFixture f(ViewFixture::echo_pipeline("true"));
  auto r = f.cpipeline({"logs", "no-such-execution"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "cpipeline: error: pipeline execution 'no-such-execution' does not exist in any pipeline\n");
  auto named = f.cpipeline({"logs", "no-such-execution", "--pipeline-name", "echo"});
  CHECK(named.exit_code == 2);
  CHECK(named.err == "cpipeline: error: pipeline execution 'no-such-execution' of pipeline 'echo' does not exist\n");
}

TEST_CASE("cpipeline logs --follow: prints later output, of actions that start later too, and exits when it ends",
          "[cpipeline][view]") {
  ViewFixture f(ViewFixture::echo_pipeline("sleep 2"));
  RunOutput started;
  std::thread runner([&] { started = f.cpipeline({"start", "--name", "echo", "--output", "json"}); });
  // Follow once the execution is recorded and still running.
  std::string id;
  bool running = wait_until([&] {
    auto list = CpipelineFixture::json_of(
        f.cpipeline({"list-pipeline-executions", "--pipeline-name", "echo", "--output", "json"}));
    auto& all = list["pipelineExecutionSummaries"];
    if (all.empty() || all[0]["status"] != "InProgress") return false;
    id = all[0]["pipelineExecutionId"].get<std::string>();
    return true;
  });
  if (!running) runner.join();
  REQUIRE(running);
  auto followed = f.cpipeline({"logs", id, "--follow"});
  runner.join();
  INFO(followed.err);
  REQUIRE(started.exit_code == 0);
  CHECK(followed.exit_code == 0);  // as start gives for Succeeded
  CHECK(contains(followed.out, "alpha-42"));
  CHECK(contains(followed.out, "beta-43"));
  CHECK(contains(followed.out, "==> Finish/Last ("));
  CHECK(contains(followed.out, "last-44"));
  // Output is always under the header of the action that wrote it, as tail -f has it.
  for (std::string out : {"alpha-42", "beta-43", "last-44"}) {
    auto at = followed.out.find(out);
    INFO(out);
    CHECK(followed.out.rfind("==> ", at) == followed.out.rfind(out == "alpha-42"  ? "==> Build/Alpha"
                                                                 : out == "beta-43" ? "==> Build/Beta"
                                                                                    : "==> Finish/Last",
                                                                 at));
  }
  CHECK(count_of(followed.out, "alpha-42") == count_of(f.cpipeline({"logs", id, "--action", "Alpha"}).out, "alpha-42"));
}

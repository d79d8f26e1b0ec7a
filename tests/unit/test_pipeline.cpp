// The pipeline declaration's model and validator (formats/pipeline.hpp), on declarations written
// here in YAML, the way pipeline(5) shows them.
#include <catch2/catch.hpp>

#include "formats/pipeline.hpp"
#include "formats/yaml_util.hpp"
#include "support/test_support.hpp"

using namespace cicd;

namespace {

PipelineParse parse(const std::string& text, PipelineCheckOptions options = {}) {
  Diagnostics d;
  auto node = yaml::load(text, d);
  REQUIRE(node);
  auto doc = yaml::to_json(*node, d);
  REQUIRE_FALSE(d.has_errors());
  options.warn_without_local_runner = options.warn_without_local_runner;
  return parse_pipeline_declaration(doc, options);
}

std::vector<std::string> lines(const PipelineParse& p, Severity which = Severity::error) {
  std::vector<std::string> out;
  for (auto& d : p.diagnostics.items())
    if (d.severity == which) out.push_back(format_diagnostic("p.yml", d));
  return out;
}

// Source (CodeCommit) -> Build (CodeBuild) -> Approve (Manual) -> Deploy (CodeDeploy).
const std::string k_chain = R"(name: web
pipelineType: V1
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        configuration:
          RepositoryName: web
          BranchName: main
          PollForSourceChanges: false
        outputArtifacts: [{name: SourceOutput}]
        namespace: SourceVariables
  - name: Build
    actions:
      - name: Compile
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: 1}
        configuration:
          ProjectName: web-build
          EnvironmentVariables: '[{"name":"COMMIT","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"}]'
        inputArtifacts: [{name: SourceOutput}]
        outputArtifacts: [{name: BuildOutput}]
        namespace: BuildVariables
  - name: Approve
    actions:
      - name: Review
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
        configuration: {CustomData: "Commit #{SourceVariables.CommitId}"}
        timeoutInMinutes: 60
  - name: Deploy
    actions:
      - name: Ship
        actionTypeId: {category: Deploy, owner: AWS, provider: CodeDeploy, version: "1"}
        configuration: {ApplicationName: web, DeploymentGroupName: prod}
        inputArtifacts: [{name: BuildOutput}]
)";

}  // namespace

TEST_CASE("pipeline: a Source, Build, Approval and Deploy pipeline reads into its model", "[pipeline]") {
  auto p = parse(k_chain);
  INFO(fmt::format("{}", fmt::join(lines(p), "\n")));
  REQUIRE(p.pipeline);
  CHECK(lines(p, Severity::warning).empty());
  const Pipeline& pl = *p.pipeline;
  CHECK(pl.name == "web");
  CHECK(pl.pipeline_type == "V1");
  CHECK(pl.execution_mode == ExecutionMode::superseded);
  REQUIRE(pl.stages.size() == 4);
  const auto& checkout = pl.stages[0].actions[0];
  CHECK(checkout.type.provider == "CodeCommit");
  CHECK(*checkout.config("BranchName") == "main");
  CHECK(*checkout.config("PollForSourceChanges") == "false");  // text, as CodePipeline keeps it
  CHECK(checkout.name_space == "SourceVariables");
  CHECK(checkout.position.line == 6);
  const auto& compile = pl.stages[1].actions[0];
  CHECK(compile.type.version == "1");  // an unquoted number reads as its text
  CHECK(compile.inputs.size() == 1);
  CHECK(compile.inputs[0].name == "SourceOutput");
  CHECK(pl.stages[2].actions[0].timeout_in_minutes == 60);
  auto producer = pl.producer("BuildOutput");
  REQUIRE(producer);
  CHECK(producer->second->name == "Compile");
  // The declaration as get-pipeline prints it: runOrder filled in, configuration as text.
  const Json& decl = pl.declaration;
  CHECK(decl["version"] == 1);
  CHECK(decl["stages"][0]["actions"][0]["runOrder"] == 1);
  CHECK(decl["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] == "false");
  CHECK(decl["stages"][2]["actions"][0]["inputArtifacts"] == Json::array());
}

TEST_CASE("pipeline: every problem is reported at once, each at its place", "[pipeline]") {
  auto p = parse(R"(name: bad name
pipelineType: V1
executionMode: QUEUED
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        outputArtifacts: [{name: Src}]
        namespace: Vars
      - name: Early
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        inputArtifacts: [{name: Src}]
  - name: Build
    actions:
      - name: Compile
        runOrder: 0
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuld, version: "1"}
        inputArtifacts: [{name: Srcc}]
        outputArtifacts: [{name: Src}]
        namespace: Vars
      - name: Compile
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        configuration: {ProjectName: "#{Later.x}", Other: "#{variables.nope}"}
        inputArtifacts: [{name: Out}]
        outputArtifacts: [{name: Out2}]
      - name: Produce
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        inputArtifacts: [{name: Src}]
        outputArtifacts: [{name: Out}]
        namespace: Later
  - name: Build
    actions:
      - name: Ship
        actionTypeId: {category: Deploy, owner: AWS, provider: CodeDeploy, version: "1"}
        inputArtifacts: [{name: Out}, {name: Out2}]
      - name: Again
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        outputArtifacts: [{name: More}]
)");
  CHECK_FALSE(p.pipeline);
  CHECK(lines(p) ==
        std::vector<std::string>{
            "p.yml:1:7: error: invalid pipeline name 'bad name': 1 to 100 characters, letters, digits and . @ - _",
            "p.yml:3:16: error: executionMode QUEUED needs a V2 pipeline, and this one says pipelineType V1",
            "p.yml:12:34: error: the first stage holds only source actions; action 'Early' is a Build action",
            "p.yml:13:33: error: input artifact 'Src' of action 'Early' is produced by action 'Checkout' (runOrder 1 "
            "in the same stage), which does not run before it: an input comes from an earlier stage, or from a lower "
            "runOrder in the same stage",
            "p.yml:17:19: error: runOrder must be between 1 and 999; got 0",
            "p.yml:18:63: error: CodePipeline has no action type AWS/Build/CodeBuld; did you mean 'CodeBuild'?",
            "p.yml:19:33: error: no action produces input artifact 'Srcc' of action 'Compile'; did you mean 'Src'?",
            "p.yml:20:34: error: output artifact 'Src' is already produced by action 'Checkout' in stage 'Source'; "
            "output artifact names are unique in a pipeline",
            "p.yml:21:20: error: namespace 'Vars' is already action 'Checkout''s; namespaces are unique in a pipeline",
            "p.yml:22:15: error: action name 'Compile' is used twice in stage 'Build' (first at line 16)",
            "p.yml:24:38: error: '#{Later.x}' in action 'Compile' comes from action 'Produce', which does not run "
            "before it: a variable comes from an earlier stage, or from a lower runOrder in the same stage",
            "p.yml:24:59: error: '#{variables.nope}' in action 'Compile': the pipeline declares no variable 'nope'",
            "p.yml:24:59: error: '#{variables...}' needs a V2 pipeline, and this one says pipelineType V1",
            "p.yml:25:33: error: input artifact 'Out' of action 'Compile' is produced by action 'Produce' (runOrder 1 "
            "in the same stage), which does not run before it: an input comes from an earlier stage, or from a lower "
            "runOrder in the same stage",
            "p.yml:32:11: error: stage name 'Build' is used twice (first at line 14)",
            "p.yml:36:25: error: action 'Ship' (Deploy/CodeDeploy) takes 1 input artifact; it has 2",
            "p.yml:38:34: error: source actions belong in the first stage only; action 'Again' is in stage 'Build'",
        });
}

TEST_CASE("pipeline: structure errors: one stage, a stage without actions, artifacts as bare names", "[pipeline]") {
  auto p = parse(R"(name: p
stages:
  - name: Source
    actions:
      - name: S
        actionTypeId: {category: Source, owner: ThirdParty, provider: GitHub, version: "1"}
        outputArtifacts: [MyApp]
        configuration: {Owner: me, Repo: r, Branch: main, OAuthToken: x, Extra: {a: 1}}
        colour: blue
)");
  CHECK_FALSE(p.pipeline);
  CHECK(lines(p) ==
        std::vector<std::string>{
            "p.yml:3:3: error: a pipeline needs at least 2 stages (a source stage and one more); it has 1",
            "p.yml:5:9: error: action 'S' (Source/GitHub) produces 1 output artifact; it has 0",
            "p.yml:7:27: error: each of 'outputArtifacts' is a structure with a name (`- name: MyApp`), not text",
            "p.yml:8:81: error: configuration 'Extra' must be text, not a structure (CodePipeline takes text; JSON goes "
            "in a string)",
            "p.yml:9:17: error: unknown field 'colour' in an action; expected name, actionTypeId, runOrder, "
            "configuration, commands, outputArtifacts, inputArtifacts, outputVariables, roleArn, region, namespace, "
            "timeoutInMinutes, environmentVariables or localCommand",
        });
}

TEST_CASE("pipeline: what only V2 has makes a pipeline V2, Commands actions and pipeline variables", "[pipeline]") {
  auto p = parse(R"(name: v2
executionMode: PARALLEL
variables:
  - name: Target
    defaultValue: staging
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: CodeStarSourceConnection, version: "1"}
        configuration: {ConnectionArn: arn, FullRepositoryId: me/web, BranchName: main}
        outputArtifacts: [{name: Code}]
  - name: Work
    actions:
      - name: Run
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo #{variables.Target}", "export N=1"]
        outputVariables: [N]
        inputArtifacts: [{name: Code}]
        outputArtifacts: [{name: Out, files: ["dist/**/*"]}]
        namespace: RunVars
      - name: Use
        runOrder: 2
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo #{RunVars.N} #{RunVars.M} #{codepipeline.PipelineExecutionId}"]
        inputArtifacts: [{name: Out}]
    onFailure:
      result: RETRY
      retryConfiguration: {retryMode: FAILED_ACTIONS}
    beforeEntry:
      conditions:
        - result: ROLLBACK
          rules:
            - name: Window
              ruleTypeId: {category: Rule, owner: AWS, provider: DeploymentWindow, version: "1"}
)");
  CHECK(lines(p) == std::vector<std::string>{
                        "p.yml:25:20: error: '#{RunVars.M}': action 'Run' does not list 'M' in its outputVariables",
                        "p.yml:32:19: error: a condition of beforeEntry cannot have result 'ROLLBACK'; it can be FAIL "
                        "or SKIP",
                    });
  // The same without the two mistakes is a V2 pipeline.
  auto text = std::string(R"(name: v2
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: b, S3ObjectKey: k}
        outputArtifacts: [{name: Code}]
  - name: Work
    actions:
      - name: Run
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["make"]
        inputArtifacts: [{name: Code}]
)");
  auto ok = parse(text);
  REQUIRE(ok.pipeline);
  CHECK(ok.pipeline->pipeline_type == "V2");
  CHECK(ok.pipeline->execution_mode == ExecutionMode::parallel);
  CHECK(ok.pipeline->declaration["pipelineType"] == "V2");
  CHECK(ok.pipeline->stages[1].actions[0].commands == std::vector<std::string>{"make"});
}

TEST_CASE("pipeline: triggers filter a connection's pushes and pull requests", "[pipeline]") {
  auto p = parse(R"(name: t
pipelineType: V2
triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: Src
      push:
        - branches: {includes: [main, "release/**"], excludes: [release/old]}
          filePaths: {includes: ["src/**"]}
      pullRequest:
        - events: [OPEN, MERGED]
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: Scr
      push: [{tags: {includes: ["v*"]}}]
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: CodeStarSourceConnection, version: "1"}
        outputArtifacts: [{name: Code}]
  - name: Build
    actions:
      - name: B
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        inputArtifacts: [{name: Code}]
)");
  CHECK(lines(p) == std::vector<std::string>{
                        "p.yml:11:26: error: unknown pull request event 'MERGED'; expected OPEN, UPDATED or CLOSED",
                        "p.yml:14:25: error: trigger source action 'Scr' is not an action of the first stage; did you "
                        "mean 'Src'?",
                    });
  CHECK(p.diagnostics.error_count() == 2);
  // The connection's source runs here (the home's repository of the same name): no warning.
  CHECK(lines(p, Severity::warning).empty());
}

TEST_CASE("pipeline: actions without a local runner are named, AWS's legacy __type tags are ignored", "[pipeline]") {
  auto p = parse(R"(name: cfn
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {__type: ActionTypeId, category: Source, owner: AWS, provider: S3, version: "1"}
        outputArtifacts: [{name: Code}]
  - name: Deploy
    actions:
      - name: Stack
        actionTypeId: {category: Deploy, owner: AWS, provider: CloudFormation, version: "1"}
        inputArtifacts: [{name: Code}]
      - name: Partner
        actionTypeId: {category: Test, owner: ThirdParty, provider: GhostInspector, version: "1"}
        inputArtifacts: [{name: Code}]
)");
  REQUIRE(p.pipeline);
  CHECK(lines(p, Severity::warning) ==
        std::vector<std::string>{
            "p.yml:11:23: warning: action 'Stack' (AWS/Deploy/CloudFormation) has no local runner: `cpipeline start` "
            "needs a command for it (--action-override 'Stack=COMMAND' or 'localCommand' in the stored definition)",
            "p.yml:14:23: warning: action 'Partner' (ThirdParty/Test/GhostInspector) has no local runner: `cpipeline "
            "start` needs a command for it (--action-override 'Partner=COMMAND' or 'localCommand' in the stored "
            "definition)",
        });
  CHECK_FALSE(p.pipeline->declaration["stages"][0]["actions"][0]["actionTypeId"].contains("__type"));
}

TEST_CASE("pipeline: values only AWS knows are not checked", "[pipeline]") {
  PipelineCheckOptions o;
  o.unresolved = {"/stages/1/name", "/stages/1/actions/0/actionTypeId/version"};
  auto p = parse(R"(name: p
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        outputArtifacts: [{name: Code}]
  - name: "${!ImportValue TestImport}"
    actions:
      - name: B
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "${!ImportValue Version}"}
        inputArtifacts: [{name: Code}]
)",
                 o);
  CHECK(lines(p).empty());
  CHECK(p.pipeline);
}

TEST_CASE("pipeline: variable references", "[pipeline]") {
  auto refs = variable_references("a #{SourceVariables.CommitId}-#{codepipeline.PipelineExecutionId} #{x} #{.y} #{a.b");
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].name_space == "SourceVariables");
  CHECK(refs[0].variable == "CommitId");
  CHECK(refs[1].name_space == "codepipeline");
  CHECK(is_valid_pipeline_name("my.pipe@line-1_x"));
  CHECK_FALSE(is_valid_pipeline_name("a b"));
  CHECK_FALSE(is_valid_pipeline_name(std::string(101, 'a')));
  CHECK(is_valid_artifact_name("Build_Output-1"));
  CHECK_FALSE(is_valid_artifact_name("out.zip"));
  CHECK_FALSE(is_valid_namespace("a.b"));
}

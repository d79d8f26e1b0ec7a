// Pipeline definitions through the real binary: validate any format, and create, get, list,
// update and delete pipelines in the home, bad input changing nothing.
#include "cli/cpipeline_fixture.hpp"
#include "util/fs.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {

const std::string k_pipeline = R"(name: web
stages:
  - name: Source
    actions:
      - name: Checkout
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
        configuration: {RepositoryName: web, BranchName: main}
        outputArtifacts: [{name: Code}]
  - name: Build
    actions:
      - name: Compile
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
        configuration: {ProjectName: web-build}
        inputArtifacts: [{name: Code}]
)";

// A template with two pipelines, a parameter, a condition and an action with no local runner.
const std::string k_template = R"(AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Branch:
    Type: String
    Default: main
  WithStack:
    Type: String
    AllowedValues: ["yes", "no"]
    Default: "no"
Conditions:
  Stack: !Equals [!Ref WithStack, "yes"]
Resources:
  BuildProject:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: web-build
  PipelineRole:
    Type: AWS::IAM::Role
  AppPipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Sub "app-${Branch}"
      RoleArn: !GetAtt PipelineRole.Arn
      Stages:
        - Name: Source
          Actions:
            - Name: Checkout
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: 1}
              Configuration: {RepositoryName: web, BranchName: !Ref Branch, PollForSourceChanges: false}
              OutputArtifacts: [{Name: Code}]
        - Name: Build
          Actions:
            - Name: Compile
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: 1}
              Configuration: {ProjectName: !Ref BuildProject}
              InputArtifacts: [{Name: Code}]
            - !If
              - Stack
              - Name: Stack
                RunOrder: 2
                ActionTypeId: {Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: 1}
                Configuration: {ActionMode: CREATE_UPDATE, StackName: web}
                InputArtifacts: [{Name: Code}]
              - !Ref AWS::NoValue
  OtherPipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Stages:
        - Name: Source
          Actions:
            - Name: Fetch
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: 1}
              Configuration: {S3Bucket: b, S3ObjectKey: k}
              OutputArtifacts: [{Name: Code}]
        - Name: Ship
          Actions:
            - Name: Copy
              ActionTypeId: {Category: Deploy, Owner: AWS, Provider: S3, Version: 1}
              Configuration: {BucketName: out, Extract: true}
              InputArtifacts: [{Name: Code}]
)";

}  // namespace

TEST_CASE("cpipeline validate: pipeline YAML, get-pipeline JSON and templates, errors positioned", "[cpipeline][definitions]") {
  CpipelineFixture f;
  auto good = f.file("p.yml", k_pipeline);
  auto r = f.cpipeline({"validate", good});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == good + ": valid (pipeline-yaml: web (V1, 2 stages))\n");

  auto json = f.file("p.json", R"({
  "pipeline": {
    "name": "web",
    "roleArn": "arn:aws:iam::111111111111:role/p",
    "stages": [
      {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"__type": "ActionTypeId", "category": "Source",
        "owner": "AWS", "provider": "S3", "version": "1"}, "outputArtifacts": [{"name": "Code"}],
        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "inputArtifacts": []}]},
      {"name": "Deploy", "actions": [{"name": "D", "actionTypeId": {"category": "Deploy", "owner": "AWS",
        "provider": "CodeDeploy", "version": "1"}, "inputArtifacts": [{"name": "Cdoe"}]}]}
    ],
    "version": 3
  },
  "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:111111111111:web"}
}
)");
  auto bad = f.cpipeline({"validate", json, good});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out == json + ": invalid\n" + good + ": valid (pipeline-yaml: web (V1, 2 stages))\n");
  CHECK(bad.err == json + ":10:80: error: no action produces input artifact 'Cdoe' of action 'D'; did you mean 'Code'?\n");

  auto t = f.file("template.yml", k_template);
  auto tr = f.cpipeline({"validate", t, "--output", "json"});
  INFO(tr.err);
  CHECK(tr.exit_code == 0);
  auto result = CpipelineFixture::json_of(tr)["results"][0];
  CHECK(result["format"] == "cfn-yaml");
  CHECK(result["pipelines"] == Json::parse(R"([{"name": "app-main", "pipelineType": "V1", "stages": 2, "logicalId": "AppPipeline"},
                                                {"name": "OtherPipeline", "pipelineType": "V1", "stages": 2, "logicalId": "OtherPipeline"}])"));
  // The role is only known in AWS: a warning, not an error.
  CHECK(contains(tr.err, t + ":23:16: warning: "));
  // The condition chooses the CloudFormation action, which has no local runner.
  auto with_stack = f.cpipeline({"validate", t, "--parameter-overrides", "WithStack=yes", "Branch=dev"});
  CHECK(with_stack.exit_code == 0);
  CHECK(contains(with_stack.out, "app-dev (V1, 2 stages)"));
  CHECK(contains(with_stack.err, "warning: action 'Stack' (AWS/Deploy/CloudFormation) has no local runner"));
  auto not_allowed = f.cpipeline({"validate", t, "--parameter-overrides", "WithStack=maybe"});
  CHECK(not_allowed.exit_code == 2);
}

TEST_CASE("cpipeline: create, get, list, update and delete pipelines, bad input changes nothing", "[cpipeline][definitions]") {
  CpipelineFixture f;
  auto def = f.file("p.yml", k_pipeline);
  auto created = f.cpipeline({"create-pipeline", "--pipeline-definition", def});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CHECK(created.out == "Created pipeline web (version 1, V1, 2 stages: Source, Build)\n");
  auto again = f.cpipeline({"create-pipeline", "--pipeline-definition", def});
  CHECK(again.exit_code == 2);
  CHECK(again.err == "cpipeline: error: pipeline 'web' already exists\n");

  auto got = f.cpipeline({"get-pipeline", "--name", "web", "--output", "json"});
  REQUIRE(got.exit_code == 0);
  auto j = CpipelineFixture::json_of(got);
  CHECK(j["pipeline"]["version"] == 1);
  CHECK(j["pipeline"]["stages"][1]["actions"][0]["runOrder"] == 1);
  CHECK(j["metadata"]["pipelineArn"].get<std::string>().ends_with(":web"));
  auto stored = f.home / "pipeline" / "pipelines" / "web.yml";
  REQUIRE(std::filesystem::exists(stored));
  auto stored_text = unwrap(read_file(stored));

  // An update that does not validate: every error, and the stored pipeline as it was.
  auto broken = f.file("broken.yml", std::string(k_pipeline).replace(k_pipeline.find("{name: Code}]\n  - name: Build"), 12,
                                                                       "{name: Cod}"));
  auto refused = f.cpipeline({"update-pipeline", "--pipeline-definition", broken});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err == broken + ":14:33: error: no action produces input artifact 'Code' of action 'Compile'; did you "
                                "mean 'Cod'?\ncpipeline: error: invalid pipeline definition '" + broken + "': 1 error\n");
  CHECK(unwrap(read_file(stored)) == stored_text);

  // A valid update through create-pipeline's JSON input: version 2.
  auto input = f.file("in.json", R"({"pipeline": {"name": "web", "pipelineType": "V2", "stages": [
    {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "outputArtifacts": [{"name": "Code"}]}]},
    {"name": "Work", "actions": [{"name": "Run", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": ["make"], "inputArtifacts": [{"name": "Code"}]}]}]}, "tags": []})");
  auto updated = f.cpipeline({"update-pipeline", "--cli-input-json", "file://" + input});
  INFO(updated.err);
  REQUIRE(updated.exit_code == 0);
  CHECK(updated.out == "Updated pipeline web (version 2, V2, 2 stages: Source, Work)\n");

  // A template's pipeline, chosen by logical id, with a local command for its CloudFormation action.
  auto t = f.file("template.yml", k_template);
  auto ambiguous = f.cpipeline({"create-pipeline", "--pipeline-definition", t});
  CHECK(ambiguous.exit_code == 2);
  CHECK(ambiguous.err == "cpipeline: error: '" + t +
                             "' defines 2 pipelines (AppPipeline, OtherPipeline): choose one with --pipeline-name\n");
  auto from_template = f.cpipeline({"create-pipeline", "--pipeline-definition", t, "--pipeline-name", "AppPipeline",
                                    "--parameter-overrides", "WithStack=yes", "--action-override",
                                    "Build.Stack=./deploy-stack.sh"});
  INFO(from_template.err);
  REQUIRE(from_template.exit_code == 0);
  CHECK(from_template.out == "Created pipeline app-main (version 1, V1, 2 stages: Source, Build)\n");
  auto shown = f.cpipeline({"get-pipeline", "--name", "app-main"});
  CHECK(contains(shown.out, "    2. Stack  AWS/Deploy/CloudFormation  Code -> -  (locally: ./deploy-stack.sh)\n"));
  auto shown_json = CpipelineFixture::json_of(f.cpipeline({"get-pipeline", "--name", "app-main", "--output", "json"}));
  CHECK(shown_json["pipeline"]["stages"][1]["actions"][0]["configuration"]["ProjectName"] == "web-build");
  CHECK(shown_json["pipeline"]["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] == "false");

  auto listed = f.cpipeline({"list-pipelines", "--output", "json"});
  REQUIRE(listed.exit_code == 0);
  auto names = CpipelineFixture::json_of(listed)["pipelines"];
  REQUIRE(names.size() == 2);
  CHECK(names[0]["name"] == "app-main");
  CHECK(names[1]["name"] == "web");
  CHECK(names[1]["version"] == 2);
  CHECK(names[1]["pipelineType"] == "V2");

  // A stored file edited by hand into something invalid: the error names the file and the place.
  auto text = unwrap(read_file(stored));
  auto at = text.find("runOrder: 1");
  REQUIRE(at != std::string::npos);
  REQUIRE(write_file_atomic(stored, text.replace(at, 11, "runOrder: 0"), {.sync = false}));
  auto corrupt = f.cpipeline({"get-pipeline", "--name", "web"});
  CHECK(corrupt.exit_code == 2);
  CHECK(contains(corrupt.err, stored.string() + ":"));
  CHECK(contains(corrupt.err, "error: runOrder must be between 1 and 999; got 0"));

  REQUIRE(f.cpipeline({"delete-pipeline", "--name", "web"}).exit_code == 0);
  auto gone = f.cpipeline({"get-pipeline", "--name", "web"});
  CHECK(gone.exit_code == 2);
  CHECK(gone.err == "cpipeline: error: pipeline 'web' does not exist\n");
  auto no_source = f.cpipeline({"create-pipeline"});
  CHECK(no_source.exit_code == 2);
  CHECK(no_source.err ==
        "cpipeline: error: give the pipeline with one of --cli-input-json, --pipeline or --pipeline-definition\n");
}

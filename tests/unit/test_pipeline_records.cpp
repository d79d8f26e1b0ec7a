// Pipeline execution records: written and read back whole, AWS's shapes derived from them, and a
// corrupt record refused with the field named.
#include <catch2/catch.hpp>

#include "formats/yaml_json.hpp"
#include "formats/yaml_util.hpp"
#include "pipeline/records.hpp"
#include "support/test_support.hpp"

using namespace cicd;

namespace {

Pipeline two_stages() {
  Diagnostics d;
  auto node = yaml::load(R"(name: web
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: b, S3ObjectKey: k}
        outputArtifacts: [{name: Code}]
        namespace: SourceVariables
  - name: Approve
    actions:
      - name: Review
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
)",
                         d);
  REQUIRE(node);
  auto parsed = parse_pipeline_declaration(yaml::to_json(*node, d));
  REQUIRE(parsed.pipeline);
  return *parsed.pipeline;
}

}  // namespace

TEST_CASE("pipeline records: an execution round-trips, and AWS's shapes come from it", "[pipeline][records]") {
  auto r = new_execution(two_stages(), "0f3c6a0e-1111-4222-8333-444455556666", "2026-12-03T10:00:00.000Z");
  CHECK(r.stages.size() == 2);
  CHECK(r.stages[0].actions[0].status == ActionStatus::not_started);
  CHECK(r.stages[0].actions[0].configuration == Json{{"S3Bucket", "b"}, {"S3ObjectKey", "k"}});
  auto* src = r.action("Source", "Src");
  REQUIRE(src);
  src->status = ActionStatus::succeeded;
  src->action_execution_id = "a1";
  src->output_artifacts = {{"Code", "/store/pipelines/web/executions/x/artifacts/Code"}};
  src->output_variables = Json{{"ETag", "abc"}};
  src->resolved_configuration = src->configuration;
  r.artifact_revisions.push_back({"Code", "abc", "upload", "", "2026-12-03T10:00:01.000Z"});
  auto* review = r.action("Approve", "Review");
  review->status = ActionStatus::in_progress;
  review->token = "tok";
  r.current_stage = 1;
  r.process = ExecutionProcess{42, "host", 7};
  r.stop_reason = "";

  auto back = execution_from_json(execution_to_json(r));
  REQUIRE(back);
  CHECK(execution_to_json(*back) == execution_to_json(r));
  CHECK(back->action("Approve", "Review")->token == "tok");
  CHECK(back->process->pid == 42);

  auto detail = execution_detail_json(r);
  CHECK(detail["status"] == "InProgress");
  CHECK(detail["trigger"]["triggerType"] == "StartPipelineExecution");
  CHECK_FALSE(detail.contains("stages"));
  auto summary = execution_summary_json(r);
  CHECK(summary["sourceRevisions"] ==
        Json::parse(R"([{"actionName": "Src", "revisionId": "abc", "revisionSummary": "upload", "revisionUrl": ""}])"));
  auto action = action_execution_detail_json(r, *back->action("Source", "Src"));
  CHECK(action["output"]["outputVariables"]["ETag"] == "abc");
  CHECK(action["output"]["outputArtifacts"][0]["name"] == "Code");
  CHECK(action["input"]["namespace"] == "SourceVariables");
  CHECK(action["status"] == "Succeeded");
}

TEST_CASE("pipeline records: a corrupt record names the field", "[pipeline][records]") {
  auto j = execution_to_json(new_execution(two_stages(), "id", "t"));
  j["stages"][1]["actions"][0]["status"] = "Waiting";
  auto bad = execution_from_json(j);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "pipeline execution record: field 'stages[1].actions[0].status' is not an action status: 'Waiting'");
  auto j2 = execution_to_json(new_execution(two_stages(), "id", "t"));
  j2["stages"][0]["actions"][0]["configuration"] = "x";
  auto bad2 = execution_from_json(j2);
  REQUIRE_FALSE(bad2);
  CHECK(test::contains(bad2.error().message, "configuration"));
  CHECK(execution_status_name(ExecutionStatus::superseded) == "Superseded");
  CHECK(is_final(ExecutionStatus::stopped));
  CHECK_FALSE(is_final(ExecutionStatus::stopping));
}

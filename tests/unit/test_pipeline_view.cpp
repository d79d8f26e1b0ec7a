// The pure parts of the pipeline views: #{ns.var} resolution through a lookup (shared with the
// engine), the plan of a pipeline, and the Graphviz rendering of a view.
#include <catch2/catch.hpp>

#include "formats/yaml_util.hpp"
#include "pipeline/view.hpp"
#include "support/test_support.hpp"

using namespace cicd;
using cicd::test::contains;

namespace {

Pipeline pipeline_of(const std::string& text) {
  Diagnostics d;
  auto node = yaml::load(text, d);
  REQUIRE(node);
  auto doc = yaml::to_json(*node, d);
  REQUIRE_FALSE(d.has_errors());
  auto parsed = parse_pipeline_declaration(doc);
  REQUIRE(parsed.pipeline);
  return *parsed.pipeline;
}

const std::string k_pipeline = R"(name: p
pipelineType: V2
variables: [{name: Env, defaultValue: dev}]
stages:
  - name: Source
    actions:
      - name: Get
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: "1"}
        configuration: {S3Bucket: b, S3ObjectKey: "#{variables.Env}/src"}
        outputArtifacts: [{name: Code}]
        namespace: SV
  - name: Build
    actions:
      - name: A
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["echo #{SV.ETag} #{SV.ETag} #{codepipeline.PipelineExecutionId}"]
        inputArtifacts: [{name: Code}]
        outputArtifacts: [{name: Out}]
      - name: B
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Code}]
      - name: C
        runOrder: 2
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
        commands: ["true"]
        inputArtifacts: [{name: Out}]
)";

}  // namespace

TEST_CASE("pipeline variables: references resolve through a lookup, the unknown ones stay as written", "[pipeline][view]") {
  VariableLookup lookup = [](const VariableReference& ref) -> std::optional<std::string> {
    if (ref.name_space == "a") return "1";
    return std::nullopt;
  };
  std::vector<VariableReference> missing;
  CHECK(resolve_references("x #{a.b} #{c.d} #{a.e}!", lookup, missing) == "x 1 #{c.d} 1!");
  REQUIRE(missing.size() == 1);
  CHECK(reference_text(missing[0]) == "#{c.d}");
  missing.clear();
  CHECK(resolve_references("#{not a reference} #{", lookup, missing) == "#{not a reference} #{");
  CHECK(missing.empty());
}

TEST_CASE("pipeline plan: groups in order, variables and the execution id resolved, run-time values with their producer",
          "[pipeline][view]") {
  auto p = pipeline_of(k_pipeline);
  auto plan = unwrap(plan_pipeline(p, {{"Env", "prod"}}));
  CHECK(plan.refusal.empty());
  REQUIRE(plan.stages.size() == 2);
  REQUIRE(plan.stages[1].groups.size() == 2);
  CHECK(plan.stages[1].groups[0].size() == 2);
  CHECK(plan.stages[1].groups[1][0].name == "C");
  CHECK(plan.stages[0].groups[0][0].configuration[1].second == "prod/src");
  const auto& a = plan.stages[1].groups[0][0];
  CHECK(a.commands == std::vector<std::string>{"echo #{SV.ETag} #{SV.ETag} <execution id>"});
  REQUIRE(a.unknown.size() == 1);  // once, though written twice
  CHECK(a.unknown[0].reference == "#{SV.ETag}");
  CHECK(a.unknown[0].producer == "Source/Get");
  CHECK(plan.stages[1].groups[1][0].inputs[0].producer == "Build/A");
  CHECK(plan_to_json(plan)["variables"] == Json::parse(R"([{"name": "Env", "value": "prod"}])"));
  CHECK(unwrap(plan_pipeline(p, {})).variables[0].second == "dev");
  auto undeclared = plan_pipeline(p, {{"Nope", "1"}});
  REQUIRE_FALSE(undeclared);
  CHECK(undeclared.error().message == "pipeline 'p' declares no variable 'Nope'");
}

TEST_CASE("pipeline view: dot has a cluster per stage, a node per action and quotes what it must", "[pipeline][view]") {
  PipelineView view;
  view.pipeline = "p\"q";
  StageView s1, s2;
  s1.name = "S1";
  s1.groups = {{ActionView{"A", {"Source", "AWS", "S3", "1"}, "Succeeded", {}, {}, {}, {}, {}, {}, {}, {}, {}, {"X"}}}};
  s2.name = "S2";
  s2.transition_enabled = false;
  s2.groups = {{ActionView{"B", {"Build", "AWS", "CodeBuild", "1"}, "NotStarted", {}, {}, {}, {}, {}, {}, {}, {}, {"X"}, {}}}};
  view.stages = {s1, s2};
  auto dot = render_view_dot(view);
  CHECK(dot.starts_with("digraph \"p\\\"q\" {\n"));
  CHECK(contains(dot, "  subgraph \"cluster_0\" {\n    label=\"S1\\nNotStarted\";\n    \"S1/A\" [label=\"A\\nS3\\nSucceeded\"];\n  }\n"));
  CHECK(contains(dot, "  \"S1/A\" -> \"S2/B\" [label=\"X\"];\n"));
  CHECK(contains(dot, "  \"S1/A\" -> \"S2/B\" [style=dashed, ltail=\"cluster_0\", lhead=\"cluster_1\", color=red, label=\"transition disabled\"];\n"));
  CHECK(dot.ends_with("}\n"));
}

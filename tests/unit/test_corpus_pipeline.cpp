// Acceptance over real-world pipeline definitions (CloudFormation templates, CDK output, pipeline
// JSON from documentation): the shared corpus, read where it is (test::corpus_dir()).
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "formats/pipeline_document.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

// As `cpipeline validate` reads them: a parameter with no value waits for one (a warning).
PipelineReadOptions validate_options() {
  PipelineReadOptions o;
  o.parameters_required = false;
  return o;
}

PipelineDocument read_corpus(const std::string& name) {
  return read_pipeline_document(unwrap(read_file(test::corpus_file("pipeline", name).path())), validate_options());
}

std::string describe(const PipelineDocument& doc) {
  std::string out;
  auto all = doc.all_diagnostics();
  for (auto& d : all.items()) out += format_diagnostic("p", d) + "\n";
  return out;
}

const Pipeline& only_pipeline(const PipelineDocument& doc) {
  REQUIRE(doc.pipelines.size() == 1);
  REQUIRE(doc.pipelines[0].parse.pipeline);
  return *doc.pipelines[0].parse.pipeline;
}

}  // namespace

TEST_CASE("corpus: every real-world pipeline definition gets the expected verdict", "[pipeline][corpus]") {
  std::map<std::string, int> checked;
  for (auto& row : test::corpus_files("pipeline")) {
    auto doc = read_pipeline_document(unwrap(read_file(row.path())), validate_options());
    INFO(row.file << " (expect " << row.expect << ")\n" << describe(doc));
    // The format the note names is the one recognised.
    auto format = row.note.substr(row.note.find("format=") + 7);
    format = format.substr(0, format.find(';'));
    if (format != "cfn-json" || row.expect != "any") CHECK(pipeline_format_name(doc.format) == format);
    if (row.expect == "valid") {
      CHECK(doc.valid());
    } else if (row.expect == "invalid") {
      CHECK_FALSE(doc.valid());
      bool positioned = false;
      auto all = doc.all_diagnostics();
      for (auto& d : all.items())
        positioned = positioned || (d.severity == Severity::error && d.position.line > 0);
      CHECK(positioned);
    } else {
      REQUIRE(row.expect == "any");
      // No verdict, but an answer: pipelines, or positioned reasons why not.
      CHECK((doc.valid() || doc.all_diagnostics().has_errors()));
    }
    ++checked[row.expect];
  }
  CHECK(checked["valid"] == 17);
  CHECK(checked["invalid"] == 1);
  CHECK(checked["any"] == 1);
}

TEST_CASE("corpus: what the real-world pipelines hold is read as CodePipeline reads it", "[pipeline][corpus]") {
  SECTION("get-pipeline's answer with legacy __type keys") {
    auto doc = read_corpus("aws__aws-cli__awscli_examples_codepipeline_update-pipeline.rst.output.json");
    const auto& p = only_pipeline(doc);
    CHECK(p.version == 3);
    CHECK(p.stages[1].actions[0].type.provider == "CodeDeploy");
  }
  SECTION("V2, QUEUED, triggers on file paths, a Commands action") {
    auto doc = read_corpus("toshiro3__codepipeline-path-filter-demo__infra_pipeline-cfn.yaml");
    const auto& p = only_pipeline(doc);
    CHECK(p.pipeline_type == "V2");
    CHECK(p.execution_mode == ExecutionMode::queued);
    REQUIRE(p.triggers.size() == 1);
    CHECK_FALSE(p.triggers[0].push.empty());
    CHECK_FALSE(p.triggers[0].push[0].file_paths.empty());
    CHECK(p.stages[1].actions[0].type.provider == "Commands");
    CHECK_FALSE(p.stages[1].actions[0].commands.empty());
  }
  SECTION("CDK output: actions listed out of runOrder, names with dots") {
    auto doc = read_corpus("sathish-cz__cdk-pipelines-demo-new__cdk.out_PipelineStack.template.json");
    const auto& p = only_pipeline(doc);
    CHECK(p.stages.size() == 6);
  }
  SECTION("a cfn-lint fixture whose Fn::If chooses an action and whose stage name is imported") {
    auto doc = read_corpus("aws-cloudformation__cfn-lint__test_fixtures_templates_good_resources_codepipeline.yaml");
    const auto& p = only_pipeline(doc);
    REQUIRE(p.stages.size() == 3);
    CHECK(p.stages[2].actions.size() == 1);
    CHECK(doc.pipelines[0].unresolved.contains("/stages/2/name"));
  }
  SECTION("a one-stage pipeline and a stages mapping are refused, each at its place") {
    auto doc = read_corpus("aws-cloudformation__cfn-lint__test_fixtures_templates_bad_resources_codepipeline_stages_one_stage.yaml");
    auto text = describe(doc);
    CHECK(test::contains(text, "error: a pipeline needs at least 2 stages"));
    CHECK(test::contains(text, "error: 'stages' must be a list, not a structure"));
  }
}

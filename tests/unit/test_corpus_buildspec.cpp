// Acceptance over real-world buildspecs: the shared corpus (test::corpus_dir(), origins in its
// SOURCES.tsv), read where it is.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "formats/buildspec.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

BuildspecParse parse_corpus_file(const std::string& name) {
  return parse_buildspec(unwrap(read_file(test::corpus_file("buildspec", name).path())));
}

std::string describe(const BuildspecParse& r) {
  std::string out;
  for (auto& d : r.diagnostics.items()) out += format_diagnostic("buildspec.yml", d) + "\n";
  return out;
}

}  // namespace

TEST_CASE("corpus: every real-world buildspec gets the expected verdict", "[buildspec][corpus]") {
  std::map<std::string, int> checked;
  for (auto& row : test::corpus_files("buildspec")) {
    auto r = parse_buildspec(unwrap(read_file(row.path())));
    INFO(row.file << " (expect " << row.expect << ")\n" << describe(r));
    if (row.expect == "valid") {
      CHECK_FALSE(r.diagnostics.has_errors());
      CHECK(r.spec.has_value());
    } else if (row.expect == "invalid") {
      CHECK_FALSE(r.spec.has_value());
      bool positioned = false;
      for (auto& d : r.diagnostics.items())
        positioned = positioned || (d.severity == Severity::error && d.position.line > 0);
      CHECK(positioned);
    } else {
      REQUIRE(row.expect == "any");
      // No verdict, but always an answer: a model, or a positioned reason why not.
      CHECK((r.spec.has_value() || r.diagnostics.has_errors()));
      CHECK(r.spec.has_value() != r.diagnostics.has_errors());
    }
    ++checked[row.expect];
  }
  // The whole corpus was read, not a truncated list.
  CHECK(checked["valid"] == 46);
  CHECK(checked["invalid"] == 2);
  CHECK(checked["any"] == 6);
}

TEST_CASE("corpus: the broken real-world files say what is wrong", "[buildspec][corpus]") {
  auto r = parse_corpus_file("Jenkins2018__Code_Build__Buildspec.yml");
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK(format_diagnostic("Buildspec.yml", r.diagnostics.items()[0]) ==
        "Buildspec.yml:3:1: error: invalid YAML: illegal tab when looking for indentation (indent "
        "with spaces, "
        "not tabs)");

  // A copy of the reference's placeholder template: every placeholder is reported at once.
  r = parse_corpus_file("bolof2000__AWS-Devops-Pro-Exam-Prep__Buildspec.yml");
  CHECK_FALSE(r.spec);
  CHECK(r.diagnostics.error_count() == 17);
  CHECK(format_diagnostic("Buildspec.yml", r.diagnostics.items()[0]) ==
        "Buildspec.yml:9:5: error: duplicate key 'key' in env.variables (first at 8:5)");
}

TEST_CASE("corpus: version 0.1 files are accepted with their semantics", "[buildspec][corpus]") {
  auto r = parse_corpus_file("aws-samples__codepipeline-nested-cfn__cfn-nested-repo_buildspec.yml");
  REQUIRE(r.spec);
  CHECK(r.spec->fresh_shell_per_command());
  REQUIRE(r.spec->env.variables.size() == 3);
  CHECK(r.spec->env.variables[0].name == "CHILD_TEMPLATES");
  CHECK(r.spec->env.variables[0].value ==
        "security-stack.yml\nserver-stack.yml\ndatabase-stack.yml\n");
  // `commands:` followed by one plain line is a single command.
  const auto& install = r.spec->phase(PhaseType::install).commands;
  REQUIRE(install.size() == 1);
  CHECK(install[0].value == "npm install jsonlint -g");
}

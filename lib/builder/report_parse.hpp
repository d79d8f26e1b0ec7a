// Parsing test and coverage report files into CodeBuild's report model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "formats/buildspec.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

// As CodeBuild's TestCase.status.
enum class TestStatus { succeeded, failed, error, skipped, unknown };
std::string_view test_status_name(TestStatus status);  // "SUCCEEDED", "FAILED", ...

struct TestCaseResult {
  std::string prefix;           // suite/class the case belongs to ("com.acme.FooTest")
  std::string name;             // the case's own name
  std::string test_suite_name;  // enclosing suite, when the format has one
  TestStatus status = TestStatus::unknown;
  int64_t duration_ns = 0;
  std::string message;          // failure/error/skip message, trimmed to 5000 characters
  std::string raw_data_path;    // the report file it came from (set by the caller)
};

struct FileCoverage {
  std::string file_path;
  int64_t lines_covered = 0, lines_missed = 0;
  int64_t branches_covered = 0, branches_missed = 0;
  double line_coverage_percentage() const;
  double branch_coverage_percentage() const;
};

struct ParsedReport {
  std::vector<TestCaseResult> test_cases;  // test formats
  std::vector<FileCoverage> files;         // coverage formats
};

// Parses one report file's text. A file that is not well-formed for its format is an
// Error{invalid} naming what is wrong (and where, when the parser knows), never a crash.
Result<ParsedReport> parse_report(ReportFormat format, std::string_view text);

// Totals as CodeBuild's TestReportSummary:
// {"total": n, "statusCounts": {"SUCCEEDED": n, ...}, "durationInNanoSeconds": n}
Json test_summary_json(const std::vector<TestCaseResult>& cases);
// As CodeBuild's CodeCoverageReportSummary: lineCoveragePercentage, linesCovered, linesMissed,
// branchCoveragePercentage, branchesCovered, branchesMissed (percentages rounded to 2 places).
Json coverage_summary_json(const std::vector<FileCoverage>& files);

}  // namespace cicd

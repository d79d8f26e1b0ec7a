#include <map>

#include "artifact/artifact_dir.hpp"
#include "builder/outputs.hpp"
#include "builder/report_parse.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace cicd {

std::string report_group_name(const std::string& project, const std::string& key) {
  std::string name = key;
  // arn:aws:codebuild:region:account:report-group/name
  if (auto slash = key.rfind("report-group/"); key.starts_with("arn:") && slash != std::string::npos)
    return key.substr(slash + 13);
  return project + "-" + name;
}

namespace {

Json test_case_json(const TestCaseResult& c, const std::string& arn) {
  return Json{{"reportArn", arn},
              {"testRawDataPath", c.raw_data_path},
              {"prefix", c.prefix},
              {"name", c.name},
              {"status", test_status_name(c.status)},
              {"durationInNanoSeconds", c.duration_ns},
              {"message", c.message},
              {"testSuiteName", c.test_suite_name}};
}

Json coverage_json(const FileCoverage& f, const std::string& arn) {
  return Json{{"reportARN", arn},
              {"filePath", f.file_path},
              {"lineCoveragePercentage", f.line_coverage_percentage()},
              {"linesCovered", f.lines_covered},
              {"linesMissed", f.lines_missed},
              {"branchCoveragePercentage", f.branch_coverage_percentage()},
              {"branchesCovered", f.branches_covered},
              {"branchesMissed", f.branches_missed}};
}

}  // namespace

std::vector<ReportOutcome> process_reports(Store& store, const Buildspec& spec, const std::string& project,
                                           const std::string& build_id, const std::filesystem::path& source_dir,
                                           const std::filesystem::path& build_dir, BuildLog& log,
                                           const Clock& clock) {
  std::vector<ReportOutcome> outcomes;
  for (const auto& group : spec.reports) {
    // 1. The group's files, relative to base-directory.
    std::filesystem::path base = source_dir;
    if (!group.base_directory.empty()) base = source_dir / group.base_directory;
    std::vector<std::string> patterns;
    for (auto& f : group.files) patterns.push_back(f.value);
    auto files = glob_files(base, patterns, {}, {.symlinks = SymlinkMode::follow});
    std::string group_name = report_group_name(project, group.name);
    if (!files || files->empty()) {
      log.warning(fmt::format("report group '{}': no report files found matching {} under {}", group_name,
                              join(patterns, ", "), base.string()));
      continue;
    }
    // 2. Parse each; a malformed file is a problem of the report, not of the build.
    ReportOutcome outcome;
    outcome.group = group_name;
    outcome.arn = group_name + ":" + make_uuid();
    outcome.type = is_coverage_format(group.format) ? "CODE_COVERAGE" : "TEST";
    std::vector<TestCaseResult> cases;
    std::vector<FileCoverage> coverage;
    Json raw_files = Json::array();
    for (auto& f : *files) {
      std::string shown = group.discard_paths ? f.absolute.filename().string() : f.relative;
      raw_files.push_back(shown);
      auto text = read_file(f.absolute);
      auto parsed = text ? parse_report(group.format, *text) : Result<ParsedReport>(std::unexpected(text.error()));
      if (!parsed) {
        std::string problem = fmt::format("{}: {}", f.relative, parsed.error().message);
        log.warning(fmt::format("report group '{}': cannot parse {} as {}: {}", group_name, f.relative,
                                report_format_name(group.format), parsed.error().message));
        outcome.problems.push_back(problem);
        continue;
      }
      for (auto& c : parsed->test_cases) {
        cases.push_back(c);
        cases.back().raw_data_path = f.absolute.string();
      }
      for (auto& c : parsed->files) coverage.push_back(c);
    }
    // 3. Status and summary as CodeBuild reports them.
    bool any_failed = false;
    for (auto& c : cases)
      if (c.status == TestStatus::failed || c.status == TestStatus::error) any_failed = true;
    outcome.status = !outcome.problems.empty() ? "INCOMPLETE" : any_failed ? "FAILED" : "SUCCEEDED";
    outcome.summary = outcome.type == "TEST" ? test_summary_json(cases) : coverage_summary_json(coverage);

    Json record = Json::object();
    record["arn"] = outcome.arn;
    record["type"] = outcome.type;
    record["name"] = outcome.arn.substr(outcome.arn.find(':') + 1);
    record["reportGroupArn"] = group_name;
    record["executionId"] = build_id;
    record["status"] = outcome.status;
    record["created"] = format_iso8601(clock.now());
    record["fileFormat"] = report_format_name(group.format);
    record["truncated"] = false;
    record[outcome.type == "TEST" ? "testSummary" : "codeCoverageSummary"] = outcome.summary;
    record["rawDataFiles"] = raw_files;
    record["problems"] = outcome.problems;
    Json items = Json::array();
    if (outcome.type == "TEST")
      for (auto& c : cases) items.push_back(test_case_json(c, outcome.arn));
    else
      for (auto& c : coverage) items.push_back(coverage_json(c, outcome.arn));
    record[outcome.type == "TEST" ? "testCases" : "codeCoverages"] = items;

    auto uuid = outcome.arn.substr(outcome.arn.find(':') + 1);
    if (auto put = store.put_json("reports/" + group_name + "/" + uuid + ".json", record); !put)
      log.warning(fmt::format("report group '{}': cannot store the report: {}", group_name, put.error().message));
    if (auto st = write_file_atomic(ArtifactDirLayout{build_dir}.report(group_name), to_json_text(record)); !st)
      log.warning(fmt::format("report group '{}': {}", group_name, st.error().message));
    if (outcome.type == "TEST") {
      auto& counts = outcome.summary["statusCounts"];
      log.system(fmt::format("Report {}: {} tests, {} succeeded, {} failed, {} errors, {} skipped", group_name,
                             outcome.summary["total"].get<int64_t>(), counts["SUCCEEDED"].get<int64_t>(),
                             counts["FAILED"].get<int64_t>(), counts["ERROR"].get<int64_t>(),
                             counts["SKIPPED"].get<int64_t>()));
    } else {
      log.system(fmt::format("Report {}: line coverage {}%, branch coverage {}%", group_name,
                             outcome.summary["lineCoveragePercentage"].dump(),
                             outcome.summary["branchCoveragePercentage"].dump()));
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace cicd

namespace cicd {

Result<std::vector<std::string>> list_reports(Store& store, const std::string& group) {
  auto keys = store.list(group.empty() ? "reports/" : "reports/" + group + "/");
  if (!keys) return std::unexpected(keys.error());
  std::vector<std::pair<std::string, std::string>> found;
  for (auto& k : *keys) {
    auto json = store.get_json(k);
    if (!json || !*json) continue;
    found.emplace_back((**json).value("created", ""), (**json).value("arn", ""));
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

Result<Json> get_report(Store& store, const std::string& arn) {
  auto colon = arn.rfind(':');
  if (colon == std::string::npos) return fail(ErrorKind::usage, "'{}' is not a report ARN (GROUP:UUID)", arn);
  std::string group = arn.substr(0, colon);
  if (auto slash = group.rfind("report-group/"); slash != std::string::npos) group = group.substr(slash + 13);
  std::string key = "reports/" + group + "/" + arn.substr(colon + 1) + ".json";
  if (!is_valid_store_key(key)) return fail(ErrorKind::not_found, "report '{}' not found", arn);
  auto json = store.get_json(key);
  if (!json) return std::unexpected(json.error());
  if (!*json) return fail(ErrorKind::not_found, "report '{}' not found", arn);
  return **json;
}

}  // namespace cicd

// cbuild list-reports / describe-test-cases / describe-code-coverages: test and coverage reports.
#include "builder/outputs.hpp"
#include "cbuild/cbuild.hpp"

namespace cicd::cbuild {

namespace {

struct ReportOptions {
  std::string group;
  std::string arn;
  std::string status;
};

int run_list_reports(const ReportOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  auto arns = unwrap(list_reports(*store, o.group));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"reports", arns}});
    return 0;
  }
  for (auto& arn : arns) {
    auto r = unwrap(get_report(*store, arn));
    std::string summary;
    if (r.contains("testSummary")) {
      auto& c = r["testSummary"]["statusCounts"];
      summary = fmt::format("{} tests, {} failed", r["testSummary"]["total"].get<int64_t>(),
                            c["FAILED"].get<int64_t>() + c["ERROR"].get<int64_t>());
    } else if (r.contains("codeCoverageSummary")) {
      summary = fmt::format("lines {}%", r["codeCoverageSummary"]["lineCoveragePercentage"].dump());
    }
    fmt::print("{}\t{}\t{}\t{}\n", arn, r.value("status", ""), r.value("executionId", ""), summary);
  }
  return 0;
}

int run_describe_test_cases(const ReportOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  auto report = unwrap(get_report(*store, o.arn));
  if (!report.contains("testCases"))
    throw Failure({ErrorKind::usage, fmt::format("report '{}' is a coverage report: use describe-code-coverages", o.arn), {}});
  Json cases = Json::array();
  for (auto& c : report["testCases"])
    if (o.status.empty() || c.value("status", "") == o.status) cases.push_back(c);
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"testCases", cases}});
  } else {
    for (auto& c : cases)
      fmt::print("{:<9} {}{}{}  {:.3f} s{}\n", c.value("status", ""), c.value("prefix", ""),
                 c.value("prefix", "").empty() ? "" : ".", c.value("name", ""),
                 static_cast<double>(c.value("durationInNanoSeconds", int64_t{0})) / 1e9,
                 c.value("message", "").empty() ? "" : "\n          " + c.value("message", ""));
  }
  return 0;
}

int run_describe_coverages(const ReportOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  auto report = unwrap(get_report(*store, o.arn));
  if (!report.contains("codeCoverages"))
    throw Failure({ErrorKind::usage, fmt::format("report '{}' is a test report: use describe-test-cases", o.arn), {}});
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"codeCoverages", report["codeCoverages"]}});
  } else {
    for (auto& c : report["codeCoverages"])
      fmt::print("{}\tlines {}% ({}/{})\tbranches {}%\n", c.value("filePath", ""), c["lineCoveragePercentage"].dump(),
                 c.value("linesCovered", int64_t{0}),
                 c.value("linesCovered", int64_t{0}) + c.value("linesMissed", int64_t{0}),
                 c["branchCoveragePercentage"].dump());
  }
  return 0;
}

}  // namespace

void setup_reports(CLI::App& app, Context& ctx) {
  auto list = std::make_shared<ReportOptions>();
  auto* l = app.add_subcommand("list-reports", "List report ARNs, newest first");
  l->group("Reports");
  l->add_option("--report-group", list->group, "Only this report group (PROJECT-NAME)")->option_text("GROUP");
  l->callback([list, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_list_reports(*list, ctx); }); });

  auto cases = std::make_shared<ReportOptions>();
  auto* c = app.add_subcommand("describe-test-cases", "Print a test report's cases");
  c->group("Reports");
  c->add_option("--report-arn,report", cases->arn, "Report ARN (GROUP:UUID, from list-reports)")->required()->option_text("REPORT");
  c->add_option("--status", cases->status, "Only cases with this status")
      ->check(CLI::IsMember({"SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN"}))
      ->option_text("STATUS");
  c->callback([cases, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_describe_test_cases(*cases, ctx); }); });

  auto cov = std::make_shared<ReportOptions>();
  auto* v = app.add_subcommand("describe-code-coverages", "Print a coverage report's per-file coverage");
  v->group("Reports");
  v->add_option("--report-arn,report", cov->arn, "Report ARN (GROUP:UUID, from list-reports)")->required()->option_text("REPORT");
  v->callback([cov, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_describe_coverages(*cov, ctx); }); });
}

}  // namespace cicd::cbuild

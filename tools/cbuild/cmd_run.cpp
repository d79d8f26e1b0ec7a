// cbuild run (start-build): run a buildspec.
#include <cstdio>
#include <iostream>
#include <map>

#include "builder/engine.hpp"
#include "builder/projects.hpp"
#include "cbuild/cbuild.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace cicd::cbuild {

namespace {

struct RunOptions {
  std::string buildspec;
  std::string source;
  std::string source_version;
  std::string artifacts;
  std::vector<std::string> env;
  std::string env_file;
  std::string project;
  double timeout = 60;
  bool dry_run = false;
  bool strict_runtimes = false;
  std::string packaging = "zip";
  bool keep_workspace = false;
  // start-build of a build project, with CodeBuild's overrides.
  std::string project_name;
  std::string buildspec_override;
  std::vector<std::string> environment_variables_override;
  std::optional<int> timeout_override;
  std::string source_type_override;
  std::string source_location_override;
  std::string artifacts_override;
  bool timeout_given = false;
  bool packaging_given = false;
};

// A project's build: its options, with the overrides and the cbuild flags that mean something
// for it (--source, --artifacts, --source-version, -b as --buildspec-override).
BuildOptions project_options(const RunOptions& o, const Context& ctx) {
  if (!o.project.empty())
    throw Failure({ErrorKind::usage, "--project names a build of a source directory; --project-name a build project: give one", {}});
  StartBuildOverrides ov;
  ov.source_version = o.source_version;
  ov.source_type = o.source_type_override;
  ov.source_location = o.source_location_override;
  ov.buildspec = o.buildspec_override.empty() ? o.buildspec : o.buildspec_override;
  if (o.timeout_override) ov.timeout_in_minutes = *o.timeout_override;
  if (!o.environment_variables_override.empty()) {
    static const ShorthandSchema k_variable = {{"name"}, {"value"}, {"type"}};
    auto vars = unwrap(parse_cli_structures(o.environment_variables_override, "--environment-variables-override", k_variable));
    for (auto& v : vars)
      ov.environment_variables.push_back({v.value("name", ""), v.value("value", ""), v.value("type", "PLAINTEXT")});
  }
  if (!o.artifacts_override.empty()) {
    for (auto& f : project_structure_flags())
      if (f.flag == "--artifacts") ov.artifacts = unwrap(parse_cli_structure(o.artifacts_override, "--artifacts-override", f.schema));
  }
  ov.source_dir = o.source;
  ov.artifacts_dir = o.artifacts;
  auto paths = ctx.globals.paths();
  auto options = unwrap(BuildProjects(paths.home).start_build_options(o.project_name, ov, paths.store));
  if (o.timeout_given && !o.timeout_override) options.timeout_minutes = o.timeout;
  if (o.packaging_given) options.packaging = o.packaging == "none" ? ArtifactPackaging::none : ArtifactPackaging::zip;
  return options;
}

void print_summary(const BuildOutcome& outcome) {
  const auto& r = outcome.record;
  auto ms = [](SystemTime a, std::optional<SystemTime> b) {
    return b ? std::chrono::duration_cast<std::chrono::milliseconds>(*b - a).count() : 0LL;
  };
  fmt::print("Build {} (#{}): {} in {}\n", r.id, r.build_number, build_status_name(r.status),
             format_duration_ms(ms(r.start_time, r.end_time)));
  for (auto& p : r.phases) {
    if (p.type == BuildPhase::submitted || p.type == BuildPhase::completed) continue;
    fmt::print("  {:<17} {:<10} {}\n", build_phase_name(p.type), p.status ? build_status_name(*p.status) : "",
               format_duration_ms(ms(p.start_time, p.end_time)));
    for (auto& c : p.contexts) fmt::print("    {}: {}\n", c.status_code, c.message);
  }
  auto artifact_line = [](const ArtifactRecord& a) {
    fmt::print("  artifact{} {} ({} files, {})\n", a.identifier.empty() ? "" : " " + a.identifier, a.location, a.files,
               cli::format_bytes(a.size));
  };
  if (r.artifacts) artifact_line(*r.artifacts);
  for (auto& a : r.secondary_artifacts) artifact_line(a);
  for (auto& rep : outcome.reports) {
    if (rep.type == "TEST") {
      auto& c = rep.summary["statusCounts"];
      fmt::print("  tests {}: {} passed, {} failed, {} errors, {} skipped ({})\n", rep.group,
                 c["SUCCEEDED"].get<int64_t>(), c["FAILED"].get<int64_t>(), c["ERROR"].get<int64_t>(),
                 c["SKIPPED"].get<int64_t>(), rep.status);
    } else {
      fmt::print("  coverage {}: lines {}%, branches {}%\n", rep.group, rep.summary["lineCoveragePercentage"].dump(),
                 rep.summary["branchCoveragePercentage"].dump());
    }
  }
  for (auto& [name, value] : r.exported_environment_variables) fmt::print("  exported {}={}\n", name, value);
  fmt::print("  log {}\n", r.log_path);
}

void print_plan(const BuildPlan& plan) {
  fmt::print("Plan for project {} ({}), buildspec {}\n", plan.project, plan.source_dir.string(),
             plan.buildspec_path.string());
  for (auto& e : plan.environment)
    fmt::print("  env {}={}{}\n", e.name, e.type == "PLAINTEXT" ? e.value : "<" + e.type + " " + e.value + ">", "");
  for (auto t : k_command_phases) {
    const auto& p = plan.spec.phase(t);
    if (!p.present) continue;
    fmt::print("  {}{}\n", phase_record_name(t), p.on_failure.text.empty() ? "" : " (on-failure " + p.on_failure.text + ")");
    for (auto& c : p.commands) fmt::print("    $ {}\n", c.value);
    for (auto& c : p.finally) fmt::print("    finally $ {}\n", c.value);
  }
  auto artifact = [](const ArtifactSpec& a) {
    std::vector<std::string> files;
    for (auto& f : a.files) files.push_back(f.value);
    fmt::print("  artifact {}: {}{}\n", a.identifier.empty() ? "primary" : a.identifier, join(files, ", "),
               a.base_directory.empty() ? "" : " (base-directory " + a.base_directory + ")");
  };
  if (plan.spec.artifacts.present && !plan.spec.artifacts.primary.files.empty()) artifact(plan.spec.artifacts.primary);
  for (auto& s : plan.spec.artifacts.secondary) artifact(s);
  for (auto& r : plan.spec.reports)
    fmt::print("  report group {} ({})\n", report_group_name(plan.project, r.name), report_format_name(r.format));
  fmt::print("Nothing was run (--dry-run).\n");
}

int run_run(const RunOptions& o, Context& ctx) {
  const auto& g = ctx.globals;
  BuildOptions options;
  if (!o.project_name.empty()) {
    options = project_options(o, ctx);
  } else {
    if (!o.buildspec_override.empty() || !o.environment_variables_override.empty() || o.timeout_override ||
        !o.source_type_override.empty() || !o.source_location_override.empty() || !o.artifacts_override.empty())
      throw Failure({ErrorKind::usage, "the --*-override flags change a build project: give --project-name", {}});
    options.source_dir = o.source;
    options.buildspec = o.buildspec;
    options.source_version = o.source_version;
    options.artifacts_dir = o.artifacts;
    options.project = o.project;
    options.timeout_minutes = o.timeout;
    options.packaging = o.packaging == "none" ? ArtifactPackaging::none : ArtifactPackaging::zip;
  }
  for (auto& kv : o.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      throw Failure({ErrorKind::usage, fmt::format("--env '{}': expected NAME=VALUE", kv), {}});
    options.env_overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  options.env_file = o.env_file;
  options.strict_runtimes = o.strict_runtimes;
  options.keep_workspace = o.keep_workspace;
  options.verbose = g.verbose;
  bool color = g.color();
  if (!g.quiet) {
    options.echo = [color](LogLineKind kind, std::string_view line) {
      if (color && kind == LogLineKind::system) std::fprintf(stderr, "\033[36m%.*s\033[0m\n", static_cast<int>(line.size()), line.data());
      else if (color && kind == LogLineKind::warning) std::fprintf(stderr, "\033[33m%.*s\033[0m\n", static_cast<int>(line.size()), line.data());
      else std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  auto store = g.open_store();
  PosixProcessRunner runner;
  SystemClock clock;
  BuildEngine engine(*store, g.paths().home, runner, clock);
  if (o.dry_run) {
    auto plan = unwrap(engine.plan(options));
    if (g.format() == cli::OutputFormat::json) cli::print_json(build_plan_to_json(plan));
    else print_plan(plan);
    return 0;
  }
  options.cancel = cli::interrupt_token();
  auto outcome = engine.run(options);
  if (!outcome) {
    // A spec's warnings come with its errors; anything else is one message.
    throw Failure(outcome.error());
  }
  if (g.format() == cli::OutputFormat::json) cli::print_json(Json{{"build", build_record_to_json(outcome->record)}});
  else print_summary(*outcome);
  return exit_code_for(outcome->record.status);
}

}  // namespace

void setup_run(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "Run a buildspec in a source directory (alias: start-build)");
  sub->alias("start-build");
  sub->group("Builds");
  sub->add_option("-b,--buildspec", o->buildspec, "The buildspec (default: buildspec.yml in the source directory)")
      ->option_text("FILE");
  sub->add_option("-s,--source", o->source, "Source directory the build runs in (default: the current directory)")
      ->option_text("DIR");
  sub->add_option("--source-version", o->source_version,
                  "Export this commit of the git repository at --source into a fresh workspace and build there")
      ->option_text("REV");
  sub->add_option("-a,--artifacts", o->artifacts,
                  "Directory for this build's record, log, artifacts and reports (default: the build's folder in the store)")
      ->option_text("DIR");
  sub->add_option("--env", o->env, "Set a variable (overrides the env file and the buildspec); repeatable")
      ->option_text("NAME=VALUE")
      ->allow_extra_args(false);
  sub->add_option("--env-file", o->env_file, "Read NAME=VALUE lines (overrides the buildspec)")->option_text("FILE");
  sub->add_option("--project", o->project, "Project name (default: the source directory's name)")->option_text("NAME");
  auto* timeout = sub->add_option("--timeout", o->timeout, "Build timeout in minutes, fractions allowed (default 60)")
                      ->check(CLI::Range(0.001, 2160.0))
                      ->option_text("MINUTES");
  sub->add_flag("--dry-run", o->dry_run, "Print the plan; run nothing");
  sub->add_flag("--strict-runtimes", o->strict_runtimes, "Fail INSTALL when runtime-versions are not met");
  auto* packaging = sub->add_option("--artifact-packaging", o->packaging, "Package artifacts as a zip, or copy the files (none)")
                        ->check(CLI::IsMember({"zip", "none"}))
                        ->option_text("zip|none");
  sub->add_flag("--keep-workspace", o->keep_workspace, "Keep the workspace exported for --source-version");
  sub->add_option("--project-name", o->project_name, "Run this build project (cbuild create-project)")->option_text("NAME");
  sub->add_option("--buildspec-override", o->buildspec_override,
                  "With --project-name: a buildspec path in the source, or an inline buildspec")
      ->option_text("PATH|YAML");
  sub->add_option("--environment-variables-override", o->environment_variables_override,
                  "With --project-name: variables over the project's, one per argument")
      ->option_text("name=N,value=V,type=T...");
  sub->add_option("--timeout-in-minutes-override", o->timeout_override, "With --project-name: the build's timeout (5 to 2160)")
      ->check(CLI::Range(5, 2160))
      ->option_text("MINUTES");
  sub->add_option("--source-type-override", o->source_type_override, "With --project-name: another source type")
      ->option_text("TYPE");
  sub->add_option("--source-location-override", o->source_location_override, "With --project-name: another source location")
      ->option_text("LOCATION");
  sub->add_option("--artifacts-override", o->artifacts_override, "With --project-name: other artifacts settings")
      ->option_text("STRUCTURE");
  sub->callback([o, &ctx, timeout, packaging] {
    o->timeout_given = timeout->count() > 0;
    o->packaging_given = packaging->count() > 0;
    ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_run(*o, ctx); });
  });
}

}  // namespace cicd::cbuild

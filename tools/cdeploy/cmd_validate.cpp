// cdeploy validate FILE...: check appspecs; every error of every file, positioned.
#include "cdeploy/cdeploy.hpp"
#include "formats/appspec.hpp"

namespace cicd::cdeploy {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
};

int run_validate(const ValidateOptions& o, Context& ctx) {
  std::vector<cli::SpecFileResult> results;
  for (auto& file : o.files) {
    auto check = check_appspec_file(file);
    cli::SpecFileResult r{check, "", Json::object()};
    if (check.kind != AppspecKind::server) r.extra["kind"] = check.kind == AppspecKind::lambda ? "Lambda" : "ECS";
    results.push_back(std::move(r));
  }
  return cli::report_spec_files(results, ctx.globals, "cdeploy");
}

}  // namespace

void setup_validate(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ValidateOptions>();
  auto* sub = app.add_subcommand("validate", "Check appspec files: exit 0 if all are valid, 2 otherwise");
  sub->group("Revisions");
  sub->add_option("files", o->files, "appspec.yml files")->required()->option_text("FILE...");
  sub->callback([o, &ctx] { run_verb(ctx, [&] { return run_validate(*o, ctx); }); });
}

}  // namespace cicd::cdeploy

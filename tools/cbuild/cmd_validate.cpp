// cbuild validate FILE...: check buildspecs; every error of every file, positioned.
#include "cbuild/cbuild.hpp"
#include "formats/buildspec.hpp"

namespace cicd::cbuild {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
};

int run_validate(const ValidateOptions& o, Context& ctx) {
  std::vector<cli::SpecFileResult> results;
  for (auto& file : o.files) {
    auto check = check_buildspec_file(file);
    std::string detail = check.version.empty() ? "" : "version " + check.version;
    results.push_back({std::move(check), std::move(detail), Json::object()});
  }
  return cli::report_spec_files(results, ctx.globals, "cbuild");
}

}  // namespace

void setup_validate(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ValidateOptions>();
  auto* sub = app.add_subcommand("validate", "Check buildspec files: exit 0 if all are valid, 2 otherwise");
  sub->group("Buildspecs");
  sub->add_option("files", o->files, "Buildspec files")->required()->option_text("FILE...");
  sub->callback([o, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_validate(*o, ctx); }); });
}

}  // namespace cicd::cbuild

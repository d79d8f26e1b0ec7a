// cbuild validate FILE...: check buildspecs; every error of every file, positioned.
#include "cbuild/cbuild.hpp"
#include "spec/buildspec.hpp"
#include "util/fs.hpp"

namespace cicd::cbuild {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
};

int run_validate(const ValidateOptions& o, Context& ctx) {
  std::vector<cli::SpecFileResult> results;
  for (auto& file : o.files) {
    cli::SpecFileResult r;
    r.file = file;
    if (auto text = read_file(file); !text) {
      r.unreadable = text.error().message;
    } else {
      auto parsed = parse_buildspec(*text);
      r.diagnostics = format_diagnostics(file, parsed.diagnostics);
      if (parsed.spec) r.detail = "version " + parsed.spec->version;
    }
    results.push_back(std::move(r));
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

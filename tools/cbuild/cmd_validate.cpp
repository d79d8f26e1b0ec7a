// cbuild validate FILE...: check buildspecs; every error of every file, positioned.
#include <iostream>

#include "build/engine.hpp"
#include "cbuild/cbuild.hpp"

namespace cicd::cbuild {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
};

int run_validate(const ValidateOptions& o, Context& ctx) {
  Json results = Json::array();
  bool all_valid = true;
  for (auto& file : o.files) {
    auto loaded = load_buildspec(file);
    Json r{{"file", file}};
    if (loaded) {
      for (auto& w : loaded->warnings) std::cerr << w << "\n";
      r["valid"] = true;
      r["errors"] = Json::array();
      r["warnings"] = loaded->warnings;
      if (ctx.globals.format() == cli::OutputFormat::text && !ctx.globals.quiet)
        fmt::print("{}: valid (version {}{})\n", file, loaded->spec.version,
                   loaded->warnings.empty() ? "" : fmt::format(", {} warning{}", loaded->warnings.size(),
                                                               loaded->warnings.size() == 1 ? "" : "s"));
    } else {
      all_valid = false;
      for (auto& d : loaded.error().details) std::cerr << d << "\n";
      if (loaded.error().details.empty()) std::cerr << "cbuild: error: " << loaded.error().message << "\n";
      r["valid"] = false;
      Json errors = Json::array(), warnings = Json::array();
      for (auto& d : loaded.error().details) (d.find(": error: ") != std::string::npos ? errors : warnings).push_back(d);
      if (loaded.error().details.empty()) errors.push_back(loaded.error().message);
      r["errors"] = errors;
      r["warnings"] = warnings;
      if (ctx.globals.format() == cli::OutputFormat::text) fmt::print("{}: invalid\n", file);
    }
    results.push_back(r);
  }
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"results", results}});
  return all_valid ? 0 : 2;
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

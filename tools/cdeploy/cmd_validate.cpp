// cdeploy validate FILE...: check appspecs; every error of every file, positioned.
#include <iostream>

#include "cdeploy/cdeploy.hpp"
#include "spec/appspec.hpp"
#include "util/fs.hpp"

namespace cicd::cdeploy {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
};

int run_validate(const ValidateOptions& o, Context& ctx) {
  Json results = Json::array();
  bool all_valid = true;
  for (auto& file : o.files) {
    Json r{{"file", file}};
    Json errors = Json::array(), warnings = Json::array();
    auto text = read_file(file);
    if (!text) {
      errors.push_back(text.error().message);
      std::cerr << "cdeploy: error: " << text.error().message << "\n";
    } else {
      auto parsed = parse_appspec(*text);
      for (auto& d : parsed.diagnostics.items()) {
        auto line = format_diagnostic(file, d);
        std::cerr << line << "\n";
        (d.severity == Severity::error ? errors : warnings).push_back(line);
      }
      if (parsed.kind != AppspecKind::server) r["kind"] = parsed.kind == AppspecKind::lambda ? "Lambda" : "ECS";
    }
    bool valid = errors.empty();
    all_valid = all_valid && valid;
    r["valid"] = valid;
    r["errors"] = errors;
    r["warnings"] = warnings;
    results.push_back(r);
    if (ctx.globals.format() == cli::OutputFormat::text && !(valid && ctx.globals.quiet))
      fmt::print("{}: {}{}\n", file, valid ? "valid" : "invalid",
                 valid && !warnings.empty()
                     ? fmt::format(" ({} warning{})", warnings.size(), warnings.size() == 1 ? "" : "s")
                     : "");
  }
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"results", results}});
  return all_valid ? 0 : 2;
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

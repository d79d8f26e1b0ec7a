// cbuild hash-files GLOB...: the value of codebuild-hash-files, for cache keys.
#include <filesystem>

#include "builder/outputs.hpp"
#include "cbuild/cbuild.hpp"

namespace cicd::cbuild {

namespace {
struct HashOptions {
  std::vector<std::string> patterns;
};

int run_hash_files(const HashOptions& o, Context& ctx) {
  std::error_code ec;
  auto here = std::filesystem::current_path(ec);
  if (ec) throw Failure({ErrorKind::io, fmt::format("cannot read the current directory: {}", ec.message()), {}});
  auto digest = unwrap(hash_files(here, o.patterns));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"hash", digest}, {"patterns", o.patterns}});
  else fmt::print("{}\n", digest);
  return 0;
}
}  // namespace

void setup_hash_files(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<HashOptions>();
  auto* sub = app.add_subcommand("hash-files",
                                 "Print the SHA-256 of the files matching the patterns (codebuild-hash-files)");
  sub->group("Buildspecs");
  sub->add_option("patterns", o->patterns, "Glob patterns, relative to the current directory ('**' spans directories)")
      ->required()
      ->option_text("GLOB...");
  sub->callback([o, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_hash_files(*o, ctx); }); });
}

}  // namespace cicd::cbuild

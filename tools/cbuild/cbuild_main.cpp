#include <iostream>

#include "cbuild/cbuild.hpp"

namespace cicd {

int cbuild_main(int argc, char** argv) {
  return cli::last_catch("cbuild", [&] {
    cbuild::Context ctx;
    CLI::App app{"cbuild: run AWS CodeBuild buildspec.yml files (version 0.2) on this machine.\n"
                 "With no verb, runs the buildspec of the current directory (as `cbuild run`).",
                 "cbuild"};
    app.fallthrough();
    app.require_subcommand(0, 1);
    cli::add_global_options(app, ctx.globals);
    cbuild::setup_run(app, ctx);
    cbuild::setup_validate(app, ctx);
    cbuild::setup_hash_files(app, ctx);
    cbuild::setup_parameters(app, ctx);
    cbuild::setup_builds(app, ctx);
    cbuild::setup_reports(app, ctx);
    cbuild::setup_projects(app, ctx);
    cli::add_help_data(app);

    std::vector<std::string> verbs;
    for (auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      verbs.push_back(sub->get_name());
      for (auto& a : sub->get_aliases()) verbs.push_back(a);
    }
    auto args = cli::insert_default_verb(argc, argv, verbs, "run");
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    if (auto code = cli::parse_command_line(app, std::move(args), "cbuild")) return *code;
    return ctx.exit_code;
  });
}

}  // namespace cicd

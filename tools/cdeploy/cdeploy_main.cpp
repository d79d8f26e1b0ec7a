#include <iostream>

#include "cdeploy/cdeploy.hpp"

namespace cicd {

namespace cdeploy {
void run_verb(Context& ctx, const std::function<int()>& body) { ctx.exit_code = cli::guarded_main("cdeploy", body); }
}  // namespace cdeploy

int cdeploy_main(int argc, char** argv) {
  cdeploy::Context ctx;
  CLI::App app{"cdeploy: CodeDeploy-compatible in-place deployments of appspec.yml revisions to instances you own.",
               "cdeploy"};
  app.fallthrough();
  app.require_subcommand(1, 1);
  cli::add_global_options(app, ctx.globals);
  cdeploy::setup_validate(app, ctx);
  cdeploy::setup_applications(app, ctx);
  cdeploy::setup_configs(app, ctx);
  cdeploy::setup_instances(app, ctx);
  cdeploy::setup_groups(app, ctx);
  cdeploy::setup_deployments(app, ctx);
  auto* help_data = app.add_subcommand("help-data", "Describe verbs and options as JSON (for completions)");
  help_data->group("");
  help_data->callback([&] { cli::print_json(cli::describe_app(app)); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      std::cerr << "cdeploy: error: " << e.what() << "\n";
      std::cerr << "Run 'cdeploy --help' for usage.\n";
      return 2;
    }
    return app.exit(e);
  }
  return ctx.exit_code;
}

}  // namespace cicd

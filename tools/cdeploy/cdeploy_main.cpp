#include <algorithm>

#include "cdeploy/cdeploy.hpp"

namespace cicd {

namespace cdeploy {
void run_verb(Context& ctx, const std::function<int()>& body) { ctx.exit_code = cli::guarded_main("cdeploy", body); }
}  // namespace cdeploy

int cdeploy_main(int argc, char** argv) {
  return cli::last_catch("cdeploy", [&] {
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
    cli::add_help_data(app);
    std::vector<std::string> args(argv + 1, argv + argc);
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    if (auto code = cli::parse_command_line(app, std::move(args), "cdeploy")) return *code;
    return ctx.exit_code;
  });
}

}  // namespace cicd

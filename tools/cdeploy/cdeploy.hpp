// cdeploy: CodeDeploy-compatible in-place deployments to instances a team owns.
#pragma once

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "deploy/resources.hpp"

namespace cicd {

int cdeploy_main(int argc, char** argv);

namespace cdeploy {

struct Context {
  cli::GlobalOptions globals;
  int exit_code = 0;
  Resources resources() const { return Resources(globals.paths().home); }
};

// Runs a verb body with the single catch, storing its exit code.
void run_verb(Context& ctx, const std::function<int()>& body);

void setup_validate(CLI::App& app, Context& ctx);
void setup_applications(CLI::App& app, Context& ctx);
void setup_configs(CLI::App& app, Context& ctx);
void setup_instances(CLI::App& app, Context& ctx);
void setup_groups(CLI::App& app, Context& ctx);
void setup_deployments(CLI::App& app, Context& ctx);

}  // namespace cdeploy
}  // namespace cicd

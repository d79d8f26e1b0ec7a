// cbuild: run AWS CodeBuild buildspecs on this machine.
#pragma once

#include <CLI/CLI.hpp>

#include "common/cli.hpp"

namespace cicd {

int cbuild_main(int argc, char** argv);

namespace cbuild {

// What every verb sees: the global options, and where it puts its exit code.
struct Context {
  cli::GlobalOptions globals;
  int exit_code = 0;
};

// One verb (or verb group) per file.
void setup_run(CLI::App& app, Context& ctx);
void setup_validate(CLI::App& app, Context& ctx);
void setup_hash_files(CLI::App& app, Context& ctx);
void setup_parameters(CLI::App& app, Context& ctx);
void setup_builds(CLI::App& app, Context& ctx);
void setup_reports(CLI::App& app, Context& ctx);
void setup_projects(CLI::App& app, Context& ctx);

}  // namespace cbuild
}  // namespace cicd

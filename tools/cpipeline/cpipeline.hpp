// cpipeline: run CodePipeline definitions on machines a team owns.
#pragma once

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "pipeline/pipelines.hpp"

namespace cicd {

int cpipeline_main(int argc, char** argv);

namespace cpipeline {

struct Context {
  cli::GlobalOptions globals;
  int exit_code = 0;
  Pipelines pipelines() const { return Pipelines(globals.paths().home); }
};

// Runs a verb body with the single catch, storing its exit code.
void run_verb(Context& ctx, const std::function<int()>& body);

// The options that say how to read a definition file (CloudFormation parameters and values only
// AWS knows), shared by validate, create-pipeline and update-pipeline.
struct ReadFlags {
  std::vector<std::string> parameter_overrides;  // K=V
  std::vector<std::string> values;               // Res.Attr=V, Res=V, EXPORT=V
  PipelineReadOptions options() const;
};
void add_read_flags(CLI::App* sub, ReadFlags& flags);

void setup_validate(CLI::App& app, Context& ctx);
void setup_pipelines(CLI::App& app, Context& ctx);
void setup_executions(CLI::App& app, Context& ctx);

}  // namespace cpipeline
}  // namespace cicd

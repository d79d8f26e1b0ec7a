// cpipeline: run CodePipeline definitions on machines a team owns.
#pragma once

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "pipeline/engine.hpp"
#include "pipeline/pipelines.hpp"

namespace cicd {

int cpipeline_main(int argc, char** argv);

namespace cpipeline {

struct Context {
  cli::GlobalOptions globals;
  int exit_code = 0;
  Pipelines pipelines() const { return Pipelines(globals.paths().home); }
};

// The engine with what the front end gives it: the store, the home, real processes and time.
struct EngineHandle {
  std::unique_ptr<Store> store;
  PosixProcessRunner runner;
  SystemClock clock;
  std::optional<PipelineEngine> engine;

  explicit EngineHandle(const Context& ctx) : store(ctx.globals.open_store()) {
    auto paths = ctx.globals.paths();
    engine.emplace(*store, paths.home, paths.store, runner, clock);
  }
};

// The exit code of an execution as it stands (DESIGN.md section 6): 0 succeeded, 1 failed,
// 4 stopped or superseded, 6 waiting for an approval.
int execution_exit_code(ExecutionStatus status, bool waiting);

// The run options of a verb that runs an execution: Ctrl-C, progress lines on stderr (unless
// --quiet), --max-parallel, --no-wait.
PipelineRunOptions progress_options(const Context& ctx, unsigned max_parallel, bool no_wait);
// Prints how an execution stands (text or JSON) and returns its exit code.
int report(const ExecutionResult& result, const std::string& pipeline, const Context& ctx, bool detached);

// --variables name=N,value=V..., as start-pipeline-execution takes them.
std::vector<std::pair<std::string, std::string>> parse_variables(const std::vector<std::string>& given);

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
void setup_control(CLI::App& app, Context& ctx);
void setup_view(CLI::App& app, Context& ctx);

}  // namespace cpipeline
}  // namespace cicd

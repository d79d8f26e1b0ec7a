// cpipeline show, plan, logs: seeing a pipeline, what a start would run, and what its actions wrote.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cpipeline/cpipeline.hpp"
#include "pipeline/view.hpp"

namespace cicd::cpipeline {

namespace {

struct ViewOptions {
  std::string name;
  std::string execution_id;
  std::string format = "text";
  std::vector<std::string> variables;
  std::string action;
  bool follow = false;
};

// Colour belongs to a person at a terminal: stdout a tty, and neither NO_COLOR nor --no-color.
bool stdout_color(const Context& ctx) {
  if (ctx.globals.no_color) return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc) return false;
  return ::isatty(STDOUT_FILENO) != 0;
}

int run_show(const ViewOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto view = unwrap(pipeline_view(*h.engine, pipeline, o.execution_id));
  fmt::print("{}", o.format == "dot" ? render_view_dot(view) : render_view_text(view, stdout_color(ctx)));
  return 0;
}

int run_plan(const ViewOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  auto plan = unwrap(plan_pipeline(pipeline, parse_variables(o.variables)));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(plan_to_json(plan));
  else fmt::print("{}", render_plan_text(plan));
  return 0;
}

int run_logs(const ViewOptions& o, Context& ctx) {
  EngineHandle h(ctx);
  LogsOptions options;
  options.pipeline = o.name;
  options.action = o.action;
  options.follow = o.follow;
  options.cancel = cli::interrupt_token();
  options.write = [](std::string_view data) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);  // a follow is read as it comes
  };
  auto result = unwrap(print_logs(*h.engine, ctx.pipelines(), o.execution_id, options));
  if (!o.follow) return 0;
  // A follow ends as start would: with the execution's exit code, or 4 when interrupted.
  if (result.interrupted) return 4;
  return execution_exit_code(result.record.status, result.waiting);
}

}  // namespace

void setup_view(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ViewOptions>();
  auto* show = app.add_subcommand("show", "Draw a pipeline: stages, actions by runOrder, their latest status, a waiting approval");
  show->group("Seeing it");
  show->add_option("name", o->name, "The pipeline")->required()->option_text("NAME");
  show->add_option("--execution", o->execution_id, "Show this execution instead of each stage's latest")->option_text("ID");
  show->add_option("--format", o->format, "text (default) or dot (Graphviz)")
      ->check(CLI::IsMember({"text", "dot"}))
      ->option_text("text|dot");
  show->callback([o, &ctx] { run_verb(ctx, [&] { return run_show(*o, ctx); }); });

  auto* plan = app.add_subcommand("plan", "What a start would run, in order, with the resolved configuration; nothing runs");
  plan->group("Seeing it");
  plan->add_option("name", o->name, "The pipeline")->required()->option_text("NAME");
  plan->add_option("--variables", o->variables, "Pipeline variables (V2) as start would take them, one per argument")
      ->option_text("name=N,value=V...");
  plan->callback([o, &ctx] { run_verb(ctx, [&] { return run_plan(*o, ctx); }); });

  auto* logs = app.add_subcommand("logs", "Print the logs of an execution's actions (--follow: as they are written)");
  logs->group("Seeing it");
  logs->add_option("execution", o->execution_id, "The execution")->required()->option_text("EXECUTION_ID");
  logs->add_option("--pipeline-name", o->name, "The execution's pipeline (default: whichever has it)")->option_text("NAME");
  logs->add_option("--action", o->action, "Only this action's log, without a header")->option_text("[STAGE/]ACTION");
  logs->add_flag("--follow,-f", o->follow,
                 "Keep printing new output until the execution ends or waits for an approval; exit as start would");
  logs->callback([o, &ctx] { run_verb(ctx, [&] { return run_logs(*o, ctx); }); });
}

}  // namespace cicd::cpipeline

// cpipeline retry-stage-execution, disable-stage-transition, enable-stage-transition,
// rollback-stage, poll, install-hook, notify-push: the verbs that move executions along besides
// start and approve.
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cpipeline/cpipeline.hpp"
#include "pipeline/triggers.hpp"
#include "store/definitions.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd::cpipeline {

namespace {

struct ControlOptions {
  std::string name, stage, execution_id, retry_mode, transition_type = "Inbound", reason, target, repository;
  std::vector<std::string> updates;  // notify-push OLD NEW REF, when not from stdin
  unsigned max_parallel = 4;
  bool no_wait = false;
};

// Outbound from stage N is inbound into stage N+1: CodePipeline's two words for one transition.
std::string inbound_stage(const Pipeline& p, const ControlOptions& o) {
  if (o.transition_type == "Inbound") return o.stage;
  for (size_t i = 0; i + 1 < p.stages.size(); ++i)
    if (p.stages[i].name == o.stage) return p.stages[i + 1].name;
  throw Failure({ErrorKind::invalid, fmt::format("stage '{}' of pipeline '{}' has no outbound transition", o.stage, p.name)});
}

int run_retry(const ControlOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  if (o.retry_mode != "FAILED_ACTIONS" && o.retry_mode != "ALL_ACTIONS")
    throw Failure({ErrorKind::usage, fmt::format("--retry-mode '{}': FAILED_ACTIONS or ALL_ACTIONS", o.retry_mode)});
  EngineHandle h(ctx);
  auto mode = o.retry_mode == "ALL_ACTIONS" ? RetryMode::all_actions : RetryMode::failed_actions;
  auto result = unwrap(h.engine->retry_stage(pipeline, o.stage, o.execution_id, mode, progress_options(ctx, o.max_parallel, o.no_wait)));
  return report(result, pipeline.name, ctx, o.no_wait);
}

int run_disable(const ControlOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto stage = inbound_stage(pipeline, o);
  auto t = unwrap(h.engine->disable_transition(pipeline, stage, o.reason));
  if (ctx.globals.format() == cli::OutputFormat::json)
    cli::print_json(Json{{"stageName", stage}, {"enabled", t.enabled}, {"disabledReason", t.reason}});
  else if (!ctx.globals.quiet)
    fmt::print("Transition into stage {} disabled ({}): executions that reach it are held\n", stage, t.reason);
  return 0;
}

int run_enable(const ControlOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto stage = inbound_stage(pipeline, o);
  auto result = unwrap(h.engine->enable_transition(pipeline, stage, progress_options(ctx, o.max_parallel, o.no_wait)));
  if (!result) {
    if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"stageName", stage}, {"enabled", true}});
    else if (!ctx.globals.quiet) fmt::print("Transition into stage {} enabled; no execution was held\n", stage);
    return 0;
  }
  return report(*result, pipeline.name, ctx, o.no_wait);
}

int run_rollback(const ControlOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto result = unwrap(h.engine->rollback_stage(pipeline, o.stage, o.target, progress_options(ctx, o.max_parallel, o.no_wait)));
  return report(result, pipeline.name, ctx, o.no_wait);
}

int run_poll(const ControlOptions& o, Context& ctx) {
  std::vector<std::string> problems;
  std::vector<Pipeline> pipelines;
  if (!o.name.empty()) pipelines.push_back(unwrap(ctx.pipelines().get(o.name)).pipeline);
  else pipelines = unwrap(ctx.pipelines().all(problems));
  EngineHandle h(ctx);
  auto r = unwrap(h.engine->poll(pipelines, progress_options(ctx, o.max_parallel, true)));
  problems.insert(problems.end(), r.problems.begin(), r.problems.end());
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"repaired", r.repaired}, {"continued", r.continued}, {"started", r.started}, {"problems", problems}});
  } else {
    for (auto& line : r.repaired) fmt::print("repaired  {}\n", line);
    for (auto& line : r.continued) fmt::print("continued {}\n", line);
    for (auto& line : r.started) fmt::print("started   {}\n", line);
    for (auto& line : problems) fmt::print(stderr, "cpipeline: warning: {}\n", line);
  }
  return problems.empty() ? 0 : 1;
}

int run_install_hook(const ControlOptions& o, Context& ctx) {
  if (!is_valid_resource_name(o.repository))
    throw Failure({ErrorKind::usage, fmt::format("invalid repository name '{}'", o.repository)});
  auto paths = ctx.globals.paths();
  auto repo = paths.home / "repos" / (o.repository + ".git");
  std::error_code ec;
  if (!std::filesystem::is_directory(repo / "objects", ec))
    throw Failure({ErrorKind::not_found,
                   fmt::format("repository '{}' does not exist (no bare repository at '{}')", o.repository, repo.string())});
  auto command = fmt::format("{} --home {} --store {} --quiet notify-push --repository {}",
                             shell_quote(self_executable().string()), shell_quote(std::filesystem::absolute(paths.home).string()),
                             shell_quote(std::filesystem::absolute(paths.store).string()), shell_quote(o.repository));
  auto installed = unwrap(install_post_receive_hook(repo, command));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"hook", installed.hook.string()}, {"movedExisting", installed.moved_existing}});
  } else if (!ctx.globals.quiet) {
    fmt::print("Installed {}\n", installed.hook.string());
    if (!installed.moved_existing.empty())
      fmt::print("The post-receive hook that was there runs on, from {}\n", installed.moved_existing);
  }
  return 0;
}

// A hook's caller must never fail: notify-push reports what went wrong and exits 0 unless the
// command line itself is wrong.
int run_notify_push(const ControlOptions& o, Context& ctx) {
  std::string input;
  if (!o.updates.empty()) {
    if (o.updates.size() % 3 != 0)
      throw Failure({ErrorKind::usage, "notify-push OLD NEW REF...: three words per updated ref"});
    for (size_t i = 0; i < o.updates.size(); i += 3)
      input += fmt::format("{} {} {}\n", o.updates[i], o.updates[i + 1], o.updates[i + 2]);
  } else {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto updates = unwrap(parse_ref_updates(input));
  std::vector<std::string> problems;
  auto pipelines = unwrap(ctx.pipelines().all(problems));
  EngineHandle h(ctx);
  auto started = h.engine->on_push(pipelines, o.repository, updates, progress_options(ctx, o.max_parallel, true));
  if (!started) problems.push_back(started.error().message);
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"started", started ? Json(*started) : Json::array()}, {"problems", problems}});
  } else {
    if (started)
      for (auto& line : *started) fmt::print("{}\n", line);
    for (auto& line : problems) fmt::print(stderr, "cpipeline: warning: {}\n", line);
  }
  return 0;
}

}  // namespace

void setup_control(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ControlOptions>();
  auto add_run_flags = [&](CLI::App* sub) {
    sub->add_option("--max-parallel", o->max_parallel, "Actions of one runOrder group run at once (default 4)")
        ->check(CLI::Range(1u, 64u))
        ->option_text("N");
    sub->add_flag("--no-wait", o->no_wait, "Go on in the background; print the execution id and exit 0");
  };

  auto* retry = app.add_subcommand("retry-stage-execution",
                                   "Run a failed stage of the latest execution again (its failed actions, or all), then the rest");
  retry->group("Executions");
  retry->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  retry->add_option("--stage-name", o->stage, "The stage that failed")->required()->option_text("STAGE");
  retry->add_option("--pipeline-execution-id", o->execution_id, "The execution (the latest to reach the stage)")
      ->required()
      ->option_text("ID");
  retry->add_option("--retry-mode", o->retry_mode, "FAILED_ACTIONS or ALL_ACTIONS")->required()->option_text("MODE");
  add_run_flags(retry);
  retry->callback([o, &ctx] { run_verb(ctx, [&] { return run_retry(*o, ctx); }); });

  auto add_transition_flags = [&](CLI::App* sub) {
    sub->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
    sub->add_option("--stage-name", o->stage, "The stage")->required()->option_text("STAGE");
    sub->add_option("--transition-type", o->transition_type, "Inbound (into the stage, the default) or Outbound (out of it)")
        ->check(CLI::IsMember({"Inbound", "Outbound"}))
        ->option_text("TYPE");
  };
  auto* disable = app.add_subcommand("disable-stage-transition",
                                     "Hold executions before a stage (SUPERSEDED: the newest waits) until it is enabled");
  disable->group("Executions");
  add_transition_flags(disable);
  disable->add_option("--reason", o->reason, "Why (shown by get-pipeline-state and show)")->required()->option_text("TEXT");
  disable->callback([o, &ctx] { run_verb(ctx, [&] { return run_disable(*o, ctx); }); });
  auto* enable = app.add_subcommand("enable-stage-transition",
                                    "Let executions into a stage again; a held execution goes on here (or --no-wait)");
  enable->group("Executions");
  add_transition_flags(enable);
  add_run_flags(enable);
  enable->callback([o, &ctx] { run_verb(ctx, [&] { return run_enable(*o, ctx); }); });

  auto* rollback = app.add_subcommand("rollback-stage",
                                      "Run a stage again with the artifacts of an execution that succeeded in it (V2)");
  rollback->group("Executions");
  rollback->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  rollback->add_option("--stage-name", o->stage, "The stage to roll back")->required()->option_text("STAGE");
  rollback->add_option("--target-pipeline-execution-id", o->target, "An execution that succeeded in the stage")
      ->required()
      ->option_text("ID");
  add_run_flags(rollback);
  rollback->callback([o, &ctx] { run_verb(ctx, [&] { return run_rollback(*o, ctx); }); });

  auto* poll = app.add_subcommand("poll",
                                  "For cron: repair executions whose process died, time out approvals, continue held "
                                  "executions, start pipelines whose sources changed");
  poll->group("Executions");
  poll->add_option("--pipeline-name", o->name, "Only this pipeline (default: all)")->option_text("NAME");
  poll->callback([o, &ctx] { run_verb(ctx, [&] { return run_poll(*o, ctx); }); });

  auto* hook = app.add_subcommand("install-hook",
                                  "Install a post-receive hook in a repository of the home that starts the pipelines "
                                  "watching it on each push");
  hook->group("Triggers");
  hook->add_option("repository", o->repository, "The repository's name (<home>/repos/NAME.git)")->required()->option_text("REPO");
  hook->callback([o, &ctx] { run_verb(ctx, [&] { return run_install_hook(*o, ctx); }); });

  auto* push = app.add_subcommand("notify-push",
                                  "What the hook runs: start, in the background, the pipelines a push starts (input as "
                                  "post-receive's: OLD NEW REF lines on stdin)");
  push->group("Triggers");
  push->add_option("--repository", o->repository, "The repository pushed to")->required()->option_text("REPO");
  push->add_option("updates", o->updates, "OLD NEW REF of each updated ref, instead of stdin")->option_text("OLD NEW REF...");
  push->callback([o, &ctx] { run_verb(ctx, [&] { return run_notify_push(*o, ctx); }); });
}

}  // namespace cicd::cpipeline

// cpipeline start-pipeline-execution (start), put-approval-result (approve, reject),
// get-pipeline-execution, list-pipeline-executions, list-action-executions, get-pipeline-state.
#include <cstdio>

#include "cpipeline/cpipeline.hpp"
#include "pipeline/engine.hpp"
#include "util/shorthand.hpp"

namespace cicd::cpipeline {

namespace {

struct ExecutionOptions {
  std::string name;  // --name / --pipeline-name
  std::vector<std::string> variables;
  std::string client_request_token;
  unsigned max_parallel = 4;
  std::string execution_id;
  std::string stage, action, token, result, summary;
  int max_items = 0;
  std::string filter;
  bool abandon = false;
  std::string reason;
  bool no_wait = false;
  std::vector<std::string> source_revisions;
};

PipelineRunOptions run_options(const ExecutionOptions& o, const Context& ctx) {
  PipelineRunOptions r = progress_options(ctx, o.max_parallel, o.no_wait);
  r.variables = parse_variables(o.variables);
  for (auto& v : o.source_revisions) {
    static constexpr std::string_view keys[] = {"actionName", "revisionType", "revisionValue"};
    auto fields = unwrap(shorthand::parse_fields(v, "--source-revisions", v, keys, {}));
    auto* a = shorthand::find_field(fields, "actionName");
    auto* t = shorthand::find_field(fields, "revisionType");
    auto* val = shorthand::find_field(fields, "revisionValue");
    if (!a || !t || !val)
      throw Failure({ErrorKind::usage,
                     fmt::format("--source-revisions '{}': expected actionName=A,revisionType=COMMIT_ID,revisionValue=SHA", v)});
    r.source_revisions.push_back({a->values.front(), t->values.front(), val->values.front()});
  }
  return r;
}

}  // namespace

PipelineRunOptions progress_options(const Context& ctx, unsigned max_parallel, bool no_wait) {
  PipelineRunOptions r;
  r.cancel = cli::interrupt_token();
  r.max_parallel = max_parallel;
  r.detach = no_wait;
  if (!ctx.globals.quiet) {
    bool color = ctx.globals.color();
    r.progress = [color](std::string_view line) {
      if (color) std::fprintf(stderr, "\033[36m%.*s\033[0m\n", static_cast<int>(line.size()), line.data());
      else std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  return r;
}

// Prints how the execution stands and returns the exit code (DESIGN.md section 6): 0 succeeded,
// 1 failed, 4 stopped or superseded, 6 waiting for an approval or held at a transition; with
// --no-wait, 0 once the execution goes on in the background.
int report(const ExecutionResult& result, const std::string& pipeline, const Context& ctx, bool detached) {
  const auto& r = result.record;
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json j{{"pipelineExecutionId", r.id}, {"status", std::string(execution_status_name(r.status))}};
    if (result.approval)
      j["approval"] = Json{{"stageName", result.approval->stage},
                           {"actionName", result.approval->action},
                           {"token", result.approval->token},
                           {"customData", result.approval->custom_data},
                           {"externalEntityLink", result.approval->external_link},
                           {"expires", result.approval->expires}};
    if (!result.held_before.empty()) j["heldBefore"] = result.held_before;
    if (result.rollback)
      j["rollback"] = Json{{"pipelineExecutionId", result.rollback->id},
                           {"status", std::string(execution_status_name(result.rollback->status))}};
    cli::print_json(j);
  } else if (detached && !is_final(r.status) && !result.approval) {
    fmt::print("Execution {} {} in the background: cpipeline logs --follow {}\n", r.id, execution_status_name(r.status), r.id);
  } else if (!result.held_before.empty()) {
    fmt::print("Execution {} is held before stage {} (its inbound transition is disabled)\n  continue: cpipeline "
               "enable-stage-transition --pipeline-name {} --stage-name {} --transition-type Inbound\n",
               r.id, result.held_before, pipeline, result.held_before);
  } else if (result.approval) {
    const auto& a = *result.approval;
    fmt::print("Execution {} waits for approval of {}/{}{}\n  token {} (until {})\n  approve: cpipeline approve "
               "--pipeline-name {} --token {} [--summary TEXT]\n",
               r.id, a.stage, a.action, a.custom_data.empty() ? "" : ": " + a.custom_data, a.token, a.expires, pipeline,
               a.token);
  } else if (!ctx.globals.quiet || r.status != ExecutionStatus::succeeded) {
    fmt::print("Execution {} {}{}\n", r.id, execution_status_name(r.status),
               r.status_summary.empty() ? "" : ": " + r.status_summary);
  }
  if (result.rollback && ctx.globals.format() != cli::OutputFormat::json)
    fmt::print("Rollback {} {}\n", result.rollback->id, execution_status_name(result.rollback->status));
  if (detached && !is_final(r.status) && !result.approval && result.held_before.empty()) return 0;
  return execution_exit_code(r.status, result.approval.has_value() || !result.held_before.empty());
}

namespace {

int run_start(const ExecutionOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto result = unwrap(h.engine->start(pipeline, run_options(o, ctx)));
  return report(result, pipeline.name, ctx, o.no_wait);
}

int run_approval(const ExecutionOptions& o, Context& ctx, std::optional<bool> approved) {
  std::string summary = o.summary;
  if (!approved) {
    // put-approval-result --result summary=...,status=Approved|Rejected
    static constexpr std::string_view keys[] = {"summary", "status"};
    auto fields = unwrap(shorthand::parse_fields(o.result, "--result", o.result, keys, {}));
    auto* status = shorthand::find_field(fields, "status");
    if (!status || (status->values.front() != "Approved" && status->values.front() != "Rejected"))
      throw Failure({ErrorKind::usage, fmt::format("--result '{}': status=Approved or status=Rejected", o.result)});
    approved = status->values.front() == "Approved";
    if (auto* s = shorthand::find_field(fields, "summary")) summary = s->values.front();
  }
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto result = unwrap(h.engine->put_approval_result(pipeline, o.stage, o.action, o.token, *approved, summary, run_options(o, ctx)));
  return report(result, pipeline.name, ctx, o.no_wait);
}

int run_stop(const ExecutionOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto r = unwrap(h.engine->stop(pipeline, o.execution_id, o.abandon, o.reason));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"pipelineExecutionId", r.id}});
  else if (!ctx.globals.quiet) fmt::print("Execution {} {}\n", r.id, execution_status_name(r.status));
  return 0;
}

int run_get_execution(const ExecutionOptions& o, Context& ctx) {
  EngineHandle h(ctx);
  auto r = unwrap(h.engine->get_execution(o.name, o.execution_id));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"pipelineExecution", execution_detail_json(r)}});
    return 0;
  }
  fmt::print("execution {} of {} (version {}): {}{}\n", r.id, r.pipeline_name, r.pipeline_version,
             execution_status_name(r.status), r.status_summary.empty() ? "" : ": " + r.status_summary);
  for (auto& s : r.stages) {
    fmt::print("  {}  {}\n", s.name, stage_status_name(s.status));
    for (auto& a : s.actions)
      fmt::print("    {}  {}{}\n", a.action_name, action_status_name(a.status), a.summary.empty() ? "" : "  " + a.summary);
  }
  return 0;
}

int run_list_executions(const ExecutionOptions& o, Context& ctx) {
  EngineHandle h(ctx);
  unwrap(ctx.pipelines().get(o.name));
  auto all = unwrap(h.engine->list_executions(o.name));
  if (o.max_items > 0 && all.size() > static_cast<size_t>(o.max_items)) all.resize(static_cast<size_t>(o.max_items));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json list = Json::array();
    for (auto& r : all) list.push_back(execution_summary_json(r));
    cli::print_json(Json{{"pipelineExecutionSummaries", list}});
    return 0;
  }
  for (auto& r : all)
    fmt::print("{}\t{}\t{}\t{}\n", r.id, execution_status_name(r.status), r.start_time, r.trigger_type);
  return 0;
}

int run_list_action_executions(const ExecutionOptions& o, Context& ctx) {
  EngineHandle h(ctx);
  unwrap(ctx.pipelines().get(o.name));
  std::string only;
  if (!o.filter.empty()) {
    static constexpr std::string_view keys[] = {"pipelineExecutionId"};
    auto fields = unwrap(shorthand::parse_fields(o.filter, "--filter", o.filter, keys, {}));
    if (auto* f = shorthand::find_field(fields, "pipelineExecutionId")) only = f->values.front();
  }
  Json list = unwrap(h.engine->list_action_executions(o.name, only));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"actionExecutionDetails", list}});
    return 0;
  }
  for (auto& a : list)
    fmt::print("{}\t{}/{}\t{}\t{}\n", a["pipelineExecutionId"].get<std::string>(), a["stageName"].get<std::string>(),
               a["actionName"].get<std::string>(), a["status"].get<std::string>(), a["startTime"].get<std::string>());
  return 0;
}

int run_state(const ExecutionOptions& o, Context& ctx) {
  auto pipeline = unwrap(ctx.pipelines().get(o.name)).pipeline;
  EngineHandle h(ctx);
  auto state = unwrap(h.engine->state(pipeline));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(state);
    return 0;
  }
  for (auto& s : state["stageStates"]) {
    std::string status = s.contains("latestExecution") ? s["latestExecution"]["status"].get<std::string>() : "-";
    fmt::print("{}  {}\n", s["stageName"].get<std::string>(), status);
    for (auto& a : s["actionStates"]) {
      if (!a.contains("latestExecution")) {
        fmt::print("  {}  -\n", a["actionName"].get<std::string>());
        continue;
      }
      auto& le = a["latestExecution"];
      fmt::print("  {}  {}{}\n", a["actionName"].get<std::string>(), le["status"].get<std::string>(),
                 le.contains("token") ? "  token " + le["token"].get<std::string>() : "");
    }
  }
  return 0;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_variables(const std::vector<std::string>& given) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& v : given) {
    static constexpr std::string_view keys[] = {"name", "value"};
    auto fields = unwrap(shorthand::parse_fields(v, "--variables", v, keys, {}));
    auto* n = shorthand::find_field(fields, "name");
    auto* val = shorthand::find_field(fields, "value");
    if (!n || !val) throw Failure({ErrorKind::usage, fmt::format("--variables '{}': expected name=NAME,value=VALUE", v)});
    out.emplace_back(n->values.front(), val->values.front());
  }
  return out;
}

int execution_exit_code(ExecutionStatus status, bool waiting) {
  if (waiting) return 6;
  switch (status) {
    case ExecutionStatus::succeeded: return 0;
    case ExecutionStatus::stopped:
    case ExecutionStatus::stopping:
    case ExecutionStatus::superseded:
    case ExecutionStatus::cancelled: return 4;
    default: return 1;
  }
}

void setup_executions(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ExecutionOptions>();
  auto* start = app.add_subcommand("start-pipeline-execution",
                                   "Run a pipeline here until it ends or waits for an approval (alias: start)");
  start->alias("start");
  start->group("Executions");
  start->add_option("--name", o->name, "The pipeline")->required()->option_text("NAME");
  start->add_option("--variables", o->variables, "Pipeline variables (V2) for this run, one per argument")
      ->option_text("name=N,value=V...");
  start->add_option("--client-request-token", o->client_request_token, "Accepted (each start is a new execution)")
      ->option_text("TOKEN");
  start->add_option("--max-parallel", o->max_parallel, "Actions of one runOrder group run at once (default 4)")
      ->check(CLI::Range(1u, 64u))
      ->option_text("N");
  start->add_option("--source-revisions", o->source_revisions,
                    "The commit a CodeCommit source takes instead of its branch's head, one per argument")
      ->option_text("actionName=A,revisionType=COMMIT_ID,revisionValue=SHA");
  start->add_flag("--no-wait", o->no_wait, "Go on in the background; print the execution id and exit 0");
  start->callback([o, &ctx] { run_verb(ctx, [&] { return run_start(*o, ctx); }); });

  auto add_approval_flags = [&](CLI::App* sub, bool full) {
    sub->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
    sub->add_option("--token", o->token, "The waiting approval's token (cpipeline start printed it)")->required()->option_text("TOKEN");
    auto* stage = sub->add_option("--stage-name", o->stage, "The approval's stage")->option_text("STAGE");
    auto* action = sub->add_option("--action-name", o->action, "The approval action")->option_text("ACTION");
    if (full) {
      stage->required();
      action->required();
      sub->add_option("--result", o->result, "summary=TEXT,status=Approved|Rejected")->required()->option_text("RESULT");
    } else {
      sub->add_option("--summary", o->summary, "Why")->option_text("TEXT");
    }
    sub->add_option("--max-parallel", o->max_parallel, "Actions of one runOrder group run at once (default 4)")
        ->check(CLI::Range(1u, 64u))
        ->option_text("N");
    sub->add_flag("--no-wait", o->no_wait, "Approved: the execution goes on in the background; exit 0");
  };
  auto* put = app.add_subcommand("put-approval-result", "Answer a waiting approval; approved, the execution goes on here");
  put->group("Executions");
  add_approval_flags(put, true);
  put->callback([o, &ctx] { run_verb(ctx, [&] { return run_approval(*o, ctx, std::nullopt); }); });
  auto* approve = app.add_subcommand("approve", "Approve a waiting approval (put-approval-result status=Approved)");
  approve->group("Executions");
  add_approval_flags(approve, false);
  approve->callback([o, &ctx] { run_verb(ctx, [&] { return run_approval(*o, ctx, true); }); });
  auto* reject = app.add_subcommand("reject", "Reject a waiting approval: the stage and the execution fail");
  reject->group("Executions");
  add_approval_flags(reject, false);
  reject->callback([o, &ctx] { run_verb(ctx, [&] { return run_approval(*o, ctx, false); }); });

  auto* stop = app.add_subcommand("stop-pipeline-execution",
                                  "Stop an execution: no new action starts (--abandon: the running ones stop too)");
  stop->group("Executions");
  stop->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  stop->add_option("--pipeline-execution-id", o->execution_id, "The execution")->required()->option_text("ID");
  stop->add_flag("--abandon", o->abandon, "Stop the running actions too, instead of letting them finish");
  stop->add_option("--reason", o->reason, "Why (recorded)")->option_text("TEXT");
  stop->callback([o, &ctx] { run_verb(ctx, [&] { return run_stop(*o, ctx); }); });

  auto* get = app.add_subcommand("get-pipeline-execution", "Show an execution");
  get->group("Executions");
  get->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  get->add_option("--pipeline-execution-id", o->execution_id, "The execution")->required()->option_text("ID");
  get->callback([o, &ctx] { run_verb(ctx, [&] { return run_get_execution(*o, ctx); }); });

  auto* list = app.add_subcommand("list-pipeline-executions", "List a pipeline's executions, newest first");
  list->group("Executions");
  list->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  list->add_option("--max-items", o->max_items, "At most this many")->option_text("N");
  list->callback([o, &ctx] { run_verb(ctx, [&] { return run_list_executions(*o, ctx); }); });

  auto* actions = app.add_subcommand("list-action-executions", "List the action executions of a pipeline");
  actions->group("Executions");
  actions->add_option("--pipeline-name", o->name, "The pipeline")->required()->option_text("NAME");
  actions->add_option("--filter", o->filter, "pipelineExecutionId=ID")->option_text("FILTER");
  actions->callback([o, &ctx] { run_verb(ctx, [&] { return run_list_action_executions(*o, ctx); }); });

  auto* state = app.add_subcommand("get-pipeline-state", "Each stage's and action's latest status, waiting approvals' tokens");
  state->group("Executions");
  state->add_option("--name", o->name, "The pipeline")->required()->option_text("NAME");
  state->callback([o, &ctx] { run_verb(ctx, [&] { return run_state(*o, ctx); }); });
}

}  // namespace cicd::cpipeline

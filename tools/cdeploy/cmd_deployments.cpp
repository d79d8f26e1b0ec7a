// create-deployment (deploy) / get-deployment / list-deployments / list-deployment-instances /
// get-deployment-instance / stop-deployment / rollback
#include <cstdio>

#include "cdeploy/cdeploy.hpp"
#include "deploy/engine.hpp"
#include "util/fs.hpp"

namespace cicd::cdeploy {

namespace {

struct DeploymentOptions {
  std::string application;
  std::string group;
  std::string revision;
  std::string config;
  std::string file_exists_behavior;
  bool ignore_stop_failures = false;
  bool no_hard_links = false;
  std::string description;
  bool no_wait = false;
  std::string id;
  std::string instance;
  std::vector<std::string> statuses;
  int wait_seconds = 60;
};

// What every deployment verb needs: the store, the definitions, a runner, the engine.
struct Session {
  std::unique_ptr<Store> store;
  Resources resources;
  PosixProcessRunner runner;
  SystemClock clock;
  DeployEngine engine;
  explicit Session(const Context& ctx)
      : store(ctx.globals.open_store()), resources(ctx.resources()), engine(*store, resources, runner, clock) {}
};

int exit_code_of(const DeploymentRecord& d) {
  switch (d.status) {
    case DeploymentStatus::succeeded: return 0;
    case DeploymentStatus::stopped: return 4;
    case DeploymentStatus::failed: return 1;
    default: return 0;  // still going (--no-wait)
  }
}

void print_summary(Session& s, const DeploymentRecord& d, const char* label) {
  fmt::print("{} {} ({}/{}): {}\n", label, d.id, d.application, d.deployment_group, deployment_status_name(d.status));
  if (d.error) fmt::print("  {}: {}\n", d.error->code, d.error->message);
  auto& o = d.overview;
  fmt::print("  instances: {} succeeded, {} failed, {} skipped, {} in progress, {} pending\n", o.succeeded, o.failed,
             o.skipped, o.in_progress, o.pending);
  if (auto instances = s.engine.instances(d.id)) {
    for (auto& i : *instances) {
      std::string why;
      for (auto& e : i.lifecycle_events)
        if (e.status == TargetStatus::failed && e.diagnostics)
          why = fmt::format("  {} {}: {}", e.name, e.diagnostics->error_code, e.diagnostics->message);
      fmt::print("  {:<20} {}{}\n", i.instance_name, target_status_name(i.status), why);
    }
  }
  for (auto& m : d.status_messages) fmt::print("  {}\n", m);
}

Json summary_json(const InstanceRecord& i) {
  // GetDeploymentInstance's instanceSummary, with the target's fields too.
  Json j = instance_record_to_json(i);
  j["instanceId"] = i.instance_name;
  return j;
}

// Runs a created deployment, its progress on stderr (none with -q): one line per event, colored
// by outcome on a terminal; with -v each hook's output and the script log's notes as well.
DeploymentOutcome run_with_progress(Session& s, const std::string& id, const Context& ctx) {
  bool color = ctx.globals.color();
  auto progress = [&ctx, color](const ProgressLine& line) {
    if (ctx.globals.quiet) return;
    const char* on = "";
    if (color) switch (line.kind) {
        case ProgressLine::Kind::succeeded: on = "\033[32m"; break;
        case ProgressLine::Kind::failed: on = "\033[31m"; break;
        case ProgressLine::Kind::skipped: on = "\033[33m"; break;
        case ProgressLine::Kind::output: on = "\033[2m"; break;
        case ProgressLine::Kind::info: break;
      }
    fmt::print(stderr, "{}{}{}\n", on, line.text, *on ? "\033[0m" : "");
  };
  RunDeploymentOptions options;
  options.progress = progress;
  options.echo_output = ctx.globals.verbose && !ctx.globals.quiet;
  options.cancel = cli::interrupt_token();
  return unwrap(s.engine.run(id, options));
}

int run_create(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  CreateDeploymentOptions options;
  options.application = o.application;
  options.deployment_group = o.group;
  options.revision = o.revision;
  options.deployment_config = o.config;
  if (!o.file_exists_behavior.empty()) options.file_exists_behavior = parse_file_exists_behavior(o.file_exists_behavior);
  options.ignore_application_stop_failures = o.ignore_stop_failures;
  options.hard_links = !o.no_hard_links;
  options.description = o.description;
  auto created = unwrap(s.engine.create(options));
  for (auto& w : created.warnings) fmt::print(stderr, "{}\n", w);
  const auto& id = created.deployment.id;

  if (o.no_wait) {
    // The deployment goes on in a process of its own; its record says how it goes.
    ProcessSpec spec;
    spec.argv = {self_executable().string(), "run-deployment", "--deployment-id", id};
    if (!ctx.globals.home.empty()) spec.argv.insert(spec.argv.end(), {"--home", ctx.globals.home});
    if (!ctx.globals.store.empty()) spec.argv.insert(spec.argv.end(), {"--store", ctx.globals.store});
    spec.output_mode = OutputMode::null;
    unwrap(spawn_process(spec));
    if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"deploymentId", id}});
    else fmt::print("{}\n", id);
    return 0;
  }
  auto outcome = run_with_progress(s, id, ctx);
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json j{{"deploymentId", id}, {"deploymentInfo", deployment_to_json(outcome.deployment)}};
    if (outcome.rollback) j["rollbackDeploymentInfo"] = deployment_to_json(*outcome.rollback);
    cli::print_json(j);
  } else {
    print_summary(s, outcome.deployment, "Deployment");
    if (outcome.rollback) print_summary(s, *outcome.rollback, "Rollback");
  }
  // A failed deployment is a failure even when its rollback succeeded.
  return exit_code_of(outcome.deployment);
}

int run_background(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  RunDeploymentOptions options;
  options.cancel = cli::interrupt_token();
  auto outcome = unwrap(s.engine.run(o.id, options));
  return exit_code_of(outcome.deployment);
}

int run_get(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  auto d = unwrap(s.engine.get(o.id));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"deploymentInfo", deployment_to_json(d)}});
  else print_summary(s, d, "Deployment");
  return 0;
}

int run_list(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  std::vector<DeploymentStatus> statuses;
  for (auto& st : o.statuses) {
    auto parsed = parse_deployment_status(st);
    if (!parsed)
      throw Failure({ErrorKind::usage, fmt::format("--include-only-statuses: unknown status '{}' (Created, Queued, "
                                                   "InProgress, Succeeded, Failed, Stopped)", st)});
    statuses.push_back(*parsed);
  }
  if (!o.application.empty()) unwrap(s.resources.get_application(o.application));
  if (!o.group.empty()) {
    unwrap(s.resources.get_deployment_group(o.application, o.group));
    unwrap(s.engine.repair_group(o.application, o.group));
  }
  auto ids = unwrap(s.engine.list(o.application, o.group, statuses));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"deployments", ids}});
  } else {
    for (auto& id : ids) {
      auto d = s.engine.get(id);
      if (d) fmt::print("{}\t{}/{}\t{}\t{}\n", id, d->application, d->deployment_group, deployment_status_name(d->status),
                        d->create_time);
    }
  }
  return 0;
}

int run_instances(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  auto instances = unwrap(s.engine.instances(o.id));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json names = Json::array();
    for (auto& i : instances) names.push_back(i.instance_name);
    cli::print_json(Json{{"instancesList", names}});
  } else {
    for (auto& i : instances) fmt::print("{}\t{}\n", i.instance_name, target_status_name(i.status));
  }
  return 0;
}

int run_instance(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  unwrap(s.engine.get(o.id));
  auto i = unwrap(s.engine.instance(o.id, o.instance));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"instanceSummary", summary_json(i)}});
    return 0;
  }
  fmt::print("{} in {}: {}\n", i.instance_name, i.deployment_id, target_status_name(i.status));
  for (auto& e : i.lifecycle_events) {
    fmt::print("  {:<18} {:<10} {}\n", e.name, target_status_name(e.status),
               e.diagnostics && e.diagnostics->error_code != "Success" ? e.diagnostics->error_code + ": " + e.diagnostics->message
                                                                       : "");
    if (e.status == TargetStatus::failed && e.diagnostics && !e.diagnostics->log_tail.empty())
      fmt::print("{}", e.diagnostics->log_tail);
  }
  return 0;
}

int run_stop(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  auto d = unwrap(s.engine.stop(o.id, std::chrono::seconds(o.wait_seconds)));
  if (ctx.globals.format() == cli::OutputFormat::json)
    cli::print_json(Json{{"status", d.status == DeploymentStatus::stopped ? "Succeeded" : deployment_status_name(d.status)},
                         {"statusMessage", fmt::format("Deployment {} is {}", d.id, deployment_status_name(d.status))}});
  else fmt::print("{}\t{}\n", d.id, deployment_status_name(d.status));
  return 0;
}

int run_rollback(const DeploymentOptions& o, Context& ctx) {
  Session s(ctx);
  auto created = unwrap(s.engine.rollback(o.application, o.group));
  auto outcome = run_with_progress(s, created.deployment.id, ctx);
  if (ctx.globals.format() == cli::OutputFormat::json)
    cli::print_json(Json{{"deploymentId", outcome.deployment.id}, {"deploymentInfo", deployment_to_json(outcome.deployment)}});
  else print_summary(s, outcome.deployment, "Rollback");
  return exit_code_of(outcome.deployment);
}

void add_id(CLI::App* sub, DeploymentOptions& o) {
  sub->add_option("--deployment-id", o.id, "Deployment id (d-XXXXXXXXX)")->required()->option_text("ID");
}

}  // namespace

void setup_deployments(CLI::App& app, Context& ctx) {
  auto create = std::make_shared<DeploymentOptions>();
  auto* c = app.add_subcommand("create-deployment", "Deploy a revision to a deployment group (alias: deploy)");
  c->alias("deploy");
  c->group("Deployments");
  c->add_option("--application-name", create->application, "Application name")->required()->option_text("NAME");
  c->add_option("--deployment-group-name", create->group, "Deployment group name")->required()->option_text("NAME");
  c->add_option("--revision", create->revision,
                "A directory, a .zip, a .tar/.tar.gz, or a cbuild artifact directory (its primary artifact)")
      ->required()
      ->option_text("PATH");
  c->add_option("--deployment-config-name", create->config, "Override the group's deployment config")->option_text("NAME");
  c->add_option("--file-exists-behavior", create->file_exists_behavior, "DISALLOW, OVERWRITE or RETAIN")
      ->check(CLI::IsMember({"DISALLOW", "OVERWRITE", "RETAIN"}, CLI::ignore_case))
      ->option_text("BEHAVIOR");
  c->add_flag("--ignore-application-stop-failures", create->ignore_stop_failures,
              "Go on when the previous revision's ApplicationStop scripts fail");
  c->add_flag("--no-hard-links", create->no_hard_links,
              "Copy every file; by default local instances hard-link files no hook or permission changes");
  c->add_option("--description", create->description, "A note kept with the deployment")->option_text("TEXT");
  c->add_flag("--no-wait", create->no_wait, "Print the id and return; the deployment runs in the background");
  c->callback([create, &ctx] { run_verb(ctx, [&] { return run_create(*create, ctx); }); });

  auto background = std::make_shared<DeploymentOptions>();
  auto* b = app.add_subcommand("run-deployment", "Run a created deployment (used by --no-wait)");
  b->group("");
  add_id(b, *background);
  b->callback([background, &ctx] { run_verb(ctx, [&] { return run_background(*background, ctx); }); });

  auto get = std::make_shared<DeploymentOptions>();
  auto* g = app.add_subcommand("get-deployment", "Show a deployment ({\"deploymentInfo\": ...} with --output json)");
  g->group("Deployments");
  add_id(g, *get);
  g->callback([get, &ctx] { run_verb(ctx, [&] { return run_get(*get, ctx); }); });

  auto list = std::make_shared<DeploymentOptions>();
  auto* l = app.add_subcommand("list-deployments", "List deployment ids, newest first");
  l->group("Deployments");
  l->add_option("--application-name", list->application, "Only this application's")->option_text("NAME");
  l->add_option("--deployment-group-name", list->group, "Only this deployment group's")
      ->needs(l->get_option("--application-name"))
      ->option_text("NAME");
  l->add_option("--include-only-statuses", list->statuses, "Created, Queued, InProgress, Succeeded, Failed, Stopped")
      ->option_text("STATUS...");
  l->callback([list, &ctx] { run_verb(ctx, [&] { return run_list(*list, ctx); }); });

  auto instances = std::make_shared<DeploymentOptions>();
  auto* i = app.add_subcommand("list-deployment-instances", "List a deployment's instances (alias: list-deployment-targets)");
  i->alias("list-deployment-targets");
  i->group("Deployments");
  add_id(i, *instances);
  i->callback([instances, &ctx] { run_verb(ctx, [&] { return run_instances(*instances, ctx); }); });

  auto instance = std::make_shared<DeploymentOptions>();
  auto* gi = app.add_subcommand("get-deployment-instance",
                                "Show an instance's lifecycle events and diagnostics (alias: get-deployment-target)");
  gi->alias("get-deployment-target");
  gi->group("Deployments");
  add_id(gi, *instance);
  gi->add_option("--instance-id,--target-id", instance->instance, "Instance name")->required()->option_text("NAME");
  gi->callback([instance, &ctx] { run_verb(ctx, [&] { return run_instance(*instance, ctx); }); });

  auto stop = std::make_shared<DeploymentOptions>();
  auto* s = app.add_subcommand("stop-deployment", "Stop a deployment in progress");
  s->group("Deployments");
  add_id(s, *stop);
  s->add_option("--wait", stop->wait_seconds, "Seconds to wait for it to stop (default 60)")->option_text("SECONDS");
  s->callback([stop, &ctx] { run_verb(ctx, [&] { return run_stop(*stop, ctx); }); });

  auto rollback = std::make_shared<DeploymentOptions>();
  auto* r = app.add_subcommand("rollback", "Redeploy the group's last known good revision");
  r->group("Deployments");
  r->add_option("--application-name", rollback->application, "Application name")->required()->option_text("NAME");
  r->add_option("--deployment-group-name", rollback->group, "Deployment group name")->required()->option_text("NAME");
  r->callback([rollback, &ctx] { run_verb(ctx, [&] { return run_rollback(*rollback, ctx); }); });
}

}  // namespace cicd::cdeploy

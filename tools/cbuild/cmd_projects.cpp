// cbuild create-project / update-project / batch-get-projects / list-projects / delete-project:
// build projects, with the AWS CLI's flags (structures in shorthand or JSON).
#include "builder/projects.hpp"
#include "cbuild/cbuild.hpp"

namespace cicd::cbuild {

namespace {

struct ProjectOptions {
  ProjectFlags flags;
  // Plain flags, copied into flags.values when given.
  std::string name, description, source_version, service_role, encryption_key;
  std::string timeout, queued_timeout, concurrent_build_limit;
  bool badge_enabled = false, no_badge_enabled = false;
  std::vector<std::string> names;  // batch-get-projects
  std::string sort_by = "NAME", sort_order = "ASCENDING";
};

BuildProjects open_projects(const Context& ctx) { return BuildProjects(ctx.globals.paths().home); }

Json input_of(ProjectOptions& o) {
  std::pair<const char*, std::string*> plain[] = {{"name", &o.name},
                                                  {"description", &o.description},
                                                  {"sourceVersion", &o.source_version},
                                                  {"serviceRole", &o.service_role},
                                                  {"encryptionKey", &o.encryption_key},
                                                  {"timeoutInMinutes", &o.timeout},
                                                  {"queuedTimeoutInMinutes", &o.queued_timeout},
                                                  {"concurrentBuildLimit", &o.concurrent_build_limit}};
  for (auto& [field, value] : plain)
    if (!value->empty()) o.flags.values[field] = *value;
  if (o.badge_enabled) o.flags.badge_enabled = true;
  if (o.no_badge_enabled) o.flags.badge_enabled = false;
  return unwrap(project_input(o.flags));
}

void print_project(const BuildProject& p, const Context& ctx, std::string_view verb) {
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"project", p.json}});
  else if (!ctx.globals.quiet) fmt::print("{} project {} (source {}, artifacts {})\n", verb, p.name, p.source_type, p.artifacts_type);
}

int run_create(ProjectOptions& o, Context& ctx) {
  auto projects = open_projects(ctx);
  print_project(unwrap(projects.create(input_of(o))), ctx, "Created");
  return 0;
}

int run_update(ProjectOptions& o, Context& ctx) {
  auto projects = open_projects(ctx);
  print_project(unwrap(projects.update(input_of(o))), ctx, "Updated");
  return 0;
}

int run_batch_get(const ProjectOptions& o, Context& ctx) {
  auto projects = open_projects(ctx);
  Json found = Json::array(), missing = Json::array();
  for (auto& name : o.names) {
    auto p = projects.get(name);
    if (p) found.push_back(p->json);
    else if (p.error().kind == ErrorKind::not_found) missing.push_back(name);
    else throw Failure(p.error());
  }
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"projects", found}, {"projectsNotFound", missing}});
  } else {
    for (auto& p : found)
      fmt::print("{}\tsource {} {}\tartifacts {}\tenvironment {} {}\n", p["name"].get<std::string>(),
                 p["source"].value("type", ""), p["source"].value("location", ""), p["artifacts"].value("type", ""),
                 p["environment"].value("type", ""), p["environment"].value("image", ""));
    for (auto& m : missing) fmt::print(stderr, "cbuild: build project '{}' not found\n", m.get<std::string>());
  }
  return 0;
}

int run_list(const ProjectOptions& o, Context& ctx) {
  auto by = o.sort_by == "CREATED_TIME"         ? BuildProjects::SortBy::created_time
            : o.sort_by == "LAST_MODIFIED_TIME" ? BuildProjects::SortBy::last_modified_time
                                                : BuildProjects::SortBy::name;
  auto names = unwrap(open_projects(ctx).list(by, o.sort_order == "DESCENDING"));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"projects", names}});
  else
    for (auto& n : names) fmt::print("{}\n", n);
  return 0;
}

int run_delete(const ProjectOptions& o, Context& ctx) {
  unwrap(open_projects(ctx).remove(o.name));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
  return 0;
}

// The flags create-project and update-project share.
void add_project_flags(CLI::App* sub, ProjectOptions& o, bool create) {
  // Not required here: --cli-input-json may give it (the project's check says when it is missing).
  sub->add_option("--name", o.name, create ? "The project's name" : "The project to change")->option_text("NAME");
  sub->add_option("--description", o.description, "A description")->option_text("TEXT");
  for (auto& f : project_structure_flags()) {
    std::string help = f.list ? "One per argument: shorthand (key=value,...) or JSON" : "Shorthand (key=value,...) or JSON";
    if (f.flag == "--source") help = "type=NO_SOURCE|CODEPIPELINE|S3|CODECOMMIT|GITHUB|...,location=...,buildspec=...";
    if (f.flag == "--artifacts") help = "type=NO_ARTIFACTS|CODEPIPELINE|S3,location=...,path=...,name=...,packaging=ZIP|NONE";
    if (f.flag == "--environment")
      help = "type=LINUX_CONTAINER,image=...,computeType=...,environmentVariables=[{name=N,value=V,type=PLAINTEXT}]";
    auto* opt = sub->add_option(f.flag, o.flags.structures[f.flag], help)->option_text(f.list ? "STRUCTURE..." : "STRUCTURE");
    if (!f.list) opt->expected(1);
  }
  sub->add_option("--source-version", o.source_version, "The version built by default (a branch, tag or commit)")
      ->option_text("VERSION");
  sub->add_option("--service-role", o.service_role, "Recorded: builds run as the user running cbuild")->option_text("ARN");
  sub->add_option("--timeout-in-minutes", o.timeout, "Build timeout, 5 to 2160 minutes (default 60)")->option_text("MINUTES");
  sub->add_option("--queued-timeout-in-minutes", o.queued_timeout, "Recorded (5 to 480)")->option_text("MINUTES");
  sub->add_option("--encryption-key", o.encryption_key, "Recorded")->option_text("KEY");
  sub->add_option("--concurrent-build-limit", o.concurrent_build_limit, "Recorded")->option_text("N");
  sub->add_flag("--badge-enabled", o.badge_enabled, "Recorded");
  sub->add_flag("--no-badge-enabled", o.no_badge_enabled, "Recorded");
  sub->add_option("--cli-input-json", o.flags.cli_input_json, "The whole input as JSON, or file://PATH; flags win over it")
      ->option_text("JSON");
}

}  // namespace

void setup_projects(CLI::App& app, Context& ctx) {
  auto create = std::make_shared<ProjectOptions>();
  auto* c = app.add_subcommand("create-project", "Create a build project");
  c->group("Projects");
  add_project_flags(c, *create, true);
  c->callback([create, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_create(*create, ctx); }); });

  auto update = std::make_shared<ProjectOptions>();
  auto* u = app.add_subcommand("update-project", "Change a build project's fields (the ones given replace its own)");
  u->group("Projects");
  add_project_flags(u, *update, false);
  u->callback([update, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_update(*update, ctx); }); });

  auto get = std::make_shared<ProjectOptions>();
  auto* g = app.add_subcommand("batch-get-projects", "Print build projects ({\"projects\": [...]} with --output json)");
  g->group("Projects");
  g->add_option("--names,names", get->names, "Project names")->required()->option_text("NAME...");
  g->callback([get, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_batch_get(*get, ctx); }); });

  auto list = std::make_shared<ProjectOptions>();
  auto* l = app.add_subcommand("list-projects", "List build project names");
  l->group("Projects");
  l->add_option("--sort-by", list->sort_by, "NAME (default), CREATED_TIME or LAST_MODIFIED_TIME")
      ->check(CLI::IsMember({"NAME", "CREATED_TIME", "LAST_MODIFIED_TIME"}))
      ->option_text("NAME|CREATED_TIME|LAST_MODIFIED_TIME");
  l->add_option("--sort-order", list->sort_order, "ASCENDING (default) or DESCENDING")
      ->check(CLI::IsMember({"ASCENDING", "DESCENDING"}))
      ->option_text("ASCENDING|DESCENDING");
  l->callback([list, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_list(*list, ctx); }); });

  auto del = std::make_shared<ProjectOptions>();
  auto* d = app.add_subcommand("delete-project", "Delete a build project (its builds stay)");
  d->group("Projects");
  d->add_option("--name,name", del->name, "The project's name")->required()->option_text("NAME");
  d->callback([del, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_delete(*del, ctx); }); });
}

}  // namespace cicd::cbuild

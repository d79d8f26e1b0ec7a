// cbuild list-builds / batch-get-builds / logs / stop-build: recorded builds.
#include <cstdio>

#include "builder/engine.hpp"
#include "cbuild/cbuild.hpp"

namespace cicd::cbuild {

namespace {

struct BuildsOptions {
  std::string project;
  std::vector<std::string> ids;
  bool follow = false;
  int wait_seconds = 30;
};

int run_list_builds(const BuildsOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  auto ids = unwrap(list_builds(*store, o.project));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"ids", ids}});
    return 0;
  }
  auto records = unwrap(get_builds(*store, ids));
  for (auto& r : records)
    fmt::print("{}\t#{}\t{}\t{}\n", r.id, r.build_number, build_status_name(r.status), format_iso8601(r.start_time));
  return 0;
}

int run_batch_get(const BuildsOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  std::vector<std::string> missing;
  auto records = unwrap(get_builds(*store, o.ids, &missing));
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json builds = Json::array();
    for (auto& r : records) builds.push_back(build_record_to_json(r));
    cli::print_json(Json{{"builds", builds}, {"buildsNotFound", missing}});
  } else {
    for (auto& r : records) {
      fmt::print("{}\t#{}\t{}\tphase {}\n", r.id, r.build_number, build_status_name(r.status),
                 build_phase_name(r.current_phase));
      for (auto& p : r.phases)
        for (auto& c : p.contexts) fmt::print("  {} {}: {}\n", build_phase_name(p.type), c.status_code, c.message);
    }
    for (auto& m : missing) fmt::print(stderr, "cbuild: build '{}' not found\n", m);
  }
  return missing.empty() ? 0 : 2;
}

int run_logs(const BuildsOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  unwrap(stream_build_log(
      *store, o.ids.at(0), o.follow,
      [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      },
      o.follow ? cli::interrupt_token() : CancelToken()));
  return 0;
}

int run_stop(const BuildsOptions& o, Context& ctx) {
  auto store = ctx.globals.open_store();
  auto record = unwrap(stop_build(*store, o.ids.at(0), std::chrono::seconds(o.wait_seconds)));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"build", build_record_to_json(record)}});
  else fmt::print("{}\t{}\n", record.id, build_status_name(record.status));
  return 0;
}

}  // namespace

void setup_builds(CLI::App& app, Context& ctx) {
  auto list = std::make_shared<BuildsOptions>();
  auto* l = app.add_subcommand("list-builds", "List build ids, newest first");
  l->group("Builds");
  l->add_option("--project", list->project, "Only this project's builds")->option_text("NAME");
  l->callback([list, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_list_builds(*list, ctx); }); });

  auto get = std::make_shared<BuildsOptions>();
  auto* g = app.add_subcommand("batch-get-builds", "Print build records ({\"builds\": [...]} with --output json)");
  g->group("Builds");
  g->add_option("--ids,ids", get->ids, "Build ids (PROJECT:UUID)")->required()->option_text("ID...");
  g->callback([get, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_batch_get(*get, ctx); }); });

  auto logs = std::make_shared<BuildsOptions>();
  auto* lg = app.add_subcommand("logs", "Print a build's full log");
  lg->group("Builds");
  lg->add_option("id", logs->ids, "Build id")->required()->expected(1)->option_text("ID");
  lg->add_flag("-f,--follow", logs->follow, "Keep printing while the build runs");
  lg->callback([logs, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_logs(*logs, ctx); }); });

  auto stop = std::make_shared<BuildsOptions>();
  auto* s = app.add_subcommand("stop-build", "Stop a running build (its status becomes STOPPED)");
  s->group("Builds");
  s->add_option("--id,id", stop->ids, "Build id")->required()->expected(1)->option_text("ID");
  s->add_option("--wait", stop->wait_seconds, "Seconds to wait for the build to stop (default 30)")->option_text("SECONDS");
  s->callback([stop, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_stop(*stop, ctx); }); });
}

}  // namespace cicd::cbuild

// cpipeline create-pipeline / update-pipeline / get-pipeline / list-pipelines / delete-pipeline:
// pipelines kept in the home, with the AWS CLI's flags, and any definition file cpipeline reads.
#include "cpipeline/cpipeline.hpp"
#include "util/fs.hpp"
#include "util/shorthand.hpp"
#include "util/strings.hpp"

namespace cicd::cpipeline {

namespace {

struct PipelineOptions {
  std::string cli_input_json, pipeline, definition, select;
  ReadFlags read;
  std::vector<std::string> action_overrides;
  std::string name;  // get-pipeline, delete-pipeline
  int version = 0;   // get-pipeline --pipeline-version
};

// The definition the flags give: --cli-input-json (create-pipeline's input, {"pipeline": ...}),
// --pipeline (the declaration, JSON), or --pipeline-definition (any file cpipeline reads).
PipelineSource source_of(const PipelineOptions& o) {
  int given = !o.cli_input_json.empty() + !o.pipeline.empty() + !o.definition.empty();
  if (given != 1)
    throw Failure({ErrorKind::usage, "give the pipeline with one of --cli-input-json, --pipeline or --pipeline-definition"});
  PipelineSource s;
  if (!o.definition.empty()) {
    s.text = unwrap(read_file(o.definition));
    s.file = o.definition;
  } else {
    auto text = unwrap(argument_text(o.cli_input_json.empty() ? o.pipeline : o.cli_input_json,
                                     o.cli_input_json.empty() ? "--pipeline" : "--cli-input-json"));
    s.text = std::move(text.text);
    s.file = std::move(text.source);
  }
  s.select = o.select;
  s.read = o.read.options();
  for (auto& a : o.action_overrides) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure({ErrorKind::usage, fmt::format("--action-override '{}': expected ACTION=COMMAND", a)});
    s.action_overrides[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return s;
}

std::string action_line(const PipelineAction& a) {
  std::vector<std::string> in, out;
  for (auto& i : a.inputs) in.push_back(i.name);
  for (auto& o : a.outputs) out.push_back(o.name);
  std::string flow;
  if (!in.empty() || !out.empty()) flow = fmt::format("  {} -> {}", in.empty() ? "-" : join(in, ","), out.empty() ? "-" : join(out, ","));
  std::string local = a.local_command.empty() ? "" : fmt::format("  (locally: {})", a.local_command);
  return fmt::format("    {}. {}  {}/{}/{}{}{}", a.run_order, a.name, a.type.owner, a.type.category, a.type.provider, flow,
                     local);
}

void print_summary(const StoredPipeline& p, const Context& ctx, std::string_view verb) {
  for (auto& w : p.warnings) fmt::print(stderr, "{}\n", w);
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"pipeline", p.pipeline.declaration}});
    return;
  }
  if (ctx.globals.quiet) return;
  std::vector<std::string> stages;
  for (auto& s : p.pipeline.stages) stages.push_back(s.name);
  fmt::print("{} pipeline {} (version {}, {}, {} stages: {})\n", verb, p.pipeline.name, p.pipeline.version,
             p.pipeline.pipeline_type, stages.size(), join(stages, ", "));
}

int run_create(const PipelineOptions& o, Context& ctx) {
  print_summary(unwrap(ctx.pipelines().create(source_of(o))), ctx, "Created");
  return 0;
}

int run_update(const PipelineOptions& o, Context& ctx) {
  print_summary(unwrap(ctx.pipelines().update(source_of(o))), ctx, "Updated");
  return 0;
}

int run_get(const PipelineOptions& o, Context& ctx) {
  auto p = unwrap(ctx.pipelines().get(o.name));
  if (o.version && o.version != p.pipeline.version)
    throw Failure({ErrorKind::not_found, fmt::format("pipeline '{}' is at version {}; earlier versions are not kept",
                                                     o.name, p.pipeline.version)});
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(p.to_json());
    return 0;
  }
  fmt::print("pipeline {} (version {}, {}, execution mode {})\n", p.pipeline.name, p.pipeline.version,
             p.pipeline.pipeline_type, execution_mode_name(p.pipeline.execution_mode));
  for (auto& v : p.pipeline.variables) fmt::print("  variable {} = {}\n", v.name, v.default_value);
  for (auto& s : p.pipeline.stages) {
    fmt::print("  stage {}\n", s.name);
    for (auto& a : s.actions) fmt::print("{}\n", action_line(a));
  }
  return 0;
}

int run_list(Context& ctx) {
  auto pipelines = ctx.pipelines();
  auto names = unwrap(pipelines.list());
  Json out = Json::array();
  for (auto& name : names) {
    auto p = unwrap(pipelines.get(name));
    out.push_back(Json{{"name", p.pipeline.name},
                       {"version", p.pipeline.version},
                       {"pipelineType", p.pipeline.pipeline_type},
                       {"executionMode", std::string(execution_mode_name(p.pipeline.execution_mode))},
                       {"created", p.created},
                       {"updated", p.updated}});
  }
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"pipelines", out}});
  else
    for (auto& p : out)
      fmt::print("{}\tversion {}\t{}\t{}\tupdated {}\n", p["name"].get<std::string>(), p["version"].get<int>(),
                 p["pipelineType"].get<std::string>(), p["executionMode"].get<std::string>(),
                 p["updated"].get<std::string>());
  return 0;
}

int run_delete(const PipelineOptions& o, Context& ctx) {
  unwrap(ctx.pipelines().remove(o.name));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
  return 0;
}

void add_definition_flags(CLI::App* sub, PipelineOptions& o) {
  sub->add_option("--cli-input-json", o.cli_input_json, "create-pipeline's input ({\"pipeline\": ...}) as JSON, or file://PATH")
      ->option_text("JSON");
  sub->add_option("--pipeline", o.pipeline, "The pipeline's declaration as JSON, or file://PATH")->option_text("JSON");
  sub->add_option("--pipeline-definition", o.definition,
                  "A definition file: pipeline JSON or YAML, get-pipeline's JSON, or a CloudFormation template")
      ->option_text("FILE");
  sub->add_option("--pipeline-name", o.select, "Which pipeline of a template holding several (its logical id or name)")
      ->option_text("NAME");
  sub->add_option("--action-override", o.action_overrides,
                  "A local command for an action cpipeline has no runner for (ACTION or STAGE.ACTION; repeatable)")
      ->option_text("ACTION=COMMAND");
  add_read_flags(sub, o.read);
}

}  // namespace

void setup_pipelines(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<PipelineOptions>();
  auto* create = app.add_subcommand("create-pipeline", "Keep a new pipeline in the home");
  create->group("Pipelines");
  add_definition_flags(create, *o);
  create->callback([o, &ctx] { run_verb(ctx, [&] { return run_create(*o, ctx); }); });

  auto* update = app.add_subcommand("update-pipeline", "Replace a pipeline's declaration (its version goes up by one)");
  update->group("Pipelines");
  add_definition_flags(update, *o);
  update->callback([o, &ctx] { run_verb(ctx, [&] { return run_update(*o, ctx); }); });

  auto* get = app.add_subcommand("get-pipeline", "Show a pipeline (--output json: get-pipeline's JSON)");
  get->group("Pipelines");
  get->add_option("--name", o->name, "The pipeline")->required()->option_text("NAME");
  get->add_option("--pipeline-version", o->version, "Only if it is at this version")->option_text("N");
  get->callback([o, &ctx] { run_verb(ctx, [&] { return run_get(*o, ctx); }); });

  auto* list = app.add_subcommand("list-pipelines", "List the pipelines of the home");
  list->group("Pipelines");
  list->callback([&ctx] { run_verb(ctx, [&] { return run_list(ctx); }); });

  auto* del = app.add_subcommand("delete-pipeline", "Delete a pipeline's definition");
  del->group("Pipelines");
  del->add_option("--name", o->name, "The pipeline")->required()->option_text("NAME");
  del->callback([o, &ctx] { run_verb(ctx, [&] { return run_delete(*o, ctx); }); });
}

}  // namespace cicd::cpipeline

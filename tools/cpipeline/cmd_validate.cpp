// cpipeline validate FILE...: check pipeline definitions (pipeline JSON or YAML, get-pipeline's
// answer, CloudFormation templates); every error of every file, positioned.
#include "cpipeline/cpipeline.hpp"
#include "formats/pipeline_document.hpp"
#include "util/fs.hpp"

namespace cicd::cpipeline {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  ReadFlags read;
};

cli::SpecFileResult check_file(const std::string& file, const PipelineReadOptions& options) {
  cli::SpecFileResult r;
  r.check.file = file;
  auto text = read_file(file);
  if (!text) {
    r.check.unreadable = text.error().message;
    return r;
  }
  auto doc = read_pipeline_document(*text, options);
  r.check.diagnostics = format_diagnostics(file, doc.all_diagnostics());
  r.extra["format"] = std::string(pipeline_format_name(doc.format));
  Json pipelines = Json::array();
  std::vector<std::string> described;
  for (auto& entry : doc.pipelines) {
    if (!entry.parse.pipeline) continue;
    const auto& p = *entry.parse.pipeline;
    Json j{{"name", p.name}, {"pipelineType", p.pipeline_type}, {"stages", p.stages.size()}};
    if (!entry.logical_id.empty()) j["logicalId"] = entry.logical_id;
    pipelines.push_back(j);
    described.push_back(fmt::format("{} ({}, {} stages)", p.name, p.pipeline_type, p.stages.size()));
  }
  r.extra["pipelines"] = pipelines;
  r.detail = fmt::format("{}: {}", pipeline_format_name(doc.format), fmt::join(described, ", "));
  return r;
}

int run_validate(const ValidateOptions& o, Context& ctx) {
  auto options = o.read.options();
  options.parameters_required = false;  // validate checks the structure: a parameter may wait for its value
  std::vector<cli::SpecFileResult> results;
  for (auto& file : o.files) results.push_back(check_file(file, options));
  return cli::report_spec_files(results, ctx.globals, "cpipeline");
}

}  // namespace

void setup_validate(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ValidateOptions>();
  auto* sub = app.add_subcommand("validate", "Check pipeline definitions: exit 0 if all are valid, 2 otherwise");
  sub->group("Pipelines");
  sub->add_option("files", o->files, "Pipeline definitions: JSON or YAML, get-pipeline's JSON, CloudFormation templates")
      ->required()
      ->option_text("FILE...");
  add_read_flags(sub, o->read);
  sub->callback([o, &ctx] { run_verb(ctx, [&] { return run_validate(*o, ctx); }); });
}

}  // namespace cicd::cpipeline

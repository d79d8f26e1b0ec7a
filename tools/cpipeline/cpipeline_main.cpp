#include <algorithm>

#include "cpipeline/cpipeline.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace cpipeline {

void run_verb(Context& ctx, const std::function<int()>& body) { ctx.exit_code = cli::guarded_main("cpipeline", body); }

namespace {

std::map<std::string, std::string> pairs(const std::vector<std::string>& given, std::string_view flag) {
  std::map<std::string, std::string> out;
  for (auto& g : given) {
    auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure({ErrorKind::usage, fmt::format("{} '{}': expected NAME=VALUE", flag, g)});
    out[g.substr(0, eq)] = g.substr(eq + 1);
  }
  return out;
}

}  // namespace

PipelineReadOptions ReadFlags::options() const {
  PipelineReadOptions o;
  o.parameters = pairs(parameter_overrides, "--parameter-overrides");
  o.known_values = pairs(values, "--value");
  return o;
}

void add_read_flags(CLI::App* sub, ReadFlags& flags) {
  sub->add_option("--parameter-overrides", flags.parameter_overrides,
                  "CloudFormation template parameters, as `aws cloudformation deploy` takes them")
      ->option_text("KEY=VALUE...");
  sub->add_option("--value", flags.values,
                  "A value only AWS knows: RESOURCE.ATTRIBUTE=V for !GetAtt, RESOURCE=V for a Ref to a resource, "
                  "EXPORT=V for !ImportValue (repeatable)")
      ->option_text("NAME=VALUE");
}

}  // namespace cpipeline

int cpipeline_main(int argc, char** argv) {
  return cli::last_catch("cpipeline", [&] {
    cpipeline::Context ctx;
    CLI::App app{"cpipeline: run CodePipeline definitions (stages of source, build, approval and deploy actions) on "
                 "machines you own.",
                 "cpipeline"};
    app.fallthrough();
    app.require_subcommand(1, 1);
    cli::add_global_options(app, ctx.globals);
    cpipeline::setup_validate(app, ctx);
    cpipeline::setup_pipelines(app, ctx);
    cpipeline::setup_executions(app, ctx);
    cpipeline::setup_control(app, ctx);
    cpipeline::setup_view(app, ctx);
    cli::add_help_data(app);
    std::vector<std::string> args(argv + 1, argv + argc);
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    if (auto code = cli::parse_command_line(app, std::move(args), "cpipeline")) return *code;
    return ctx.exit_code;
  });
}

}  // namespace cicd

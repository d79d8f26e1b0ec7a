// create-deployment-config / get- / list- / delete-deployment-config
#include "cdeploy/cdeploy.hpp"

namespace cicd::cdeploy {

namespace {
struct ConfigOptions {
  std::string name;
  std::string minimum_healthy_hosts;
};
}  // namespace

void setup_configs(CLI::App& app, Context& ctx) {
  auto create = std::make_shared<ConfigOptions>();
  auto* c = app.add_subcommand("create-deployment-config", "Create a deployment config (minimum healthy hosts)");
  c->group("Deployment configs");
  c->add_option("--deployment-config-name", create->name, "Config name")->required()->option_text("NAME");
  c->add_option("--minimum-healthy-hosts", create->minimum_healthy_hosts,
                "type=HOST_COUNT|FLEET_PERCENT,value=N")
      ->required()
      ->option_text("type=TYPE,value=N");
  c->callback([create, &ctx] {
    run_verb(ctx, [&] {
      auto config = unwrap(parse_minimum_healthy_hosts_shorthand(create->minimum_healthy_hosts));
      config.name = create->name;
      auto resources = ctx.resources();
      auto made = unwrap(resources.create_deployment_config(config));
      if (ctx.globals.format() == cli::OutputFormat::json)
        cli::print_json(Json{{"deploymentConfigId", unwrap(resources.describe_deployment_config(made.name)).id}});
      else if (!ctx.globals.quiet)
        fmt::print("deployment config {} created ({} {})\n", made.name, minimum_healthy_type_name(made.type), made.value);
      return 0;
    });
  });

  auto get = std::make_shared<ConfigOptions>();
  auto* g = app.add_subcommand("get-deployment-config", "Show a deployment config");
  g->group("Deployment configs");
  g->add_option("--deployment-config-name", get->name, "Config name")->required()->option_text("NAME");
  g->callback([get, &ctx] {
    run_verb(ctx, [&] {
      auto info = unwrap(ctx.resources().describe_deployment_config(get->name));
      const auto& config = info.config;
      if (ctx.globals.format() == cli::OutputFormat::json)
        cli::print_json(Json{{"deploymentConfigInfo", deployment_config_to_json(info)}});
      else
        fmt::print("{}\t{} {}{}\n", config.name, minimum_healthy_type_name(config.type), config.value,
                   config.builtin ? "\tbuilt in" : "");
      return 0;
    });
  });

  auto* l = app.add_subcommand("list-deployment-configs", "List deployment configs (built-in ones too)");
  l->group("Deployment configs");
  l->callback([&ctx] {
    run_verb(ctx, [&] {
      auto names = unwrap(ctx.resources().list_deployment_configs());
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"deploymentConfigsList", names}});
      else
        for (auto& n : names) fmt::print("{}\n", n);
      return 0;
    });
  });

  auto del = std::make_shared<ConfigOptions>();
  auto* d = app.add_subcommand("delete-deployment-config", "Delete a deployment config no group uses");
  d->group("Deployment configs");
  d->add_option("--deployment-config-name", del->name, "Config name")->required()->option_text("NAME");
  d->callback([del, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().delete_deployment_config(del->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
      else if (!ctx.globals.quiet) fmt::print("deployment config {} deleted\n", del->name);
      return 0;
    });
  });
}

}  // namespace cicd::cdeploy

// create-deployment-group / get- / list- / update- / delete-deployment-group
#include "cdeploy/cdeploy.hpp"
#include "util/fs.hpp"
#include "util/shorthand.hpp"
#include "util/strings.hpp"

namespace cicd::cdeploy {

namespace {

struct GroupOptions {
  std::string application;
  std::string name;
  std::string new_name;
  std::string config;
  std::vector<std::string> tag_filters;
  std::string tag_set;
  std::string auto_rollback;
};

// The group's targets from either form of the AWS CLI.
std::optional<TagSet> tag_set_from(const GroupOptions& o) {
  if (!o.tag_filters.empty() && !o.tag_set.empty())
    throw Failure({ErrorKind::usage, "give --on-premises-instance-tag-filters or --on-premises-tag-set, not both"});
  if (!o.tag_set.empty()) {
    return unwrap(parse_tag_set(unwrap(argument_text(o.tag_set, "--on-premises-tag-set")).text));
  }
  if (o.tag_filters.empty()) return std::nullopt;
  std::vector<TagFilter> group;
  for (auto& f : o.tag_filters) group.push_back(unwrap(parse_tag_filter_shorthand(f)));
  return TagSet{group};
}

void print_group(const DeploymentGroup& g, const Context& ctx) {
  if (ctx.globals.format() == cli::OutputFormat::json) {
    cli::print_json(Json{{"deploymentGroupInfo", deployment_group_to_json(g)}});
    return;
  }
  std::vector<std::string> sets;
  for (auto& set : g.tag_set) {
    std::vector<std::string> filters;
    for (auto& f : set)
      filters.push_back(f.type == TagFilterType::key_only     ? f.key + "=*"
                        : f.type == TagFilterType::value_only ? "*=" + f.value
                                                              : f.key + "=" + f.value);
    sets.push_back("(" + join(filters, " or ") + ")");
  }
  fmt::print("{}/{}\t{}\ttargets {}\tauto-rollback {}\n", g.application, g.name, g.deployment_config_name,
             sets.empty() ? "none" : join(sets, " and "),
             g.auto_rollback.enabled ? join(g.auto_rollback.events, ",") : "off");
}

void add_target_options(CLI::App* sub, GroupOptions& o) {
  sub->add_option("--on-premises-instance-tag-filters", o.tag_filters,
                  "Instances with any of these tags: Key=K,Value=V,Type=KEY_ONLY|VALUE_ONLY|KEY_AND_VALUE")
      ->option_text("FILTER...");
  sub->add_option("--on-premises-tag-set", o.tag_set,
                  "Up to 3 tag groups, all of which an instance must match: JSON {\"onPremisesTagSetList\": [[...]]}, the AWS CLI's shorthand, or file://PATH")
      ->option_text("JSON");
  sub->add_option("--deployment-config-name", o.config, "Deployment config (default CodeDeployDefault.OneAtATime)")
      ->option_text("NAME");
  sub->add_option("--auto-rollback-configuration", o.auto_rollback,
                  "enabled=true|false,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST")
      ->option_text("SHORTHAND");
}

}  // namespace

void setup_groups(CLI::App& app, Context& ctx) {
  auto create = std::make_shared<GroupOptions>();
  auto* c = app.add_subcommand("create-deployment-group", "Create a deployment group of tagged instances");
  c->group("Deployment groups");
  c->add_option("--application-name", create->application, "Application name")->required()->option_text("NAME");
  c->add_option("--deployment-group-name", create->name, "Deployment group name")->required()->option_text("NAME");
  add_target_options(c, *create);
  c->callback([create, &ctx] {
    run_verb(ctx, [&] {
      DeploymentGroup g;
      g.application = create->application;
      g.name = create->name;
      if (!create->config.empty()) g.deployment_config_name = create->config;
      if (auto set = tag_set_from(*create)) g.tag_set = *set;
      if (!create->auto_rollback.empty()) g.auto_rollback = unwrap(parse_auto_rollback_shorthand(create->auto_rollback));
      auto made = unwrap(ctx.resources().create_deployment_group(g));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"deploymentGroupId", made.id}});
      else if (!ctx.globals.quiet) fmt::print("deployment group {}/{} created ({})\n", made.application, made.name, made.id);
      return 0;
    });
  });

  auto get = std::make_shared<GroupOptions>();
  auto* g = app.add_subcommand("get-deployment-group", "Show a deployment group");
  g->group("Deployment groups");
  g->add_option("--application-name", get->application, "Application name")->required()->option_text("NAME");
  g->add_option("--deployment-group-name", get->name, "Deployment group name")->required()->option_text("NAME");
  g->callback([get, &ctx] {
    run_verb(ctx, [&] {
      print_group(unwrap(ctx.resources().get_deployment_group(get->application, get->name)), ctx);
      return 0;
    });
  });

  auto list = std::make_shared<GroupOptions>();
  auto* l = app.add_subcommand("list-deployment-groups", "List an application's deployment groups");
  l->group("Deployment groups");
  l->add_option("--application-name", list->application, "Application name")->required()->option_text("NAME");
  l->callback([list, &ctx] {
    run_verb(ctx, [&] {
      auto names = unwrap(ctx.resources().list_deployment_groups(list->application));
      if (ctx.globals.format() == cli::OutputFormat::json)
        cli::print_json(Json{{"applicationName", list->application}, {"deploymentGroups", names}});
      else
        for (auto& n : names) fmt::print("{}\n", n);
      return 0;
    });
  });

  auto update = std::make_shared<GroupOptions>();
  auto* u = app.add_subcommand("update-deployment-group", "Change a deployment group");
  u->group("Deployment groups");
  u->add_option("--application-name", update->application, "Application name")->required()->option_text("NAME");
  u->add_option("--current-deployment-group-name", update->name, "The group's name now")->required()->option_text("NAME");
  u->add_option("--new-deployment-group-name", update->new_name, "Rename it")->option_text("NAME");
  add_target_options(u, *update);
  u->callback([update, &ctx] {
    run_verb(ctx, [&] {
      DeploymentGroupUpdate change;
      if (!update->new_name.empty()) change.new_name = update->new_name;
      if (!update->config.empty()) change.deployment_config_name = update->config;
      change.tag_set = tag_set_from(*update);
      if (!update->auto_rollback.empty()) change.auto_rollback = unwrap(parse_auto_rollback_shorthand(update->auto_rollback));
      auto updated = unwrap(ctx.resources().update_deployment_group(update->application, update->name, change));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"hooksNotCleanedUp", Json::array()}});
      else if (!ctx.globals.quiet) print_group(updated, ctx);
      return 0;
    });
  });

  auto del = std::make_shared<GroupOptions>();
  auto* d = app.add_subcommand("delete-deployment-group", "Delete a deployment group");
  d->group("Deployment groups");
  d->add_option("--application-name", del->application, "Application name")->required()->option_text("NAME");
  d->add_option("--deployment-group-name", del->name, "Deployment group name")->required()->option_text("NAME");
  d->callback([del, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().delete_deployment_group(del->application, del->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"hooksNotCleanedUp", Json::array()}});
      else if (!ctx.globals.quiet) fmt::print("deployment group {}/{} deleted\n", del->application, del->name);
      return 0;
    });
  });
}

}  // namespace cicd::cdeploy

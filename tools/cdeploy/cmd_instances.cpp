// register-on-premises-instance / deregister- / get- / list-on-premises-instances,
// add-tags-to- / remove-tags-from-on-premises-instances
#include "cdeploy/cdeploy.hpp"
#include <filesystem>

#include "util/strings.hpp"

namespace cicd::cdeploy {

namespace {

struct InstanceOptions {
  std::string name;
  std::string ssh;
  std::string root = "/";
  std::vector<std::string> names;
  std::vector<std::string> tags;
  std::vector<std::string> tag_filters;
};

std::vector<Tag> parse_tags(const std::vector<std::string>& texts) {
  std::vector<Tag> out;
  for (auto& t : texts) out.push_back(unwrap(parse_tag_shorthand(t)));
  return out;
}

}  // namespace

void setup_instances(CLI::App& app, Context& ctx) {
  auto reg = std::make_shared<InstanceOptions>();
  auto* r = app.add_subcommand("register-on-premises-instance",
                               "Register an instance: this machine (default) or one reached with --ssh");
  r->group("Instances");
  r->add_option("--instance-name", reg->name, "Instance name")->required()->option_text("NAME");
  r->add_option("--ssh", reg->ssh, "Reach the instance over ssh (OpenSSH, your keys and known_hosts; the ssh command and "
                "extra options come from CDEPLOY_SSH, e.g. \"ssh -F FILE\")")
      ->option_text("USER@HOST[:PORT]");
  r->add_option("--root", reg->root, "Place absolute destinations and the deployment root under this directory")
      ->option_text("DIR");
  r->callback([reg, &ctx] {
    run_verb(ctx, [&] {
      InstanceTarget target = reg->ssh.empty() ? InstanceTarget{} : unwrap(parse_ssh_target(reg->ssh));
      // A root given relative to here means here; on an ssh instance it is a path there.
      std::string root = reg->root;
      if (target.kind == TargetKind::local && !root.empty() && root.front() != '/') {
        std::error_code ec;
        auto here = std::filesystem::current_path(ec);
        if (ec) throw Failure({ErrorKind::io, fmt::format("cannot read the current directory: {}", ec.message()), {}});
        root = (here / root).lexically_normal().string();
      }
      auto i = unwrap(ctx.resources().register_instance(reg->name, target, root));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"instanceInfo", instance_to_json(i)}});
      else if (!ctx.globals.quiet) fmt::print("instance {} registered ({})\n", i.name, i.arn);
      return 0;
    });
  });

  auto dereg = std::make_shared<InstanceOptions>();
  auto* d = app.add_subcommand("deregister-on-premises-instance", "Deregister an instance");
  d->group("Instances");
  d->add_option("--instance-name", dereg->name, "Instance name")->required()->option_text("NAME");
  d->callback([dereg, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().deregister_instance(dereg->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
      else if (!ctx.globals.quiet) fmt::print("instance {} deregistered\n", dereg->name);
      return 0;
    });
  });

  auto get = std::make_shared<InstanceOptions>();
  auto* g = app.add_subcommand("get-on-premises-instance", "Show an instance");
  g->group("Instances");
  g->add_option("--instance-name", get->name, "Instance name")->required()->option_text("NAME");
  g->callback([get, &ctx] {
    run_verb(ctx, [&] {
      auto i = unwrap(ctx.resources().get_instance(get->name));
      if (ctx.globals.format() == cli::OutputFormat::json) {
        cli::print_json(Json{{"instanceInfo", instance_to_json(i)}});
      } else {
        std::vector<std::string> tags;
        for (auto& t : i.tags) tags.push_back(t.key + "=" + t.value);
        fmt::print("{}\t{}\troot {}\t{}\n", i.name,
                   i.target.kind == TargetKind::local ? std::string("local")
                                                      : fmt::format("ssh {}{}:{}", i.target.user.empty() ? "" : i.target.user + "@",
                                                                    i.target.host, i.target.port),
                   i.root, join(tags, ","));
      }
      return 0;
    });
  });

  auto list = std::make_shared<InstanceOptions>();
  auto* l = app.add_subcommand("list-on-premises-instances", "List instances, optionally those matching tag filters");
  l->group("Instances");
  l->add_option("--tag-filters", list->tag_filters, "Key=K,Value=V,Type=KEY_ONLY|VALUE_ONLY|KEY_AND_VALUE (any matches)")
      ->option_text("FILTER...");
  l->callback([list, &ctx] {
    run_verb(ctx, [&] {
      std::vector<TagFilter> filters;
      for (auto& f : list->tag_filters) filters.push_back(unwrap(parse_tag_filter_shorthand(f)));
      auto names = unwrap(ctx.resources().list_instances(filters));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"instanceNames", names}});
      else
        for (auto& n : names) fmt::print("{}\n", n);
      return 0;
    });
  });

  auto add = std::make_shared<InstanceOptions>();
  auto* a = app.add_subcommand("add-tags-to-on-premises-instances", "Tag instances");
  a->group("Instances");
  a->add_option("--instance-names", add->names, "Instance names")->required()->option_text("NAME...");
  a->add_option("--tags", add->tags, "Key=K,Value=V")->required()->option_text("TAG...");
  a->callback([add, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().add_tags(add->names, parse_tags(add->tags)));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
      return 0;
    });
  });

  auto rm = std::make_shared<InstanceOptions>();
  auto* m = app.add_subcommand("remove-tags-from-on-premises-instances", "Remove tags from instances");
  m->group("Instances");
  m->add_option("--instance-names", rm->names, "Instance names")->required()->option_text("NAME...");
  m->add_option("--tags", rm->tags, "Key=K,Value=V")->required()->option_text("TAG...");
  m->callback([rm, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().remove_tags(rm->names, parse_tags(rm->tags)));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
      return 0;
    });
  });
}

}  // namespace cicd::cdeploy

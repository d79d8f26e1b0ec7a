// create-application / get-application / list-applications / delete-application
#include "cdeploy/cdeploy.hpp"

namespace cicd::cdeploy {

namespace {
struct AppOptions {
  std::string name;
};
}  // namespace

void setup_applications(CLI::App& app, Context& ctx) {
  auto create = std::make_shared<AppOptions>();
  auto* c = app.add_subcommand("create-application", "Create an application");
  c->group("Applications");
  c->add_option("--application-name", create->name, "Application name")->required()->option_text("NAME");
  c->callback([create, &ctx] {
    run_verb(ctx, [&] {
      auto a = unwrap(ctx.resources().create_application(create->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"applicationId", a.id}});
      else if (!ctx.globals.quiet) fmt::print("application {} created ({})\n", a.name, a.id);
      return 0;
    });
  });

  auto get = std::make_shared<AppOptions>();
  auto* g = app.add_subcommand("get-application", "Show an application");
  g->group("Applications");
  g->add_option("--application-name", get->name, "Application name")->required()->option_text("NAME");
  g->callback([get, &ctx] {
    run_verb(ctx, [&] {
      auto a = unwrap(ctx.resources().get_application(get->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"application", application_to_json(a)}});
      else fmt::print("{}\t{}\tcreated {}\n", a.name, a.id, a.create_time);
      return 0;
    });
  });

  auto* l = app.add_subcommand("list-applications", "List applications");
  l->group("Applications");
  l->callback([&ctx] {
    run_verb(ctx, [&] {
      auto names = unwrap(ctx.resources().list_applications());
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"applications", names}});
      else
        for (auto& n : names) fmt::print("{}\n", n);
      return 0;
    });
  });

  auto del = std::make_shared<AppOptions>();
  auto* d = app.add_subcommand("delete-application", "Delete an application and its deployment groups");
  d->group("Applications");
  d->add_option("--application-name", del->name, "Application name")->required()->option_text("NAME");
  d->callback([del, &ctx] {
    run_verb(ctx, [&] {
      unwrap(ctx.resources().delete_application(del->name));
      if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
      else if (!ctx.globals.quiet) fmt::print("application {} deleted\n", del->name);
      return 0;
    });
  });
}

}  // namespace cicd::cdeploy

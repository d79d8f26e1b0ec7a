// cbuild put-parameter / get-parameter / delete-parameter / list-parameters: the local
// parameter store that buildspec parameter-store and secrets-manager entries resolve from.
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cbuild/cbuild.hpp"
#include "store/parameters.hpp"
#include "util/fs.hpp"

namespace cicd::cbuild {

namespace {

struct ParameterOptions {
  std::string name;
  std::string value;
  std::string value_file;
  std::string type = "SecureString";
  bool overwrite = false;
  bool value_given = false;
  bool with_decryption = false;
};

// What get-parameter shows of a SecureString without --with-decryption (the AWS CLI shows the
// ciphertext; there is none here, and the value must not reach a terminal or a log by default).
constexpr std::string_view k_hidden_value = "***";

ParameterStore open_parameters(const Context& ctx) {
  return ParameterStore(ParameterStore::default_file(ctx.globals.paths().home));
}

Json parameter_json(const Parameter& p, bool with_value) {
  Json j{{"Name", p.name}, {"Type", p.type}};
  if (with_value) j["Value"] = p.value;
  j["Version"] = p.version;
  j["LastModifiedDate"] = p.last_modified;
  return j;
}

int run_put(const ParameterOptions& o, Context& ctx) {
  // The value never needs to be on a command line: a file or stdin keep it out of ps and history.
  std::string value;
  int sources = (o.value_given ? 1 : 0) + (o.value_file.empty() ? 0 : 1);
  if (sources > 1) throw Failure({ErrorKind::usage, "give the value once: --value or --value-file", {}});
  if (o.value_given) {
    value = o.value;
  } else if (!o.value_file.empty()) {
    value = unwrap(read_file(o.value_file));
  } else {
    if (::isatty(STDIN_FILENO)) std::cerr << "Value for " << o.name << " (end with Ctrl-D): ";
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!value.empty() && value.back() == '\n' && (!o.value_given)) value.pop_back();
  auto store = open_parameters(ctx);
  auto p = unwrap(store.put(o.name, value, o.type, o.overwrite ? Overwrite::yes : Overwrite::no));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"Version", p.version}, {"Tier", "Standard"}});
  else if (!ctx.globals.quiet) fmt::print("{} stored (version {})\n", p.name, p.version);
  return 0;
}

int run_get(const ParameterOptions& o, Context& ctx) {
  auto p = unwrap(open_parameters(ctx).get(o.name));
  if (p.type == "SecureString" && !o.with_decryption) p.value = k_hidden_value;
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json{{"Parameter", parameter_json(p, true)}});
  else fmt::print("{}\n", p.value);
  return 0;
}

int run_delete(const ParameterOptions& o, Context& ctx) {
  unwrap(open_parameters(ctx).remove(o.name));
  if (ctx.globals.format() == cli::OutputFormat::json) cli::print_json(Json::object());
  else if (!ctx.globals.quiet) fmt::print("{} deleted\n", o.name);
  return 0;
}

int run_list(Context& ctx) {
  auto list = unwrap(open_parameters(ctx).list());
  if (ctx.globals.format() == cli::OutputFormat::json) {
    Json params = Json::array();
    for (auto& p : list) params.push_back(parameter_json(p, false));
    cli::print_json(Json{{"Parameters", params}});
  } else {
    for (auto& p : list) fmt::print("{}\t{}\tversion {}\n", p.name, p.type, p.version);
  }
  return 0;
}

}  // namespace

void setup_parameters(CLI::App& app, Context& ctx) {
  auto put = std::make_shared<ParameterOptions>();
  auto* sub = app.add_subcommand("put-parameter", "Store a parameter (value from --value, --value-file or stdin)");
  sub->group("Parameters");
  sub->add_option("--name", put->name, "Parameter name")->required()->option_text("NAME");
  auto* value_opt = sub->add_option("--value", put->value, "The value (visible in ps; prefer --value-file or stdin)")
                        ->option_text("VALUE");
  sub->add_option("--value-file", put->value_file, "Read the value from a file")->option_text("FILE");
  sub->add_option("--type", put->type, "String, StringList or SecureString (default)")
      ->check(CLI::IsMember({"String", "StringList", "SecureString"}))
      ->option_text("TYPE");
  sub->add_flag("--overwrite", put->overwrite, "Replace an existing parameter");
  sub->callback([put, value_opt, &ctx] {
    put->value_given = value_opt->count() > 0;
    ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_put(*put, ctx); });
  });

  auto get = std::make_shared<ParameterOptions>();
  auto* g = app.add_subcommand("get-parameter", "Print a parameter's value (a SecureString's only with --with-decryption)");
  g->group("Parameters");
  g->add_option("--name", get->name, "Parameter name")->required()->option_text("NAME");
  g->add_flag("--with-decryption", get->with_decryption, "Print a SecureString's value instead of ***");
  g->callback([get, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_get(*get, ctx); }); });

  auto del = std::make_shared<ParameterOptions>();
  auto* d = app.add_subcommand("delete-parameter", "Delete a parameter");
  d->group("Parameters");
  d->add_option("--name", del->name, "Parameter name")->required()->option_text("NAME");
  d->callback([del, &ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_delete(*del, ctx); }); });

  auto* l = app.add_subcommand("list-parameters", "List parameter names and types (never values)");
  l->group("Parameters");
  l->callback([&ctx] { ctx.exit_code = cli::guarded_main("cbuild", [&] { return run_list(ctx); }); });
}

}  // namespace cicd::cbuild

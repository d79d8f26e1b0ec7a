#include "common/cli.hpp"

#include "util/signals.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fmt/ranges.h>

#include <iostream>

namespace cicd::cli {

const CancelToken& interrupt_token() {
  static const CancelToken token = [] {
    CancelToken t;
    cancel_on_signals(t);
    return t;
  }();
  return token;
}


std::unique_ptr<Store> GlobalOptions::open_store() const {
  auto opened = cicd::open_store(paths().store);
  if (!opened) throw Failure(opened.error());
  return std::move(*opened);
}

bool GlobalOptions::color() const {
  if (no_color) return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc) return false;
  return ::isatty(STDERR_FILENO) != 0;
}

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--home", options.home, "Home directory for definitions (default: $CICD_HOME or ~/.local/share/cicd)")
      ->option_text("DIR");
  app.add_option("--store", options.store, "Store for records and blobs (default: $CICD_STORE or <home>/store)")
      ->option_text("DIR");
  app.add_option("--output", options.output, "Output format on stdout")
      ->check(CLI::IsMember({"text", "json"}))
      ->option_text("text|json");
  app.add_flag("-q,--quiet", options.quiet, "Print only errors and the result");
  app.add_flag("-v,--verbose", options.verbose, "Print more detail");
  app.add_flag("--no-color", options.no_color, "Never color the output (also: NO_COLOR)");
  app.set_version_flag("--version", std::string(CICD_VERSION));
}

int guarded_main(const char* tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Failure& f) {
    for (auto& d : f.error().details) std::cerr << d << "\n";
    std::cerr << tool << ": error: " << f.error().message << "\n";
    return exit_code_for(f.error().kind);
  } catch (const CLI::ParseError& e) {
    throw;  // handled by the caller's app.exit()
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: internal: " << e.what() << "\n";
    return 5;
  }
}

int last_catch(const char* tool, const std::function<int()>& body) {
  try {
    return guarded_main(tool, body);
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: internal: " << e.what() << "\n";
  } catch (...) {
    std::cerr << tool << ": error: internal: an unknown exception\n";
  }
  return 5;
}

void print_json(const Json& value) {
  std::string text = to_json_text(value);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::vector<std::string> insert_default_verb(int argc, char** argv, const std::vector<std::string>& verbs,
                                             const std::string& verb) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options with a value may come before the verb.
  size_t i = 0;
  while (i < args.size()) {
    const auto& a = args[i];
    if (a == "--home" || a == "--store" || a == "--output") {
      i += 2;
      continue;
    }
    if (a.starts_with("--home=") || a.starts_with("--store=") || a.starts_with("--output=") || a == "-q" ||
        a == "--quiet" || a == "-v" || a == "--verbose" || a == "--no-color") {
      ++i;
      continue;
    }
    break;
  }
  if (i < args.size()) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help" || a == "--version") return args;
    for (auto& v : verbs)
      if (v == a) return args;
    if (!a.starts_with("-")) return args;  // an unknown verb: let the parser say so
  } else {
    for (size_t k = 0; k < args.size(); ++k)
      if (args[k] == "-h" || args[k] == "--help" || args[k] == "--version") return args;
  }
  args.insert(args.begin() + static_cast<long>(i), verb);
  return args;
}

int report_spec_files(const std::vector<SpecFileResult>& results, const GlobalOptions& globals, const char* tool) {
  Json out = Json::array();
  bool all_valid = true;
  for (auto& result : results) {
    const SpecFileCheck& r = result.check;
    if (!r.unreadable.empty()) std::cerr << tool << ": error: " << r.unreadable << "\n";
    for (auto& w : r.diagnostics.warnings) std::cerr << w << "\n";
    for (auto& e : r.diagnostics.errors) std::cerr << e << "\n";
    bool valid = r.valid();
    all_valid = all_valid && valid;
    Json j = Json{{"file", r.file}, {"valid", valid}};
    Json errors = r.diagnostics.errors;
    if (!r.unreadable.empty()) errors.push_back(r.unreadable);
    j["errors"] = errors;
    j["warnings"] = r.diagnostics.warnings;
    for (auto& [k, v] : result.extra.items()) j[k] = v;
    out.push_back(j);
    if (globals.format() != OutputFormat::text || (valid && globals.quiet)) continue;
    if (!valid) {
      fmt::print("{}: invalid\n", r.file);
      continue;
    }
    std::vector<std::string> notes;
    if (!result.detail.empty()) notes.push_back(result.detail);
    if (auto n = r.diagnostics.warnings.size()) notes.push_back(fmt::format("{} warning{}", n, n == 1 ? "" : "s"));
    fmt::print("{}: valid{}\n", r.file, notes.empty() ? "" : " (" + fmt::format("{}", fmt::join(notes, ", ")) + ")");
  }
  if (globals.format() == OutputFormat::json) print_json(Json{{"results", out}});
  std::fflush(stdout);
  return all_valid ? 0 : 2;
}

void add_help_data(CLI::App& app) {
  auto* help_data = app.add_subcommand("help-data", "Describe verbs and options as JSON (for completions)");
  help_data->group("");
  help_data->callback([&app] { print_json(describe_app(app)); });
}

std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args, const char* tool) {
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      std::cerr << tool << ": error: " << e.what() << "\n";
      std::cerr << "Run '" << tool << " --help' for usage.\n";
      return 2;
    }
    return app.exit(e);
  }
  return std::nullopt;
}

namespace {
Json describe_options(const CLI::App& app) {
  Json options = Json::array();
  for (const CLI::Option* opt : app.get_options()) {
    Json names = Json::array();
    for (auto& s : opt->get_snames()) names.push_back("-" + s);
    for (auto& l : opt->get_lnames()) names.push_back("--" + l);
    if (names.empty()) continue;  // positionals
    Json o{{"names", names}, {"description", opt->get_description()}, {"takesValue", opt->get_items_expected_max() != 0}};
    if (!opt->get_option_text().empty()) o["valueText"] = opt->get_option_text();
    options.push_back(o);
  }
  return options;
}
}  // namespace

Json describe_app(const CLI::App& app) {
  Json j{{"name", app.get_name()}, {"description", app.get_description()}, {"options", describe_options(app)}};
  Json verbs = Json::array();
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden
    Json aliases = Json::array();
    for (auto& a : sub->get_aliases()) aliases.push_back(a);
    verbs.push_back(Json{{"name", sub->get_name()},
                         {"aliases", aliases},
                         {"description", sub->get_description()},
                         {"options", describe_options(*sub)}});
  }
  j["verbs"] = verbs;
  return j;
}

}  // namespace cicd::cli

// What every front end shares: global options, the single catch, output helpers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/run.hpp"

namespace cicd::cli {

enum class OutputFormat { text, json };

struct GlobalOptions {
  std::string home;
  std::string store;
  std::string output = "text";
  bool quiet = false;
  bool verbose = false;
  bool no_color = false;

  OutputFormat format() const { return output == "json" ? OutputFormat::json : OutputFormat::text; }
  // Throws a Failure (for the single catch) when there is no home to use.
  HomePaths paths() const { return unwrap(resolve_home(home, store)); }
  // Opens the store (creating it on first use).
  std::unique_ptr<Store> open_store() const;
  bool color() const;
};

// The front end's root cancellation token: SIGINT, SIGTERM and SIGHUP cancel it (handlers are
// installed on the first call). Every run the tool starts descends from it.
const CancelToken& interrupt_token();

// Adds --home, --store, --output, -q, -v, --no-color (and --version on the app itself).
void add_global_options(CLI::App& app, GlobalOptions& options);

// Runs `body`, turning a Failure (or any exception) into "<tool>: error: ..." and its exit code.
int guarded_main(const char* tool, const std::function<int()>& body);
// The one last catch of a tool's *_main: whatever escapes (an exception of any type) is an
// internal error, exit 5, with a message; never std::terminate.
int last_catch(const char* tool, const std::function<int()>& body);

// Prints a JSON document on stdout.
void print_json(const Json& value);

// "12.3 kB"
std::string format_bytes(uint64_t bytes);

// Puts `verb` before the arguments when the first argument is not a verb (so `cbuild -b x.yml`
// means `cbuild run -b x.yml`), leaving --help/--version alone.
std::vector<std::string> insert_default_verb(int argc, char** argv, const std::vector<std::string>& verbs,
                                             const std::string& verb);

// Adds the hidden `help-data` verb that prints describe_app().
void add_help_data(CLI::App& app);

// Parses `args` (in CLI11's reversed order) and runs the chosen verb's callback. Returns the exit
// code of a parse error or of --help/--version (printing them), nullopt when a verb ran.
std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args, const char* tool);

// The verdict on one spec file for a `validate` verb.
struct SpecFileResult {
  SpecFileCheck check;
  std::string detail;           // shown after "valid" ("version 0.2")
  Json extra = Json::object();  // more fields for --output json
};

// Prints diagnostics on stderr and the verdicts on stdout (text or {"results": [...]});
// returns 0 when every file is valid, 2 otherwise.
int report_spec_files(const std::vector<SpecFileResult>& results, const GlobalOptions& globals, const char* tool);

// A JSON description of the app's verbs and options, for completions and man pages to be
// checked against (the hidden `help-data` verb).
Json describe_app(const CLI::App& app);

}  // namespace cicd::cli

// Keeps the man pages and the shell completions from drifting away from the command line:
// for each tool (cbuild, cdeploy, cpipeline), every verb, alias and option is taken from
// `TOOL help-data` (the CLI11 tables) and looked for in man/TOOL.1 and in the bash, zsh and fish
// completions; every key the buildspec, appspec and pipeline validators know is looked for in
// man/buildspec.5, man/appspec.5 and man/pipeline.5; the pages must render without warnings and
// the completion scripts must parse.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "artifact/artifact_dir.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/process.hpp"

using namespace cicd;

namespace {

using Names = std::set<std::string>;

struct OptionInfo {
  std::vector<std::string> names;  // "-b", "--buildspec"
  bool takes_value = false;
};

struct VerbInfo {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<OptionInfo> options;
};

struct HelpData {
  std::vector<OptionInfo> globals;
  std::vector<VerbInfo> verbs;
};

std::vector<OptionInfo> options_of(const Json& list) {
  std::vector<OptionInfo> out;
  for (auto& o : list) {
    OptionInfo info;
    for (auto& n : o.at("names")) info.names.push_back(n.get<std::string>());
    // help-data's "takesValue" is also true for flags (CLI11's get_type_size()); every option
    // that takes a value has a value text (FILE, DIR, text|json, ...), and no flag has one.
    info.takes_value = o.contains("valueText");
    out.push_back(std::move(info));
  }
  return out;
}

// A front end and where its docs are.
struct Tool {
  std::string name;    // "cbuild"
  std::string binary;  // the built executable
};

const Tool& cbuild() {
  static const Tool tool{"cbuild", CICD_CBUILD};
  return tool;
}

const Tool& cdeploy() {
  static const Tool tool{"cdeploy", CICD_CDEPLOY};
  return tool;
}

const Tool& cpipeline() {
  static const Tool tool{"cpipeline", CICD_CPIPELINE};
  return tool;
}

const HelpData& help_data(const Tool& tool) {
  static std::map<std::string, HelpData> cache;
  auto found = cache.find(tool.name);
  if (found != cache.end()) return found->second;
  auto out = test::run({tool.binary, "help-data"});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  auto json = unwrap(parse_json(out.out, tool.name + " help-data"));
  HelpData d;
  d.globals = options_of(json.at("options"));
  for (auto& v : json.at("verbs")) {
    VerbInfo verb;
    verb.name = v.at("name").get<std::string>();
    for (auto& a : v.at("aliases")) verb.aliases.push_back(a.get<std::string>());
    verb.options = options_of(v.at("options"));
    d.verbs.push_back(std::move(verb));
  }
  REQUIRE(!d.globals.empty());
  REQUIRE(!d.verbs.empty());
  return cache.emplace(tool.name, std::move(d)).first->second;
}

Names names_of(const std::vector<OptionInfo>& options) {
  Names out;
  for (auto& o : options) out.insert(o.names.begin(), o.names.end());
  return out;
}

// Every option that takes a value, of the tool and of all its verbs.
Names value_options(const Tool& tool) {
  Names out;
  auto add = [&](const std::vector<OptionInfo>& options) {
    for (auto& o : options)
      if (o.takes_value) out.insert(o.names.begin(), o.names.end());
  };
  add(help_data(tool).globals);
  for (auto& v : help_data(tool).verbs) add(v.options);
  return out;
}

std::string source_file(const std::string& rel) {
  return unwrap(read_file(std::string(CICD_SOURCE_DIR) + "/" + rel));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join(const Names& names) {
  std::string out;
  for (auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// `word` occurs in `text` delimited by characters that cannot be part of an option or verb name.
bool contains_word(const std::string& text, const std::string& word) {
  for (size_t pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    bool starts = pos == 0 || !is_name_char(text[pos - 1]);
    bool ends = pos + word.size() == text.size() || !is_name_char(text[pos + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

// Roff source as a reader sees it: "\-" is '-', font changes and "\&", "\%" vanish.
std::string plain_roff(std::string text) {
  text = std::regex_replace(text, std::regex(R"(\\f[BIRP])"), "");
  text = std::regex_replace(text, std::regex(R"(\\[&%])"), "");
  text = std::regex_replace(text, std::regex(R"(\\-)"), "-");
  return text;
}

// Option names ("-b", "--buildspec") written in a piece of shell code.
Names option_tokens(const std::string& code) {
  static const std::regex k_option(R"((?:^|[^A-Za-z0-9_-])(--?[A-Za-z][A-Za-z0-9-]*))");
  Names out;
  for (std::sregex_iterator it(code.begin(), code.end(), k_option), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

// ---- completion files ----

enum class Shell { bash, zsh, fish };

// One line of a completion script that names options, and whether it says they take a value
// (for the shells that say it per line).
struct OptionLine {
  Names names;
  std::optional<bool> takes_value;
  std::string condition;  // fish: the -n argument
  std::string text;
};

std::string strip_single_quoted_arg(std::string line, const std::string& flag) {
  // fish: `-d 'text'`, with \' inside
  std::regex arg(" " + flag + R"( '(?:[^'\\]|\\.)*')");
  return std::regex_replace(line, arg, "");
}

OptionLine parse_option_line(Shell shell, const std::string& line) {
  OptionLine out;
  out.text = line;
  switch (shell) {
    case Shell::bash:
      out.names = option_tokens(line);
      break;
    case Shell::zsh: {
      // '(-b --buildspec)'{-b+,--buildspec=}'[description]:message:action': the names come
      // before the description; a spec without one is a positional ('1:message:action').
      auto bracket = line.find('[');
      std::string head = bracket != std::string::npos ? line.substr(0, bracket) : line.substr(0, line.find(':'));
      out.names = option_tokens(head);
      std::string tail = bracket != std::string::npos ? line.substr(line.find(']', bracket) + 1) : line;
      if (!out.names.empty()) out.takes_value = tail.find(':') != std::string::npos;
      break;
    }
    case Shell::fish: {
      if (!trim(line).starts_with("complete ")) break;
      std::smatch m;
      if (std::regex_search(line, m, std::regex(R"( -n '((?:[^'\\]|\\.)*)')"))) out.condition = m[1];
      std::string rest = line;
      for (const char* flag : {"-d", "-n", "-a"}) rest = strip_single_quoted_arg(rest, flag);
      auto words = words_of(rest);
      bool value = false;
      for (size_t i = 0; i < words.size(); ++i) {
        if ((words[i] == "-s" || words[i] == "-l" || words[i] == "-o") && i + 1 < words.size())
          out.names.insert((words[i] == "-l" ? "--" : "-") + words[i + 1]);
        if (words[i] == "-r" || words[i] == "-x") value = true;
      }
      if (!out.names.empty()) out.takes_value = value;
      break;
    }
  }
  return out;
}

struct Completion {
  std::string path;
  std::string text;
  std::vector<OptionLine> global_lines;
  // Marker "# verb: NAME ALIAS..." -> its lines.
  std::map<std::vector<std::string>, std::vector<OptionLine>> verb_lines;
};

Completion load_completion(Shell shell, const std::string& rel) {
  Completion c;
  c.path = rel;
  c.text = source_file(rel);
  enum { outside, globals, verb } where = outside;
  std::vector<std::string> marker;
  for (auto& raw : lines_of(c.text)) {
    std::string line = trim(raw);
    if (line == "# global options") {
      where = globals;
      continue;
    }
    if (line == "# end global options" || line == "# end verbs") {
      where = outside;
      continue;
    }
    if (line.starts_with("# verb: ")) {
      where = verb;
      marker = words_of(line.substr(8));
      c.verb_lines[marker];
      continue;
    }
    if (where == outside || line.starts_with("#")) continue;
    auto parsed = parse_option_line(shell, line);
    if (parsed.names.empty() && shell != Shell::fish) continue;
    (where == globals ? c.global_lines : c.verb_lines[marker]).push_back(parsed);
  }
  return c;
}

Names names_in(const std::vector<OptionLine>& lines) {
  Names out;
  for (auto& l : lines) out.insert(l.names.begin(), l.names.end());
  return out;
}

// The allowed values of enumerated options, asked of the tool itself: CLI11 refuses a value
// that is not a member with "--opt: VALUE not in {a,b,c}". `--help` after it makes sure
// that an option without such a check runs nothing.
const std::map<std::string, std::vector<std::string>>& enumerated_values(const Tool& tool) {
  static std::map<std::string, std::map<std::string, std::vector<std::string>>> cache;
  auto found = cache.find(tool.name);
  if (found != cache.end()) return found->second;
  test::Scratch scratch;
  Environment env{{"CICD_HOME", (scratch / "home").string()}, {"CICD_STORE", (scratch / "store").string()}};
  std::map<std::string, std::vector<std::string>> out;
  auto probe = [&](const std::vector<std::string>& verb, const OptionInfo& o) {
    if (!o.takes_value) return;
    std::vector<std::string> argv{tool.binary};
    argv.insert(argv.end(), verb.begin(), verb.end());
    argv.insert(argv.end(), {o.names.back(), "__cicd_docs_bogus__", "--help"});
    auto r = test::run(argv, scratch.path(), env);
    std::smatch m;
    if (!std::regex_search(r.err, m, std::regex(R"(not in \{([^}]*)\})"))) return;
    std::vector<std::string> choices;
    std::string list = m[1];
    for (size_t start = 0; start <= list.size();) {
      auto comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      choices.push_back(trim(list.substr(start, comma - start)));
      start = comma + 1;
    }
    for (auto& n : o.names) out[n] = choices;
  };
  for (auto& o : help_data(tool).globals) probe({}, o);
  for (auto& v : help_data(tool).verbs)
    for (auto& o : v.options) probe({v.name}, o);
  return cache.emplace(tool.name, std::move(out)).first->second;
}

void check_completion(const Tool& tool, Shell shell, const std::string& rel) {
  auto c = load_completion(shell, rel);
  INFO(rel);

  // 1. Global options, exactly.
  CHECK(join(names_in(c.global_lines)) == join(names_of(help_data(tool).globals)));

  // 2. One block per verb, named with its aliases, with exactly the verb's options.
  std::set<std::vector<std::string>> expected_markers;
  for (auto& v : help_data(tool).verbs) {
    std::vector<std::string> marker{v.name};
    marker.insert(marker.end(), v.aliases.begin(), v.aliases.end());
    expected_markers.insert(marker);
    INFO("verb " << v.name);
    auto block = c.verb_lines.find(marker);
    REQUIRE(block != c.verb_lines.end());
    CHECK(join(names_in(block->second)) == join(names_of(v.options)));
    if (shell == Shell::fish) {
      for (auto& line : block->second) {
        INFO(line.text);
        CHECK(contains_word(line.condition, v.name));
      }
    }
  }
  for (auto& [marker, _] : c.verb_lines) {
    INFO("block '# verb: " << marker.front() << "'");
    CHECK(expected_markers.count(marker) == 1);
  }

  // 3. What each line says about taking a value agrees with the option.
  auto values = value_options(tool);
  auto check_lines = [&](const std::vector<OptionLine>& lines) {
    for (auto& line : lines) {
      if (!line.takes_value) continue;
      for (auto& n : line.names) {
        INFO(line.text);
        CHECK(*line.takes_value == (values.count(n) == 1));
      }
    }
  };
  check_lines(c.global_lines);
  for (auto& [_, lines] : c.verb_lines) check_lines(lines);

  // 4. Verbs and aliases are completed (named outside comments).
  std::string code;
  for (auto& line : lines_of(c.text))
    if (!trim(line).starts_with("#")) code += line + "\n";
  for (auto& v : help_data(tool).verbs) {
    CHECK(contains_word(code, v.name));
    for (auto& a : v.aliases) CHECK(contains_word(code, a));
  }

  // 5. So are the values of enumerated options.
  for (auto& [option, choices] : enumerated_values(tool)) {
    for (auto& choice : choices) {
      INFO(option << " " << choice);
      CHECK(contains_word(code, choice));
    }
  }
}

// The list of value-taking options a script keeps to find the verb, e.g. `_cbuild_value_opts='...'`.
Names value_list(const std::string& text, const std::string& start) {
  auto pos = text.find(start);
  REQUIRE(pos != std::string::npos);
  std::string list;
  for (size_t end = pos;; pos = end + 1) {
    end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    list += line + " ";
    if (line.empty() || line.back() != '\\') break;
  }
  return option_tokens(list.substr(start.size()));
}

// ---- the checks each tool gets ----

void check_verb_help(const Tool& tool) {
  auto top = test::run({tool.binary, "--help"});
  CHECK(top.exit_code == 0);
  for (auto& v : help_data(tool).verbs) {
    CHECK(contains_word(top.out, v.name));
    std::vector<std::string> names{v.name};
    names.insert(names.end(), v.aliases.begin(), v.aliases.end());
    for (auto& name : names) {
      INFO(tool.name << " " << name << " --help");
      auto r = test::run({tool.binary, name, "--help"});
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("Usage:") != std::string::npos);
      for (auto& o : v.options)
        for (auto& n : o.names) CHECK(contains_word(r.out, n));
    }
  }
}

// A man page's sections (.SH) and subsections (.SS), by title, as a reader sees them.
struct Section {
  std::string title;
  std::string parent;
  std::string body;
};

std::vector<Section> sections_of(const std::string& rel) {
  auto text = plain_roff(source_file(rel));
  std::vector<Section> sections;
  std::string current_sh;
  for (auto& line : lines_of(text)) {
    if (line.starts_with(".SH ") || line.starts_with(".SS ")) {
      std::string title = trim(line.substr(4));
      if (title.size() >= 2 && title.front() == '"' && title.back() == '"') title = title.substr(1, title.size() - 2);
      if (line.starts_with(".SH ")) current_sh = title;
      sections.push_back({title, line.starts_with(".SS ") ? current_sh : "", ""});
      continue;
    }
    if (!sections.empty()) sections.back().body += line + "\n";
  }
  return sections;
}

const Section* find_section(const std::vector<Section>& sections, const std::string& title) {
  for (auto& s : sections)
    if (s.title == title) return &s;
  return nullptr;
}

// The tool's page documents every verb, alias and option, the exit codes (0 to `last_exit_code`),
// and the environment variables given.
void check_tool_page(const Tool& tool, const std::vector<std::string>& extra_sections,
                     const std::vector<std::string>& environment_variables, int last_exit_code = 5) {
  auto sections = sections_of("man/" + tool.name + ".1");
  std::vector<std::string> required{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "ENVIRONMENT",
                                    "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"};
  required.insert(required.end(), extra_sections.begin(), extra_sections.end());
  for (auto& title : required) {
    INFO(title);
    CHECK(find_section(sections, title) != nullptr);
  }

  // 1. Global options under OPTIONS.
  const Section* options = find_section(sections, "OPTIONS");
  REQUIRE(options);
  for (auto& n : names_of(help_data(tool).globals)) {
    INFO(n);
    CHECK(contains_word(options->body, n));
  }

  // 2. A subsection of COMMANDS per verb, titled with its aliases, holding its options; and
  // no subsection for a verb that does not exist.
  std::map<std::string, const Section*> by_name;
  for (auto& s : sections) {
    if (s.parent != "COMMANDS") continue;
    std::string title = s.title;
    std::replace(title.begin(), title.end(), ',', ' ');
    for (auto& w : words_of(title)) by_name[w] = &s;
  }
  Names verb_names;
  for (auto& v : help_data(tool).verbs) {
    INFO("verb " << v.name);
    verb_names.insert(v.name);
    verb_names.insert(v.aliases.begin(), v.aliases.end());
    auto found = by_name.find(v.name);
    REQUIRE(found != by_name.end());
    for (auto& a : v.aliases) CHECK(by_name[a] == found->second);
    for (auto& n : names_of(v.options)) {
      // An option every verb shares with the top level (-h, --help) is described once, under OPTIONS.
      if (names_of(help_data(tool).globals).count(n)) continue;
      INFO(n);
      CHECK(contains_word(found->second->body, n));
    }
  }
  for (auto& [name, _] : by_name) {
    INFO("subsection for '" << name << "'");
    CHECK(verb_names.count(name) == 1);
  }

  // 3. Exit codes and environment.
  const Section* exit_status = find_section(sections, "EXIT STATUS");
  REQUIRE(exit_status);
  for (int code = 0; code <= last_exit_code; ++code) {
    INFO("exit status " << code);
    CHECK(exit_status->body.find(".B " + std::to_string(code) + "\n") != std::string::npos);
  }
  const Section* environment = find_section(sections, "ENVIRONMENT");
  REQUIRE(environment);
  for (auto& var : environment_variables) {
    INFO(var);
    CHECK(contains_word(environment->body, var));
  }
}

// Quoted strings in a parser's `constexpr std::string_view k_top_keys[] = {"version", ...};` tables.
Names key_tables(const std::string& source) {
  Names keys;
  std::regex key_list(R"(constexpr std::string_view k_\w+\[\] = \{([^}]*)\})");
  std::regex quoted(R"re("([^"]+)")re");
  for (std::sregex_iterator it(source.begin(), source.end(), key_list), end; it != end; ++it) {
    std::string list = (*it)[1];
    for (std::sregex_iterator q(list.begin(), list.end(), quoted); q != end; ++q) keys.insert((*q)[1]);
  }
  return keys;
}

// Quoted strings in the `constexpr std::array<std::string_view, N> k_categories = {...};` tables
// of a validator, by table name.
std::map<std::string, Names> array_tables(const std::string& source) {
  std::map<std::string, Names> tables;
  std::regex table(R"(constexpr std::array<std::string_view, \d+> (k_\w+) = \{([^}]*)\})");
  std::regex quoted(R"re("([^"]+)")re");
  for (std::sregex_iterator it(source.begin(), source.end(), table), end; it != end; ++it) {
    std::string list = (*it)[2];
    auto& keys = tables[(*it)[1].str()];
    for (std::sregex_iterator q(list.begin(), list.end(), quoted); q != end; ++q) keys.insert((*q)[1]);
  }
  return tables;
}

// The first capture of every match of `pattern` in `source`.
Names captures(const std::string& source, const std::string& pattern) {
  Names out;
  std::regex re(pattern);
  for (std::sregex_iterator it(source.begin(), source.end(), re), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

void check_mentioned(const std::string& page, const Names& words) {
  for (auto& word : words) {
    INFO(word);
    CHECK(contains_word(page, word));
  }
}

const char* const k_pages[] = {"man/cbuild.1",   "man/buildspec.5", "man/cdeploy.1",       "man/appspec.5",
                               "man/cpipeline.1", "man/pipeline.5",  "man/cicd-artifacts.5",
                               "man/cicd-notifications.5"};

void check_bash_value_cases(const Tool& tool) {
  // The `case $prev in` patterns: each value option once, and nothing else.
  auto text = source_file("completions/bash/" + tool.name);
  auto start = text.find("case $prev in");
  REQUIRE(start != std::string::npos);
  auto end = text.find("\n    esac", start);
  REQUIRE(end != std::string::npos);
  Names patterns;
  std::regex pattern_line(R"(^\s*([-A-Za-z0-9| ]+)\)\s*$)");
  for (auto& line : lines_of(text.substr(start, end - start))) {
    std::smatch m;
    if (!std::regex_match(line, m, pattern_line)) continue;
    auto names = option_tokens(m[1]);
    patterns.insert(names.begin(), names.end());
  }
  CHECK(join(patterns) == join(value_options(tool)));
}

void check_parses(const std::string& shell, const std::string& rel) {
  test::require_programs({shell});
  auto r = test::run({shell, "-n", std::string(CICD_SOURCE_DIR) + "/" + rel});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

}  // namespace

// ---- help ----

TEST_CASE("docs: cbuild VERB --help works for every verb and alias", "[docs]") { check_verb_help(cbuild()); }

TEST_CASE("docs: cdeploy VERB --help works for every verb and alias", "[docs]") { check_verb_help(cdeploy()); }

TEST_CASE("docs: cpipeline VERB --help works for every verb and alias", "[docs]") { check_verb_help(cpipeline()); }

TEST_CASE("docs: enumerated option values are found", "[docs]") {
  auto values = enumerated_values(cbuild());
  REQUIRE(values.count("--output") == 1);
  CHECK(values["--output"] == std::vector<std::string>{"text", "json"});
  auto deploy_values = enumerated_values(cdeploy());
  REQUIRE(deploy_values.count("--output") == 1);
  CHECK(deploy_values["--output"] == std::vector<std::string>{"text", "json"});
  REQUIRE(deploy_values.count("--file-exists-behavior") == 1);
  CHECK(deploy_values["--file-exists-behavior"] == std::vector<std::string>{"DISALLOW", "OVERWRITE", "RETAIN"});
  auto pipeline_values = enumerated_values(cpipeline());
  REQUIRE(pipeline_values.count("--output") == 1);
  CHECK(pipeline_values["--output"] == std::vector<std::string>{"text", "json"});
}

// ---- man pages ----

TEST_CASE("docs: cbuild(1) documents every verb, alias and option", "[docs]") {
  check_tool_page(cbuild(), {},
                  {"CICD_HOME", "CICD_STORE", "XDG_DATA_HOME", "NO_COLOR", "CODEBUILD_SRC_DIR", "CODEBUILD_BUILD_ID",
                   "CODEBUILD_BUILD_NUMBER", "CODEBUILD_BUILD_SUCCEEDING", "CODEBUILD_RESOLVED_SOURCE_VERSION",
                   "CODEBUILD_INITIATOR"});
}

TEST_CASE("docs: cdeploy(1) documents every verb, alias and option", "[docs]") {
  check_tool_page(cdeploy(), {"DEPLOYMENTS AND RECORDS"},
                  {"CICD_HOME", "CICD_STORE", "XDG_DATA_HOME", "NO_COLOR", "LIFECYCLE_EVENT", "DEPLOYMENT_ID",
                   "APPLICATION_NAME", "DEPLOYMENT_GROUP_NAME", "DEPLOYMENT_GROUP_ID"});
}

TEST_CASE("docs: cdeploy(1) documents every status and errorInformation code", "[docs]") {
  auto page = plain_roff(source_file("man/cdeploy.1"));
  // ErrorInformation{"HEALTH_CONSTRAINTS", ...}
  auto codes = captures(source_file("lib/deploy/engine.cpp"), R"re(ErrorInformation\{"([A-Z_]+)")re");
  REQUIRE(codes.count("HEALTH_CONSTRAINTS") == 1);
  REQUIRE(codes.count("INTERNAL_ERROR") == 1);
  check_mentioned(page, codes);
  // {DeploymentStatus::created, "Created"}, {TargetStatus::skipped, "Skipped"}
  auto records = source_file("lib/deploy/records.cpp");
  auto statuses = captures(records, R"re(\{(?:Deployment|Target)Status::\w+, "(\w+)"\})re");
  REQUIRE(statuses.count("InProgress") == 1);
  REQUIRE(statuses.count("Skipped") == 1);
  statuses.erase("Unknown");  // a target status only read from a damaged record
  check_mentioned(page, statuses);
  // The record's fields a script looks at.
  check_mentioned(page, {"deploymentOverview", "errorInformation", "creator", "autoRollback", "rollbackInfo",
                         "rollbackDeploymentId", "rollbackTriggeringDeploymentId", "previousRevision",
                         "state.json", "deployment-root", "scripts.log"});
}

TEST_CASE("docs: cpipeline(1) documents every verb, alias and option", "[docs]") {
  check_tool_page(cpipeline(), {"ACTIONS", "EXECUTIONS"},
                  {"CICD_HOME", "CICD_STORE", "XDG_DATA_HOME", "NO_COLOR", "CPIPELINE_PIPELINE", "CPIPELINE_EXECUTION_ID",
                   "CPIPELINE_STAGE", "CPIPELINE_ACTION", "CPIPELINE_CONFIGURATION", "CPIPELINE_INPUT_DIR",
                   "CPIPELINE_OUTPUT_DIR", "CPIPELINE_VARIABLES_FILE", "CODEBUILD_SRC_DIR", "CODEBUILD_INITIATOR"},
                  6);
}

TEST_CASE("docs: cpipeline(1) documents every status, error code and action variable", "[docs]") {
  auto page = plain_roff(source_file("man/cpipeline.1"));
  // {ExecutionStatus::in_progress, "InProgress"}, {ActionStatus::abandoned, "Abandoned"}, ...
  auto statuses = captures(source_file("lib/pipeline/records.cpp"), R"re(\{(?:Execution|Action|Stage)Status::\w+, "(\w+)"\})re");
  REQUIRE(statuses.count("Superseded") == 1);
  REQUIRE(statuses.count("Abandoned") == 1);
  REQUIRE(statuses.count("NotStarted") == 1);
  check_mentioned(page, statuses);
  // failed("ConfigurationError", ...), ae->error_code = "Rejected"
  auto codes = captures(source_file("lib/pipeline/actions.cpp"), R"re(failed\("(\w+)")re");
  auto engine = source_file("lib/pipeline/engine.cpp");
  auto engine_codes = captures(engine, R"re(error_code = "(\w+)")re");
  codes.insert(engine_codes.begin(), engine_codes.end());
  REQUIRE(codes.count("ConfigurationError") == 1);
  REQUIRE(codes.count("ApprovalTimedOut") == 1);
  check_mentioned(page, codes);
  // The variables the source actions produce: o.output_variables = Json{{"CommitId", ...}, ...}
  auto actions = source_file("lib/pipeline/actions.cpp");
  Names variables;
  for (auto& block : captures(actions, R"re(output_variables = Json\{([^;]*)\};)re")) {
    auto names = captures(block, R"re(\{"(\w+)", )re");
    variables.insert(names.begin(), names.end());
  }
  REQUIRE(variables.count("CommitId") == 1);
  REQUIRE(variables.count("ETag") == 1);
  check_mentioned(page, variables);
  // The local command's environment: env["CPIPELINE_STAGE"] = ..., env["CPIPELINE_INPUT_" + name]
  auto environment = captures(actions, R"re(env\["(CPIPELINE_\w+)")re");
  REQUIRE(environment.size() >= 10);
  check_mentioned(page, environment);
  // The configuration keys the providers read: c.config("S3Bucket")
  check_mentioned(page, captures(actions, R"re(config\("(\w+)"\))re"));
  // The record's fields and the files a script looks at.
  check_mentioned(page, {"pipelineExecutionId", "statusSummary", "artifactRevisions", "resolvedConfiguration",
                         "outputVariables", "errorDetails", "token", "updatedBy", "state.json", "localCommand",
                         "ApprovalSummary"});
}

TEST_CASE("docs: pipeline(5) mentions every field the validator knows", "[docs]") {
  auto page = plain_roff(source_file("man/pipeline.5"));
  auto tables = array_tables(source_file("lib/formats/pipeline.cpp"));
  for (const char* table : {"k_declaration_keys", "k_stage_keys", "k_action_keys", "k_type_keys", "k_categories"}) {
    INFO(table);
    REQUIRE(tables.count(table) == 1);
  }
  REQUIRE(tables["k_action_keys"].count("localCommand") == 1);
  REQUIRE(tables["k_categories"].count("Compute") == 1);
  for (auto& [table, keys] : tables) {
    INFO(table);
    check_mentioned(page, keys);
  }
  for (const char* section : {".SH FIELDS", ".SH LOCAL COMMANDS", ".SH STORED PIPELINES"}) {
    INFO(section);
    CHECK(page.find(section) != std::string::npos);
  }
}

TEST_CASE("docs: cicd-notifications(5) mentions every key and event type the rules parser knows", "[docs]") {
  auto page = plain_roff(source_file("man/cicd-notifications.5"));
  auto tables = array_tables(source_file("lib/notify/rules.cpp"));
  for (const char* table : {"k_top_keys", "k_rule_keys", "k_any_target_keys", "k_target_types", "k_statuses"}) {
    INFO(table);
    REQUIRE(tables.count(table) == 1);
  }
  for (auto& [table, keys] : tables) {
    INFO(table);
    check_mentioned(page, keys);
  }
  auto events = array_tables(source_file("lib/notify/event.cpp"));
  REQUIRE(events.count("k_event_types") == 1);
  REQUIRE(events["k_event_types"].size() == 29);
  check_mentioned(page, events["k_event_types"]);
  for (const char* section : {".SH THE EVENT", ".SH EVENT TYPES", ".SH RETRIES AND THE DEAD LETTER"}) {
    INFO(section);
    CHECK(page.find(section) != std::string::npos);
  }
}

TEST_CASE("docs: buildspec(5) mentions every key the parser knows", "[docs]") {
  auto page = plain_roff(source_file("man/buildspec.5"));
  auto parser = source_file("lib/formats/buildspec.cpp");
  Names keys = key_tables(parser);
  // {ReportFormat::junit_xml, "JUNITXML"}, ...
  auto formats = captures(parser, R"re(\{ReportFormat::\w+, "([A-Z0-9]+)"\})re");
  keys.insert(formats.begin(), formats.end());
  REQUIRE(keys.count("version") == 1);
  REQUIRE(keys.count("post_build") == 1);
  REQUIRE(keys.count("JUNITXML") == 1);
  REQUIRE(keys.size() > 60);
  for (const char* action : {"ABORT", "CONTINUE", "RETRY"}) keys.insert(action);
  check_mentioned(page, keys);
  for (const char* section : {".SH LOCAL MEANING OF CLOUD KEYS", ".SH VERSION 0.1", ".SH PHASES AND TRANSITIONS"}) {
    INFO(section);
    CHECK(page.find(section) != std::string::npos);
  }
}

TEST_CASE("docs: appspec(5) mentions every key the parser knows", "[docs]") {
  auto page = plain_roff(source_file("man/appspec.5"));
  auto parser = source_file("lib/formats/appspec.cpp");
  Names keys = key_tables(parser);
  REQUIRE(keys.count("file_exists_behavior") == 1);
  REQUIRE(keys.count("runas") == 1);
  REQUIRE(keys.count("context") == 1);
  REQUIRE(keys.count("ValidateService") == 1);
  // {LifecycleEvent::application_stop, "ApplicationStop"}, {FileExistsBehavior::retain, "RETAIN"}
  auto events = captures(parser, R"re(\{LifecycleEvent::\w+, "(\w+)"\})re");
  auto behaviors = captures(parser, R"re(\{FileExistsBehavior::\w+, "(\w+)"\})re");
  REQUIRE(events.size() == 11);
  REQUIRE(behaviors.size() == 3);
  keys.insert(events.begin(), events.end());
  keys.insert(behaviors.begin(), behaviors.end());
  // The diagnostics' error codes: diag.error_code = "ScriptMissing"; ...
  auto codes = captures(source_file("lib/deploy/lifecycle.cpp"), R"re(error_code = "(\w+)")re");
  REQUIRE(codes.count("ScriptTimedOut") == 1);
  keys.insert(codes.begin(), codes.end());
  // The hooks' environment.
  for (const char* var : {"LIFECYCLE_EVENT", "DEPLOYMENT_ID", "APPLICATION_NAME", "DEPLOYMENT_GROUP_NAME",
                          "DEPLOYMENT_GROUP_ID"})
    keys.insert(var);
  check_mentioned(page, keys);
  for (const char* section : {".SH LIFECYCLE", ".SH HOOK SCRIPTS", ".SH INSTALL", ".SH STRICTER THAN THE AGENT"}) {
    INFO(section);
    CHECK(page.find(section) != std::string::npos);
  }
}

TEST_CASE("docs: cicd-artifacts(5) names every part of the layout the code defines", "[docs]") {
  auto page = plain_roff(source_file("man/cicd-artifacts.5"));
  ArtifactDirLayout layout{"DIR"};
  for (auto path : {layout.record(), layout.log(), layout.exported_variables(), layout.primary_dir(),
                    layout.secondary_root(), layout.reports_dir()}) {
    INFO(path.filename().string());
    CHECK(test::contains(page, path.filename().string()));
  }
  for (const char* part : ArtifactDirLayout::k_replaced_parts) CHECK(test::contains(page, std::string(part) + "/"));
  // "NAME.zip.manifest.json", as the page writes it with NAME in italics.
  CHECK(test::contains(page, manifest_path_for("NAME.zip").string().substr(4)));
}

TEST_CASE("docs: the man pages render without warnings (groff)", "[docs]") {
  test::require_programs({"groff"});
  for (const char* page : k_pages) {
    INFO(page);
    auto r = test::run({"groff", "-man", "-ww", "-z", std::string(CICD_SOURCE_DIR) + "/" + page});
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
  }
}

TEST_CASE("docs: the man pages render without warnings (man)", "[docs]") {
  test::require_programs({"man", "groff"});
  // The options below are man-db's.
  if (test::run({"man", "--version"}).out.rfind("man ", 0) != 0) test::skip("man is not man-db");
  for (const char* page : k_pages) {
    INFO(page);
    auto r = test::run({"man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", std::string(CICD_SOURCE_DIR) + "/" + page},
                       {}, {{"MANWIDTH", "80"}});
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
  }
}

// ---- completions ----

TEST_CASE("docs: bash completion matches help-data", "[docs]") {
  check_completion(cbuild(), Shell::bash, "completions/bash/cbuild");
  auto text = source_file("completions/bash/cbuild");
  CHECK(join(value_list(text, "_cbuild_value_opts=")) == join(value_options(cbuild())));
}

TEST_CASE("docs: zsh completion matches help-data", "[docs]") {
  check_completion(cbuild(), Shell::zsh, "completions/zsh/_cbuild");
}

TEST_CASE("docs: fish completion matches help-data", "[docs]") {
  check_completion(cbuild(), Shell::fish, "completions/fish/cbuild.fish");
  auto text = source_file("completions/fish/cbuild.fish");
  CHECK(join(value_list(text, "set -l value_opts ")) == join(value_options(cbuild())));
}

TEST_CASE("docs: cdeploy bash completion matches help-data", "[docs]") {
  check_completion(cdeploy(), Shell::bash, "completions/bash/cdeploy");
  auto text = source_file("completions/bash/cdeploy");
  CHECK(join(value_list(text, "_cdeploy_value_opts=")) == join(value_options(cdeploy())));
}

TEST_CASE("docs: cdeploy zsh completion matches help-data", "[docs]") {
  check_completion(cdeploy(), Shell::zsh, "completions/zsh/_cdeploy");
}

TEST_CASE("docs: cdeploy fish completion matches help-data", "[docs]") {
  check_completion(cdeploy(), Shell::fish, "completions/fish/cdeploy.fish");
  auto text = source_file("completions/fish/cdeploy.fish");
  CHECK(join(value_list(text, "set -l value_opts ")) == join(value_options(cdeploy())));
}

TEST_CASE("docs: cpipeline bash completion matches help-data", "[docs]") {
  check_completion(cpipeline(), Shell::bash, "completions/bash/cpipeline");
  auto text = source_file("completions/bash/cpipeline");
  CHECK(join(value_list(text, "_cpipeline_value_opts=")) == join(value_options(cpipeline())));
}

TEST_CASE("docs: cpipeline zsh completion matches help-data", "[docs]") {
  check_completion(cpipeline(), Shell::zsh, "completions/zsh/_cpipeline");
}

TEST_CASE("docs: cpipeline fish completion matches help-data", "[docs]") {
  check_completion(cpipeline(), Shell::fish, "completions/fish/cpipeline.fish");
  auto text = source_file("completions/fish/cpipeline.fish");
  CHECK(join(value_list(text, "set -l value_opts ")) == join(value_options(cpipeline())));
}

TEST_CASE("docs: bash completes the value of every option that takes one", "[docs]") {
  check_bash_value_cases(cbuild());
}

TEST_CASE("docs: cdeploy bash completes the value of every option that takes one", "[docs]") {
  check_bash_value_cases(cdeploy());
}

TEST_CASE("docs: cpipeline bash completes the value of every option that takes one", "[docs]") {
  check_bash_value_cases(cpipeline());
}

TEST_CASE("docs: bash completion parses (bash -n)", "[docs]") {
  check_parses("bash", "completions/bash/cbuild");
  check_parses("bash", "completions/bash/cdeploy");
  check_parses("bash", "completions/bash/cpipeline");
}

TEST_CASE("docs: zsh completion parses (zsh -n)", "[docs]") {
  check_parses("zsh", "completions/zsh/_cbuild");
  check_parses("zsh", "completions/zsh/_cdeploy");
  check_parses("zsh", "completions/zsh/_cpipeline");
}

TEST_CASE("docs: fish completion parses (fish -n)", "[docs]") {
  check_parses("fish", "completions/fish/cbuild.fish");
  check_parses("fish", "completions/fish/cdeploy.fish");
  check_parses("fish", "completions/fish/cpipeline.fish");
}

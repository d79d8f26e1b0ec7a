#include "formats/buildspec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <map>

#include "formats/regex_check.hpp"
#include "formats/yaml_util.hpp"
#include "util/strings.hpp"

namespace cicd {

std::string_view phase_key(PhaseType phase) {
  switch (phase) {
    case PhaseType::install:
      return "install";
    case PhaseType::pre_build:
      return "pre_build";
    case PhaseType::build:
      return "build";
    case PhaseType::post_build:
      return "post_build";
  }
  return "build";
}

std::string_view phase_record_name(PhaseType phase) {
  switch (phase) {
    case PhaseType::install:
      return "INSTALL";
    case PhaseType::pre_build:
      return "PRE_BUILD";
    case PhaseType::build:
      return "BUILD";
    case PhaseType::post_build:
      return "POST_BUILD";
  }
  return "BUILD";
}

namespace {

constexpr std::array<std::pair<ReportFormat, std::string_view>, 10> k_report_formats = {{
    {ReportFormat::junit_xml, "JUNITXML"},
    {ReportFormat::cucumber_json, "CUCUMBERJSON"},
    {ReportFormat::testng_xml, "TESTNGXML"},
    {ReportFormat::nunit_xml, "NUNITXML"},
    {ReportFormat::nunit3_xml, "NUNIT3XML"},
    {ReportFormat::visual_studio_trx, "VISUALSTUDIOTRX"},
    {ReportFormat::cobertura_xml, "COBERTURAXML"},
    {ReportFormat::jacoco_xml, "JACOCOXML"},
    {ReportFormat::clover_xml, "CLOVERXML"},
    {ReportFormat::simplecov_json, "SIMPLECOV"},
}};

}  // namespace

std::string_view report_format_name(ReportFormat format) {
  for (auto& [f, name] : k_report_formats)
    if (f == format) return name;
  return "JUNITXML";
}

std::optional<ReportFormat> parse_report_format(std::string_view text) {
  for (auto& [f, name] : k_report_formats)
    if (iequals(text, name)) return f;
  return std::nullopt;
}

bool is_coverage_format(ReportFormat format) {
  return format == ReportFormat::cobertura_xml || format == ReportFormat::jacoco_xml ||
         format == ReportFormat::clover_xml || format == ReportFormat::simplecov_json;
}

namespace {

using yaml::MapEntry;
using Keys = std::span<const std::string_view>;

constexpr std::string_view k_top_keys[] = {
    "version", "run-as",  "env",       "proxy", "batch",
    "phases",  "reports", "artifacts", "cache", "environment_variables"};
constexpr std::string_view k_env_keys[] = {
    "shell",           "variables",          "parameter-store",
    "secrets-manager", "exported-variables", "git-credential-helper"};
constexpr std::string_view k_env_v01_keys[] = {"plaintext"};
constexpr std::string_view k_proxy_keys[] = {"upload-artifacts", "logs"};
constexpr std::string_view k_phase_keys[] = {"install", "pre_build", "build", "post_build"};
constexpr std::string_view k_phase_fields[] = {"run-as", "on-failure", "runtime-versions",
                                               "commands", "finally"};
constexpr std::string_view k_report_keys[] = {"files", "base-directory", "discard-paths",
                                              "file-format"};
constexpr std::string_view k_artifact_keys[] = {
    "files",           "name",      "discard-paths",      "base-directory", "exclude-paths",
    "enable-symlinks", "s3-prefix", "secondary-artifacts"};
// A secondary artifact takes the primary's keys except the nesting one.
constexpr Keys k_secondary_artifact_keys{k_artifact_keys, std::size(k_artifact_keys) - 1};
constexpr std::string_view k_cache_keys[] = {"paths", "key", "fallback-keys", "action"};
constexpr std::string_view k_batch_keys[] = {"fast-fail", "build-list", "build-graph",
                                             "build-matrix", "build-fanout"};
constexpr std::string_view k_batch_kinds[] = {"build-list", "build-graph", "build-matrix",
                                              "build-fanout"};
constexpr std::string_view k_batch_env_keys[] = {"compute-type", "image",           "type",
                                                 "fleet",        "privileged-mode", "variables"};
constexpr std::string_view k_list_task_keys[] = {"identifier", "buildspec", "env", "ignore-failure",
                                                 "debug-session"};
constexpr std::string_view k_graph_task_keys[] = {"identifier",     "buildspec",     "env",
                                                  "ignore-failure", "debug-session", "depend-on"};
constexpr std::string_view k_matrix_keys[] = {"static", "dynamic"};
constexpr std::string_view k_matrix_static_keys[] = {"ignore-failure", "env"};
constexpr std::string_view k_matrix_dynamic_keys[] = {"buildspec", "env"};
constexpr std::string_view k_fanout_keys[] = {"parallelism", "ignore-failure"};

constexpr std::string_view k_on_failure_forms =
    "ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>";
constexpr int k_default_retries = 3;
constexpr long long k_max_retries = 100;
// libstdc++ expands `x{n}` into n copies of x, so a large count (or nested counts) would let a
// buildspec exhaust memory just by being validated.
constexpr long long k_max_regex_repetition = 10'000;

bool is_shell_identifier(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_word(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }

// Why a batch identifier cannot name a build, if it cannot. CodeBuild documents no character
// rule (real buildspecs use '-', as in `cypress-e2e-tests`); cbuild only needs each to be usable
// as one path component (a batch build's own directory) and printable in logs and records.
std::optional<std::string_view> batch_identifier_problem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (id == "." || id == "..") return "must not be '.' or '..'";
  if (id.find('/') != std::string_view::npos) return "must not contain '/'";
  if (std::any_of(id.begin(), id.end(), is_control)) return "must not contain control characters";
  return std::nullopt;
}

// Single-quoted YAML: the one quoting that needs no escapes but doubling the quote itself.
std::string yaml_single_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  out += '\'';
  return out;
}

// Product of the `{n}` / `{n,m}` repetition counts: an upper bound of how much a pattern expands.
long long regex_expansion(std::string_view pattern) {
  long long product = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != '{') continue;
    long long largest = 0;
    size_t j = i + 1;
    while (j < pattern.size() && ((pattern[j] >= '0' && pattern[j] <= '9') || pattern[j] == ',')) {
      size_t start = j;
      while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') ++j;
      if (j > start) {
        auto n = parse_uint(pattern.substr(start, j - start));
        largest = std::max(largest, n ? *n : LLONG_MAX);
      }
      if (j < pattern.size() && pattern[j] == ',') ++j;
    }
    if (largest > 1) {
      if (largest > k_max_regex_repetition || product > k_max_regex_repetition / largest)
        return LLONG_MAX;
      product *= largest;
    }
  }
  return product;
}

// Why a retry regex cannot be used, or nullopt when it compiles.
std::optional<std::string> regex_problem(const std::string& pattern) {
  if (regex_expansion(pattern) > k_max_regex_repetition)
    return fmt::format("repetition counts multiply past {}", k_max_regex_repetition);
  return ecmascript_regex_error(pattern);
}

// A value that is not one of these has had its type error; a follow-up "missing key" would be
// noise.
bool is_mapping_or_empty(const YAML::Node& node) { return node.IsMap() || node.IsNull(); }

class BuildspecParser {
 public:
  explicit BuildspecParser(Diagnostics& diagnostics) : m_diags(diagnostics) {}

  Buildspec& spec() { return m_spec; }

  void parse(const YAML::Node& root) {
    // 1. The document must be a mapping.
    if (!root.IsDefined() || root.IsNull()) {
      m_diags.error({1, 1}, "empty buildspec: expected a mapping with 'version' and 'phases'");
      return;
    }
    Position root_pos = yaml::position_of(root);
    if (root_pos.line == 0) root_pos = {1, 1};
    if (!root.IsMap()) {
      m_diags.error(root_pos,
                    fmt::format("a buildspec must be a mapping with 'version' and 'phases'; got {}",
                                yaml::describe(root)));
      return;
    }
    auto top = yaml::entries(root, "buildspec", k_top_keys, m_diags);

    // 2. The version first: it decides which keys belong.
    auto version = std::find_if(top.begin(), top.end(), [](auto& e) { return e.key == "version"; });
    if (version == top.end()) {
      m_diags.error(root_pos, "missing required key 'version'; expected 'version: 0.2'");
    } else {
      parse_version(*version);
    }

    // 3. Everything else, in the order written.
    const MapEntry* phases = nullptr;
    for (auto& e : top) {
      if (e.key == "run-as")
        m_spec.run_as = spec_string(e);
      else if (e.key == "env")
        parse_env(e);
      else if (e.key == "environment_variables")
        parse_env_v01(e);
      else if (e.key == "proxy")
        parse_proxy(e);
      else if (e.key == "batch")
        parse_batch(e);
      else if (e.key == "phases")
        phases = &e;
      else if (e.key == "reports")
        parse_reports(e);
      else if (e.key == "artifacts")
        parse_artifacts(e);
      else if (e.key == "cache")
        parse_cache(e);
    }

    // 4. Phases: a buildspec may leave them out when it defines a batch, or artifacts (a build
    //    that packages its source as it is runs on CodeBuild).
    bool has_phase = phases && parse_phases(*phases);
    bool batch_only = m_spec.batch.present && m_spec.batch.kind != BatchKind::none;
    bool artifacts_only = m_spec.artifacts.present;
    bool mistyped = phases && !is_mapping_or_empty(phases->value);  // already reported as such
    if (!has_phase && !batch_only && !artifacts_only && !mistyped) {
      m_diags.error(phases ? phases->key_position : root_pos,
                    "no phases: expected 'phases' with at least one of install, pre_build, build "
                    "or post_build");
    }
  }

 private:
  // ---- small readers ----

  std::optional<SpecString> spec_string(const MapEntry& e) {
    auto value = yaml::scalar(e, m_diags);
    if (!value) return std::nullopt;
    return SpecString{std::move(*value), yaml::value_position(e)};
  }

  std::vector<SpecString> spec_strings(const MapEntry& e, bool allow_single = true) {
    std::vector<SpecString> out;
    for (auto& [value, pos] : yaml::string_list(e, m_diags, allow_single))
      out.push_back({std::move(value), pos});
    return out;
  }

  void read_bool(const MapEntry& e, bool& out) {
    if (auto b = yaml::boolean(e, m_diags)) out = *b;
  }

  void read_bool(const MapEntry& e, std::optional<bool>& out) {
    if (auto b = yaml::boolean(e, m_diags)) out = *b;
  }

  void read_string(const MapEntry& e, std::string& out) {
    if (auto s = yaml::scalar(e, m_diags)) out = std::move(*s);
  }

  void read_string(const MapEntry& e, std::optional<std::string>& out) {
    if (auto s = yaml::scalar(e, m_diags)) out = std::move(*s);
  }

  void check_variable_name(const std::string& name, Position pos, std::string_view where) {
    if (!is_shell_identifier(name)) {
      m_diags.error(
          pos, fmt::format("'{}' in {} is not a valid variable name; use letters, digits and '_', "
                           "not starting with a digit",
                           name, where));
    }
  }

  enum class Names { shell_identifiers, any };
  enum class Values { plain, secret_reference };

  // NAME: value mappings: env variables, parameter-store, secrets-manager, runtime-versions.
  void parse_variables(const MapEntry& e, const std::string& where, std::vector<SpecVariable>& out,
                       Names names = Names::shell_identifiers, Values values = Values::plain) {
    for (auto& v : yaml::entries(e.value, where, {}, m_diags, yaml::UnknownKeys::allow)) {
      if (names == Names::shell_identifiers) check_variable_name(v.key, v.key_position, where);
      std::string value;
      if (v.value.IsNull()) {
        // CodeBuild sets such a variable to the empty string; it is more often a slip than
        // intended.
        m_diags.warning(
            v.key_position,
            fmt::format("'{}' in {} has no value; using an empty string", v.key, where));
      } else if (v.value.IsScalar()) {
        value = v.value.Scalar();
        if (values == Values::secret_reference && (value.empty() || value.front() == ':')) {
          m_diags.error(
              yaml::value_position(v),
              fmt::format("'{}' in {} must be secret-id:json-key:version-stage:version-id with a "
                          "secret-id; got '{}'",
                          v.key, where, value));
        }
      } else {
        m_diags.error(yaml::value_position(v),
                      fmt::format("value of '{}' in {} must be a string; got {}", v.key, where,
                                  yaml::describe(v.value)));
        continue;
      }
      out.push_back({v.key, std::move(value), v.key_position});
    }
  }

  // ---- top level ----

  void parse_version(const MapEntry& e) {
    m_spec.version_position = yaml::value_position(e);
    // `version: 0.2` is a float to YAML and "0.2" a string; both read back as the text written.
    if (e.value.IsScalar() && (e.value.Scalar() == "0.2" || e.value.Scalar() == "0.1")) {
      m_spec.version = e.value.Scalar();
      return;
    }
    m_diags.error(yaml::value_position(e),
                  fmt::format("'version' must be 0.2 (or 0.1); got {}", yaml::describe(e.value)));
  }

  void parse_env(const MapEntry& e) {
    if (m_spec.version == "0.1") {
      m_diags.warning(e.key_position,
                      "'env' belongs to buildspec version 0.2 and is ignored in version 0.1; use "
                      "'environment_variables: plaintext:' or 'version: 0.2'");
      return;
    }
    EnvSpec& env = m_spec.env;
    for (auto& f : yaml::entries(e.value, "env", k_env_keys, m_diags)) {
      if (f.key == "shell")
        env.shell = spec_string(f);
      else if (f.key == "variables")
        parse_variables(f, "env.variables", env.variables);
      else if (f.key == "parameter-store")
        parse_variables(f, "env.parameter-store", env.parameter_store);
      else if (f.key == "secrets-manager")
        parse_variables(f, "env.secrets-manager", env.secrets_manager, Names::shell_identifiers,
                        Values::secret_reference);
      else if (f.key == "exported-variables") {
        for (auto& name : spec_strings(f)) {
          check_variable_name(name.value, name.position, "env.exported-variables");
          env.exported_variables.push_back(std::move(name));
        }
      } else if (f.key == "git-credential-helper")
        read_bool(f, env.git_credential_helper);
    }
  }

  // Version 0.1 spells env.variables as environment_variables.plaintext.
  void parse_env_v01(const MapEntry& e) {
    if (m_spec.version != "0.1") {
      m_diags.warning(
          e.key_position,
          "'environment_variables' belongs to buildspec version 0.1 and is ignored in version 0.2; "
          "use 'env: variables:'");
      return;
    }
    for (auto& f : yaml::entries(e.value, "environment_variables", k_env_v01_keys, m_diags)) {
      if (f.key == "plaintext")
        parse_variables(f, "environment_variables.plaintext", m_spec.env.variables);
    }
  }

  void parse_proxy(const MapEntry& e) {
    for (auto& f : yaml::entries(e.value, "proxy", k_proxy_keys, m_diags)) {
      if (f.key == "upload-artifacts")
        read_bool(f, m_spec.proxy.upload_artifacts);
      else if (f.key == "logs")
        read_bool(f, m_spec.proxy.logs);
    }
  }

  // ---- phases ----

  // True when at least one phase is present.
  bool parse_phases(const MapEntry& e) {
    bool any = false;
    for (auto& f : yaml::entries(e.value, "phases", k_phase_keys, m_diags)) {
      for (PhaseType t : k_command_phases) {
        if (f.key != phase_key(t)) continue;
        parse_phase(t, f);
        any = true;
      }
    }
    return any;
  }

  void parse_phase(PhaseType type, const MapEntry& e) {
    Phase& phase = m_spec.phase(type);
    phase.present = true;
    phase.position = e.key_position;
    std::string where = fmt::format("phases.{}", e.key);
    if (e.value.IsNull()) {
      m_diags.warning(e.key_position, fmt::format("phase '{}' is empty", e.key));
      return;
    }
    if (e.value.IsSequence()) {
      m_diags.error(
          yaml::value_position(e),
          fmt::format(
              "'{}' must be a mapping with 'commands'; got a list (put the list under 'commands:')",
              where));
      return;
    }
    for (auto& f : yaml::entries(e.value, where, k_phase_fields, m_diags)) {
      if (f.key == "run-as") {
        phase.run_as = spec_string(f);
      } else if (f.key == "on-failure") {
        parse_on_failure(f, phase.on_failure);
      } else if (f.key == "runtime-versions") {
        if (type != PhaseType::install) {
          m_diags.warning(
              f.key_position,
              fmt::format("'runtime-versions' only applies to the install phase; ignored in {}",
                          e.key));
          continue;
        }
        parse_variables(f, where + ".runtime-versions", phase.runtime_versions, Names::any);
      } else if (f.key == "commands") {
        parse_commands(f, where, phase.commands);
      } else if (f.key == "finally") {
        parse_commands(f, where, phase.finally);
      }
    }
  }

  void parse_commands(const MapEntry& e, const std::string& where, std::vector<SpecString>& out) {
    std::string what = fmt::format("{}.{}", where, e.key);
    if (e.value.IsNull()) {
      m_diags.warning(e.key_position, fmt::format("'{}' in {} is empty", e.key, where));
      return;
    }
    // One scalar, typically a `|` block: one command, run as one script.
    if (e.value.IsScalar()) {
      out.push_back({e.value.Scalar(), yaml::value_position(e)});
      return;
    }
    if (!e.value.IsSequence()) {
      m_diags.error(yaml::value_position(e),
                    fmt::format("'{}' must be a list of commands or one block scalar ('|'); got {}",
                                e.key, yaml::describe(e.value)));
      return;
    }
    for (auto item : e.value) {
      Position pos = yaml::position_of(item);
      if (item.IsScalar()) {
        out.push_back({item.Scalar(), pos});
      } else if (item.IsNull()) {
        m_diags.warning(pos.line > 0 ? pos : e.key_position,
                        fmt::format("empty command in {} is ignored", what));
      } else if (item.IsMap()) {
        m_diags.error(pos, command_read_as_mapping(item));
      } else {
        m_diags.error(pos, fmt::format("a command in {} must be a string; got {}", what,
                                       yaml::describe(item)));
      }
    }
  }

  // `- echo foo: bar` is a one-entry mapping to YAML; say so and show the quoted form.
  static std::string command_read_as_mapping(const YAML::Node& item) {
    std::string text;
    bool ends_with_colon = false;
    for (const auto& kv : item) {
      text = kv.first.IsScalar() ? kv.first.Scalar() : "...";
      if (kv.second.IsNull()) {
        text += ":";
        ends_with_colon = true;
      } else if (kv.second.IsScalar()) {
        text += ": " + kv.second.Scalar();
      } else {
        text += ": ...";
      }
      break;  // the first entry shows the mistake
    }
    return fmt::format(
        "YAML read this command as a mapping because {}: '{}'; quote the whole command: - {}",
        ends_with_colon ? "it ends with ':'" : "of ': '", text, yaml_single_quoted(text));
  }

  void parse_on_failure(const MapEntry& e, OnFailure& out) {
    auto text = yaml::scalar(e, m_diags);
    if (!text) return;
    Position pos = yaml::value_position(e);
    auto invalid = [&](std::string_view detail) {
      m_diags.error(pos, fmt::format("'on-failure' must be {}; got '{}'{}", k_on_failure_forms,
                                     *text, detail));
    };
    OnFailure result;
    result.text = *text;
    if (*text == "ABORT") {
      result.action = OnFailureAction::abort;
    } else if (*text == "CONTINUE") {
      result.action = OnFailureAction::continue_build;
    } else if (*text == "RETRY") {
      result.action = OnFailureAction::retry;
      result.retries = k_default_retries;
    } else if (text->starts_with("RETRY-") && text->size() > 6) {
      // RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>: leading digits are a count only
      // when they are all there is or a '-' follows them.
      std::string_view rest = std::string_view(*text).substr(6);
      size_t digits = 0;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      result.action = OnFailureAction::retry;
      result.retries = k_default_retries;
      std::string_view regex = rest;
      if (digits > 0 && (digits == rest.size() || rest[digits] == '-')) {
        auto count = parse_uint(rest.substr(0, digits));
        if (!count || *count > k_max_retries) {
          m_diags.error(pos, fmt::format("retry count in 'on-failure' must be 0 to {}; got {}",
                                         k_max_retries, rest.substr(0, digits)));
          return;
        }
        result.retries = static_cast<int>(*count);
        regex = digits == rest.size() ? std::string_view() : rest.substr(digits + 1);
        if (digits < rest.size() && regex.empty()) return invalid("");
      }
      if (!regex.empty()) {
        if (auto problem = regex_problem(std::string(regex)))
          return invalid(fmt::format(" (the regex '{}' is not valid: {})", regex, *problem));
        result.regex = std::string(regex);
      }
    } else {
      return invalid("");
    }
    out = std::move(result);
  }

  // ---- reports, artifacts, cache ----

  void parse_reports(const MapEntry& e) {
    for (auto& g : yaml::entries(e.value, "reports", {}, m_diags, yaml::UnknownKeys::allow)) {
      std::string where = fmt::format("reports.{}", g.key);
      ReportGroupSpec report;
      report.name = g.key;
      report.position = g.key_position;
      for (auto& f : yaml::entries(g.value, where, k_report_keys, m_diags)) {
        if (f.key == "files")
          report.files = spec_strings(f);
        else if (f.key == "base-directory")
          read_string(f, report.base_directory);
        else if (f.key == "discard-paths")
          read_bool(f, report.discard_paths);
        else if (f.key == "file-format") {
          auto text = yaml::scalar(f, m_diags);
          if (!text) continue;
          if (auto format = parse_report_format(*text)) {
            report.format = *format;
          } else {
            std::string names;
            for (auto& [_, name] : k_report_formats)
              names += (names.empty() ? "" : ", ") + std::string(name);
            m_diags.error(yaml::value_position(f),
                          fmt::format("'file-format' must be one of {}; got '{}'", names, *text));
          }
        }
      }
      if (report.files.empty() && is_mapping_or_empty(g.value))
        m_diags.error(g.key_position, fmt::format("missing required key 'files' in {}", where));
      m_spec.reports.push_back(std::move(report));
    }
  }

  // Reads one artifact's keys; returns the secondary-artifacts entry when there is one.
  std::optional<MapEntry> parse_artifact(const YAML::Node& node, const std::string& where,
                                         Keys known, ArtifactSpec& artifact) {
    std::optional<MapEntry> secondary;
    for (auto& f : yaml::entries(node, where, known, m_diags)) {
      if (f.key == "files")
        artifact.files = spec_strings(f);
      else if (f.key == "name")
        artifact.name = spec_string(f);
      else if (f.key == "discard-paths")
        read_bool(f, artifact.discard_paths);
      else if (f.key == "base-directory")
        read_string(f, artifact.base_directory);
      else if (f.key == "exclude-paths")
        artifact.exclude_paths = spec_strings(f);
      else if (f.key == "enable-symlinks")
        read_bool(f, artifact.enable_symlinks);
      else if (f.key == "s3-prefix")
        read_string(f, artifact.s3_prefix);
      else if (f.key == "secondary-artifacts")
        secondary = f;
    }
    return secondary;
  }

  void parse_artifacts(const MapEntry& e) {
    ArtifactsSpec& artifacts = m_spec.artifacts;
    artifacts.present = true;
    artifacts.primary.position = e.key_position;
    auto secondary = parse_artifact(e.value, "artifacts", k_artifact_keys, artifacts.primary);

    if (secondary) {
      for (auto& s : yaml::entries(secondary->value, "artifacts.secondary-artifacts", {}, m_diags,
                                   yaml::UnknownKeys::allow)) {
        std::string where = fmt::format("artifacts.secondary-artifacts.{}", s.key);
        ArtifactSpec artifact;
        artifact.identifier = s.key;
        artifact.position = s.key_position;
        if (!is_word(s.key)) {
          m_diags.error(s.key_position,
                        fmt::format("secondary artifact identifier '{}' must use only letters, "
                                    "digits and '_'",
                                    s.key));
        }
        parse_artifact(s.value, where, k_secondary_artifact_keys, artifact);
        if (artifact.files.empty() && is_mapping_or_empty(s.value))
          m_diags.error(s.key_position, fmt::format("missing required key 'files' in {}", where));
        artifacts.secondary.push_back(std::move(artifact));
      }
    }

    // Only secondary artifacts may stand without primary files.
    bool only_secondary = secondary && e.value.IsMap() && e.value.size() == 1;
    if (artifacts.primary.files.empty() && !only_secondary && is_mapping_or_empty(e.value))
      m_diags.error(e.key_position, "missing required key 'files' in artifacts");
  }

  void parse_cache(const MapEntry& e) {
    CacheSpec& cache = m_spec.cache;
    cache.present = true;
    for (auto& f : yaml::entries(e.value, "cache", k_cache_keys, m_diags)) {
      if (f.key == "paths") {
        cache.paths = spec_strings(f);
        // A restore writes only inside the source directory (a cache entry may come from anywhere
        // the store is shared), so an absolute path is not cached at all.
        for (auto& path : cache.paths)
          if (path.value.starts_with('/'))
            m_diags.warning(path.position,
                            fmt::format("cache path '{}' is absolute: cbuild caches only files under the source "
                                        "directory, so it is not cached",
                                        path.value));
      } else if (f.key == "key")
        cache.key = spec_string(f);
      else if (f.key == "fallback-keys")
        cache.fallback_keys = spec_strings(f);
      else if (f.key == "action") {
        auto text = yaml::scalar(f, m_diags);
        if (!text) continue;
        if (iequals(*text, "restore"))
          cache.action = CacheAction::restore;
        else if (iequals(*text, "save"))
          cache.action = CacheAction::save;
        else
          m_diags.error(
              yaml::value_position(f),
              fmt::format("'action' must be restore or save (or left out for both); got '{}'",
                          *text));
      }
    }
  }

  // ---- batch ----

  void parse_batch(const MapEntry& e) {
    BatchSpec& batch = m_spec.batch;
    batch.present = true;
    batch.position = e.key_position;
    std::string kind;  // the first batch kind given
    for (auto& f : yaml::entries(e.value, "batch", k_batch_keys, m_diags)) {
      if (f.key == "fast-fail") {
        read_bool(f, batch.fast_fail);
        continue;
      }
      if (!kind.empty()) {
        m_diags.error(f.key_position,
                      fmt::format("'batch' must have only one of build-list, build-graph, "
                                  "build-matrix or build-fanout; got '{}' and '{}'",
                                  kind, f.key));
        continue;
      }
      kind = f.key;
      if (f.key == "build-list") {
        batch.kind = BatchKind::build_list;
        parse_batch_tasks(f, false);
      } else if (f.key == "build-graph") {
        batch.kind = BatchKind::build_graph;
        parse_batch_tasks(f, true);
      } else if (f.key == "build-matrix") {
        batch.kind = BatchKind::build_matrix;
        parse_build_matrix(f);
      } else if (f.key == "build-fanout") {
        batch.kind = BatchKind::build_fanout;
        parse_build_fanout(f);
      }
    }
    if (kind.empty() && e.value.IsDefined() && (e.value.IsMap() || e.value.IsNull())) {
      m_diags.warning(e.key_position,
                      "'batch' has none of build-list, build-graph, build-matrix or build-fanout; "
                      "it defines no batch build");
    }
  }

  void parse_batch_env(const MapEntry& e, const std::string& where, BatchEnv& env) {
    std::optional<Position> compute_type, fleet;
    for (auto& f : yaml::entries(e.value, where, k_batch_env_keys, m_diags)) {
      if (f.key == "compute-type") {
        read_string(f, env.compute_type);
        compute_type = f.key_position;
      } else if (f.key == "image")
        read_string(f, env.image);
      else if (f.key == "type")
        read_string(f, env.type);
      else if (f.key == "fleet") {
        read_string(f, env.fleet);
        fleet = f.key_position;
      } else if (f.key == "privileged-mode")
        read_bool(f, env.privileged_mode);
      else if (f.key == "variables")
        parse_variables(f, where + ".variables", env.variables);
    }
    if (compute_type && fleet) {
      Position later = compute_type->line > fleet->line ? *compute_type : *fleet;
      m_diags.error(later,
                    fmt::format("'compute-type' and 'fleet' cannot both be given in {}", where));
    }
  }

  void parse_batch_tasks(const MapEntry& e, bool graph) {
    std::string where = fmt::format("batch.{}", e.key);
    if (!e.value.IsSequence()) {
      m_diags.error(yaml::value_position(e),
                    fmt::format("'{}' must be a list of build tasks; got {}", e.key,
                                yaml::describe(e.value)));
      return;
    }
    std::map<std::string, Position> identifiers;
    std::vector<BatchTask>& tasks = m_spec.batch.tasks;
    size_t index = 0;
    for (auto item : e.value) {
      std::string item_where = fmt::format("{}[{}]", where, index++);
      Position pos = yaml::position_of(item);
      if (!item.IsMap()) {
        m_diags.error(
            pos.line > 0 ? pos : e.key_position,
            fmt::format("each build task in {} must be a mapping with an 'identifier'; got {}",
                        where, yaml::describe(item)));
        continue;
      }
      BatchTask task;
      task.position = pos;
      bool has_identifier = false;
      for (auto& f :
           yaml::entries(item, item_where, graph ? Keys(k_graph_task_keys) : Keys(k_list_task_keys),
                         m_diags)) {
        if (f.key == "identifier") {
          auto id = yaml::scalar(f, m_diags);
          if (!id) continue;
          has_identifier = true;
          task.identifier = *id;
          Position id_pos = yaml::value_position(f);
          if (auto problem = batch_identifier_problem(*id)) {
            // Control characters are not printed back into a terminal.
            bool printable = std::none_of(id->begin(), id->end(), is_control);
            m_diags.error(id_pos, fmt::format("identifier {}in {} {}", printable ? "'" + *id + "' " : "",
                                              where, *problem));
          }
          auto [first, inserted] = identifiers.emplace(*id, id_pos);
          if (!inserted) {
            m_diags.error(
                id_pos, fmt::format("duplicate identifier '{}' in {} (first at {}:{})", *id, where,
                                    first->second.line, first->second.column));
          }
        } else if (f.key == "buildspec")
          read_string(f, task.buildspec);
        else if (f.key == "env")
          parse_batch_env(f, item_where + ".env", task.env);
        else if (f.key == "ignore-failure")
          read_bool(f, task.ignore_failure);
        else if (f.key == "debug-session")
          read_bool(f, task.debug_session);
        else if (f.key == "depend-on")
          task.depend_on = spec_strings(f);
      }
      if (!has_identifier)
        m_diags.error(pos, fmt::format("missing required key 'identifier' in {}", item_where));
      tasks.push_back(std::move(task));
    }
    if (graph) check_graph(where, identifiers);
  }

  void check_graph(const std::string& where, const std::map<std::string, Position>& identifiers) {
    const auto& tasks = m_spec.batch.tasks;
    std::vector<std::string_view> names;
    for (auto& [id, _] : identifiers) names.push_back(id);

    // 1. Every dependency names a task; remember the edges between the first tasks of each name.
    std::map<std::string, size_t> index_of;
    for (size_t i = 0; i < tasks.size(); ++i)
      if (!tasks[i].identifier.empty()) index_of.emplace(tasks[i].identifier, i);
    std::vector<std::vector<size_t>> deps(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      for (auto& dep : tasks[i].depend_on) {
        auto found = index_of.find(dep.value);
        if (found == index_of.end()) {
          std::string message = fmt::format(
              "'depend-on' names '{}', which is not an identifier in {}", dep.value, where);
          if (auto suggestion = closest_match(dep.value, names))
            message += fmt::format("; did you mean '{}'?", *suggestion);
          m_diags.error(dep.position, std::move(message));
          continue;
        }
        deps[i].push_back(found->second);
      }
    }

    // 2. Peel off tasks whose dependencies are all done (Kahn); what remains lies on or behind a
    // cycle.
    std::vector<size_t> pending(tasks.size());
    std::vector<std::vector<size_t>> dependents(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      pending[i] = deps[i].size();
      for (size_t d : deps[i]) dependents[d].push_back(i);
    }
    std::vector<size_t> ready;
    for (size_t i = 0; i < tasks.size(); ++i)
      if (pending[i] == 0) ready.push_back(i);
    while (!ready.empty()) {
      size_t done = ready.back();
      ready.pop_back();
      for (size_t t : dependents[done])
        if (--pending[t] == 0) ready.push_back(t);
    }
    auto stuck = std::find_if(pending.begin(), pending.end(), [](size_t n) { return n > 0; });
    if (stuck == pending.end()) return;

    // 3. Every remaining task waits on a remaining one, so walking those edges must come back
    // to a task already seen: that loop is the cycle to show.
    std::vector<size_t> path;
    std::vector<int> seen_at(tasks.size(), -1);
    size_t at = static_cast<size_t>(stuck - pending.begin());
    while (seen_at[at] < 0) {
      seen_at[at] = static_cast<int>(path.size());
      path.push_back(at);
      size_t next = at;
      for (size_t d : deps[at]) {
        if (pending[d] > 0) {
          next = d;
          break;
        }
      }
      at = next;
    }
    std::string cycle;
    size_t first = path[static_cast<size_t>(seen_at[at])];
    for (size_t i = static_cast<size_t>(seen_at[at]); i < path.size(); ++i)
      cycle += tasks[path[i]].identifier + " -> ";
    cycle += tasks[at].identifier;
    m_diags.error(
        tasks[first].position,
        fmt::format("dependency cycle in {}: {} (each depends on the next)", where, cycle));
  }

  void parse_build_matrix(const MapEntry& e) {
    BatchMatrix& matrix = m_spec.batch.matrix;
    for (auto& f : yaml::entries(e.value, "batch.build-matrix", k_matrix_keys, m_diags)) {
      if (f.key == "static") {
        for (auto& g :
             yaml::entries(f.value, "batch.build-matrix.static", k_matrix_static_keys, m_diags)) {
          if (g.key == "ignore-failure")
            read_bool(g, matrix.ignore_failure);
          else if (g.key == "env")
            parse_batch_env(g, "batch.build-matrix.static.env", matrix.static_env);
        }
      } else if (f.key == "dynamic") {
        for (auto& g :
             yaml::entries(f.value, "batch.build-matrix.dynamic", k_matrix_dynamic_keys, m_diags)) {
          if (g.key == "buildspec") {
            for (auto& [value, _] : yaml::string_list(g, m_diags))
              matrix.dynamic_buildspecs.push_back(value);
          } else if (g.key == "env") {
            parse_dynamic_env(g);
          }
        }
      }
    }
  }

  void parse_dynamic_env(const MapEntry& e) {
    BatchMatrix& matrix = m_spec.batch.matrix;
    const std::string where = "batch.build-matrix.dynamic.env";
    auto values_of = [&](const MapEntry& entry) {
      std::vector<std::string> values;
      for (auto& [value, _] : yaml::string_list(entry, m_diags)) values.push_back(value);
      return values;
    };
    for (auto& f : yaml::entries(e.value, where, k_batch_env_keys, m_diags)) {
      if (f.key == "variables") {
        for (auto& v :
             yaml::entries(f.value, where + ".variables", {}, m_diags, yaml::UnknownKeys::allow)) {
          check_variable_name(v.key, v.key_position, where + ".variables");
          matrix.dynamic_variables.emplace_back(v.key, values_of(v));
        }
      } else if (f.key == "privileged-mode") {
        // A list of booleans: each value must still read as one.
        for (auto& [value, pos] : yaml::string_list(f, m_diags)) {
          if (!yaml::parse_bool(value))
            m_diags.error(
                pos,
                fmt::format("'privileged-mode' values must be true or false; got '{}'", value));
        }
        matrix.dynamic_env.emplace_back(f.key, values_of(f));
      } else {
        matrix.dynamic_env.emplace_back(f.key, values_of(f));
      }
    }
  }

  void parse_build_fanout(const MapEntry& e) {
    BatchSpec& batch = m_spec.batch;
    for (auto& f : yaml::entries(e.value, "batch.build-fanout", k_fanout_keys, m_diags)) {
      if (f.key == "ignore-failure") {
        read_bool(f, batch.fanout_ignore_failure);
      } else if (f.key == "parallelism") {
        Diagnostics quiet;
        auto n = yaml::integer(f, quiet);
        if (!n || *n < 1 || *n > INT_MAX) {
          m_diags.error(yaml::value_position(f),
                        fmt::format("'parallelism' must be a positive integer; got {}",
                                    yaml::describe(f.value)));
          continue;
        }
        batch.fanout_parallelism = static_cast<int>(*n);
      }
    }
  }

  Diagnostics& m_diags;
  Buildspec m_spec;
};

}  // namespace

BuildspecParse parse_buildspec(std::string_view text) {
  BuildspecParse result;
  // Nothing may escape a parser: a surprise from yaml-cpp or the standard library is still a
  // diagnostic, never a crash of the tool that asked.
  try {
    auto root = yaml::load(text, result.diagnostics);
    if (root) {
      BuildspecParser parser(result.diagnostics);
      parser.parse(*root);
      if (!result.diagnostics.has_errors()) result.spec = std::move(parser.spec());
    }
  } catch (const std::exception& e) {
    result.diagnostics.error({1, 1}, fmt::format("cannot read the buildspec: {}", e.what()));
  }
  result.diagnostics.sort();
  if (result.diagnostics.has_errors()) result.spec.reset();
  return result;
}

}  // namespace cicd

// The rules file, <home>/notifications.yml (cicd-notifications(5)): its parser, which reports
// every problem with its position in one pass, and the matching of events against rules.
#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "formats/yaml_util.hpp"
#include "notify/notify.hpp"
#include "store/definition_fields.hpp"
#include "util/strings.hpp"

namespace cicd::notify {

namespace {

using yaml::MapEntry;

constexpr std::array<std::string_view, 3> k_top_keys = {"rules", "attempts", "backoff-seconds"};
constexpr std::array<std::string_view, 6> k_rule_keys = {"name",   "resource",    "events",
                                                         "status", "detail-type", "targets"};
constexpr std::array<std::string_view, 4> k_rule_required = {"name", "resource", "events", "targets"};
constexpr std::array<std::string_view, 3> k_target_types = {"command", "file", "webhook"};
constexpr std::array<std::string_view, 3> k_command_keys = {"type", "command", "timeout-seconds"};
constexpr std::array<std::string_view, 2> k_file_keys = {"type", "path"};
constexpr std::array<std::string_view, 5> k_webhook_keys = {"type", "url", "secret", "secret-env",
                                                            "timeout-seconds"};
constexpr std::array<std::string_view, 7> k_any_target_keys = {"type",   "command",    "path",           "url",
                                                               "secret", "secret-env", "timeout-seconds"};
constexpr std::array<std::string_view, 2> k_statuses = {"ENABLED", "DISABLED"};
constexpr std::array<std::string_view, 2> k_detail_types = {"FULL", "BASIC"};

bool glob_match(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// A number of seconds (integer or decimal) in [min, max], as milliseconds.
std::optional<std::chrono::milliseconds> read_seconds(const MapEntry& e, double min, double max, Diagnostics& d) {
  auto text = yaml::scalar(e, d);
  if (!text) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || !std::isfinite(value) || value < min || value > max) {
    d.error(yaml::value_position(e), fmt::format("'{}' must be a number of seconds from {} to {}; got '{}'",
                                                 e.key, min, max, *text));
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(value * 1000)));
}

// One value of a fixed set ("ENABLED"), with a did-you-mean.
std::optional<std::string> read_choice(const MapEntry& e, std::span<const std::string_view> choices, Diagnostics& d) {
  auto s = yaml::scalar(e, d);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  d.error(yaml::value_position(e), fmt::format("unknown {} '{}'{}", e.key, *s, did_you_mean(*s, choices)));
  return std::nullopt;
}

std::optional<std::string> read_text(const MapEntry& e, Diagnostics& d) {
  auto s = yaml::scalar(e, d);
  if (s && s->empty()) {
    d.error(yaml::value_position(e), fmt::format("'{}' must not be empty", e.key));
    return std::nullopt;
  }
  return s;
}

void check_event_pattern(const std::string& pattern, Position pos, Diagnostics& d) {
  auto& known = event_type_ids();
  if (has_wildcard(pattern)) {
    bool any = std::any_of(known.begin(), known.end(),
                           [&](std::string_view id) { return glob_match(pattern, std::string(id)); });
    if (!any) d.error(pos, fmt::format("event pattern '{}' matches no event type", pattern));
  } else if (!is_known_event_type(pattern)) {
    d.error(pos, fmt::format("unknown event type '{}'{}", pattern, did_you_mean(pattern, known)));
  }
}

// A typo in the kind ("pipelines/web") would make a rule that silently never matches.
void check_resource_pattern(const std::string& pattern, Position pos, Diagnostics& d) {
  auto kind = pattern.substr(0, pattern.find('/'));
  if (kind == "pipeline" || kind == "repository" || has_wildcard(kind)) {
    if (kind == pattern && !has_wildcard(kind))
      d.error(pos, fmt::format("resource '{}' names no resource: write {}/NAME or {}/*", pattern, kind, kind));
    return;
  }
  d.error(pos, fmt::format("resource '{}' matches nothing: resources are pipeline/NAME and repository/NAME "
                           "(globs allowed)", pattern));
}

std::span<const std::string_view> target_keys(std::optional<TargetType> type) {
  if (!type) return k_any_target_keys;
  switch (*type) {
    case TargetType::command: return k_command_keys;
    case TargetType::file: return k_file_keys;
    case TargetType::webhook: return k_webhook_keys;
  }
  return k_any_target_keys;
}

// The target's type, read first: which other keys are known depends on it.
std::optional<TargetType> read_target_type(const YAML::Node& node, Diagnostics& d) {
  YAML::Node type = node["type"];
  if (!type.IsDefined()) return std::nullopt;  // reported as missing with the other keys
  auto s = yaml::scalar(type, "type", d);
  if (!s) return std::nullopt;
  if (*s == "command") return TargetType::command;
  if (*s == "file") return TargetType::file;
  if (*s == "webhook") return TargetType::webhook;
  d.error(yaml::position_of(type), fmt::format("unknown target type '{}'{}", *s, did_you_mean(*s, k_target_types)));
  return std::nullopt;
}

void read_target_field(const MapEntry& e, Target& t, Diagnostics& d) {
  if (e.key == "command") {
    if (auto s = read_text(e, d)) t.command = *s;
  } else if (e.key == "path") {
    if (auto s = read_text(e, d)) t.path = *s;
  } else if (e.key == "url") {
    auto s = read_text(e, d);
    if (s && s->rfind("http://", 0) != 0 && s->rfind("https://", 0) != 0)
      d.error(yaml::value_position(e), fmt::format("url must start with http:// or https://; got '{}'", *s));
    else if (s) t.url = *s;
  } else if (e.key == "secret") {
    if (auto s = read_text(e, d)) t.secret = *s;
  } else if (e.key == "secret-env") {
    if (auto s = read_text(e, d)) t.secret_env = *s;
  } else if (e.key == "timeout-seconds") {
    if (auto ms = read_seconds(e, 0.001, 3600, d)) t.timeout = *ms;
  }
}

std::optional<Target> read_target(const YAML::Node& node, Diagnostics& d) {
  if (!node.IsMap()) {
    d.error(yaml::position_of(node), fmt::format("a target must be a mapping with a 'type'; got {}", yaml::describe(node)));
    return std::nullopt;
  }
  size_t errors = d.error_count();
  auto type = read_target_type(node, d);
  auto entries = yaml::entries(node, "target", target_keys(type), d,
                               type ? yaml::UnknownKeys::error : yaml::UnknownKeys::allow);
  Target t;
  if (type) t.type = *type;
  for (auto& e : entries) read_target_field(e, t, d);
  // The key that makes the target work, by type.
  std::array<std::string_view, 2> required = {"type", ""};
  if (type == TargetType::command) required[1] = "command";
  if (type == TargetType::file) required[1] = "path";
  if (type == TargetType::webhook) required[1] = "url";
  definition::require_keys(entries, std::span(required.data(), type ? 2 : 1), node, "target", d);
  if (!t.secret.empty() && !t.secret_env.empty())
    d.error(yaml::position_of(node), "a webhook takes 'secret' or 'secret-env', not both");
  if (!type || d.error_count() != errors) return std::nullopt;
  return t;
}

void read_targets(const MapEntry& e, Rule& rule, Diagnostics& d) {
  if (!e.value.IsSequence()) {
    d.error(yaml::value_position(e), fmt::format("'targets' must be a list; got {}", yaml::describe(e.value)));
    return;
  }
  if (e.value.size() == 0) d.error(yaml::value_position(e), "'targets' must list at least one target");
  for (const auto& item : e.value)
    if (auto t = read_target(item, d)) rule.targets.push_back(std::move(*t));
}

void read_rule_field(const MapEntry& e, Rule& rule, Diagnostics& d) {
  if (e.key == "name") {
    if (auto s = read_text(e, d)) rule.name = *s;
  } else if (e.key == "resource") {
    if (auto s = read_text(e, d)) {
      rule.resource = *s;
      check_resource_pattern(*s, yaml::value_position(e), d);
    }
  } else if (e.key == "events") {
    auto list = yaml::string_list(e, d);
    if (list.empty() && (e.value.IsSequence() || e.value.IsNull()))
      d.error(yaml::value_position(e), "'events' must name at least one event type, or be \"*\"");
    for (auto& [id, pos] : list) {
      if (id != "*") check_event_pattern(id, pos, d);
      rule.events.push_back(id);
    }
  } else if (e.key == "status") {
    if (auto s = read_choice(e, k_statuses, d)) rule.status = *s == "ENABLED" ? RuleStatus::enabled : RuleStatus::disabled;
  } else if (e.key == "detail-type") {
    if (auto s = read_choice(e, k_detail_types, d)) rule.detail = *s == "FULL" ? DetailType::full : DetailType::basic;
  } else if (e.key == "targets") {
    read_targets(e, rule, d);
  }
}

std::optional<Rule> read_rule(const YAML::Node& node, std::set<std::string>& names, Diagnostics& d) {
  if (!node.IsMap()) {
    d.error(yaml::position_of(node), fmt::format("a rule must be a mapping; got {}", yaml::describe(node)));
    return std::nullopt;
  }
  size_t errors = d.error_count();
  auto entries = yaml::entries(node, "rule", k_rule_keys, d, yaml::UnknownKeys::error);
  Rule rule;
  for (auto& e : entries) {
    read_rule_field(e, rule, d);
    if (e.key == "name" && !rule.name.empty() && !names.insert(rule.name).second)
      d.error(yaml::value_position(e), fmt::format("a rule named '{}' is already defined", rule.name));
  }
  definition::require_keys(entries, k_rule_required, node, "rule", d);
  if (d.error_count() != errors) return std::nullopt;
  return rule;
}

void read_top_field(const MapEntry& e, NotifyConfig& config, Diagnostics& d) {
  if (e.key == "rules") {
    if (e.value.IsNull()) return;  // "rules:" with nothing yet
    if (!e.value.IsSequence()) {
      d.error(yaml::value_position(e), fmt::format("'rules' must be a list; got {}", yaml::describe(e.value)));
      return;
    }
    std::set<std::string> names;
    for (const auto& item : e.value)
      if (auto rule = read_rule(item, names, d)) config.rules.push_back(std::move(*rule));
  } else if (e.key == "attempts") {
    auto n = yaml::integer(e, d);
    if (n && (*n < 1 || *n > 10))
      d.error(yaml::value_position(e), fmt::format("'attempts' must be from 1 to 10; got {}", *n));
    else if (n) config.attempts = static_cast<int>(*n);
  } else if (e.key == "backoff-seconds") {
    if (auto ms = read_seconds(e, 0, 300, d)) config.initial_delay = *ms;
  }
}

}  // namespace

ParsedRules parse_notification_rules(std::string_view text) {
  ParsedRules out;
  auto& d = out.diagnostics;
  NotifyConfig config;
  try {
    auto root = yaml::load(text, d);
    if (!root) return out;
    if (!root->IsNull() && !root->IsMap()) {
      d.error(yaml::position_of(*root), fmt::format("the notification rules must be a mapping with 'rules'; got {}",
                                                    yaml::describe(*root)));
      return out;
    }
    if (root->IsMap())
      for (auto& e : yaml::entries(*root, "notifications.yml", k_top_keys, d, yaml::UnknownKeys::error))
        read_top_field(e, config, d);
  } catch (const std::exception& e) {
    // yaml-cpp throws on some malformed input even after a successful load.
    d.error({1, 1}, fmt::format("invalid YAML: {}", e.what()));
  }
  d.sort();
  if (!d.has_errors()) out.config = std::move(config);
  return out;
}

bool Rule::matches(const NotifyEvent& event) const {
  if (status != RuleStatus::enabled) return false;
  if (!glob_match(resource, event.resource)) return false;
  return std::any_of(events.begin(), events.end(),
                     [&](const std::string& pattern) { return glob_match(pattern, event.type); });
}

}  // namespace cicd::notify

// cdeploy's definitions in the home: one YAML file per resource under <home>/deploy/, through
// store/definitions (which says how files are locked, written and checked).
//
// Concurrency: every change (create, update, delete, tagging) holds the area's one lock,
// <home>/deploy/.lock, for its whole check-then-write, because the checks cross the four kinds: a
// deployment group needs its application and its deployment config, and deleting either must not
// race with creating a group that uses it.
#include "deploy/resources.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <climits>
#include <functional>
#include <map>
#include <span>

#include "formats/yaml_util.hpp"
#include "store/definition_fields.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/shorthand.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd {

namespace {

using Keys = std::span<const std::string_view>;
using yaml::MapEntry;
using shorthand::Field;
using shorthand::find_field;
using definition::optional_text;
using definition::read_id;
using definition::read_name;
using definition::read_time;
using definition::require_keys;

constexpr std::string_view k_applications = "applications";
constexpr std::string_view k_configs = "deployment-configs";
constexpr std::string_view k_instances = "instances";
constexpr std::string_view k_groups = "deployment-groups";
constexpr std::string_view k_builtin_prefix = "CodeDeployDefault.";
constexpr std::string_view k_default_config = "CodeDeployDefault.OneAtATime";

constexpr size_t k_max_tag_groups = 3;
// AWS's limits for tag keys and values.
constexpr size_t k_max_tag_key = 128;
constexpr size_t k_max_tag_value = 256;

constexpr std::string_view k_event_failure = "DEPLOYMENT_FAILURE";
constexpr std::string_view k_event_stop = "DEPLOYMENT_STOP_ON_REQUEST";
constexpr std::string_view k_event_alarm = "DEPLOYMENT_STOP_ON_ALARM";
constexpr std::array<std::string_view, 2> k_events = {k_event_failure, k_event_stop};

constexpr std::array<std::string_view, 3> k_filter_types = {"KEY_ONLY", "VALUE_ONLY", "KEY_AND_VALUE"};
constexpr std::array<std::string_view, 2> k_settable_types = {"HOST_COUNT", "FLEET_PERCENT"};

// The kind of an application's deployment groups: they live in a folder of their application's.
std::string groups_of(std::string_view application) { return fmt::format("{}/{}", k_groups, application); }

std::string now_iso() { return format_iso8601(std::chrono::system_clock::now()); }

bool has_control_character(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; });
}

// ---- validators: a problem's wording, or nullopt; create reports it, a read positions it ----

std::optional<std::string> tag_text_problem(std::string_view key, std::string_view value) {
  if (key.size() > k_max_tag_key)
    return fmt::format("tag key '{}...' is longer than {} characters", key.substr(0, 20), k_max_tag_key);
  if (value.size() > k_max_tag_value)
    return fmt::format("tag value '{}...' is longer than {} characters", value.substr(0, 20), k_max_tag_value);
  if (has_control_character(key)) return "a tag key must not contain control characters";
  if (has_control_character(value)) return "a tag value must not contain control characters";
  return std::nullopt;
}

std::optional<std::string> tag_problem(const Tag& tag) {
  if (tag.key.empty()) return "a tag needs a Key";
  return tag_text_problem(tag.key, tag.value);
}

std::optional<std::string> tag_filter_problem(const TagFilter& f) {
  switch (f.type) {
    case TagFilterType::key_only:
      if (f.key.empty()) return "a KEY_ONLY filter needs a Key";
      if (!f.value.empty())
        return fmt::format("a KEY_ONLY filter takes no Value (got '{}'); use KEY_AND_VALUE to match both", f.value);
      break;
    case TagFilterType::value_only:
      if (f.value.empty()) return "a VALUE_ONLY filter needs a Value";
      if (!f.key.empty())
        return fmt::format("a VALUE_ONLY filter takes no Key (got '{}'); use KEY_AND_VALUE to match both", f.key);
      break;
    case TagFilterType::key_and_value:
      if (f.key.empty()) return "a KEY_AND_VALUE filter needs a Key";
      break;
  }
  return tag_text_problem(f.key, f.value);
}

std::optional<std::string> tag_set_problem(const TagSet& set) {
  if (set.size() > k_max_tag_groups)
    return fmt::format("a tag set has at most {} tag groups (AND of OR-groups); got {}", k_max_tag_groups,
                       set.size());
  for (size_t g = 0; g < set.size(); ++g) {
    if (set[g].empty()) return fmt::format("tag group {} is empty", g + 1);
    for (auto& f : set[g])
      if (auto p = tag_filter_problem(f)) return fmt::format("tag group {}: {}", g + 1, *p);
  }
  return std::nullopt;
}

std::optional<std::string> event_problem(std::string_view event) {
  if (std::find(k_events.begin(), k_events.end(), event) != k_events.end()) return std::nullopt;
  if (event == k_event_alarm)
    return fmt::format("{}: alarms are not supported (there are no CloudWatch alarms here); use {}",
                       k_event_alarm, one_of(k_events));
  return fmt::format("unknown auto-rollback event '{}'{}", event, did_you_mean(event, k_events));
}

std::optional<std::string> auto_rollback_problem(const AutoRollbackConfiguration& c) {
  for (auto& e : c.events)
    if (auto p = event_problem(e)) return p;
  return std::nullopt;
}

std::optional<std::string> minimum_healthy_problem(MinimumHealthyType type, long long value) {
  switch (type) {
    case MinimumHealthyType::most_concurrency:
      return "MOST_CONCURRENCY belongs to CodeDeployDefault.OneAtATime and cannot be set; use HOST_COUNT or "
             "FLEET_PERCENT";
    case MinimumHealthyType::host_count:
      if (value < 0 || value > INT_MAX) return fmt::format("a HOST_COUNT value must be 0 or more; got {}", value);
      break;
    case MinimumHealthyType::fleet_percent:
      // 100% healthy would leave no instance to take down and deploy to.
      if (value < 0 || value > 99) return fmt::format("a FLEET_PERCENT value must be from 0 to 99; got {}", value);
      break;
  }
  return std::nullopt;
}

std::optional<MinimumHealthyType> parse_minimum_healthy_type(std::string_view text) {
  if (text == "HOST_COUNT") return MinimumHealthyType::host_count;
  if (text == "FLEET_PERCENT") return MinimumHealthyType::fleet_percent;
  if (text == "MOST_CONCURRENCY") return MinimumHealthyType::most_concurrency;
  return std::nullopt;
}

// ssh arguments are passed as argv, but a leading '-' would still be read as an option by ssh.
bool is_ssh_word(std::string_view s, std::string_view extra) {
  if (s.empty() || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

std::optional<std::string> target_problem(const InstanceTarget& t) {
  if (t.kind == TargetKind::local) {
    if (!t.host.empty() || !t.user.empty()) return "a local target takes no user or host (use an ssh target)";
    return std::nullopt;
  }
  if (t.host.empty()) return "an ssh target needs a host";
  if (!is_ssh_word(t.host, "._-:%"))
    return fmt::format("invalid ssh host '{}': use a host name or an IP address", t.host);
  if (!t.user.empty() && !is_ssh_word(t.user, "._-"))
    return fmt::format("invalid ssh user '{}': use letters, digits, '.', '_' or '-'", t.user);
  if (t.port < 1 || t.port > 65535) return fmt::format("ssh port must be from 1 to 65535; got {}", t.port);
  return std::nullopt;
}

// Absolute, lexically normal, without a trailing slash; "" means "/".
Result<std::string> normalise_root(std::string_view root) {
  if (root.empty()) return std::string("/");
  if (has_control_character(root)) return fail(ErrorKind::invalid, "root must not contain control characters");
  std::filesystem::path p{std::string(root)};
  if (!p.is_absolute()) return fail(ErrorKind::invalid, "root '{}' must be an absolute path", root);
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

TagFilterType default_filter_type(bool has_key, bool has_value) {
  if (has_key && !has_value) return TagFilterType::key_only;
  if (!has_key && has_value) return TagFilterType::value_only;
  return TagFilterType::key_and_value;
}

// Keeps the first of repeated events, in the order given.
std::vector<std::string> unique_events(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (auto& e : events)
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  return out;
}

// ---- AWS CLI shorthand ----

Result<Tag> tag_from(std::string_view text, std::string_view flag, std::string_view whole) {
  static constexpr std::array<std::string_view, 2> k_keys = {"Key", "Value"};
  auto fields = shorthand::parse_fields(text, flag, whole, k_keys, {});
  if (!fields) return std::unexpected(fields.error());
  Tag tag;
  const Field* key = find_field(*fields, "Key");
  if (!key) return shorthand::error(flag, whole, "missing 'Key' (as in Key=Env,Value=Prod)");
  tag.key = key->values.front();
  if (const Field* value = find_field(*fields, "Value")) tag.value = value->values.front();
  if (auto p = tag_problem(tag)) return shorthand::error(flag, whole, *p);
  return tag;
}

Result<TagFilter> tag_filter_from(std::string_view text, std::string_view flag, std::string_view whole) {
  static constexpr std::array<std::string_view, 3> k_keys = {"Key", "Value", "Type"};
  auto fields = shorthand::parse_fields(text, flag, whole, k_keys, {});
  if (!fields) return std::unexpected(fields.error());
  TagFilter filter;
  const Field* key = find_field(*fields, "Key");
  const Field* value = find_field(*fields, "Value");
  const Field* type = find_field(*fields, "Type");
  if (!key && !value) return shorthand::error(flag, whole, "a tag filter needs a Key, a Value or both");
  if (key) filter.key = key->values.front();
  if (value) filter.value = value->values.front();
  if (type) {
    auto t = parse_tag_filter_type(type->values.front());
    if (!t)
      return shorthand::error(flag, whole,
                             fmt::format("unknown Type '{}'{}", type->values.front(),
                                         did_you_mean(type->values.front(), k_filter_types)));
    filter.type = *t;
  } else {
    filter.type = default_filter_type(key != nullptr, value != nullptr);
  }
  if (auto p = tag_filter_problem(filter)) return shorthand::error(flag, whole, *p);
  return filter;
}

// One tag filter from JSON ({"Key": .., "Value": .., "Type": ..}).
Result<TagFilter> tag_filter_from_json(const Json& item, std::string_view flag, std::string_view whole) {
  static constexpr std::array<std::string_view, 3> k_keys = {"Key", "Value", "Type"};
  if (!item.is_object()) return shorthand::error(flag, whole, "each tag filter must be an object {\"Key\": ...}");
  TagFilter filter;
  bool has_key = false, has_value = false;
  std::optional<std::string> type;
  for (auto& [k, v] : item.items()) {
    if (std::find(k_keys.begin(), k_keys.end(), k) == k_keys.end())
      return shorthand::error(flag, whole, fmt::format("unknown field '{}'{}", k, did_you_mean(k, k_keys)));
    if (!v.is_string()) return shorthand::error(flag, whole, fmt::format("'{}' must be a string", k));
    if (k == "Key") {
      filter.key = v.get<std::string>();
      has_key = true;
    } else if (k == "Value") {
      filter.value = v.get<std::string>();
      has_value = true;
    } else {
      type = v.get<std::string>();
    }
  }
  if (!has_key && !has_value) return shorthand::error(flag, whole, "a tag filter needs a Key, a Value or both");
  if (type) {
    auto t = parse_tag_filter_type(*type);
    if (!t) return shorthand::error(flag, whole, fmt::format("unknown Type '{}'{}", *type, did_you_mean(*type, k_filter_types)));
    filter.type = *t;
  } else {
    filter.type = default_filter_type(has_key, has_value);
  }
  if (auto p = tag_filter_problem(filter)) return shorthand::error(flag, whole, *p);
  return filter;
}

Result<TagSet> tag_set_from_json(std::string_view text, std::string_view flag) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::exception& e) {
    return shorthand::error(flag, text, fmt::format("invalid JSON: {}", e.what()));
  }
  if (!doc.is_object()) return shorthand::error(flag, text, "expected a JSON object with \"onPremisesTagSetList\"");
  TagSet set;
  for (auto& [k, v] : doc.items()) {
    if (k != "onPremisesTagSetList")
      return shorthand::error(flag, text, fmt::format("unknown field '{}'; expected onPremisesTagSetList", k));
    if (!v.is_array()) return shorthand::error(flag, text, "onPremisesTagSetList must be a list of lists");
    for (auto& group : v) {
      if (!group.is_array()) return shorthand::error(flag, text, "onPremisesTagSetList must be a list of lists");
      std::vector<TagFilter> filters;
      for (auto& item : group) {
        auto f = tag_filter_from_json(item, flag, text);
        if (!f) return std::unexpected(f.error());
        filters.push_back(std::move(*f));
      }
      set.push_back(std::move(filters));
    }
  }
  return set;
}

Result<TagSet> tag_set_from_shorthand(std::string_view text, std::string_view flag) {
  constexpr std::string_view k_form = "onPremisesTagSetList=[[{Key=..,Value=..,Type=..},{..}],[{..}]]";
  std::string_view body = trim(text);
  size_t eq = body.find('=');
  if (eq == std::string_view::npos || trim(body.substr(0, eq)) != "onPremisesTagSetList") {
    std::string_view field = eq == std::string_view::npos ? body : trim(body.substr(0, eq));
    if (eq != std::string_view::npos)
      return shorthand::error(flag, text, fmt::format("unknown field '{}'; expected onPremisesTagSetList", field));
    return shorthand::error(flag, text, fmt::format("expected JSON or {}", k_form));
  }
  auto groups_text = shorthand::inside(body.substr(eq + 1), '[', ']');
  if (!groups_text) return shorthand::error(flag, text, fmt::format("expected a list of lists: {}", k_form));
  TagSet set;
  if (trim(*groups_text).empty()) return set;
  std::vector<std::string> groups;
  if (auto why = shorthand::split_top(*groups_text, groups)) return shorthand::error(flag, text, *why);
  for (auto& group_text : groups) {
    auto items_text = shorthand::inside(group_text, '[', ']');
    if (!items_text)
      return shorthand::error(flag, text, fmt::format("each tag group must be a list: {}", k_form));
    std::vector<TagFilter> filters;
    std::vector<std::string> items;
    if (!trim(*items_text).empty()) {
      if (auto why = shorthand::split_top(*items_text, items)) return shorthand::error(flag, text, *why);
    }
    for (auto& item : items) {
      auto fields_text = shorthand::inside(item, '{', '}');
      if (!fields_text)
        return shorthand::error(flag, text, fmt::format("each tag filter must be in braces: {}", k_form));
      auto filter = tag_filter_from(*fields_text, flag, text);
      if (!filter) return std::unexpected(filter.error());
      filters.push_back(std::move(*filter));
    }
    set.push_back(std::move(filters));
  }
  return set;
}

// ---- YAML files ----

void emit_tag_filter(YAML::Emitter& out, const TagFilter& f) {
  out << YAML::BeginMap;
  // Only the parts the type looks at, so a hand-editor is not misled by an ignored one.
  if (f.type != TagFilterType::value_only) definition::emit(out, "Key", f.key);
  if (f.type != TagFilterType::key_only) definition::emit(out, "Value", f.value);
  definition::emit(out, "Type", std::string(tag_filter_type_name(f.type)));
  out << YAML::EndMap;
}

void emit_tag_set(YAML::Emitter& out, const TagSet& set) {
  out << YAML::Key << "onPremisesTagSet" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "onPremisesTagSetList" << YAML::Value;
  // One line per OR-group reads best by hand: "- [{Key: Env, Value: Prod, Type: KEY_AND_VALUE}]".
  if (set.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (auto& group : set) {
    out << YAML::Flow << YAML::BeginSeq;
    for (auto& f : group) emit_tag_filter(out, f);
    out << YAML::EndSeq;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

std::optional<TagFilter> read_tag_filter(const YAML::Node& node, Diagnostics& d) {
  static constexpr std::array<std::string_view, 3> k_keys = {"Key", "Value", "Type"};
  if (!node.IsMap()) {
    d.error(yaml::position_of(node), fmt::format("a tag filter must be a mapping (Key, Value, Type); got {}",
                                                 yaml::describe(node)));
    return std::nullopt;
  }
  size_t errors = d.error_count();
  auto entries = yaml::entries(node, "tag filter", k_keys, d, yaml::UnknownKeys::error);
  TagFilter f;
  bool has_key = false, has_value = false;
  std::optional<TagFilterType> type;
  for (auto& e : entries) {
    if (e.key == "Key") {
      if (auto s = optional_text(e, d)) {
        f.key = *s;
        has_key = true;
      }
    } else if (e.key == "Value") {
      if (auto s = optional_text(e, d)) {
        f.value = *s;
        has_value = true;
      }
    } else if (e.key == "Type") {
      if (auto s = yaml::scalar(e, d)) {
        type = parse_tag_filter_type(*s);
        if (!type)
          d.error(yaml::value_position(e), fmt::format("unknown tag filter Type '{}'{}", *s,
                                                       did_you_mean(*s, k_filter_types)));
      }
    }
  }
  if (d.error_count() > errors) return std::nullopt;
  if (!has_key && !has_value) {
    d.error(yaml::position_of(node), "a tag filter needs a Key, a Value or both");
    return std::nullopt;
  }
  f.type = type.value_or(default_filter_type(has_key, has_value));
  if (auto p = tag_filter_problem(f)) {
    d.error(yaml::position_of(node), *p);
    return std::nullopt;
  }
  return f;
}

std::optional<TagSet> read_tag_set(const MapEntry& entry, Diagnostics& d) {
  static constexpr std::array<std::string_view, 1> k_keys = {"onPremisesTagSetList"};
  TagSet set;
  if (entry.value.IsNull()) return set;
  size_t errors = d.error_count();
  auto entries = yaml::entries(entry.value, "onPremisesTagSet", k_keys, d, yaml::UnknownKeys::error);
  for (auto& e : entries) {
    if (e.value.IsNull()) continue;
    if (!e.value.IsSequence()) {
      d.error(yaml::value_position(e),
              fmt::format("'onPremisesTagSetList' must be a list of tag groups; got {}", yaml::describe(e.value)));
      continue;
    }
    size_t index = 0;
    for (const auto& group : e.value) {
      ++index;
      if (index == k_max_tag_groups + 1)
        d.error(yaml::position_of(group),
                fmt::format("a tag set has at most {} tag groups (AND of OR-groups); got {}", k_max_tag_groups,
                            e.value.size()));
      if (!group.IsSequence()) {
        d.error(yaml::position_of(group),
                fmt::format("a tag group must be a list of tag filters; got {}", yaml::describe(group)));
        continue;
      }
      if (group.size() == 0) {
        d.error(yaml::position_of(group), fmt::format("tag group {} is empty", index));
        continue;
      }
      std::vector<TagFilter> filters;
      for (const auto& item : group)
        if (auto f = read_tag_filter(item, d)) filters.push_back(std::move(*f));
      set.push_back(std::move(filters));
    }
  }
  if (d.error_count() > errors) return std::nullopt;
  return set;
}

std::optional<AutoRollbackConfiguration> read_auto_rollback(const MapEntry& entry, Diagnostics& d) {
  static constexpr std::array<std::string_view, 2> k_keys = {"enabled", "events"};
  AutoRollbackConfiguration c;
  if (entry.value.IsNull()) return c;
  size_t errors = d.error_count();
  auto entries = yaml::entries(entry.value, "autoRollbackConfiguration", k_keys, d, yaml::UnknownKeys::error);
  for (auto& e : entries) {
    if (e.key == "enabled") {
      if (auto b = yaml::boolean(e, d)) c.enabled = *b;
    } else if (e.key == "events") {
      for (auto& [event, pos] : yaml::string_list(e, d, false)) {
        if (auto p = event_problem(event)) d.error(pos, *p);
        else c.events.push_back(event);
      }
    }
  }
  if (d.error_count() > errors) return std::nullopt;
  c.events = unique_events(c.events);
  return c;
}

std::optional<Application> parse_application(const YAML::Node& root, std::string_view name, Diagnostics& d) {
  static constexpr std::array<std::string_view, 3> k_keys = {"applicationName", "applicationId", "createTime"};
  constexpr std::string_view where = "the application definition";
  auto entries = yaml::entries(root, where, k_keys, d, yaml::UnknownKeys::error);
  require_keys(entries, k_keys, root, where, d);
  Application a;
  std::string place = definition::file_name_place(name);
  for (auto& e : entries) {
    if (e.key == "applicationName") read_name(e, "application", name, place, d, a.name);
    else if (e.key == "applicationId") read_id(e, d, a.id);
    else if (e.key == "createTime") read_time(e, d, a.create_time);
  }
  return a;
}

std::optional<DeploymentConfigInfo> parse_deployment_config(const YAML::Node& root, std::string_view name,
                                                            Diagnostics& d) {
  static constexpr std::array<std::string_view, 4> k_keys = {"deploymentConfigName", "deploymentConfigId",
                                                             "minimumHealthyHosts", "createTime"};
  static constexpr std::array<std::string_view, 2> k_mhh_keys = {"type", "value"};
  constexpr std::string_view where = "the deployment config definition";
  auto entries = yaml::entries(root, where, k_keys, d, yaml::UnknownKeys::error);
  require_keys(entries, k_keys, root, where, d);
  DeploymentConfigInfo info;
  std::string place = definition::file_name_place(name);
  for (auto& e : entries) {
    if (e.key == "deploymentConfigName") {
      read_name(e, "deployment config", name, place, d, info.config.name);
      if (info.config.name.starts_with(k_builtin_prefix))
        d.error(yaml::value_position(e), fmt::format("names starting with '{}' are reserved for the built-in "
                                                     "deployment configs",
                                                     k_builtin_prefix));
    } else if (e.key == "deploymentConfigId") {
      read_id(e, d, info.id);
    } else if (e.key == "createTime") {
      read_time(e, d, info.create_time);
    } else if (e.key == "minimumHealthyHosts") {
      auto mhh = yaml::entries(e.value, "minimumHealthyHosts", k_mhh_keys, d, yaml::UnknownKeys::error);
      if (e.value.IsNull() || !e.value.IsDefined()) {
        d.error(yaml::value_position(e), "'minimumHealthyHosts' needs 'type' and 'value'");
        continue;
      }
      if (e.value.IsMap()) require_keys(mhh, k_mhh_keys, e.value, "minimumHealthyHosts", d);
      std::optional<MinimumHealthyType> type;
      std::optional<long long> value;
      Position value_at;
      for (auto& m : mhh) {
        if (m.key == "type") {
          if (auto s = yaml::scalar(m, d)) {
            type = parse_minimum_healthy_type(*s);
            if (!type)
              d.error(yaml::value_position(m), fmt::format("unknown minimum healthy hosts type '{}'{}", *s,
                                                           did_you_mean(*s, k_settable_types)));
          }
        } else if (m.key == "value") {
          value = yaml::integer(m, d);
          value_at = yaml::value_position(m);
        }
      }
      if (type && value) {
        if (auto p = minimum_healthy_problem(*type, *value)) {
          d.error(*type == MinimumHealthyType::most_concurrency ? yaml::value_position(e) : value_at, *p);
        } else {
          info.config.type = *type;
          info.config.value = static_cast<int>(*value);
        }
      }
    }
  }
  return info;
}

std::optional<InstanceTarget> read_target(const MapEntry& entry, Diagnostics& d) {
  static constexpr std::array<std::string_view, 4> k_keys = {"type", "user", "host", "port"};
  static constexpr std::array<std::string_view, 2> k_kinds = {"local", "ssh"};
  if (!entry.value.IsMap()) {
    d.error(yaml::value_position(entry),
            fmt::format("'target' must be a mapping (type: local, or type: ssh with host); got {}",
                        yaml::describe(entry.value)));
    return std::nullopt;
  }
  size_t errors = d.error_count();
  auto entries = yaml::entries(entry.value, "target", k_keys, d, yaml::UnknownKeys::error);
  require_keys(entries, std::span(k_keys).first(1), entry.value, "target", d);
  InstanceTarget t;
  bool kind_known = false;
  for (auto& e : entries) {
    if (e.key != "type") continue;
    if (auto s = yaml::scalar(e, d)) {
      if (*s == "local" || *s == "ssh") {
        t.kind = *s == "ssh" ? TargetKind::ssh : TargetKind::local;
        kind_known = true;
      } else {
        d.error(yaml::value_position(e), fmt::format("unknown target type '{}'{}", *s, did_you_mean(*s, k_kinds)));
      }
    }
  }
  for (auto& e : entries) {
    if (e.key == "type") continue;
    if (kind_known && t.kind == TargetKind::local) {
      d.error(e.key_position, fmt::format("'{}' applies only to ssh targets", e.key));
      continue;
    }
    if (e.key == "user") {
      if (auto s = yaml::scalar(e, d)) {
        t.user = *s;
        if (!is_ssh_word(t.user, "._-"))
          d.error(yaml::value_position(e), fmt::format("invalid ssh user '{}': use letters, digits, '.', '_' or '-'",
                                                       t.user));
      }
    } else if (e.key == "host") {
      if (auto s = yaml::scalar(e, d)) {
        t.host = *s;
        if (!is_ssh_word(t.host, "._-:%"))
          d.error(yaml::value_position(e),
                  fmt::format("invalid ssh host '{}': use a host name or an IP address", t.host));
      }
    } else if (e.key == "port") {
      if (auto v = yaml::integer(e, d)) {
        if (*v < 1 || *v > 65535)
          d.error(yaml::value_position(e), fmt::format("ssh port must be from 1 to 65535; got {}", *v));
        else
          t.port = static_cast<int>(*v);
      }
    }
  }
  if (kind_known && t.kind == TargetKind::ssh && t.host.empty() &&
      std::none_of(entries.begin(), entries.end(), [](const MapEntry& e) { return e.key == "host"; }))
    d.error(yaml::value_position(entry), "an ssh target needs a 'host'");
  if (d.error_count() > errors || !kind_known) return std::nullopt;
  return t;
}

std::optional<std::vector<Tag>> read_tags(const MapEntry& entry, Diagnostics& d) {
  static constexpr std::array<std::string_view, 2> k_keys = {"Key", "Value"};
  std::vector<Tag> tags;
  if (entry.value.IsNull()) return tags;
  if (!entry.value.IsSequence()) {
    d.error(yaml::value_position(entry),
            fmt::format("'tags' must be a list of {{Key, Value}}; got {}", yaml::describe(entry.value)));
    return std::nullopt;
  }
  size_t errors = d.error_count();
  std::map<std::string, Position> seen;
  for (const auto& item : entry.value) {
    if (!item.IsMap()) {
      d.error(yaml::position_of(item), fmt::format("a tag must be a mapping (Key, Value); got {}",
                                                   yaml::describe(item)));
      continue;
    }
    auto entries = yaml::entries(item, "tag", k_keys, d, yaml::UnknownKeys::error);
    require_keys(entries, std::span(k_keys).first(1), item, "tag", d);
    Tag tag;
    for (auto& e : entries) {
      if (e.key == "Key") {
        if (auto s = yaml::scalar(e, d)) tag.key = *s;
      } else if (e.key == "Value") {
        if (auto s = optional_text(e, d)) tag.value = *s;
      }
    }
    if (tag.key.empty()) continue;
    if (auto p = tag_problem(tag)) {
      d.error(yaml::position_of(item), *p);
      continue;
    }
    auto [first, inserted] = seen.emplace(tag.key, yaml::position_of(item));
    if (!inserted) {
      d.error(yaml::position_of(item), fmt::format("duplicate tag '{}' (first at {}:{})", tag.key,
                                                   first->second.line, first->second.column));
      continue;
    }
    tags.push_back(std::move(tag));
  }
  if (d.error_count() > errors) return std::nullopt;
  return tags;
}

std::optional<Instance> parse_instance(const YAML::Node& root, std::string_view name, Diagnostics& d) {
  static constexpr std::array<std::string_view, 6> k_keys = {"instanceName", "instanceArn", "registerTime",
                                                             "target",       "root",        "tags"};
  constexpr std::string_view where = "the instance definition";
  auto entries = yaml::entries(root, where, k_keys, d, yaml::UnknownKeys::error);
  require_keys(entries, std::span(k_keys).first(4), root, where, d);
  Instance i;
  std::string place = definition::file_name_place(name);
  for (auto& e : entries) {
    if (e.key == "instanceName") {
      read_name(e, "instance", name, place, d, i.name);
    } else if (e.key == "instanceArn") {
      read_id(e, d, i.arn);
    } else if (e.key == "registerTime") {
      read_time(e, d, i.register_time);
    } else if (e.key == "target") {
      if (auto t = read_target(e, d)) i.target = *t;
    } else if (e.key == "root") {
      if (auto s = yaml::scalar(e, d)) {
        auto root_path = normalise_root(*s);
        if (!root_path) d.error(yaml::value_position(e), root_path.error().message);
        else i.root = *root_path;
      }
    } else if (e.key == "tags") {
      if (auto tags = read_tags(e, d)) i.tags = std::move(*tags);
    }
  }
  return i;
}

std::optional<DeploymentGroup> parse_deployment_group(const YAML::Node& root, std::string_view application,
                                                      std::string_view name, Diagnostics& d) {
  static constexpr std::array<std::string_view, 7> k_keys = {
      "applicationName",  "deploymentGroupName",       "deploymentGroupId", "deploymentConfigName",
      "onPremisesTagSet", "autoRollbackConfiguration", "createTime"};
  constexpr std::string_view where = "the deployment group definition";
  auto entries = yaml::entries(root, where, k_keys, d, yaml::UnknownKeys::error);
  // The tag set and rollback may be left out: no instances, no automatic rollback.
  require_keys(entries, std::array<std::string_view, 5>{k_keys[0], k_keys[1], k_keys[2], k_keys[3], k_keys[6]}, root,
               where, d);
  DeploymentGroup g;
  std::string file_place = definition::file_name_place(name);
  std::string dir_place = fmt::format("the directory '{}' the file is in", application);
  for (auto& e : entries) {
    if (e.key == "applicationName") {
      read_name(e, "application", application, dir_place, d, g.application);
    } else if (e.key == "deploymentGroupName") {
      read_name(e, "deployment group", name, file_place, d, g.name);
    } else if (e.key == "deploymentGroupId") {
      read_id(e, d, g.id);
    } else if (e.key == "deploymentConfigName") {
      if (auto s = yaml::scalar(e, d)) {
        if (auto p = resource_name_problem("deployment config", *s)) d.error(yaml::value_position(e), *p);
        else g.deployment_config_name = *s;
      }
    } else if (e.key == "onPremisesTagSet") {
      if (auto set = read_tag_set(e, d)) g.tag_set = std::move(*set);
    } else if (e.key == "autoRollbackConfiguration") {
      if (auto c = read_auto_rollback(e, d)) g.auto_rollback = std::move(*c);
    } else if (e.key == "createTime") {
      read_time(e, d, g.create_time);
    }
  }
  return g;
}

// ---- writing each kind ----

Status write_application(const Definitions& defs, const Application& a) {
  return defs.write(k_applications, a.name, fmt::format("application '{}'", a.name), [&](YAML::Emitter& out) {
    definition::emit(out, "applicationName", a.name);
    definition::emit(out, "applicationId", a.id);
    definition::emit(out, "createTime", a.create_time);
  });
}

Status write_deployment_config(const Definitions& defs, const DeploymentConfigInfo& info) {
  return defs.write(
      k_configs, info.config.name, fmt::format("deployment config '{}'", info.config.name), [&](YAML::Emitter& out) {
        definition::emit(out, "deploymentConfigName", info.config.name);
        definition::emit(out, "deploymentConfigId", info.id);
        out << YAML::Key << "minimumHealthyHosts" << YAML::Value << YAML::BeginMap;
        definition::emit(out, "type", std::string(minimum_healthy_type_name(info.config.type)));
        out << YAML::Key << "value" << YAML::Value << info.config.value;
        out << YAML::EndMap;
        definition::emit(out, "createTime", info.create_time);
      });
}

Status write_instance(const Definitions& defs, const Instance& i) {
  return defs.write(
      k_instances, i.name, fmt::format("on-premises instance '{}'", i.name), [&](YAML::Emitter& out) {
        definition::emit(out, "instanceName", i.name);
        definition::emit(out, "instanceArn", i.arn);
        definition::emit(out, "registerTime", i.register_time);
        out << YAML::Key << "target" << YAML::Value << YAML::BeginMap;
        if (i.target.kind == TargetKind::local) {
          definition::emit(out, "type", "local");
        } else {
          definition::emit(out, "type", "ssh");
          if (!i.target.user.empty()) definition::emit(out, "user", i.target.user);
          definition::emit(out, "host", i.target.host);
          out << YAML::Key << "port" << YAML::Value << i.target.port;
        }
        out << YAML::EndMap;
        definition::emit(out, "root", i.root);
        out << YAML::Key << "tags" << YAML::Value;
        if (i.tags.empty()) out << YAML::Flow;  // "tags: []" rather than a lone "[]" line
        out << YAML::BeginSeq;
        for (auto& t : i.tags) {
          out << YAML::BeginMap;
          definition::emit(out, "Key", t.key);
          definition::emit(out, "Value", t.value);
          out << YAML::EndMap;
        }
        out << YAML::EndSeq;
      });
}

Status write_deployment_group(const Definitions& defs, const DeploymentGroup& g) {
  return defs.write(
      groups_of(g.application), g.name, fmt::format("deployment group '{}' of application '{}'", g.name, g.application),
      [&](YAML::Emitter& out) {
        definition::emit(out, "applicationName", g.application);
        definition::emit(out, "deploymentGroupName", g.name);
        definition::emit(out, "deploymentGroupId", g.id);
        definition::emit(out, "deploymentConfigName", g.deployment_config_name);
        emit_tag_set(out, g.tag_set);
        out << YAML::Key << "autoRollbackConfiguration" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "enabled" << YAML::Value << g.auto_rollback.enabled;
        out << YAML::Key << "events" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (auto& e : g.auto_rollback.events) out << e;
        out << YAML::EndSeq << YAML::EndMap;
        definition::emit(out, "createTime", g.create_time);
      });
}

Json tag_filter_to_json(const TagFilter& f) {
  return Json{{"Key", f.key}, {"Value", f.value}, {"Type", std::string(tag_filter_type_name(f.type))}};
}

// The checks create and update share for a group's own fields.
Status check_group_fields(const DeploymentGroup& g) {
  if (auto p = resource_name_problem("deployment group", g.name)) return fail(ErrorKind::invalid, *p);
  if (auto p = resource_name_problem("deployment config", g.deployment_config_name)) return fail(ErrorKind::invalid, *p);
  if (auto p = tag_set_problem(g.tag_set)) return fail(ErrorKind::invalid, *p);
  if (auto p = auto_rollback_problem(g.auto_rollback)) return fail(ErrorKind::invalid, *p);
  return {};
}

}  // namespace

// ---- free functions ----

std::string_view tag_filter_type_name(TagFilterType t) {
  switch (t) {
    case TagFilterType::key_only: return "KEY_ONLY";
    case TagFilterType::value_only: return "VALUE_ONLY";
    case TagFilterType::key_and_value: return "KEY_AND_VALUE";
  }
  return "KEY_AND_VALUE";
}

std::optional<TagFilterType> parse_tag_filter_type(std::string_view text) {
  if (text == "KEY_ONLY") return TagFilterType::key_only;
  if (text == "VALUE_ONLY") return TagFilterType::value_only;
  if (text == "KEY_AND_VALUE") return TagFilterType::key_and_value;
  return std::nullopt;
}

bool instance_matches(const Instance& instance, const TagSet& tag_set) {
  if (tag_set.empty()) return false;
  auto filter_matches = [&](const TagFilter& f) {
    return std::any_of(instance.tags.begin(), instance.tags.end(), [&](const Tag& t) {
      switch (f.type) {
        case TagFilterType::key_only: return t.key == f.key;
        case TagFilterType::value_only: return t.value == f.value;
        case TagFilterType::key_and_value: return t.key == f.key && t.value == f.value;
      }
      return false;
    });
  };
  return std::all_of(tag_set.begin(), tag_set.end(), [&](const std::vector<TagFilter>& group) {
    return std::any_of(group.begin(), group.end(), filter_matches);
  });
}

bool AutoRollbackConfiguration::on(std::string_view event) const {
  return enabled && std::find(events.begin(), events.end(), event) != events.end();
}

Result<Tag> parse_tag_shorthand(std::string_view text) { return parse_tag_shorthand(text, "--tags"); }

Result<Tag> parse_tag_shorthand(std::string_view text, std::string_view flag) { return tag_from(text, flag, text); }

Result<TagFilter> parse_tag_filter_shorthand(std::string_view text) {
  return parse_tag_filter_shorthand(text, "--on-premises-instance-tag-filters");
}

Result<TagFilter> parse_tag_filter_shorthand(std::string_view text, std::string_view flag) {
  return tag_filter_from(text, flag, text);
}

Result<AutoRollbackConfiguration> parse_auto_rollback_shorthand(std::string_view text) {
  return parse_auto_rollback_shorthand(text, "--auto-rollback-configuration");
}

Result<AutoRollbackConfiguration> parse_auto_rollback_shorthand(std::string_view text, std::string_view flag) {
  static constexpr std::array<std::string_view, 2> k_keys = {"enabled", "events"};
  static constexpr std::array<std::string_view, 1> k_lists = {"events"};
  auto fields = shorthand::parse_fields(text, flag, text, k_keys, k_lists);
  if (!fields) return std::unexpected(fields.error());
  AutoRollbackConfiguration c;
  const Field* enabled = find_field(*fields, "enabled");
  // Required rather than defaulted: "events=..." alone most likely means "on", and AWS would
  // silently take it as off.
  if (!enabled) return shorthand::error(flag, text, "missing 'enabled=true' or 'enabled=false'");
  if (iequals(enabled->values.front(), "true")) {
    c.enabled = true;
  } else if (!iequals(enabled->values.front(), "false")) {
    return shorthand::error(flag, text,
                           fmt::format("'enabled' must be true or false; got '{}'", enabled->values.front()));
  }
  if (const Field* events = find_field(*fields, "events")) {
    for (auto& e : events->values)
      if (auto p = event_problem(e)) return shorthand::error(flag, text, *p);
    c.events = unique_events(events->values);
  }
  return c;
}

Result<DeploymentConfig> parse_minimum_healthy_hosts_shorthand(std::string_view text) {
  return parse_minimum_healthy_hosts_shorthand(text, "--minimum-healthy-hosts");
}

Result<DeploymentConfig> parse_minimum_healthy_hosts_shorthand(std::string_view text, std::string_view flag) {
  static constexpr std::array<std::string_view, 2> k_keys = {"type", "value"};
  auto fields = shorthand::parse_fields(text, flag, text, k_keys, {});
  if (!fields) return std::unexpected(fields.error());
  const Field* type = find_field(*fields, "type");
  const Field* value = find_field(*fields, "value");
  if (!type) return shorthand::error(flag, text, "missing 'type' (HOST_COUNT or FLEET_PERCENT)");
  if (!value) return shorthand::error(flag, text, "missing 'value'");
  DeploymentConfig c;
  auto t = parse_minimum_healthy_type(type->values.front());
  if (!t)
    return shorthand::error(flag, text, fmt::format("unknown type '{}'{}", type->values.front(),
                                                   did_you_mean(type->values.front(), k_settable_types)));
  std::string_view number = value->values.front();
  bool negative = number.starts_with('-');
  auto n = parse_uint(negative ? number.substr(1) : number);
  if (!n) return shorthand::error(flag, text, fmt::format("'value' must be a whole number; got '{}'", number));
  long long v = negative ? -*n : *n;
  if (auto p = minimum_healthy_problem(*t, v)) return shorthand::error(flag, text, *p);
  c.type = *t;
  c.value = static_cast<int>(v);
  return c;
}

Result<TagSet> parse_tag_set(std::string_view text, std::string_view flag) {
  auto set = trim(text).starts_with('{') ? tag_set_from_json(text, flag) : tag_set_from_shorthand(text, flag);
  if (!set) return set;
  if (auto p = tag_set_problem(*set)) return shorthand::error(flag, text, *p);
  return set;
}

Result<InstanceTarget> parse_ssh_target(std::string_view text, std::string_view flag) {
  InstanceTarget t;
  t.kind = TargetKind::ssh;
  std::string_view rest = trim(text);
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    t.user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (t.user.empty()) return shorthand::error(flag, text, "empty user before '@'");
  }
  std::string_view port;
  if (rest.starts_with('[')) {
    // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return shorthand::error(flag, text, "unbalanced '[' around the host");
    t.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return shorthand::error(flag, text, "expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return shorthand::error(flag, text, "empty port after ':'");
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    size_t colon = rest.find(':');
    t.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
    if (port.empty()) return shorthand::error(flag, text, "empty port after ':'");
  } else {
    // No colon, or a bare IPv6 address.
    t.host = std::string(rest);
  }
  if (!port.empty()) {
    auto n = parse_uint(port);
    if (!n || *n < 1 || *n > 65535)
      return shorthand::error(flag, text, fmt::format("ssh port must be from 1 to 65535; got '{}'", port));
    t.port = static_cast<int>(*n);
  }
  if (auto p = target_problem(t)) return shorthand::error(flag, text, *p);
  return t;
}

Json application_to_json(const Application& a) {
  return Json{{"applicationId", a.id},
              {"applicationName", a.name},
              {"createTime", a.create_time},
              {"linkedToGitHub", false},
              {"computePlatform", "Server"}};
}

Json deployment_config_to_json(const DeploymentConfig& c, const std::string& create_time) {
  DeploymentConfigInfo info{c, {}, create_time};
  return deployment_config_to_json(info);
}

Json deployment_config_to_json(const DeploymentConfigInfo& info) {
  Json j = Json::object();
  if (!info.id.empty()) j["deploymentConfigId"] = info.id;
  j["deploymentConfigName"] = info.config.name;
  j["minimumHealthyHosts"] =
      Json{{"type", std::string(minimum_healthy_type_name(info.config.type))}, {"value", info.config.value}};
  // Built-in configs were never created here: no time rather than a made-up one.
  if (!info.create_time.empty()) j["createTime"] = info.create_time;
  j["computePlatform"] = "Server";
  return j;
}

Json instance_target_to_json(const InstanceTarget& t) {
  if (t.kind == TargetKind::local) return Json{{"type", "local"}};
  Json j = Json{{"type", "ssh"}};
  if (!t.user.empty()) j["user"] = t.user;
  j["host"] = t.host;
  j["port"] = t.port;
  return j;
}

Json instance_to_json(const Instance& i) {
  Json tags = Json::array();
  for (auto& t : i.tags) tags.push_back(Json{{"Key", t.key}, {"Value", t.value}});
  return Json{{"instanceName", i.name},
              {"instanceArn", i.arn},
              {"registerTime", i.register_time},
              {"tags", std::move(tags)},
              {"target", instance_target_to_json(i.target)},
              {"root", i.root}};
}

Json deployment_group_to_json(const DeploymentGroup& g) {
  Json list = Json::array();
  for (auto& group : g.tag_set) {
    Json filters = Json::array();
    for (auto& f : group) filters.push_back(tag_filter_to_json(f));
    list.push_back(std::move(filters));
  }
  return Json{{"applicationName", g.application},
              {"deploymentGroupId", g.id},
              {"deploymentGroupName", g.name},
              {"deploymentConfigName", g.deployment_config_name},
              {"onPremisesTagSet", Json{{"onPremisesTagSetList", std::move(list)}}},
              {"autoRollbackConfiguration",
               Json{{"enabled", g.auto_rollback.enabled}, {"events", g.auto_rollback.events}}},
              {"computePlatform", "Server"}};
}

// ---- Resources ----

Resources::Resources(std::filesystem::path home) : m_defs(std::move(home), "deploy", "cdeploy") {}

// Applications

Result<Application> Resources::create_application(const std::string& name) {
  if (auto p = resource_name_problem("application", name)) return fail(ErrorKind::invalid, *p);
  Application a{name, make_uuid(), now_iso()};
  if (auto st = m_defs.create(k_applications, name, fmt::format("application '{}' already exists", name),
                              [&] { return write_application(m_defs, a); });
      !st)
    return std::unexpected(st.error());
  return a;
}

Result<Application> Resources::get_application(const std::string& name) const {
  if (auto p = resource_name_problem("application", name)) return fail(ErrorKind::invalid, *p);
  return m_defs.read<Application>(
      k_applications, name, "application", fmt::format("application '{}' does not exist", name),
      [&](const YAML::Node& root, Diagnostics& d) { return parse_application(root, name, d); });
}

Result<std::vector<std::string>> Resources::list_applications() const { return m_defs.list(k_applications); }

Status Resources::delete_application(const std::string& name) {
  if (auto p = resource_name_problem("application", name)) return fail(ErrorKind::invalid, *p);
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!m_defs.exists(k_applications, name)) return fail(ErrorKind::not_found, "application '{}' does not exist", name);
  // Groups first: a crash in between leaves an application without groups, never groups that
  // would come back to life under a new application of the same name.
  std::error_code ec;
  fs::remove_all(m_defs.dir(groups_of(name)), ec);
  if (ec) return fail(ErrorKind::io, "cannot remove the deployment groups of '{}': {}", name, ec.message());
  return m_defs.remove(k_applications, name);
}

// Deployment configs

Result<DeploymentConfig> Resources::create_deployment_config(const DeploymentConfig& config) {
  if (auto p = resource_name_problem("deployment config", config.name)) return fail(ErrorKind::invalid, *p);
  if (find_builtin_deployment_config(config.name))
    return fail(ErrorKind::conflict, "deployment config '{}' already exists (it is built in)", config.name);
  if (config.name.starts_with(k_builtin_prefix))
    return fail(ErrorKind::invalid, "invalid deployment config name '{}': names starting with '{}' are reserved",
                config.name, k_builtin_prefix);
  if (auto p = minimum_healthy_problem(config.type, config.value)) return fail(ErrorKind::invalid, *p);
  DeploymentConfigInfo info{config, make_uuid(), now_iso()};
  info.config.builtin = false;
  if (auto st = m_defs.create(k_configs, config.name,
                              fmt::format("deployment config '{}' already exists", config.name),
                              [&] { return write_deployment_config(m_defs, info); });
      !st)
    return std::unexpected(st.error());
  return info.config;
}

Result<DeploymentConfig> Resources::get_deployment_config(const std::string& name) const {
  auto info = describe_deployment_config(name);
  if (!info) return std::unexpected(info.error());
  return info->config;
}

Result<DeploymentConfigInfo> Resources::describe_deployment_config(const std::string& name) const {
  if (auto builtin = find_builtin_deployment_config(name)) return DeploymentConfigInfo{*builtin, {}, {}};
  if (auto p = resource_name_problem("deployment config", name)) return fail(ErrorKind::invalid, *p);
  return m_defs.read<DeploymentConfigInfo>(
      k_configs, name, "deployment config", fmt::format("deployment config '{}' does not exist", name),
      [&](const YAML::Node& root, Diagnostics& d) { return parse_deployment_config(root, name, d); });
}

Result<std::vector<std::string>> Resources::list_deployment_configs() const {
  std::vector<std::string> out;
  for (auto& c : builtin_deployment_configs()) out.push_back(c.name);
  auto custom = m_defs.list(k_configs);
  if (!custom) return custom;
  out.insert(out.end(), custom->begin(), custom->end());
  return out;
}

Status Resources::delete_deployment_config(const std::string& name) {
  if (find_builtin_deployment_config(name))
    return fail(ErrorKind::conflict, "deployment config '{}' is built in and cannot be deleted", name);
  if (auto p = resource_name_problem("deployment config", name)) return fail(ErrorKind::invalid, *p);
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!m_defs.exists(k_configs, name)) return fail(ErrorKind::not_found, "deployment config '{}' does not exist", name);
  // A group that cannot be read might use it: refuse rather than guess (fail closed).
  auto applications = list_applications();
  if (!applications) return std::unexpected(applications.error());
  for (auto& application : *applications) {
    auto groups = m_defs.list(groups_of(application));
    if (!groups) return std::unexpected(groups.error());
    for (auto& group_name : *groups) {
      auto group = get_deployment_group(application, group_name);
      if (!group) return std::unexpected(group.error());
      if (group->deployment_config_name == name)
        return fail(ErrorKind::conflict, "deployment config '{}' is in use by deployment group '{}' of application '{}'",
                    name, group_name, application);
    }
  }
  return m_defs.remove(k_configs, name);
}

// Instances

Result<Instance> Resources::register_instance(const std::string& name, const InstanceTarget& target,
                                              const std::string& root) {
  if (auto p = resource_name_problem("instance", name)) return fail(ErrorKind::invalid, *p);
  if (auto p = target_problem(target)) return fail(ErrorKind::invalid, *p);
  auto root_path = normalise_root(root);
  if (!root_path) return std::unexpected(root_path.error());
  Instance i;
  i.name = name;
  i.arn = fmt::format("arn:cicd:codedeploy:local:{}:instance/{}", current_user_name(), name);
  i.register_time = now_iso();
  i.target = target;
  if (i.target.kind == TargetKind::local) i.target.port = InstanceTarget{}.port;
  i.root = *root_path;
  if (auto st = m_defs.create(k_instances, name, fmt::format("instance '{}' is already registered", name),
                              [&] { return write_instance(m_defs, i); });
      !st)
    return std::unexpected(st.error());
  return i;
}

Result<Instance> Resources::get_instance(const std::string& name) const {
  if (auto p = resource_name_problem("instance", name)) return fail(ErrorKind::invalid, *p);
  return m_defs.read<Instance>(k_instances, name, "instance", fmt::format("instance '{}' is not registered", name),
                               [&](const YAML::Node& root, Diagnostics& d) { return parse_instance(root, name, d); });
}

Status Resources::deregister_instance(const std::string& name) {
  if (auto p = resource_name_problem("instance", name)) return fail(ErrorKind::invalid, *p);
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!m_defs.exists(k_instances, name)) return fail(ErrorKind::not_found, "instance '{}' is not registered", name);
  return m_defs.remove(k_instances, name);
}

Result<std::vector<std::string>> Resources::list_instances(const std::vector<TagFilter>& filters) const {
  for (auto& f : filters)
    if (auto p = tag_filter_problem(f)) return fail(ErrorKind::invalid, *p);
  auto names = m_defs.list(k_instances);
  if (!names || filters.empty()) return names;
  std::vector<std::string> out;
  for (auto& name : *names) {
    auto instance = get_instance(name);
    if (!instance) return std::unexpected(instance.error());
    // Any filter (one OR-group).
    if (instance_matches(*instance, TagSet{filters})) out.push_back(name);
  }
  return out;
}

Status Resources::change_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags,
                              const std::function<void(Instance&)>& change) {
  if (instance_names.empty()) return fail(ErrorKind::invalid, "no instance names given");
  if (tags.empty()) return fail(ErrorKind::invalid, "no tags given");
  for (auto& t : tags)
    if (auto p = tag_problem(t)) return fail(ErrorKind::invalid, *p);
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  // 1. Read every instance first: one unknown or broken instance changes none.
  std::vector<Instance> instances;
  for (auto& name : instance_names) {
    auto i = get_instance(name);
    if (!i) return std::unexpected(i.error());
    instances.push_back(std::move(*i));
  }
  for (auto& i : instances) {
    change(i);
    if (auto st = write_instance(m_defs, i); !st) return st;
  }
  return {};
}

Status Resources::add_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags) {
  // A key present already takes the new value, as AWS does.
  return change_tags(instance_names, tags, [&](Instance& i) {
    for (auto& tag : tags) {
      auto it = std::find_if(i.tags.begin(), i.tags.end(), [&](const Tag& t) { return t.key == tag.key; });
      if (it != i.tags.end()) it->value = tag.value;
      else i.tags.push_back(tag);
    }
  });
}

Status Resources::remove_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags) {
  // A tag given with a value removes only that key=value; with an empty value, the key whatever
  // its value.
  return change_tags(instance_names, tags, [&](Instance& i) {
    std::erase_if(i.tags, [&](const Tag& t) {
      return std::any_of(tags.begin(), tags.end(), [&](const Tag& r) {
        return r.key == t.key && (r.value.empty() || r.value == t.value);
      });
    });
  });
}

// Deployment groups

Result<DeploymentGroup> Resources::create_deployment_group(const DeploymentGroup& group) {
  DeploymentGroup g = group;
  if (g.deployment_config_name.empty()) g.deployment_config_name = std::string(k_default_config);
  if (auto p = resource_name_problem("application", g.application)) return fail(ErrorKind::invalid, *p);
  if (auto st = check_group_fields(g); !st) return std::unexpected(st.error());
  g.auto_rollback.events = unique_events(g.auto_rollback.events);
  g.id = make_uuid();
  g.create_time = now_iso();
  auto parents_exist = [&]() -> Status {
    if (!m_defs.exists(k_applications, g.application))
      return fail(ErrorKind::not_found, "application '{}' does not exist", g.application);
    if (auto config = get_deployment_config(g.deployment_config_name); !config) return std::unexpected(config.error());
    return {};
  };
  if (auto st = m_defs.create(
          groups_of(g.application), g.name,
          fmt::format("deployment group '{}' already exists in application '{}'", g.name, g.application),
          [&] { return write_deployment_group(m_defs, g); }, parents_exist);
      !st)
    return std::unexpected(st.error());
  return g;
}

Result<DeploymentGroup> Resources::get_deployment_group(const std::string& application, const std::string& name) const {
  if (auto p = resource_name_problem("application", application)) return fail(ErrorKind::invalid, *p);
  if (auto p = resource_name_problem("deployment group", name)) return fail(ErrorKind::invalid, *p);
  if (!m_defs.exists(k_applications, application))
    return fail(ErrorKind::not_found, "application '{}' does not exist", application);
  return m_defs.read<DeploymentGroup>(
      groups_of(application), name, "deployment group",
      fmt::format("deployment group '{}' does not exist in application '{}'", name, application),
      [&](const YAML::Node& root, Diagnostics& d) { return parse_deployment_group(root, application, name, d); });
}

Result<std::vector<std::string>> Resources::list_deployment_groups(const std::string& application) const {
  if (auto p = resource_name_problem("application", application)) return fail(ErrorKind::invalid, *p);
  if (!m_defs.exists(k_applications, application))
    return fail(ErrorKind::not_found, "application '{}' does not exist", application);
  return m_defs.list(groups_of(application));
}

Result<DeploymentGroup> Resources::update_deployment_group(const std::string& application,
                                                           const std::string& current_name,
                                                           const DeploymentGroup& updated) {
  DeploymentGroupUpdate update;
  if (!updated.name.empty()) update.new_name = updated.name;
  if (!updated.deployment_config_name.empty()) update.deployment_config_name = updated.deployment_config_name;
  update.tag_set = updated.tag_set;
  update.auto_rollback = updated.auto_rollback;
  return update_deployment_group(application, current_name, update);
}

Result<DeploymentGroup> Resources::update_deployment_group(const std::string& application,
                                                           const std::string& current_name,
                                                           const DeploymentGroupUpdate& update) {
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  // 1. The group as it is now (this also checks the names and that the application exists).
  auto current = get_deployment_group(application, current_name);
  if (!current) return current;
  // 2. The new definition, checked as a new one would be.
  DeploymentGroup g = *current;
  if (update.new_name) g.name = *update.new_name;
  if (update.deployment_config_name) g.deployment_config_name = *update.deployment_config_name;
  if (update.tag_set) g.tag_set = *update.tag_set;
  if (update.auto_rollback) g.auto_rollback = *update.auto_rollback;
  g.auto_rollback.events = unique_events(g.auto_rollback.events);
  if (auto st = check_group_fields(g); !st) return std::unexpected(st.error());
  if (auto config = get_deployment_config(g.deployment_config_name); !config) return std::unexpected(config.error());
  bool renamed = g.name != current_name;
  if (renamed && m_defs.exists(groups_of(application), g.name))
    return fail(ErrorKind::conflict, "deployment group '{}' already exists in application '{}'", g.name, application);
  // 3. Write the new file before removing the old one: a crash leaves both, never neither.
  if (auto st = write_deployment_group(m_defs, g); !st) return std::unexpected(st.error());
  if (renamed) {
    if (auto st = m_defs.remove(groups_of(application), current_name); !st) return std::unexpected(st.error());
  }
  return g;
}

Status Resources::delete_deployment_group(const std::string& application, const std::string& name) {
  if (auto p = resource_name_problem("application", application)) return fail(ErrorKind::invalid, *p);
  if (auto p = resource_name_problem("deployment group", name)) return fail(ErrorKind::invalid, *p);
  auto lock = m_defs.lock();
  if (!lock) return std::unexpected(lock.error());
  if (!m_defs.exists(k_applications, application))
    return fail(ErrorKind::not_found, "application '{}' does not exist", application);
  if (!m_defs.exists(groups_of(application), name))
    return fail(ErrorKind::not_found, "deployment group '{}' does not exist in application '{}'", name, application);
  return m_defs.remove(groups_of(application), name);
}

Result<std::vector<Instance>> Resources::instances_for(const DeploymentGroup& group) const {
  std::vector<Instance> out;
  if (group.tag_set.empty()) return out;
  auto names = m_defs.list(k_instances);
  if (!names) return std::unexpected(names.error());
  for (auto& name : *names) {
    auto instance = get_instance(name);
    if (!instance) return std::unexpected(instance.error());
    if (instance_matches(*instance, group.tag_set)) out.push_back(std::move(*instance));
  }
  return out;
}

}  // namespace cicd

// cdeploy's definition files, one per kind: the YAML each is written as, and its parser, which
// checks every field with the same rules as creating does and reports all problems with positions.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <map>
#include <span>

#include "deploy/resources_internal.hpp"
#include "formats/yaml_util.hpp"
#include "store/definition_fields.hpp"
#include "util/strings.hpp"

namespace cicd::resource_detail {

namespace {

using yaml::MapEntry;
using definition::optional_text;
using definition::read_id;
using definition::read_name;
using definition::read_time;
using definition::require_keys;

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

}  // namespace

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


std::string groups_of(std::string_view application) { return fmt::format("{}/{}", k_groups, application); }

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

}  // namespace cicd::resource_detail

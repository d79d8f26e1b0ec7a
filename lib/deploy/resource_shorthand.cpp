// cdeploy's flags in the AWS CLI's shorthand (and JSON, for --on-premises-tag-set): tags, tag
// filters, tag sets, auto-rollback, minimum healthy hosts, and ssh targets; on util/shorthand.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "deploy/resources_internal.hpp"
#include "util/shorthand.hpp"
#include "util/strings.hpp"

namespace cicd {

using namespace resource_detail;

namespace {

using shorthand::Field;
using shorthand::find_field;

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
    if (!t)
      return shorthand::error(flag, whole,
                              fmt::format("unknown Type '{}'{}", *type, did_you_mean(*type, k_filter_types)));
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

}  // namespace

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

}  // namespace cicd

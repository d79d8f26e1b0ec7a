// cdeploy's rules for its resources: tag filter types and matching, and the validators that
// creating, the flags and the definition files share.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>

#include "deploy/resources_internal.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace resource_detail {

namespace {

// AWS's limits for tag keys and values.
constexpr size_t k_max_tag_key = 128;
constexpr size_t k_max_tag_value = 256;

bool has_control_character(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; });
}

std::optional<std::string> tag_text_problem(std::string_view key, std::string_view value) {
  if (key.size() > k_max_tag_key)
    return fmt::format("tag key '{}...' is longer than {} characters", key.substr(0, 20), k_max_tag_key);
  if (value.size() > k_max_tag_value)
    return fmt::format("tag value '{}...' is longer than {} characters", value.substr(0, 20), k_max_tag_value);
  if (has_control_character(key)) return "a tag key must not contain control characters";
  if (has_control_character(value)) return "a tag value must not contain control characters";
  return std::nullopt;
}

}  // namespace

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

std::vector<std::string> unique_events(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (auto& e : events)
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  return out;
}

}  // namespace resource_detail

using namespace resource_detail;

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

}  // namespace cicd

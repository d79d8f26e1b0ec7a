// What the files of lib/deploy/resource*.cpp share: the resources' rules (validators), and the
// per-kind reading and writing of their definition files. Not part of the public interface.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/resources.hpp"
#include "store/definitions.hpp"
#include "util/error.hpp"

namespace YAML {
class Node;
}  // namespace YAML

namespace cicd::resource_detail {

// The kinds of cdeploy's definitions (folders of <home>/deploy/).
inline constexpr std::string_view k_applications = "applications";
inline constexpr std::string_view k_configs = "deployment-configs";
inline constexpr std::string_view k_instances = "instances";
inline constexpr std::string_view k_groups = "deployment-groups";
// The kind of an application's deployment groups: they live in a folder of their application's.
std::string groups_of(std::string_view application);

inline constexpr std::string_view k_builtin_prefix = "CodeDeployDefault.";
inline constexpr std::string_view k_default_config = "CodeDeployDefault.OneAtATime";
inline constexpr size_t k_max_tag_groups = 3;

inline constexpr std::string_view k_event_failure = "DEPLOYMENT_FAILURE";
inline constexpr std::string_view k_event_stop = "DEPLOYMENT_STOP_ON_REQUEST";
inline constexpr std::string_view k_event_alarm = "DEPLOYMENT_STOP_ON_ALARM";
inline constexpr std::array<std::string_view, 2> k_events = {k_event_failure, k_event_stop};

inline constexpr std::array<std::string_view, 3> k_filter_types = {"KEY_ONLY", "VALUE_ONLY",
                                                                   "KEY_AND_VALUE"};
inline constexpr std::array<std::string_view, 2> k_settable_types = {"HOST_COUNT", "FLEET_PERCENT"};

// ---- validators (resource_checks.cpp): a problem's wording, or nullopt; create and the flags
// report it, a read of a file positions it ----

std::optional<std::string> tag_problem(const Tag& tag);
std::optional<std::string> tag_filter_problem(const TagFilter& f);
std::optional<std::string> tag_set_problem(const TagSet& set);
std::optional<std::string> event_problem(std::string_view event);
std::optional<std::string> auto_rollback_problem(const AutoRollbackConfiguration& c);
std::optional<std::string> minimum_healthy_problem(MinimumHealthyType type, long long value);
std::optional<MinimumHealthyType> parse_minimum_healthy_type(std::string_view text);
// A word ssh may be given as an argument: letters, digits and `extra`, not starting with '-'.
bool is_ssh_word(std::string_view s, std::string_view extra);
std::optional<std::string> target_problem(const InstanceTarget& t);
// Absolute, lexically normal, without a trailing slash; "" means "/".
Result<std::string> normalise_root(std::string_view root);
// The type of a tag filter that does not say, as AWS: KEY_ONLY with a key alone, VALUE_ONLY with
// a value alone, else KEY_AND_VALUE.
TagFilterType default_filter_type(bool has_key, bool has_value);
// Keeps the first of repeated events, in the order given.
std::vector<std::string> unique_events(const std::vector<std::string>& events);

// ---- definition files (resource_files.cpp): each kind's YAML, read with positioned diagnostics
// (`name`, and a group's `application`, are where the file is: its fields must match) ----

std::optional<Application> parse_application(const YAML::Node& root, std::string_view name,
                                             Diagnostics& d);
std::optional<DeploymentConfigInfo> parse_deployment_config(const YAML::Node& root,
                                                            std::string_view name, Diagnostics& d);
std::optional<Instance> parse_instance(const YAML::Node& root, std::string_view name,
                                       Diagnostics& d);
std::optional<DeploymentGroup> parse_deployment_group(const YAML::Node& root,
                                                      std::string_view application,
                                                      std::string_view name, Diagnostics& d);

// Each writes its definition's file; the caller holds the lock.
Status write_application(const Definitions& defs, const Application& a);
Status write_deployment_config(const Definitions& defs, const DeploymentConfigInfo& info);
Status write_instance(const Definitions& defs, const Instance& i);
Status write_deployment_group(const Definitions& defs, const DeploymentGroup& g);

}  // namespace cicd::resource_detail

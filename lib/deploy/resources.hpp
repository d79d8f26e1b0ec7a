// cdeploy's definitions in the home (DESIGN.md section 4): applications, deployment configs,
// on-premises instances and deployment groups, one YAML file per resource, readable and editable
// by hand and checked on every read. Field names follow the AWS CLI's JSON.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deploy/fleet.hpp"
#include "store/definitions.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct Application {
  std::string name;
  std::string id;           // UUID
  std::string create_time;  // ISO-8601
};

enum class TargetKind { local, ssh };

struct InstanceTarget {
  TargetKind kind = TargetKind::local;
  std::string user;  // ssh: may be empty (the ssh default)
  std::string host;  // ssh
  int port = 22;     // ssh
};

struct Instance {
  std::string name;
  std::string arn;            // arn:cicd:codedeploy:local:<user>:instance/<name>
  std::string register_time;  // ISO-8601
  InstanceTarget target;
  // Absolute destinations and the deployment root are placed under this prefix ("/" = as is).
  std::string root = "/";
  std::vector<Tag> tags;
};

enum class TagFilterType { key_only, value_only, key_and_value };
std::string_view tag_filter_type_name(TagFilterType t);  // "KEY_AND_VALUE"
// The AWS spelling ("KEY_ONLY", "VALUE_ONLY", "KEY_AND_VALUE"), exactly.
std::optional<TagFilterType> parse_tag_filter_type(std::string_view text);

struct TagFilter {
  std::string key;
  std::string value;
  TagFilterType type = TagFilterType::key_and_value;
  bool operator==(const TagFilter&) const = default;
};

// An instance matches a tag set when, for every group (AND, at most 3), it matches at least one
// filter of the group (OR). An empty tag set, or an empty group, matches nothing: a deployment group
// without tags must never deploy to every instance.
using TagSet = std::vector<std::vector<TagFilter>>;
bool instance_matches(const Instance& instance, const TagSet& tag_set);

struct AutoRollbackConfiguration {
  bool enabled = false;
  std::vector<std::string> events;  // DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_REQUEST
  bool on(std::string_view event) const;
};

// A deployment config with what its file records besides the rules (a built-in one has neither).
struct DeploymentConfigInfo {
  DeploymentConfig config;
  std::string id;           // UUID
  std::string create_time;  // ISO-8601
};
Json deployment_config_to_json(const DeploymentConfigInfo& info);

// What update-deployment-group changes: only the fields set.
struct DeploymentGroupUpdate {
  std::optional<std::string> new_name;
  std::optional<std::string> deployment_config_name;
  std::optional<TagSet> tag_set;
  std::optional<AutoRollbackConfiguration> auto_rollback;
};

struct DeploymentGroup {
  std::string application;
  std::string name;
  std::string id;  // UUID
  std::string deployment_config_name = "CodeDeployDefault.OneAtATime";
  TagSet tag_set;
  AutoRollbackConfiguration auto_rollback;
  std::string create_time;
};

// ---- AWS CLI shorthand syntax (resource_shorthand.cpp, on util/shorthand) ----
// "Key=Env,Value=Prod"
Result<Tag> parse_tag_shorthand(std::string_view text);
// "Key=Env,Value=Prod,Type=KEY_AND_VALUE" (Type defaults as AWS: KEY_AND_VALUE with both,
// KEY_ONLY with a key alone, VALUE_ONLY with a value alone)
Result<TagFilter> parse_tag_filter_shorthand(std::string_view text);
// "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST"
Result<AutoRollbackConfiguration> parse_auto_rollback_shorthand(std::string_view text);
// "type=HOST_COUNT,value=2"
Result<DeploymentConfig> parse_minimum_healthy_hosts_shorthand(std::string_view text);
// The same with the flag the text came from, which errors name ("--tags 'Key=Env,Vaule=Prod': unknown
// field 'Vaule'; did you mean 'Value'?"). The one-argument forms name --tags,
// --on-premises-instance-tag-filters, --auto-rollback-configuration and --minimum-healthy-hosts.
// Values may be quoted ('a,b' or "a,b") or escape a comma with a backslash (util/shorthand.hpp has
// the rules).
Result<Tag> parse_tag_shorthand(std::string_view text, std::string_view flag);
Result<TagFilter> parse_tag_filter_shorthand(std::string_view text, std::string_view flag);
Result<AutoRollbackConfiguration> parse_auto_rollback_shorthand(std::string_view text, std::string_view flag);
Result<DeploymentConfig> parse_minimum_healthy_hosts_shorthand(std::string_view text, std::string_view flag);
// --on-premises-tag-set, as the AWS CLI takes it: JSON ('{"onPremisesTagSetList":[[{"Key":"Env",
// "Value":"Prod","Type":"KEY_AND_VALUE"}]]}') or shorthand
// ('onPremisesTagSetList=[[{Key=Env,Value=Prod,Type=KEY_AND_VALUE},{Key=Role}],[{Value=web}]]').
Result<TagSet> parse_tag_set(std::string_view text, std::string_view flag = "--on-premises-tag-set");
// An ssh target "[user@]host[:port]" (IPv6 as "[::1]:22"), for --ssh.
Result<InstanceTarget> parse_ssh_target(std::string_view text, std::string_view flag = "--ssh");

// JSON in the shape of the AWS CLI's get-* outputs (applicationInfo, deploymentGroupInfo, ...)
// (resource_json.cpp).
Json application_to_json(const Application& a);
Json deployment_config_to_json(const DeploymentConfig& c, const std::string& create_time = {});
Json instance_target_to_json(const InstanceTarget& t);
Json instance_to_json(const Instance& i);
Json deployment_group_to_json(const DeploymentGroup& g);

// Files (store/definitions, area "deploy"; resource_files.cpp): <home>/deploy/applications/<name>.yml,
// deployment-configs/<name>.yml, instances/<name>.yml,
// deployment-groups/<application>/<name>.yml. Every change holds one advisory lock,
// <home>/deploy/.lock (creating is exclusive: of two concurrent creates of one name exactly one
// succeeds); reads take no lock, since files are replaced by atomic renames. A hand-edited file
// that does not pass the checks reads as Error{invalid} with FILE:LINE:COL details.
class Resources {
 public:
  explicit Resources(std::filesystem::path home);

  // Applications. Creating an existing one is Error{conflict}; a missing one Error{not_found}.
  Result<Application> create_application(const std::string& name);
  Result<Application> get_application(const std::string& name) const;
  Result<std::vector<std::string>> list_applications() const;
  // Deletes its deployment groups too, as AWS does.
  Status delete_application(const std::string& name);

  // Deployment configs: the built-in ones plus those created here.
  Result<DeploymentConfig> create_deployment_config(const DeploymentConfig& config);
  Result<DeploymentConfig> get_deployment_config(const std::string& name) const;
  // The same with its id and creation time (for get-deployment-config's JSON).
  Result<DeploymentConfigInfo> describe_deployment_config(const std::string& name) const;
  Result<std::vector<std::string>> list_deployment_configs() const;
  // A built-in config, or one a deployment group uses, cannot be deleted.
  Status delete_deployment_config(const std::string& name);

  // On-premises instances.
  Result<Instance> register_instance(const std::string& name, const InstanceTarget& target, const std::string& root);
  Result<Instance> get_instance(const std::string& name) const;
  Status deregister_instance(const std::string& name);
  // Names, optionally only those matching any of the filters (OR).
  Result<std::vector<std::string>> list_instances(const std::vector<TagFilter>& filters = {}) const;
  // Every instance must be registered, or none changes. add_tags: a key already there takes the
  // new value (as AWS). remove_tags: a tag with a value removes that pair only; with an empty
  // value, the key whatever its value.
  Status add_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags);
  Status remove_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags);

  // Deployment groups. The application and the deployment config must exist; a tag set has at
  // most 3 groups.
  Result<DeploymentGroup> create_deployment_group(const DeploymentGroup& group);
  Result<DeploymentGroup> get_deployment_group(const std::string& application, const std::string& name) const;
  Result<std::vector<std::string>> list_deployment_groups(const std::string& application) const;
  // Replaces the fields given (new name, config, tag set, rollback); see the verb.
  // `updated` is the whole new definition: an empty name or deployment config name keeps the
  // current one; the tag set and rollback configuration are replaced as given; the application,
  // id and creation time are kept. To change some fields only, use the DeploymentGroupUpdate form.
  Result<DeploymentGroup> update_deployment_group(const std::string& application, const std::string& current_name,
                                                  const DeploymentGroup& updated);
  Result<DeploymentGroup> update_deployment_group(const std::string& application, const std::string& current_name,
                                                  const DeploymentGroupUpdate& update);
  Status delete_deployment_group(const std::string& application, const std::string& name);

  // The instances a group deploys to, by name. An empty tag set matches no instance.
  Result<std::vector<Instance>> instances_for(const DeploymentGroup& group) const;

  const std::filesystem::path& home() const { return m_defs.home(); }

 private:
  // Reads every named instance (all must exist), applies `change` to each, writes them back.
  Status change_tags(const std::vector<std::string>& instance_names, const std::vector<Tag>& tags,
                     const std::function<void(Instance&)>& change);
  Definitions m_defs;
};

}  // namespace cicd

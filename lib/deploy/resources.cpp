// cdeploy's definitions in the home: one YAML file per resource under <home>/deploy/, through
// store/definitions (which says how files are locked, written and checked).
//
// Concurrency: every change (create, update, delete, tagging) holds the area's one lock,
// <home>/deploy/.lock, for its whole check-then-write, because the checks cross the four kinds: a
// deployment group needs its application and its deployment config, and deleting either must not
// race with creating a group that uses it.
#include "deploy/resources.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "deploy/resources_internal.hpp"
#include "util/process.hpp"
#include "util/time.hpp"

namespace cicd {

using namespace resource_detail;

namespace {

std::string now_iso() { return format_iso8601(std::chrono::system_clock::now()); }

// The checks create and update share for a group's own fields.
Status check_group_fields(const DeploymentGroup& g) {
  if (auto p = resource_name_problem("deployment group", g.name)) return fail(ErrorKind::invalid, *p);
  if (auto p = resource_name_problem("deployment config", g.deployment_config_name))
    return fail(ErrorKind::invalid, *p);
  if (auto p = tag_set_problem(g.tag_set)) return fail(ErrorKind::invalid, *p);
  if (auto p = auto_rollback_problem(g.auto_rollback)) return fail(ErrorKind::invalid, *p);
  return {};
}

}  // namespace

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
        return fail(ErrorKind::conflict,
                    "deployment config '{}' is in use by deployment group '{}' of application '{}'", name,
                    group_name, application);
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

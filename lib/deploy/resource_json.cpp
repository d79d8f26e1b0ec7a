// cdeploy's resources as JSON, in the shape of the AWS CLI's get-* outputs.
#include "deploy/resources_internal.hpp"

namespace cicd {

namespace {

Json tag_filter_to_json(const TagFilter& f) {
  return Json{{"Key", f.key}, {"Value", f.value}, {"Type", std::string(tag_filter_type_name(f.type))}};
}

}  // namespace

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

}  // namespace cicd

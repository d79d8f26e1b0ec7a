#include "deploy/records.hpp"

#include <array>
#include <cctype>

#include "util/time.hpp"

namespace cicd {

namespace {

constexpr std::array<std::pair<DeploymentStatus, std::string_view>, 6> k_deployment_statuses = {{
    {DeploymentStatus::created, "Created"},
    {DeploymentStatus::queued, "Queued"},
    {DeploymentStatus::in_progress, "InProgress"},
    {DeploymentStatus::succeeded, "Succeeded"},
    {DeploymentStatus::failed, "Failed"},
    {DeploymentStatus::stopped, "Stopped"},
}};

constexpr std::array<std::pair<TargetStatus, std::string_view>, 6> k_target_statuses = {{
    {TargetStatus::pending, "Pending"},
    {TargetStatus::in_progress, "InProgress"},
    {TargetStatus::succeeded, "Succeeded"},
    {TargetStatus::failed, "Failed"},
    {TargetStatus::skipped, "Skipped"},
    {TargetStatus::unknown, "Unknown"},
}};

void put_if(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

}  // namespace

std::string_view deployment_status_name(DeploymentStatus s) {
  for (auto& [k, n] : k_deployment_statuses)
    if (k == s) return n;
  return "Created";
}

std::optional<DeploymentStatus> parse_deployment_status(std::string_view name) {
  for (auto& [k, n] : k_deployment_statuses)
    if (n == name) return k;
  return std::nullopt;
}

bool is_final(DeploymentStatus s) {
  return s == DeploymentStatus::succeeded || s == DeploymentStatus::failed || s == DeploymentStatus::stopped;
}

std::string_view target_status_name(TargetStatus s) {
  for (auto& [k, n] : k_target_statuses)
    if (k == s) return n;
  return "Unknown";
}

std::optional<TargetStatus> parse_target_status(std::string_view name) {
  for (auto& [k, n] : k_target_statuses)
    if (n == name) return k;
  return std::nullopt;
}

Json deployment_to_json(const DeploymentRecord& d) {
  Json j = Json::object();
  j["applicationName"] = d.application;
  j["deploymentGroupName"] = d.deployment_group;
  j["deploymentGroupId"] = d.deployment_group_id;
  j["deploymentConfigName"] = d.deployment_config;
  j["deploymentId"] = d.id;
  if (!d.previous_revision_deployment_id.empty())
    j["previousRevision"] = Json{{"revisionType", "Local"}, {"deploymentId", d.previous_revision_deployment_id}};
  j["revision"] = Json{{"revisionType", "Local"},
                       {"location", d.revision.location},
                       {"bundle", d.revision.bundle},
                       {"sha256", d.revision.sha256}};
  j["status"] = deployment_status_name(d.status);
  if (d.error) j["errorInformation"] = Json{{"code", d.error->code}, {"message", d.error->message}};
  put_if(j, "createTime", d.create_time);
  put_if(j, "startTime", d.start_time);
  put_if(j, "completeTime", d.complete_time);
  j["deploymentOverview"] = Json{{"Pending", d.overview.pending},     {"InProgress", d.overview.in_progress},
                                 {"Succeeded", d.overview.succeeded}, {"Failed", d.overview.failed},
                                 {"Skipped", d.overview.skipped},     {"Ready", d.overview.ready}};
  put_if(j, "description", d.description);
  j["creator"] = d.creator;
  j["ignoreApplicationStopFailures"] = d.ignore_application_stop_failures;
  j["hardLinks"] = d.hard_links;
  j["autoRollbackConfiguration"] = Json{{"enabled", d.auto_rollback_enabled}, {"events", d.auto_rollback_events}};
  if (d.rollback) {
    Json r = Json::object();
    put_if(r, "rollbackDeploymentId", d.rollback->rollback_deployment_id);
    put_if(r, "rollbackTriggeringDeploymentId", d.rollback->rollback_triggering_deployment_id);
    put_if(r, "rollbackMessage", d.rollback->rollback_message);
    j["rollbackInfo"] = r;
  }
  put_if(j, "fileExistsBehavior", d.file_exists_behavior);
  j["deploymentStatusMessages"] = d.status_messages;
  j["computePlatform"] = "Server";
  j["targetInstances"] = d.instances;
  j["process"] = Json{{"user", d.user},
                      {"pid", d.pid},
                      {"startTime", d.pid_start_time},
                      {"host", d.host},
                      {"processGroups", process_groups_to_json(d.process_groups)}};
  return j;
}

Result<DeploymentRecord> deployment_from_json(const Json& j) {
  try {
    DeploymentRecord d;
    d.application = j.at("applicationName").get<std::string>();
    d.deployment_group = j.at("deploymentGroupName").get<std::string>();
    d.deployment_group_id = j.value("deploymentGroupId", "");
    d.deployment_config = j.value("deploymentConfigName", "");
    d.id = j.at("deploymentId").get<std::string>();
    if (j.contains("previousRevision")) d.previous_revision_deployment_id = j["previousRevision"].value("deploymentId", "");
    if (j.contains("revision")) {
      d.revision.location = j["revision"].value("location", "");
      d.revision.bundle = j["revision"].value("bundle", "");
      d.revision.sha256 = j["revision"].value("sha256", "");
    }
    auto status = parse_deployment_status(j.value("status", ""));
    if (!status) return fail(ErrorKind::invalid, "deployment record '{}' has an unknown status", d.id);
    d.status = *status;
    if (j.contains("errorInformation"))
      d.error = ErrorInformation{j["errorInformation"].value("code", ""), j["errorInformation"].value("message", "")};
    d.create_time = j.value("createTime", "");
    d.start_time = j.value("startTime", "");
    d.complete_time = j.value("completeTime", "");
    if (j.contains("deploymentOverview")) {
      auto& o = j["deploymentOverview"];
      d.overview = {o.value("Pending", 0), o.value("InProgress", 0), o.value("Succeeded", 0),
                    o.value("Failed", 0),  o.value("Skipped", 0),    o.value("Ready", 0)};
    }
    d.description = j.value("description", "");
    d.creator = j.value("creator", "user");
    d.ignore_application_stop_failures = j.value("ignoreApplicationStopFailures", false);
    d.hard_links = j.value("hardLinks", true);
    if (j.contains("autoRollbackConfiguration")) {
      d.auto_rollback_enabled = j["autoRollbackConfiguration"].value("enabled", false);
      for (auto& e : j["autoRollbackConfiguration"].value("events", Json::array())) d.auto_rollback_events.push_back(e);
    }
    if (j.contains("rollbackInfo")) {
      auto& r = j["rollbackInfo"];
      d.rollback = RollbackInfo{r.value("rollbackDeploymentId", ""), r.value("rollbackTriggeringDeploymentId", ""),
                                r.value("rollbackMessage", "")};
    }
    d.file_exists_behavior = j.value("fileExistsBehavior", "");
    for (auto& m : j.value("deploymentStatusMessages", Json::array())) d.status_messages.push_back(m);
    for (auto& i : j.value("targetInstances", Json::array())) d.instances.push_back(i);
    if (j.contains("process")) {
      d.user = j["process"].value("user", "");
      d.pid = j["process"].value("pid", 0);
      d.pid_start_time = j["process"].value("startTime", uint64_t{0});
      d.host = j["process"].value("host", "");
      if (auto g = j["process"].find("processGroups"); g != j["process"].end()) d.process_groups = process_groups_from_json(*g);
    }
    return d;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "malformed deployment record: {}", e.what());
  }
}

Json instance_record_to_json(const InstanceRecord& i) {
  Json events = Json::array();
  for (auto& e : i.lifecycle_events) {
    Json ej = Json::object();
    ej["lifecycleEventName"] = e.name;
    if (e.diagnostics)
      ej["diagnostics"] = Json{{"errorCode", e.diagnostics->error_code},
                               {"scriptName", e.diagnostics->script_name},
                               {"message", e.diagnostics->message},
                               {"logTail", e.diagnostics->log_tail}};
    put_if(ej, "startTime", e.start_time);
    put_if(ej, "endTime", e.end_time);
    ej["status"] = target_status_name(e.status);
    events.push_back(ej);
  }
  return Json{{"deploymentId", i.deployment_id},
              {"targetId", i.instance_name},
              {"targetArn", i.instance_arn},
              {"status", target_status_name(i.status)},
              {"lastUpdatedAt", i.last_updated_at},
              {"lifecycleEvents", events},
              {"instanceLabel", "Blue"}};
}

Result<InstanceRecord> instance_record_from_json(const Json& j) {
  try {
    InstanceRecord i;
    i.deployment_id = j.at("deploymentId").get<std::string>();
    i.instance_name = j.at("targetId").get<std::string>();
    i.instance_arn = j.value("targetArn", "");
    i.status = parse_target_status(j.value("status", "")).value_or(TargetStatus::unknown);
    i.last_updated_at = j.value("lastUpdatedAt", "");
    for (auto& ej : j.value("lifecycleEvents", Json::array())) {
      LifecycleEventRecord e;
      e.name = ej.value("lifecycleEventName", "");
      e.status = parse_target_status(ej.value("status", "")).value_or(TargetStatus::unknown);
      e.start_time = ej.value("startTime", "");
      e.end_time = ej.value("endTime", "");
      if (ej.contains("diagnostics")) {
        auto& d = ej["diagnostics"];
        e.diagnostics = LifecycleDiagnostics{d.value("errorCode", ""), d.value("scriptName", ""),
                                             d.value("message", ""), d.value("logTail", "")};
      }
      i.lifecycle_events.push_back(std::move(e));
    }
    return i;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "malformed deployment target record: {}", e.what());
  }
}

std::string make_deployment_id() { return "d-" + random_alnum(9); }

bool is_valid_deployment_id(std::string_view id) {
  if (id.size() != 11 || !id.starts_with("d-")) return false;
  for (char c : id.substr(2))
    if (!(std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)))) return false;
  return true;
}

}  // namespace cicd

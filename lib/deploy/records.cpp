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

Result<DeploymentRecord> deployment_from_json(const Json& json) {
  // Every field is read by type: a corrupt record is an error naming the field, never a throw.
  JsonReader j(json, "deployment record");
  DeploymentRecord d;
  d.application = j.required_string("applicationName");
  d.deployment_group = j.required_string("deploymentGroupName");
  d.deployment_group_id = j.string("deploymentGroupId");
  d.deployment_config = j.string("deploymentConfigName");
  d.id = j.required_string("deploymentId");
  d.previous_revision_deployment_id = j.object("previousRevision").string("deploymentId");
  auto revision = j.object("revision");
  d.revision.location = revision.string("location");
  d.revision.bundle = revision.string("bundle");
  d.revision.sha256 = revision.string("sha256");
  auto status = j.required_string("status");
  if (auto parsed = parse_deployment_status(status)) d.status = *parsed;
  else if (j.has("status")) j.reject("status", fmt::format("is not a deployment status: '{}'", status));
  if (j.has("errorInformation")) {
    auto e = j.object("errorInformation");
    d.error = ErrorInformation{e.string("code"), e.string("message")};
  }
  d.create_time = j.string("createTime");
  d.start_time = j.string("startTime");
  d.complete_time = j.string("completeTime");
  auto o = j.object("deploymentOverview");
  d.overview = {o.integer<int>("Pending"), o.integer<int>("InProgress"), o.integer<int>("Succeeded"),
                o.integer<int>("Failed"),  o.integer<int>("Skipped"),    o.integer<int>("Ready")};
  d.description = j.string("description");
  d.creator = j.string("creator", "user");
  d.ignore_application_stop_failures = j.boolean("ignoreApplicationStopFailures");
  d.hard_links = j.boolean("hardLinks", true);
  auto rollback_config = j.object("autoRollbackConfiguration");
  d.auto_rollback_enabled = rollback_config.boolean("enabled");
  d.auto_rollback_events = rollback_config.strings("events");
  if (j.has("rollbackInfo")) {
    auto r = j.object("rollbackInfo");
    d.rollback = RollbackInfo{r.string("rollbackDeploymentId"), r.string("rollbackTriggeringDeploymentId"),
                              r.string("rollbackMessage")};
  }
  d.file_exists_behavior = j.string("fileExistsBehavior");
  d.status_messages = j.strings("deploymentStatusMessages");
  d.instances = j.strings("targetInstances");
  auto process = j.object("process");
  d.user = process.string("user");
  d.pid = process.integer<int>("pid");
  d.pid_start_time = process.integer<uint64_t>("startTime");
  d.host = process.string("host");
  for (auto& g : process.objects("processGroups"))
    d.process_groups.push_back({g.integer<int>("pgid"), g.integer<uint64_t>("startTime")});
  if (auto st = j.status(); !st) return std::unexpected(st.error());
  return d;
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

Result<InstanceRecord> instance_record_from_json(const Json& json) {
  JsonReader j(json, "deployment target record");
  InstanceRecord i;
  i.deployment_id = j.required_string("deploymentId");
  i.instance_name = j.required_string("targetId");
  i.instance_arn = j.string("targetArn");
  // A status this version does not know reads as Unknown, as CodeDeploy's own clients do.
  i.status = parse_target_status(j.string("status")).value_or(TargetStatus::unknown);
  i.last_updated_at = j.string("lastUpdatedAt");
  for (auto& ej : j.objects("lifecycleEvents")) {
    LifecycleEventRecord e;
    e.name = ej.string("lifecycleEventName");
    e.status = parse_target_status(ej.string("status")).value_or(TargetStatus::unknown);
    e.start_time = ej.string("startTime");
    e.end_time = ej.string("endTime");
    if (ej.has("diagnostics")) {
      auto diag = ej.object("diagnostics");
      e.diagnostics = LifecycleDiagnostics{diag.string("errorCode"), diag.string("scriptName"), diag.string("message"),
                                           diag.string("logTail")};
    }
    i.lifecycle_events.push_back(std::move(e));
  }
  if (auto st = j.status(); !st) return std::unexpected(st.error());
  return i;
}

std::string make_deployment_id() { return "d-" + random_alnum(9); }

bool is_valid_deployment_id(std::string_view id) {
  if (id.size() != 11 || !id.starts_with("d-")) return false;
  for (char c : id.substr(2))
    if (!(std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)))) return false;
  return true;
}

}  // namespace cicd

// Events: the event type ids we know and the JSON an event is delivered as.
#include <algorithm>
#include <array>

#include "notify/notify.hpp"
#include "util/time.hpp"

namespace cicd::notify {

namespace {

// The CodeStar Notifications event type ids of AWS's Developer Tools console guide ("Events for
// notification rules on pipelines" and "... on repositories"), the ones we can emit or will.
constexpr std::array<std::string_view, 29> k_event_types = {
    "codecommit-repository-approvals-rule-override",
    "codecommit-repository-approvals-status-changed",
    "codecommit-repository-branches-and-tags-created",
    "codecommit-repository-branches-and-tags-deleted",
    "codecommit-repository-branches-and-tags-updated",
    "codecommit-repository-comments-on-commits",
    "codecommit-repository-comments-on-pull-requests",
    "codecommit-repository-pull-request-created",
    "codecommit-repository-pull-request-merged",
    "codecommit-repository-pull-request-source-updated",
    "codecommit-repository-pull-request-status-changed",
    "codepipeline-pipeline-action-execution-canceled",
    "codepipeline-pipeline-action-execution-failed",
    "codepipeline-pipeline-action-execution-started",
    "codepipeline-pipeline-action-execution-succeeded",
    "codepipeline-pipeline-manual-approval-failed",
    "codepipeline-pipeline-manual-approval-needed",
    "codepipeline-pipeline-manual-approval-succeeded",
    "codepipeline-pipeline-pipeline-execution-canceled",
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-pipeline-execution-resumed",
    "codepipeline-pipeline-pipeline-execution-started",
    "codepipeline-pipeline-pipeline-execution-succeeded",
    "codepipeline-pipeline-pipeline-execution-superseded",
    "codepipeline-pipeline-stage-execution-canceled",
    "codepipeline-pipeline-stage-execution-failed",
    "codepipeline-pipeline-stage-execution-resumed",
    "codepipeline-pipeline-stage-execution-started",
    "codepipeline-pipeline-stage-execution-succeeded",
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// EventBridge's "source" for our tools: scripts written against AWS's events keep matching.
std::string source_name(std::string_view source) {
  if (source == "cpipeline") return "aws.codepipeline";
  if (source == "ccommit") return "aws.codecommit";
  return "cicd." + std::string(source);
}

Json basic_detail(const Json& detail) {
  if (!detail.is_object()) return Json::object();
  Json out = Json::object();
  for (auto& [key, value] : detail.items())
    if (value.is_primitive()) out[key] = value;
  return out;
}

}  // namespace

NotifyEvent stamped(NotifyEvent event) {
  if (event.id.empty()) event.id = make_uuid();
  if (event.time.empty()) event.time = format_iso8601(std::chrono::system_clock::now());
  return event;
}

const std::vector<std::string_view>& event_type_ids() {
  static const std::vector<std::string_view> ids(k_event_types.begin(), k_event_types.end());
  return ids;
}

bool is_known_event_type(std::string_view id) {
  return std::binary_search(k_event_types.begin(), k_event_types.end(), id);
}

std::string detail_type_of(std::string_view type) {
  if (starts_with(type, "codepipeline-pipeline-pipeline-execution-"))
    return "CodePipeline Pipeline Execution State Change";
  if (starts_with(type, "codepipeline-pipeline-stage-execution-")) return "CodePipeline Stage Execution State Change";
  // AWS reports manual approvals as action state changes of the Approval action.
  if (starts_with(type, "codepipeline-pipeline-")) return "CodePipeline Action Execution State Change";
  if (starts_with(type, "codecommit-repository-pull-request-") || starts_with(type, "codecommit-repository-approvals-"))
    return "CodeCommit Pull Request State Change";
  if (type == "codecommit-repository-comments-on-commits") return "CodeCommit Comment on Commit";
  if (type == "codecommit-repository-comments-on-pull-requests") return "CodeCommit Comment on Pull Request";
  if (starts_with(type, "codecommit-repository-")) return "CodeCommit Repository State Change";
  return std::string(type);
}

Json event_json(const NotifyEvent& event, DetailType detail, std::string_view rule) {
  Json out = Json::object();
  out["version"] = "0";
  auto e = stamped(event);
  out["id"] = e.id;
  out["detail-type"] = detail_type_of(event.type);
  out["source"] = source_name(event.source);
  out["account"] = "local";
  out["time"] = e.time;
  out["region"] = "local";
  out["resources"] = Json::array({event.resource});
  out["eventTypeId"] = event.type;
  if (!rule.empty()) out["notificationRule"] = std::string(rule);
  out["detail"] = detail == DetailType::full ? event.detail : basic_detail(event.detail);
  return out;
}

std::string_view target_type_name(TargetType type) {
  switch (type) {
    case TargetType::command: return "command";
    case TargetType::file: return "file";
    case TargetType::webhook: return "webhook";
  }
  return "file";
}

Json target_json(const Target& target) {
  Json out = Json::object();
  out["type"] = std::string(target_type_name(target.type));
  switch (target.type) {
    case TargetType::command: out["command"] = target.command; break;
    case TargetType::file: out["path"] = target.path.string(); break;
    case TargetType::webhook:
      out["url"] = target.url;
      // Whether it is signed, and from where, but never the secret.
      if (!target.secret_env.empty()) out["secret-env"] = target.secret_env;
      else if (!target.secret.empty()) out["secret"] = "***";
      break;
  }
  if (target.timeout.count() > 0) out["timeout-seconds"] = static_cast<double>(target.timeout.count()) / 1000.0;
  return out;
}

}  // namespace cicd::notify

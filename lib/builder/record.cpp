#include "builder/record.hpp"

#include <unistd.h>

#include <array>

#include "util/fs.hpp"

namespace cicd {

namespace {

constexpr std::array<std::pair<BuildStatus, std::string_view>, 6> k_statuses = {{
    {BuildStatus::in_progress, "IN_PROGRESS"},
    {BuildStatus::succeeded, "SUCCEEDED"},
    {BuildStatus::failed, "FAILED"},
    {BuildStatus::fault, "FAULT"},
    {BuildStatus::timed_out, "TIMED_OUT"},
    {BuildStatus::stopped, "STOPPED"},
}};

constexpr std::array<std::string_view, 11> k_phases = {
    "SUBMITTED", "QUEUED",     "PROVISIONING",     "DOWNLOAD_SOURCE", "INSTALL",  "PRE_BUILD",
    "BUILD",     "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING",      "COMPLETED"};

std::optional<BuildPhase> parse_phase(std::string_view name) {
  for (size_t i = 0; i < k_phases.size(); ++i)
    if (k_phases[i] == name) return static_cast<BuildPhase>(i);
  return std::nullopt;
}

Json artifact_to_json(const ArtifactRecord& a) {
  Json j = Json::object();
  if (!a.identifier.empty()) j["artifactIdentifier"] = a.identifier;
  j["location"] = a.location;
  j["name"] = a.name;
  j["packaging"] = a.packaging;
  j["sha256sum"] = a.sha256sum;
  j["md5sum"] = a.md5sum;
  j["manifest"] = a.manifest;
  j["files"] = a.files;
  j["size"] = a.size;
  return j;
}

ArtifactRecord artifact_from_json(const Json& j) {
  ArtifactRecord a;
  a.identifier = j.value("artifactIdentifier", "");
  a.location = j.value("location", "");
  a.name = j.value("name", "");
  a.packaging = j.value("packaging", "ZIP");
  a.sha256sum = j.value("sha256sum", "");
  a.md5sum = j.value("md5sum", "");
  a.manifest = j.value("manifest", "");
  a.files = j.value("files", uint64_t{0});
  a.size = j.value("size", uint64_t{0});
  return a;
}

double seconds_between(SystemTime a, SystemTime b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

std::string_view build_status_name(BuildStatus status) {
  for (auto& [s, n] : k_statuses)
    if (s == status) return n;
  return "UNKNOWN";
}

std::optional<BuildStatus> parse_build_status(std::string_view name) {
  for (auto& [s, n] : k_statuses)
    if (n == name) return s;
  return std::nullopt;
}

int exit_code_for(BuildStatus status) {
  switch (status) {
    case BuildStatus::succeeded: return 0;
    case BuildStatus::failed: return 1;
    case BuildStatus::timed_out: return 3;
    case BuildStatus::stopped: return 4;
    case BuildStatus::fault:
    case BuildStatus::in_progress: return 5;
  }
  return 5;
}

std::string_view build_phase_name(BuildPhase phase) { return k_phases[static_cast<size_t>(phase)]; }

Json build_record_to_json(const BuildRecord& r) {
  Json j = Json::object();
  j["id"] = r.id;
  j["arn"] = r.arn;
  j["buildNumber"] = r.build_number;
  j["startTime"] = format_iso8601(r.start_time);
  if (r.end_time) j["endTime"] = format_iso8601(*r.end_time);
  j["currentPhase"] = build_phase_name(r.current_phase);
  j["buildStatus"] = build_status_name(r.status);
  j["sourceVersion"] = r.source_version;
  j["resolvedSourceVersion"] = r.resolved_source_version;
  j["projectName"] = r.project_name;
  Json phases = Json::array();
  for (auto& p : r.phases) {
    Json pj = Json::object();
    pj["phaseType"] = build_phase_name(p.type);
    if (p.status) pj["phaseStatus"] = build_status_name(*p.status);
    pj["startTime"] = format_iso8601(p.start_time);
    if (p.end_time) {
      pj["endTime"] = format_iso8601(*p.end_time);
      pj["durationInSeconds"] = static_cast<int64_t>(seconds_between(p.start_time, *p.end_time));
      pj["durationInMilliseconds"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(*p.end_time - p.start_time).count();
    }
    if (p.type != BuildPhase::completed) {
      Json contexts = Json::array();
      for (auto& c : p.contexts) contexts.push_back(Json{{"statusCode", c.status_code}, {"message", c.message}});
      pj["contexts"] = contexts;
    }
    phases.push_back(pj);
  }
  j["phases"] = phases;
  j["source"] = Json{{"type", "LOCAL"}, {"location", r.source_location}, {"buildspec", r.buildspec}};
  j["artifacts"] = r.artifacts ? artifact_to_json(*r.artifacts) : Json::object();
  Json secondary = Json::array();
  for (auto& a : r.secondary_artifacts) secondary.push_back(artifact_to_json(a));
  j["secondaryArtifacts"] = secondary;
  j["cache"] = r.cache_location.empty() ? Json{{"type", "NO_CACHE"}}
                                        : Json{{"type", "LOCAL"}, {"location", r.cache_location}};
  Json env_vars = Json::array();
  for (auto& e : r.environment_variables)
    env_vars.push_back(Json{{"name", e.name}, {"value", e.value}, {"type", e.type}});
  j["environment"] = Json{{"type", "LOCAL"}, {"image", "local"}, {"environmentVariables", env_vars}};
  j["logs"] = Json{{"groupName", "/cicd/cbuild/" + r.project_name},
                   {"streamName", r.id.substr(r.id.find(':') + 1)},
                   {"location", r.log_path}};
  j["timeoutInMinutes"] = r.timeout_in_minutes;
  j["buildComplete"] = r.build_complete;
  j["initiator"] = r.initiator;
  Json exported = Json::array();
  for (auto& [name, value] : r.exported_environment_variables)
    exported.push_back(Json{{"name", name}, {"value", value}});
  j["exportedEnvironmentVariables"] = exported;
  j["reportArns"] = r.report_arns;
  j["artifactsDirectory"] = r.artifacts_dir;
  j["process"] = Json{{"pid", r.pid},
                      {"startTime", r.pid_start_time},
                      {"host", r.host},
                      {"processGroups", process_groups_to_json(r.process_groups)}};
  return j;
}

Result<BuildRecord> build_record_from_json(const Json& j) {
  try {
    BuildRecord r;
    r.id = j.at("id").get<std::string>();
    r.arn = j.value("arn", "");
    r.build_number = j.value("buildNumber", int64_t{0});
    auto status = parse_build_status(j.value("buildStatus", ""));
    if (!status) return fail(ErrorKind::invalid, "build record '{}' has an unknown buildStatus", r.id);
    r.status = *status;
    r.current_phase = parse_phase(j.value("currentPhase", "SUBMITTED")).value_or(BuildPhase::submitted);
    r.start_time = parse_iso8601(j.value("startTime", "")).value_or(SystemTime{});
    if (j.contains("endTime")) r.end_time = parse_iso8601(j["endTime"].get<std::string>());
    r.source_version = j.value("sourceVersion", "");
    r.resolved_source_version = j.value("resolvedSourceVersion", "");
    r.project_name = j.value("projectName", "");
    for (auto& pj : j.value("phases", Json::array())) {
      PhaseRecord p;
      p.type = parse_phase(pj.value("phaseType", "")).value_or(BuildPhase::submitted);
      if (pj.contains("phaseStatus")) p.status = parse_build_status(pj["phaseStatus"].get<std::string>());
      p.start_time = parse_iso8601(pj.value("startTime", "")).value_or(SystemTime{});
      if (pj.contains("endTime")) p.end_time = parse_iso8601(pj["endTime"].get<std::string>());
      for (auto& c : pj.value("contexts", Json::array()))
        p.contexts.push_back({c.value("statusCode", ""), c.value("message", "")});
      r.phases.push_back(std::move(p));
    }
    if (j.contains("source")) {
      r.source_location = j["source"].value("location", "");
      r.buildspec = j["source"].value("buildspec", "");
    }
    if (j.contains("artifacts") && !j["artifacts"].empty()) r.artifacts = artifact_from_json(j["artifacts"]);
    for (auto& a : j.value("secondaryArtifacts", Json::array())) r.secondary_artifacts.push_back(artifact_from_json(a));
    if (j.contains("cache")) r.cache_location = j["cache"].value("location", "");
    if (j.contains("environment"))
      for (auto& e : j["environment"].value("environmentVariables", Json::array()))
        r.environment_variables.push_back({e.value("name", ""), e.value("value", ""), e.value("type", "PLAINTEXT")});
    if (j.contains("logs")) r.log_path = j["logs"].value("location", "");
    r.timeout_in_minutes = j.value("timeoutInMinutes", 60);
    r.build_complete = j.value("buildComplete", false);
    r.initiator = j.value("initiator", "");
    for (auto& e : j.value("exportedEnvironmentVariables", Json::array()))
      r.exported_environment_variables.emplace_back(e.value("name", ""), e.value("value", ""));
    for (auto& a : j.value("reportArns", Json::array())) r.report_arns.push_back(a.get<std::string>());
    r.artifacts_dir = j.value("artifactsDirectory", "");
    if (j.contains("process")) {
      r.pid = j["process"].value("pid", 0);
      r.pid_start_time = j["process"].value("startTime", uint64_t{0});
      r.host = j["process"].value("host", "");
      if (auto g = j["process"].find("processGroups"); g != j["process"].end()) r.process_groups = process_groups_from_json(*g);
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "malformed build record: {}", e.what());
  }
}

bool build_process_alive(const BuildRecord& record) {
  return process_alive(record.pid, record.pid_start_time, record.host);
}

}  // namespace cicd

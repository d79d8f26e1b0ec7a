#include "builder/record.hpp"

#include <unistd.h>

#include <algorithm>
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

ArtifactRecord artifact_from_json(JsonReader j) {
  ArtifactRecord a;
  a.identifier = j.string("artifactIdentifier");
  a.location = j.string("location");
  a.name = j.string("name");
  a.packaging = j.string("packaging", "ZIP");
  a.sha256sum = j.string("sha256sum");
  a.md5sum = j.string("md5sum");
  a.manifest = j.string("manifest");
  a.files = j.integer<uint64_t>("files");
  a.size = j.integer<uint64_t>("size");
  return a;
}

// A time the record must hold in ISO-8601 (absent: `fallback`).
std::optional<SystemTime> time_field(JsonReader& j, std::string_view key, std::optional<SystemTime> fallback = {}) {
  auto text = j.optional_string(key);
  if (!text) return fallback;
  auto time = parse_iso8601(*text);
  if (!time) j.reject(key, fmt::format("is not an ISO-8601 time: '{}'", *text));
  return time;
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
      // The times are the clock's, which may have jumped back during the phase: a phase never
      // lasts less than nothing.
      auto lasted = std::max(*p.end_time - p.start_time, SystemTime::duration::zero());
      pj["durationInSeconds"] = static_cast<int64_t>(std::chrono::duration<double>(lasted).count());
      pj["durationInMilliseconds"] = std::chrono::duration_cast<std::chrono::milliseconds>(lasted).count();
    }
    if (p.type != BuildPhase::completed) {
      Json contexts = Json::array();
      for (auto& c : p.contexts) contexts.push_back(Json{{"statusCode", c.status_code}, {"message", c.message}});
      pj["contexts"] = contexts;
    }
    phases.push_back(pj);
  }
  j["phases"] = phases;
  j["source"] = Json{{"type", r.source_type}, {"location", r.source_location}, {"buildspec", r.buildspec}};
  j["artifacts"] = r.artifacts ? artifact_to_json(*r.artifacts) : Json::object();
  Json secondary = Json::array();
  for (auto& a : r.secondary_artifacts) secondary.push_back(artifact_to_json(a));
  j["secondaryArtifacts"] = secondary;
  j["cache"] = r.cache_location.empty() ? Json{{"type", "NO_CACHE"}}
                                        : Json{{"type", "LOCAL"}, {"location", r.cache_location}};
  Json env_vars = Json::array();
  for (auto& e : r.environment_variables)
    env_vars.push_back(Json{{"name", e.name}, {"value", e.value}, {"type", e.type}});
  j["environment"] = Json{{"type", r.environment_type}, {"image", r.environment_image}};
  if (!r.compute_type.empty()) j["environment"]["computeType"] = r.compute_type;
  j["environment"]["environmentVariables"] = env_vars;
  if (!r.service_role.empty()) j["serviceRole"] = r.service_role;
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

Result<BuildRecord> build_record_from_json(const Json& json) {
  // Every field is read by type: a corrupt record is an error naming the field, never a throw.
  JsonReader j(json, "build record");
  BuildRecord r;
  r.id = j.required_string("id");
  r.arn = j.string("arn");
  r.build_number = j.integer<int64_t>("buildNumber");
  auto status_name = j.required_string("buildStatus");
  if (auto status = parse_build_status(status_name)) r.status = *status;
  else if (j.has("buildStatus")) j.reject("buildStatus", fmt::format("is not a build status: '{}'", status_name));
  auto phase_name = j.string("currentPhase", "SUBMITTED");
  if (auto phase = parse_phase(phase_name)) r.current_phase = *phase;
  else j.reject("currentPhase", fmt::format("is not a build phase: '{}'", phase_name));
  r.start_time = time_field(j, "startTime", SystemTime{}).value_or(SystemTime{});
  r.end_time = time_field(j, "endTime");
  r.source_version = j.string("sourceVersion");
  r.resolved_source_version = j.string("resolvedSourceVersion");
  r.project_name = j.string("projectName");
  for (auto& pj : j.objects("phases")) {
    PhaseRecord p;
    auto type = pj.required_string("phaseType");
    if (auto phase = parse_phase(type)) p.type = *phase;
    else if (pj.has("phaseType")) pj.reject("phaseType", fmt::format("is not a build phase: '{}'", type));
    if (auto status = pj.optional_string("phaseStatus")) {
      p.status = parse_build_status(*status);
      if (!p.status) pj.reject("phaseStatus", fmt::format("is not a build status: '{}'", *status));
    }
    p.start_time = time_field(pj, "startTime", SystemTime{}).value_or(SystemTime{});
    p.end_time = time_field(pj, "endTime");
    for (auto& c : pj.objects("contexts")) p.contexts.push_back({c.string("statusCode"), c.string("message")});
    r.phases.push_back(std::move(p));
  }
  auto source = j.object("source");
  r.source_location = source.string("location");
  r.source_type = source.string("type", "LOCAL");
  r.buildspec = source.string("buildspec");
  if (auto artifacts = j.object("artifacts"); !artifacts.empty()) r.artifacts = artifact_from_json(artifacts);
  for (auto& a : j.objects("secondaryArtifacts")) r.secondary_artifacts.push_back(artifact_from_json(a));
  r.cache_location = j.object("cache").string("location");
  auto environment = j.object("environment");
  r.environment_type = environment.string("type", "LOCAL");
  r.environment_image = environment.string("image", "local");
  r.compute_type = environment.string("computeType");
  r.service_role = j.string("serviceRole");
  for (auto& e : environment.objects("environmentVariables"))
    r.environment_variables.push_back({e.string("name"), e.string("value"), e.string("type", "PLAINTEXT")});
  r.log_path = j.object("logs").string("location");
  r.timeout_in_minutes = j.integer<int>("timeoutInMinutes", 60);
  r.build_complete = j.boolean("buildComplete");
  r.initiator = j.string("initiator");
  for (auto& e : j.objects("exportedEnvironmentVariables"))
    r.exported_environment_variables.emplace_back(e.string("name"), e.string("value"));
  r.report_arns = j.strings("reportArns");
  r.artifacts_dir = j.string("artifactsDirectory");
  auto process = j.object("process");
  r.pid = process.integer<int>("pid");
  r.pid_start_time = process.integer<uint64_t>("startTime");
  r.host = process.string("host");
  for (auto& g : process.objects("processGroups"))
    r.process_groups.push_back({g.integer<int>("pgid"), g.integer<uint64_t>("startTime")});
  if (auto st = j.status(); !st) return std::unexpected(st.error());
  return r;
}

bool build_process_alive(const BuildRecord& record) {
  return run_alive(record.id, record.pid, record.pid_start_time, record.host);
}

}  // namespace cicd

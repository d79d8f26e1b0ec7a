#include "pipeline/records.hpp"

#include <fmt/format.h>

#include <array>

namespace cicd {

namespace {

constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 7> k_execution_statuses = {{
    {ExecutionStatus::in_progress, "InProgress"},
    {ExecutionStatus::stopping, "Stopping"},
    {ExecutionStatus::stopped, "Stopped"},
    {ExecutionStatus::succeeded, "Succeeded"},
    {ExecutionStatus::superseded, "Superseded"},
    {ExecutionStatus::failed, "Failed"},
    {ExecutionStatus::cancelled, "Cancelled"},
}};
constexpr std::array<std::pair<ActionStatus, std::string_view>, 5> k_action_statuses = {{
    {ActionStatus::not_started, "NotStarted"},
    {ActionStatus::in_progress, "InProgress"},
    {ActionStatus::abandoned, "Abandoned"},
    {ActionStatus::succeeded, "Succeeded"},
    {ActionStatus::failed, "Failed"},
}};
constexpr std::array<std::pair<StageStatus, std::string_view>, 8> k_stage_statuses = {{
    {StageStatus::not_started, "NotStarted"},
    {StageStatus::in_progress, "InProgress"},
    {StageStatus::stopping, "Stopping"},
    {StageStatus::stopped, "Stopped"},
    {StageStatus::succeeded, "Succeeded"},
    {StageStatus::failed, "Failed"},
    {StageStatus::cancelled, "Cancelled"},
    {StageStatus::skipped, "Skipped"},
}};

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (auto& [e, n] : table)
    if (e == value) return n;
  return table[0].second;
}

template <class E, size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) {
  for (auto& [e, n] : table)
    if (n == name) return e;
  return std::nullopt;
}

Json artifacts_json(const std::vector<ArtifactLocation>& list) {
  Json out = Json::array();
  for (auto& a : list) out.push_back(Json{{"name", a.name}, {"location", a.path}});
  return out;
}

std::vector<ArtifactLocation> artifacts_from(JsonReader& j, std::string_view key) {
  std::vector<ArtifactLocation> out;
  for (auto& a : j.objects(key)) out.push_back({a.required_string("name"), a.string("location")});
  return out;
}

// The raw object at `key` of `json` (configuration, output variables): {} when absent.
Json object_at(const Json& json, std::string_view key, JsonReader& reader) {
  auto it = json.find(std::string(key));
  if (it == json.end() || it->is_null()) return Json::object();
  if (!it->is_object()) {
    reader.reject(key, "is not an object");
    return Json::object();
  }
  return *it;
}

Json action_json(const ActionExecution& a) {
  Json j{{"actionName", a.action_name},
         {"actionExecutionId", a.action_execution_id},
         {"status", std::string(action_status_name(a.status))},
         {"actionTypeId",
          Json{{"category", a.type.category}, {"owner", a.type.owner}, {"provider", a.type.provider}, {"version", a.type.version}}},
         {"configuration", a.configuration},
         {"resolvedConfiguration", a.resolved_configuration},
         {"inputArtifacts", artifacts_json(a.input_artifacts)},
         {"outputArtifacts", artifacts_json(a.output_artifacts)},
         {"outputVariables", a.output_variables}};
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("startTime", a.start_time);
  put("lastUpdateTime", a.last_update_time);
  put("updatedBy", a.updated_by);
  put("summary", a.summary);
  put("externalExecutionId", a.external_id);
  put("externalExecutionUrl", a.external_url);
  put("token", a.token);
  put("expires", a.expires);
  put("namespace", a.name_space);
  put("log", a.log);
  if (!a.error_code.empty() || !a.error_message.empty())
    j["errorDetails"] = Json{{"code", a.error_code}, {"message", a.error_message}};
  return j;
}

ActionExecution action_from(JsonReader& r, const Json& raw, const std::string& stage) {
  ActionExecution a;
  a.stage_name = stage;
  a.action_name = r.required_string("actionName");
  a.action_execution_id = r.string("actionExecutionId");
  auto status = r.required_string("status");
  if (auto s = parse_name(k_action_statuses, status)) a.status = *s;
  else if (r.has("status")) r.reject("status", fmt::format("is not an action status: '{}'", status));
  auto type = r.object("actionTypeId");
  a.type = {type.string("category"), type.string("owner"), type.string("provider"), type.string("version")};
  a.configuration = object_at(raw, "configuration", r);
  a.resolved_configuration = object_at(raw, "resolvedConfiguration", r);
  a.input_artifacts = artifacts_from(r, "inputArtifacts");
  a.output_artifacts = artifacts_from(r, "outputArtifacts");
  a.output_variables = object_at(raw, "outputVariables", r);
  a.start_time = r.string("startTime");
  a.last_update_time = r.string("lastUpdateTime");
  a.updated_by = r.string("updatedBy");
  a.summary = r.string("summary");
  a.external_id = r.string("externalExecutionId");
  a.external_url = r.string("externalExecutionUrl");
  a.token = r.string("token");
  a.expires = r.string("expires");
  a.name_space = r.string("namespace");
  a.log = r.string("log");
  auto error = r.object("errorDetails");
  a.error_code = error.string("code");
  a.error_message = error.string("message");
  return a;
}

}  // namespace

std::string_view execution_status_name(ExecutionStatus s) { return name_of(k_execution_statuses, s); }
std::string_view action_status_name(ActionStatus s) { return name_of(k_action_statuses, s); }
std::string_view stage_status_name(StageStatus s) { return name_of(k_stage_statuses, s); }
std::optional<ExecutionStatus> parse_execution_status(std::string_view s) { return parse_name(k_execution_statuses, s); }

bool is_final(ExecutionStatus s) {
  return s != ExecutionStatus::in_progress && s != ExecutionStatus::stopping;
}

ActionExecution* PipelineExecutionRecord::action(std::string_view stage, std::string_view name) {
  for (auto& s : stages)
    if (s.name == stage)
      for (auto& a : s.actions)
        if (a.action_name == name) return &a;
  return nullptr;
}

const ActionExecution* PipelineExecutionRecord::action(std::string_view stage, std::string_view name) const {
  return const_cast<PipelineExecutionRecord*>(this)->action(stage, name);
}

Json execution_to_json(const PipelineExecutionRecord& r) {
  Json stages = Json::array();
  for (auto& s : r.stages) {
    Json actions = Json::array();
    for (auto& a : s.actions) actions.push_back(action_json(a));
    Json stage{{"stageName", s.name}, {"status", std::string(stage_status_name(s.status))}, {"actions", actions}};
    if (s.retries > 0) stage["retries"] = s.retries;
    stages.push_back(stage);
  }
  Json revisions = Json::array();
  for (auto& v : r.artifact_revisions)
    revisions.push_back(Json{{"name", v.name},
                             {"revisionId", v.revision_id},
                             {"revisionSummary", v.revision_summary},
                             {"revisionUrl", v.revision_url},
                             {"created", v.created}});
  Json variables = Json::array();
  for (auto& [n, v] : r.variables) variables.push_back(Json{{"name", n}, {"resolvedValue", v}});
  Json j{{"pipelineName", r.pipeline_name},
         {"pipelineVersion", r.pipeline_version},
         {"pipelineExecutionId", r.id},
         {"status", std::string(execution_status_name(r.status))},
         {"statusSummary", r.status_summary},
         {"trigger", Json{{"triggerType", r.trigger_type}, {"triggerDetail", r.trigger_detail}}},
         {"executionMode", std::string(execution_mode_name(r.execution_mode))},
         {"executionType", r.execution_type},
         {"startTime", r.start_time},
         {"lastUpdateTime", r.last_update_time},
         {"artifactRevisions", revisions},
         {"variables", variables},
         {"stages", stages},
         {"currentStage", r.current_stage},
         {"waiting", r.waiting}};
  if (r.held) j["held"] = true;
  if (r.last_stage < r.stages.size()) j["lastStage"] = r.last_stage;
  if (!r.source_revisions.empty()) {
    Json list = Json::array();
    for (auto& v : r.source_revisions)
      list.push_back(Json{{"actionName", v.action_name}, {"revisionType", v.revision_type}, {"revisionValue", v.revision_value}});
    j["sourceRevisions"] = list;
  }
  if (!r.stop_reason.empty()) j["stopTrigger"] = Json{{"reason", r.stop_reason}};
  if (!r.rollback_target.empty()) j["rollbackMetadata"] = Json{{"rollbackTargetPipelineExecutionId", r.rollback_target}};
  if (r.process)
    j["process"] = Json{{"pid", r.process->pid}, {"host", r.process->host}, {"startTime", r.process->start_time}};
  return j;
}

Result<PipelineExecutionRecord> execution_from_json(const Json& json) {
  // Every field is read by type: a corrupt record is an error naming the field, never a throw.
  JsonReader j(json, "pipeline execution record");
  PipelineExecutionRecord r;
  r.pipeline_name = j.required_string("pipelineName");
  r.pipeline_version = j.integer<int>("pipelineVersion", 1);
  r.id = j.required_string("pipelineExecutionId");
  auto status = j.required_string("status");
  if (auto s = parse_execution_status(status)) r.status = *s;
  else if (j.has("status")) j.reject("status", fmt::format("is not an execution status: '{}'", status));
  r.status_summary = j.string("statusSummary");
  auto trigger = j.object("trigger");
  r.trigger_type = trigger.string("triggerType", "StartPipelineExecution");
  r.trigger_detail = trigger.string("triggerDetail");
  r.stop_reason = j.object("stopTrigger").string("reason");
  auto mode = j.string("executionMode", "SUPERSEDED");
  if (mode == "QUEUED") r.execution_mode = ExecutionMode::queued;
  else if (mode == "PARALLEL") r.execution_mode = ExecutionMode::parallel;
  else if (mode != "SUPERSEDED") j.reject("executionMode", fmt::format("is not an execution mode: '{}'", mode));
  r.execution_type = j.string("executionType", "STANDARD");
  r.rollback_target = j.object("rollbackMetadata").string("rollbackTargetPipelineExecutionId");
  r.start_time = j.string("startTime");
  r.last_update_time = j.string("lastUpdateTime");
  for (auto& v : j.objects("artifactRevisions"))
    r.artifact_revisions.push_back(
        {v.string("name"), v.string("revisionId"), v.string("revisionSummary"), v.string("revisionUrl"), v.string("created")});
  for (auto& v : j.objects("variables")) r.variables.emplace_back(v.required_string("name"), v.string("resolvedValue"));
  auto stages = j.objects("stages");
  const Json* raw_stages = json.is_object() && json.contains("stages") ? &json["stages"] : nullptr;
  for (size_t i = 0; i < stages.size(); ++i) {
    StageExecution s;
    s.name = stages[i].required_string("stageName");
    s.retries = stages[i].integer<int>("retries");
    auto st = stages[i].string("status", "NotStarted");
    if (auto parsed = parse_name(k_stage_statuses, st)) s.status = *parsed;
    else stages[i].reject("status", fmt::format("is not a stage status: '{}'", st));
    auto actions = stages[i].objects("actions");
    for (size_t k = 0; k < actions.size(); ++k) {
      // objects() gave a reader per element only for an array of objects, so these are there.
      const Json& raw_action = raw_stages->at(i).at("actions").at(k);
      s.actions.push_back(action_from(actions[k], raw_action, s.name));
    }
    r.stages.push_back(std::move(s));
  }
  r.current_stage = j.integer<size_t>("currentStage");
  r.waiting = j.boolean("waiting");
  r.held = j.boolean("held");
  r.last_stage = j.has("lastStage") ? j.integer<size_t>("lastStage") : static_cast<size_t>(-1);
  for (auto& v : j.objects("sourceRevisions"))
    r.source_revisions.push_back({v.required_string("actionName"), v.string("revisionType"), v.string("revisionValue")});
  if (j.has("process")) {
    auto p = j.object("process");
    r.process = ExecutionProcess{p.integer<int>("pid"), p.string("host"), p.integer<long long>("startTime")};
  }
  if (auto st = j.status(); !st) return std::unexpected(st.error());
  if (r.current_stage > r.stages.size()) return fail(ErrorKind::invalid, "pipeline execution record: currentStage is past the last stage");
  return r;
}

Json execution_detail_json(const PipelineExecutionRecord& r) {
  Json j = execution_to_json(r);
  for (auto key : {"stages", "currentStage", "waiting", "held", "lastStage", "sourceRevisions", "process", "startTime",
                   "lastUpdateTime"})
    j.erase(key);
  return j;
}

Json execution_summary_json(const PipelineExecutionRecord& r) {
  Json revisions = Json::array();
  for (auto& s : r.stages.empty() ? std::vector<ActionExecution>{} : r.stages.front().actions) {
    for (auto& v : r.artifact_revisions)
      if (!s.output_artifacts.empty() && s.output_artifacts.front().name == v.name)
        revisions.push_back(Json{{"actionName", s.action_name},
                                 {"revisionId", v.revision_id},
                                 {"revisionSummary", v.revision_summary},
                                 {"revisionUrl", v.revision_url}});
  }
  Json j{{"pipelineExecutionId", r.id},
         {"status", std::string(execution_status_name(r.status))},
         {"statusSummary", r.status_summary},
         {"startTime", r.start_time},
         {"lastUpdateTime", r.last_update_time},
         {"sourceRevisions", revisions},
         {"trigger", Json{{"triggerType", r.trigger_type}, {"triggerDetail", r.trigger_detail}}},
         {"executionMode", std::string(execution_mode_name(r.execution_mode))},
         {"executionType", r.execution_type}};
  if (!r.stop_reason.empty()) j["stopTrigger"] = Json{{"reason", r.stop_reason}};
  if (!r.rollback_target.empty()) j["rollbackMetadata"] = Json{{"rollbackTargetPipelineExecutionId", r.rollback_target}};
  return j;
}

Json action_execution_detail_json(const PipelineExecutionRecord& r, const ActionExecution& a) {
  Json input{{"actionTypeId",
              Json{{"category", a.type.category}, {"owner", a.type.owner}, {"provider", a.type.provider}, {"version", a.type.version}}},
             {"configuration", a.configuration},
             {"resolvedConfiguration", a.resolved_configuration},
             {"inputArtifacts", Json::array()}};
  for (auto& in : a.input_artifacts)
    input["inputArtifacts"].push_back(Json{{"name", in.name}, {"s3location", Json{{"bucket", "local"}, {"key", in.path}}}});
  if (!a.name_space.empty()) input["namespace"] = a.name_space;
  Json output{{"outputArtifacts", Json::array()}, {"outputVariables", a.output_variables}};
  for (auto& o : a.output_artifacts)
    output["outputArtifacts"].push_back(Json{{"name", o.name}, {"s3location", Json{{"bucket", "local"}, {"key", o.path}}}});
  Json result{{"externalExecutionId", a.external_id},
              {"externalExecutionSummary", a.summary},
              {"externalExecutionUrl", a.external_url}};
  if (!a.error_code.empty()) result["errorDetails"] = Json{{"code", a.error_code}, {"message", a.error_message}};
  output["executionResult"] = result;
  Json j{{"pipelineExecutionId", r.id},
         {"actionExecutionId", a.action_execution_id},
         {"pipelineVersion", r.pipeline_version},
         {"stageName", a.stage_name},
         {"actionName", a.action_name},
         {"startTime", a.start_time},
         {"lastUpdateTime", a.last_update_time},
         {"status", std::string(action_status_name(a.status))},
         {"input", input},
         {"output", output}};
  if (!a.updated_by.empty()) j["updatedBy"] = a.updated_by;
  return j;
}

PipelineExecutionRecord new_execution(const Pipeline& pipeline, std::string id, std::string now) {
  PipelineExecutionRecord r;
  r.pipeline_name = pipeline.name;
  r.pipeline_version = pipeline.version;
  r.id = std::move(id);
  r.execution_mode = pipeline.execution_mode;
  r.start_time = now;
  r.last_update_time = std::move(now);
  for (auto& v : pipeline.variables) r.variables.emplace_back(v.name, v.default_value);
  for (auto& stage : pipeline.stages) {
    StageExecution s;
    s.name = stage.name;
    for (auto& action : stage.actions) {
      ActionExecution a;
      a.action_name = action.name;
      a.stage_name = stage.name;
      a.type = action.type;
      for (auto& [k, v] : action.configuration) a.configuration[k] = v;
      a.name_space = action.name_space;
      s.actions.push_back(std::move(a));
    }
    r.stages.push_back(std::move(s));
  }
  return r;
}

std::string executions_prefix(std::string_view pipeline) { return fmt::format("pipelines/{}/executions/", pipeline); }
std::string execution_key(std::string_view pipeline, std::string_view id) {
  return fmt::format("pipelines/{}/executions/{}.json", pipeline, id);
}
std::filesystem::path action_work_dir(const std::filesystem::path& execution_dir, std::string_view stage, std::string_view action) {
  return execution_dir / "work" / stage / action;
}
std::filesystem::path action_log_path(const std::filesystem::path& execution_dir, std::string_view stage, std::string_view action) {
  return execution_dir / "logs" / fmt::format("{}.{}.log", stage, action);
}
std::string pipeline_state_key(std::string_view pipeline) { return fmt::format("pipelines/{}/state.json", pipeline); }
std::string execution_stop_request_key(std::string_view pipeline, std::string_view id) {
  return fmt::format("pipelines/{}/executions/{}/stop-request.json", pipeline, id);
}

}  // namespace cicd

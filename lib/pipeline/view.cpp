#include "pipeline/view.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <set>

#include "artifact/artifact_dir.hpp"
#include "pipeline/actions.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

std::string text_of(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string type_text(const ActionTypeId& t) { return fmt::format("{}/{}/{}", t.owner, t.category, t.provider); }

// ---- show: the model ----

ActionView action_view(const PipelineAction& a, const ActionExecution* ae) {
  ActionView v;
  v.name = a.name;
  v.type = a.type;
  for (auto& in : a.inputs) v.inputs.push_back(in.name);
  for (auto& out : a.outputs) v.outputs.push_back(out.name);
  v.status = "NotStarted";
  if (!ae || ae->status == ActionStatus::not_started) return v;
  v.status = std::string(action_status_name(ae->status));
  v.start_time = ae->start_time;
  v.last_update_time = ae->last_update_time;
  v.external_id = ae->external_id;
  v.summary = ae->summary;
  v.error_message = ae->error_message;
  // Only a waiting approval has a token worth showing: an answered one can no longer be used.
  if (ae->status == ActionStatus::in_progress && !ae->token.empty()) {
    v.token = ae->token;
    v.expires = ae->expires;
    v.custom_data = text_of(ae->resolved_configuration, "CustomData");
  }
  return v;
}

StageView stage_view(const PipelineStage& stage, const PipelineExecutionRecord* record) {
  StageView v;
  v.name = stage.name;
  const StageExecution* se = nullptr;
  if (record)
    for (auto& s : record->stages)
      if (s.name == stage.name) se = &s;
  bool reached = se && se->status != StageStatus::not_started;
  if (reached) {
    v.status = std::string(stage_status_name(se->status));
    v.execution_id = record->id;
  }
  for (int order : stage.run_orders()) {
    std::vector<ActionView> group;
    for (auto& a : stage.actions)
      if (a.run_order == order) group.push_back(action_view(a, reached ? record->action(stage.name, a.name) : nullptr));
    v.groups.push_back(std::move(group));
  }
  return v;
}

// The inbound transition as GetPipelineState gives it (enabled unless state.json says otherwise).
void read_transition(const Json& stage_state, StageView& v) {
  if (!stage_state.is_object() || !stage_state.contains("inboundTransitionState")) return;
  const Json& t = stage_state["inboundTransitionState"];
  if (t.is_object() && t.contains("enabled") && t["enabled"].is_boolean()) v.transition_enabled = t["enabled"].get<bool>();
  v.transition_reason = text_of(t, "disabledReason");
}

// ---- show: text ----

struct Palette {
  bool on = false;
  std::string paint(std::string_view text, std::string_view status) const {
    if (!on) return std::string(text);
    const char* code = "0";
    if (status == "Succeeded") code = "32";
    else if (status == "Failed") code = "31";
    else if (status == "InProgress" || status == "Stopping") code = "33";
    else if (status == "NotStarted") code = "2";
    else code = "35";  // Stopped, Abandoned, Cancelled, Superseded, Skipped
    return fmt::format("\033[{}m{}\033[0m", code, text);
  }
  std::string bold(std::string_view text) const { return on ? fmt::format("\033[1m{}\033[0m", text) : std::string(text); }
};

std::string duration_text(long long seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  return fmt::format("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60);
}

// "started T" while it runs, "T0 -> T1 (3s)" once it has ended.
std::string times_text(const ActionView& a) {
  if (a.start_time.empty()) return "";
  if (a.status == "InProgress") return "started " + a.start_time;
  auto from = parse_iso8601(a.start_time), to = parse_iso8601(a.last_update_time);
  if (!from || !to) return a.start_time;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*to - *from).count();
  return fmt::format("{} -> {} ({})", a.start_time, a.last_update_time, duration_text(seconds));
}

void render_action(std::string& out, const ActionView& a, const std::string& pipeline, const std::string& stage,
                   std::string_view lead, const Palette& p) {
  out += fmt::format("|{}{}  {}  {}", lead, p.bold(a.name), type_text(a.type), p.paint(a.status, a.status));
  if (auto t = times_text(a); !t.empty()) out += "  " + t;
  if (!a.external_id.empty()) out += "  id " + a.external_id;
  out += "\n";
  std::string pad(lead.size() + 2, ' ');
  if (!a.error_message.empty()) out += fmt::format("|{}error: {}\n", pad, a.error_message);
  if (a.token.empty()) return;
  out += fmt::format("|{}waiting for approval{}\n", pad, a.custom_data.empty() ? "" : ": " + a.custom_data);
  out += fmt::format("|{}token {} (expires {})\n", pad, a.token, a.expires);
  out += fmt::format("|{}cpipeline approve --pipeline-name {} --stage-name {} --action-name {} --token {} --summary TEXT\n",
                     pad, pipeline, stage, a.name, a.token);
}

void render_stage(std::string& out, const StageView& s, const std::string& pipeline, const Palette& p) {
  out += fmt::format("+-- {}  {}{}\n", p.bold(s.name), p.paint(s.status, s.status),
                     s.execution_id.empty() ? "" : "  (execution " + s.execution_id + ")");
  for (size_t g = 0; g < s.groups.size(); ++g) {
    const auto& group = s.groups[g];
    // A group of several actions runs in parallel: one runOrder label, the members marked.
    for (size_t i = 0; i < group.size(); ++i) {
      std::string lead = group.size() == 1 ? fmt::format(" [{}] ", g + 1)
                                           : fmt::format(" [{}] {} ", g + 1, i + 1 == group.size() ? '`' : '+');
      render_action(out, group[i], pipeline, s.name, lead, p);
    }
  }
  out += "+--\n";
}

// ---- show: dot ----

std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string node_id(const StageView& s, const ActionView& a) { return dot_quote(s.name + "/" + a.name); }

void dot_artifact_edges(std::string& out, const PipelineView& view) {
  std::map<std::string, std::string> producers;  // artifact -> node
  for (auto& s : view.stages)
    for (auto& g : s.groups)
      for (auto& a : g)
        for (auto& o : a.outputs) producers[o] = node_id(s, a);
  for (auto& s : view.stages)
    for (auto& g : s.groups)
      for (auto& a : g)
        for (auto& in : a.inputs)
          if (auto it = producers.find(in); it != producers.end())
            out += fmt::format("  {} -> {} [label={}];\n", it->second, node_id(s, a), dot_quote(in));
}

// Stage order, drawn cluster to cluster (compound edges) so that it reads as the pipeline's flow.
void dot_stage_edges(std::string& out, const PipelineView& view) {
  for (size_t i = 0; i + 1 < view.stages.size(); ++i) {
    const auto& from = view.stages[i];
    const auto& to = view.stages[i + 1];
    if (from.groups.empty() || to.groups.empty()) continue;
    std::string extra = to.transition_enabled ? "" : ", color=red, label=" + dot_quote("transition disabled");
    out += fmt::format("  {} -> {} [style=dashed, ltail=\"cluster_{}\", lhead=\"cluster_{}\"{}];\n",
                       node_id(from, from.groups.front().front()), node_id(to, to.groups.front().front()), i, i + 1, extra);
  }
}

// ---- plan ----

std::string producer_of_namespace(const Pipeline& pipeline, const std::string& name_space) {
  for (auto& s : pipeline.stages)
    for (auto& a : s.actions)
      if (!a.name_space.empty() && a.name_space == name_space) return s.name + "/" + a.name;
  return "";
}

// What a start knows before any action has run: the execution's id (not yet made) and the
// pipeline variables; every action's output variables wait for the action.
VariableLookup plan_lookup(const std::vector<std::pair<std::string, std::string>>& variables) {
  return [&variables](const VariableReference& ref) -> std::optional<std::string> {
    if (ref.name_space == "codepipeline" && ref.variable == "PipelineExecutionId") return "<execution id>";
    if (ref.name_space == "variables")
      for (auto& [n, v] : variables)
        if (n == ref.variable) return v;
    return std::nullopt;
  };
}

PlannedAction plan_action(const Pipeline& pipeline, const PipelineAction& a, const VariableLookup& lookup) {
  PlannedAction p;
  p.name = a.name;
  p.type = a.type;
  p.run_order = a.run_order;
  p.runner = action_runner(a);
  p.local_command = a.local_command;
  p.name_space = a.name_space;
  std::vector<VariableReference> missing;
  for (auto& [k, v] : a.configuration) p.configuration.emplace_back(k, resolve_references(v, lookup, missing));
  for (auto& c : a.commands) p.commands.push_back(resolve_references(c, lookup, missing));
  std::set<std::string> seen;
  for (auto& ref : missing)
    if (seen.insert(reference_text(ref)).second)
      p.unknown.push_back({reference_text(ref), producer_of_namespace(pipeline, ref.name_space)});
  for (auto& in : a.inputs) {
    auto producer = pipeline.producer(in.name);
    p.inputs.push_back({in.name, producer ? producer->first->name + "/" + producer->second->name : ""});
  }
  for (auto& out : a.outputs) p.outputs.push_back({out.name, ""});
  return p;
}

std::string_view runner_name(ActionRunner r) {
  switch (r) {
    case ActionRunner::provider: return "provider";
    case ActionRunner::local_command: return "localCommand";
    case ActionRunner::none: return "none";
  }
  return "none";
}

std::string runner_text(const PlannedAction& a) {
  switch (a.runner) {
    case ActionRunner::provider: return "runs here (" + a.type.provider + ")";
    case ActionRunner::local_command: return "runs here (local command: " + a.local_command + ")";
    case ActionRunner::none: return "no local runner: start would refuse";
  }
  return "";
}

void render_planned_action(std::string& out, const PlannedAction& a) {
  out += fmt::format("  [{}] {}  {}  {}\n", a.run_order, a.name, type_text(a.type), runner_text(a));
  for (auto& in : a.inputs)
    out += fmt::format("        input {}{}\n", in.name, in.producer.empty() ? "" : " (from " + in.producer + ")");
  for (auto& o : a.outputs) out += fmt::format("        output {}\n", o.name);
  for (auto& [k, v] : a.configuration) out += fmt::format("        {} = {}\n", k, v);
  for (auto& c : a.commands) out += fmt::format("        $ {}\n", c);
  if (!a.name_space.empty()) out += fmt::format("        namespace {}\n", a.name_space);
  for (auto& u : a.unknown)
    out += fmt::format("        known when it runs: {} ({})\n", u.reference,
                       u.producer.empty() ? "no action produces it" : "from " + u.producer);
}

Json planned_action_json(const PlannedAction& a) {
  Json config = Json::object();
  for (auto& [k, v] : a.configuration) config[k] = v;
  Json unknown = Json::array();
  for (auto& u : a.unknown) unknown.push_back(Json{{"reference", u.reference}, {"producer", u.producer}});
  Json inputs = Json::array(), outputs = Json::array();
  for (auto& in : a.inputs) inputs.push_back(Json{{"name", in.name}, {"producer", in.producer}});
  for (auto& o : a.outputs) outputs.push_back(Json{{"name", o.name}});
  Json j{{"actionName", a.name},
         {"runOrder", a.run_order},
         {"actionTypeId",
          Json{{"category", a.type.category}, {"owner", a.type.owner}, {"provider", a.type.provider}, {"version", a.type.version}}},
         {"runner", std::string(runner_name(a.runner))},
         {"configuration", config},
         {"unknownVariables", unknown},
         {"inputArtifacts", inputs},
         {"outputArtifacts", outputs}};
  if (!a.commands.empty()) j["commands"] = a.commands;
  if (!a.local_command.empty()) j["localCommand"] = a.local_command;
  if (!a.name_space.empty()) j["namespace"] = a.name_space;
  return j;
}

// ---- logs ----

// Finds the execution: in the pipeline named, or in whichever pipeline has it.
Result<PipelineExecutionRecord> find_execution(PipelineEngine& engine, const Pipelines& pipelines, const std::string& id,
                                               const std::string& pipeline) {
  if (!pipeline.empty()) return engine.get_execution(pipeline, id);
  auto names = pipelines.list();
  if (!names) return std::unexpected(names.error());
  for (auto& name : *names) {
    auto got = engine.get_execution(name, id);
    if (got || got.error().kind != ErrorKind::not_found) return got;
  }
  return fail(ErrorKind::not_found, "pipeline execution '{}' does not exist in any pipeline", id);
}

// Where an action's log is: its record names it once the action has ended; while it runs, it is
// where the engine has the action write it (a local command's log, or its build's).
fs::path log_of(const fs::path& execution_dir, const ActionExecution& ae) {
  if (!ae.log.empty()) return ae.log;
  std::error_code ec;
  auto local = action_log_path(execution_dir, ae.stage_name, ae.action_name);
  if (fs::exists(local, ec)) return local;
  auto build = build_artifacts_dir(action_work_dir(execution_dir, ae.stage_name, ae.action_name));
  if (auto log = ArtifactDirLayout{build}.log(); fs::exists(log, ec)) return log;
  // A project that keeps an artifact directory per build puts it one level down.
  for (auto it = fs::directory_iterator(build, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (auto log = ArtifactDirLayout{it->path()}.log(); fs::exists(log, ec)) return log;
  return {};
}

// What has been added to a file since `offset` (which moves on).
std::string read_from(const fs::path& path, std::uintmax_t& offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset += data.size();
  return data;
}

bool picked(const ActionExecution& ae, const std::string& action) {
  return action.empty() || ae.action_name == action || ae.stage_name + "/" + ae.action_name == action;
}

// start stops at an approval with nobody running the execution: so does a follow.
bool waits_for_approval(const PipelineExecutionRecord& r) {
  if (is_final(r.status) || r.process) return false;
  for (auto& s : r.stages)
    for (auto& a : s.actions)
      if (a.status == ActionStatus::in_progress && !a.token.empty()) return true;
  return false;
}

// One pass over the started actions: a header for each the first time, then its new output.
class LogPrinter {
 public:
  LogPrinter(fs::path execution_dir, const LogsOptions& options) : m_dir(std::move(execution_dir)), m_options(options) {}

  void print(const PipelineExecutionRecord& r) {
    for (auto& s : r.stages)
      for (auto& a : s.actions)
        if (a.status != ActionStatus::not_started && picked(a, m_options.action)) print_action(a);
  }

 private:
  // As `tail -f` of several files: a header when an action is first seen, and again whenever the
  // output comes from another action than the last that printed.
  void print_action(const ActionExecution& a) {
    std::string key = a.stage_name + "/" + a.action_name;
    auto [it, first] = m_offsets.emplace(key, 0);
    auto path = log_of(m_dir, a);
    std::string data = path.empty() ? std::string() : read_from(path, it->second);
    if (m_options.action.empty() && (first || (!data.empty() && m_last != key))) {
      m_options.write(fmt::format("{}==> {} ({}) <==\n", m_last.empty() ? "" : "\n", key, action_status_name(a.status)));
      m_last = key;
    }
    if (!data.empty()) m_options.write(data);
  }

  fs::path m_dir;
  const LogsOptions& m_options;
  std::map<std::string, std::uintmax_t> m_offsets;
  std::string m_last;  // the action whose header was printed last
};

}  // namespace

// ---- show ----

Result<PipelineView> pipeline_view(PipelineEngine& engine, const Pipeline& pipeline, const std::string& execution_id) {
  // 1. Each stage's latest execution and its transition, as get-pipeline-state has them.
  auto state = engine.state(pipeline);
  if (!state) return std::unexpected(state.error());
  // 2. The executions those are (or the one asked for), read once each.
  std::map<std::string, PipelineExecutionRecord> records;
  auto record_of = [&](const std::string& id) -> Result<const PipelineExecutionRecord*> {
    if (id.empty()) return nullptr;
    if (auto it = records.find(id); it != records.end()) return &it->second;
    auto got = engine.get_execution(pipeline.name, id);
    if (!got) return std::unexpected(got.error());
    return &records.emplace(id, std::move(*got)).first->second;
  };
  PipelineView view{pipeline.name, execution_id, {}};
  const Json& stage_states = (*state)["stageStates"];
  // 3. A stage view each, from its own execution.
  for (size_t i = 0; i < pipeline.stages.size(); ++i) {
    const Json& st = i < stage_states.size() ? stage_states[i] : Json::object();
    std::string id = execution_id;
    if (id.empty() && st.contains("latestExecution")) id = text_of(st["latestExecution"], "pipelineExecutionId");
    auto record = record_of(id);
    if (!record) return std::unexpected(record.error());
    StageView v = stage_view(pipeline.stages[i], *record);
    read_transition(st, v);
    view.stages.push_back(std::move(v));
  }
  return view;
}

std::string render_view_text(const PipelineView& view, bool color) {
  Palette p{color};
  std::string out = fmt::format("pipeline {}{}\n", p.bold(view.pipeline),
                                view.execution_id.empty() ? "" : "  execution " + view.execution_id);
  for (auto& s : view.stages) {
    if (!s.transition_enabled)
      out += fmt::format("  {} inbound transition disabled{}\n", p.paint("X", "Failed"),
                         s.transition_reason.empty() ? "" : ": " + s.transition_reason);
    else if (&s != &view.stages.front())
      out += "  |\n";
    render_stage(out, s, view.pipeline, p);
  }
  return out;
}

std::string render_view_dot(const PipelineView& view) {
  std::string out = fmt::format("digraph {} {{\n  compound=true;\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
                                dot_quote(view.pipeline));
  for (size_t i = 0; i < view.stages.size(); ++i) {
    const auto& s = view.stages[i];
    out += fmt::format("  subgraph \"cluster_{}\" {{\n    label={};\n", i, dot_quote(s.name + "\n" + s.status));
    for (auto& g : s.groups)
      for (auto& a : g)
        out += fmt::format("    {} [label={}];\n", node_id(s, a), dot_quote(a.name + "\n" + a.type.provider + "\n" + a.status));
    out += "  }\n";
  }
  dot_artifact_edges(out, view);
  dot_stage_edges(out, view);
  return out + "}\n";
}

// ---- plan ----

Result<Plan> plan_pipeline(const Pipeline& pipeline, const std::vector<std::pair<std::string, std::string>>& variables) {
  // 1. The checks start makes: a variable it would refuse is an error here too; an action it
  // cannot run is reported with the rest of the plan.
  if (auto st = check_variables(pipeline, variables); !st) return std::unexpected(st.error());
  Plan plan;
  plan.pipeline = pipeline.name;
  if (auto st = check_runners(pipeline); !st) plan.refusal = st.error().message;
  // 2. The pipeline variables as the execution would have them: given, else their default.
  for (auto& v : pipeline.variables) {
    std::string value = v.default_value;
    for (auto& [n, given] : variables)
      if (n == v.name) value = given;
    plan.variables.emplace_back(v.name, value);
  }
  // 3. Each stage's groups in order, each action's configuration resolved as far as can be.
  auto lookup = plan_lookup(plan.variables);
  for (auto& stage : pipeline.stages) {
    PlannedStage ps{stage.name, {}};
    for (int order : stage.run_orders()) {
      std::vector<PlannedAction> group;
      for (auto& a : stage.actions)
        if (a.run_order == order) group.push_back(plan_action(pipeline, a, lookup));
      ps.groups.push_back(std::move(group));
    }
    plan.stages.push_back(std::move(ps));
  }
  return plan;
}

std::string render_plan_text(const Plan& plan) {
  std::string out = fmt::format("plan of pipeline {} (nothing has run)\n", plan.pipeline);
  for (auto& [n, v] : plan.variables) out += fmt::format("variable {} = {}\n", n, v);
  for (auto& s : plan.stages) {
    out += fmt::format("stage {}\n", s.name);
    for (auto& g : s.groups)
      for (auto& a : g) render_planned_action(out, a);
  }
  if (!plan.refusal.empty()) out += "start would refuse: " + plan.refusal + "\n";
  return out;
}

Json plan_to_json(const Plan& plan) {
  Json variables = Json::array(), stages = Json::array();
  for (auto& [n, v] : plan.variables) variables.push_back(Json{{"name", n}, {"value", v}});
  for (auto& s : plan.stages) {
    Json actions = Json::array();
    for (auto& g : s.groups)
      for (auto& a : g) actions.push_back(planned_action_json(a));
    stages.push_back(Json{{"stageName", s.name}, {"actions", actions}});
  }
  Json j{{"pipelineName", plan.pipeline}, {"variables", variables}, {"stages", stages}};
  if (!plan.refusal.empty()) j["startWouldRefuse"] = plan.refusal;
  return j;
}

// ---- logs ----

Result<LogsResult> print_logs(PipelineEngine& engine, const Pipelines& pipelines, const std::string& execution_id,
                              const LogsOptions& options) {
  // 1. The execution, wherever it is, and the action asked for.
  auto record = find_execution(engine, pipelines, execution_id, options.pipeline);
  if (!record) return std::unexpected(record.error());
  const std::string pipeline = record->pipeline_name;
  if (!options.action.empty()) {
    bool found = false;
    for (auto& s : record->stages)
      for (auto& a : s.actions) found = found || picked(a, options.action);
    if (!found)
      return fail(ErrorKind::not_found, "execution {} of pipeline '{}' has no action '{}'", execution_id, pipeline,
                  options.action);
  }
  // 2. What has been written; following, what is written next, until the execution ends or
  // waits. Each look reads the record before the logs, so an ended record's logs are complete.
  LogPrinter printer(engine.execution_dir(pipeline, execution_id), options);
  for (;;) {
    printer.print(*record);
    bool waiting = waits_for_approval(*record);
    if (!options.follow || is_final(record->status) || waiting) return LogsResult{std::move(*record), waiting, false};
    if (options.cancel.wait_for(options.interval)) return LogsResult{std::move(*record), false, true};
    record = engine.get_execution(pipeline, execution_id);
    if (!record) return std::unexpected(record.error());
  }
}

}  // namespace cicd

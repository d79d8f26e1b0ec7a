#include "pipeline/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <atomic>
#include <thread>

#include "store/stop_request.hpp"

#include "pipeline/actions.hpp"
#include "pipeline/variables.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

constexpr auto k_wait_interval = std::chrono::milliseconds(200);

std::string who() { return current_user_name(); }

ExecutionProcess this_process() {
  int pid = static_cast<int>(::getpid());
  return ExecutionProcess{pid, host_name(), static_cast<long long>(process_start_time(pid))};
}

// ---- the stages' holders (state.json): which execution is in each stage, who waits for it ----

struct StageSlot {
  std::string holder;
  std::vector<std::string> waiting;  // oldest first
};

std::map<std::string, StageSlot> slots_from(const std::optional<Json>& state) {
  std::map<std::string, StageSlot> out;
  if (!state || !state->is_object() || !state->contains("stages") || !(*state)["stages"].is_object()) return out;
  for (auto& [name, v] : (*state)["stages"].items()) {
    if (!v.is_object()) continue;
    StageSlot s;
    if (v.contains("holder") && v["holder"].is_string()) s.holder = v["holder"].get<std::string>();
    if (v.contains("waiting") && v["waiting"].is_array())
      for (auto& w : v["waiting"])
        if (w.is_string()) s.waiting.push_back(w.get<std::string>());
    out[name] = std::move(s);
  }
  return out;
}

Json state_json(const std::optional<Json>& previous, const std::map<std::string, StageSlot>& slots) {
  Json j = previous && previous->is_object() ? *previous : Json::object();
  Json stages = Json::object();
  for (auto& [name, s] : slots) {
    if (s.holder.empty() && s.waiting.empty()) continue;
    Json v = Json::object();
    if (!s.holder.empty()) v["holder"] = s.holder;
    if (!s.waiting.empty()) v["waiting"] = s.waiting;
    stages[name] = v;
  }
  j["stages"] = stages;
  return j;
}

void remove_from(std::vector<std::string>& list, const std::string& id) {
  list.erase(std::remove(list.begin(), list.end(), id), list.end());
}

// Lets `id` go of every stage it holds or waits for.
Status leave_all_stages(Store& store, const std::string& pipeline, const std::string& id) {
  auto st = store.update_json(pipeline_state_key(pipeline), [&](std::optional<Json> cur) -> Result<Json> {
    auto slots = slots_from(cur);
    for (auto& [name, slot] : slots) {
      if (slot.holder == id) slot.holder.clear();
      remove_from(slot.waiting, id);
    }
    return state_json(cur, slots);
  });
  if (!st) return std::unexpected(st.error());
  return {};
}

// The repair of a look (as builds and deployments have it): an execution whose process died
// (kill -9, a reboot) ends Failed, the action it was running Failed with the reason; one whose
// approval timed out while nobody answered ends Failed too. Either lets go of its stages, so the
// executions waiting behind it go on. Anything else is returned as it is.
Result<PipelineExecutionRecord> repair(Store& store, const Clock& clock, PipelineExecutionRecord r) {
  if (is_final(r.status)) return r;
  auto now = clock.now();
  const auto& p = r.process;
  bool dead = p && !run_alive(r.id, p->pid, static_cast<uint64_t>(p->start_time), p->host);
  bool expired = false;
  if (!p)
    for (auto& s : r.stages)
      for (auto& a : s.actions)
        if (a.status == ActionStatus::in_progress && !a.token.empty() && !a.expires.empty()) {
          auto when = parse_iso8601(a.expires);
          expired = expired || (when && now > *when);
        }
  if (!dead && !expired) return r;
  auto key = execution_key(r.pipeline_name, r.id);
  std::optional<PipelineExecutionRecord> out;
  auto updated = store.update_json(key, [&](std::optional<Json> cur) -> Result<Json> {
    if (!cur) return fail(ErrorKind::not_found, "pipeline execution '{}' vanished", r.id);
    auto rec = execution_from_json(*cur);
    if (!rec) return std::unexpected(rec.error());
    if (is_final(rec->status)) {
      out = *rec;
      return *cur;
    }
    std::string why = dead ? fmt::format("the cpipeline process running this execution (pid {} on {}) ended before it "
                                         "finished",
                                         p->pid, p->host)
                           : std::string();
    for (auto& s : rec->stages) {
      bool failed = false;
      for (auto& a : s.actions) {
        if (a.status != ActionStatus::in_progress) continue;
        if (!a.token.empty() && !dead) {
          auto when = parse_iso8601(a.expires);
          if (!when || now <= *when) continue;
          a.error_code = "ApprovalTimedOut";
          a.error_message = fmt::format("the approval timed out at {} with no answer", a.expires);
          why = fmt::format("approval {}/{} timed out", s.name, a.action_name);
        } else {
          a.error_code = "JobFailed";
          a.error_message = why;
        }
        a.status = ActionStatus::failed;
        a.last_update_time = format_iso8601(now);
        failed = true;
      }
      if (failed || s.status == StageStatus::in_progress) s.status = StageStatus::failed;
    }
    rec->status = rec->status == ExecutionStatus::stopping ? ExecutionStatus::stopped : ExecutionStatus::failed;
    rec->status_summary = why;
    rec->process.reset();
    rec->last_update_time = format_iso8601(now);
    out = *rec;
    return execution_to_json(*rec);
  });
  if (!updated) return std::unexpected(updated.error());
  if (auto st = leave_all_stages(store, r.pipeline_name, r.id); !st) return std::unexpected(st.error());
  return std::move(*out);
}

}  // namespace

PipelineEngine::PipelineEngine(Store& store, fs::path home, fs::path store_root, ProcessRunner& runner, const Clock& clock)
    : m_store(store), m_home(std::move(home)), m_store_root(std::move(store_root)), m_runner(runner), m_clock(clock) {}

fs::path PipelineEngine::execution_dir(const std::string& pipeline, const std::string& id) const {
  auto key = fmt::format("pipelines/{}/executions/{}", pipeline, id);
  if (auto local = m_store.local_path(key)) return *local;
  return m_store_root / key;
}

// One execution being advanced by this process: its record is the store's, changed only through
// read-modify-writes (several actions end at once; another process may answer an approval or
// ask for a stop), and its in-memory copy follows each change.
class PipelineEngine::Execution {
 public:
  Execution(PipelineEngine& engine, const Pipeline& pipeline, std::string id, const PipelineRunOptions& options)
      : m_e(engine), m_p(pipeline), m_id(std::move(id)), m_options(options), m_key(execution_key(pipeline.name, m_id)) {}

  Result<PipelineExecutionRecord> load() {
    auto got = get_record(m_e.m_store, m_key, execution_from_json);
    if (!got) return std::unexpected(got.error());
    if (!*got) return fail(ErrorKind::not_found, "pipeline execution '{}' of pipeline '{}' does not exist", m_id, m_p.name);
    return std::move(**got);
  }

  // Applies `change` to the stored record (retried on a concurrent write) and returns the result.
  // Intermediate states are replaced atomically; an execution's end, a wait for an approval and
  // an answer are flushed to disk too (Durability::sync), as builds and deployments do.
  Result<PipelineExecutionRecord> change(const std::function<Status(PipelineExecutionRecord&)>& fn,
                                         Durability durability = Durability::atomic) {
    std::lock_guard lock(m_mutex);
    std::optional<PipelineExecutionRecord> result;
    auto updated = m_e.m_store.update_json(m_key, [&](std::optional<Json> cur) -> Result<Json> {
      if (!cur) return fail(ErrorKind::not_found, "pipeline execution '{}' vanished", m_id);
      auto r = execution_from_json(*cur);
      if (!r) {
        Error e = r.error();
        e.message = fmt::format("'{}': {}", m_e.m_store.where(m_key), e.message);
        return std::unexpected(std::move(e));
      }
      if (auto st = fn(*r); !st) return std::unexpected(st.error());
      r->last_update_time = format_iso8601(m_e.m_clock.now());
      result = *r;
      return execution_to_json(*r);
    }, durability);
    if (!updated) return std::unexpected(updated.error());
    return std::move(*result);
  }

  void say(const std::string& line) {
    if (m_options.progress) m_options.progress(line);
  }

  // 1. Enter stage `index`: wait while another execution holds it (SUPERSEDED: a newer waiting
  // execution replaces an older waiting one; QUEUED: in order; PARALLEL: no waiting), then hold
  // it and let go of the stage before. Returns false when this execution was superseded.
  Result<bool> enter_stage(size_t index) {
    const std::string& name = m_p.stages[index].name;
    const std::string previous = index > 0 ? m_p.stages[index - 1].name : "";
    if (m_p.execution_mode == ExecutionMode::parallel) return true;
    bool said = false;
    for (;;) {
      bool held = false;
      std::vector<std::string> superseded;
      auto st = m_e.m_store.update_json(pipeline_state_key(m_p.name), [&](std::optional<Json> cur) -> Result<Json> {
        held = false;
        superseded.clear();
        auto slots = slots_from(cur);
        auto& slot = slots[name];
        if (!slot.holder.empty() && slot.holder != m_id && !holder_done(slot.holder)) {
          if (std::find(slot.waiting.begin(), slot.waiting.end(), m_id) == slot.waiting.end()) {
            if (m_p.execution_mode == ExecutionMode::superseded) {
              superseded = slot.waiting;
              slot.waiting.clear();
            }
            slot.waiting.push_back(m_id);
          }
          return state_json(cur, slots);
        }
        held = true;
        slot.holder = m_id;
        remove_from(slot.waiting, m_id);
        if (!previous.empty() && slots[previous].holder == m_id) slots[previous].holder.clear();
        return state_json(cur, slots);
      }, Durability::atomic);
      if (!st) return std::unexpected(st.error());
      for (auto& other : superseded)
        if (auto replaced = supersede(other); !replaced) return std::unexpected(replaced.error());
      if (held) {
        auto marked = change([&](PipelineExecutionRecord& r) -> Status {
          r.current_stage = index;
          r.waiting = false;
          return {};
        });
        if (!marked) return std::unexpected(marked.error());
        return true;
      }
      auto now = load();
      if (!now) return std::unexpected(now.error());
      if (now->status == ExecutionStatus::superseded) return false;
      if (!said) {
        said = true;
        say(fmt::format("waiting to enter stage {} (another execution is in it)", name));
        auto marked = change([&](PipelineExecutionRecord& r) -> Status {
          r.current_stage = index;
          r.waiting = true;
          return {};
        });
        if (!marked) return std::unexpected(marked.error());
      }
      if (m_cancel.wait_for(k_wait_interval)) return fail(ErrorKind::stopped, "{}", m_cancel.message());
    }
  }

  // Lets go of every stage this execution holds or waits for.
  Status leave_stages() {
    auto st = m_e.m_store.update_json(pipeline_state_key(m_p.name), [&](std::optional<Json> cur) -> Result<Json> {
      auto slots = slots_from(cur);
      for (auto& [name, slot] : slots) {
        if (slot.holder == m_id) slot.holder.clear();
        remove_from(slot.waiting, m_id);
      }
      return state_json(cur, slots);
    });
    if (!st) return std::unexpected(st.error());
    return {};
  }

  ~Execution() {
    m_watch_quit.cancel(CancelReason::stopped);
    if (m_watcher.joinable()) m_watcher.join();
  }

  // Runs the execution from where its record says it is.
  Result<ExecutionResult> run() {
    m_watcher = std::thread([this] { watch_stop_requests(); });
    auto rec = change([&](PipelineExecutionRecord& r) -> Status {
      r.process = this_process();
      return {};
    });
    if (!rec) return std::unexpected(rec.error());
    for (size_t s = rec->current_stage; s < m_p.stages.size(); ++s) {
      auto entered = enter_stage(s);
      if (!entered) return finish_interrupted(entered.error());
      if (!*entered) {
        say("superseded by a newer execution");
        auto done = load();
        if (!done) return std::unexpected(done.error());
        return ExecutionResult{std::move(*done), std::nullopt};
      }
      auto outcome = run_stage(s);
      if (!outcome) return std::unexpected(outcome.error());
      if (*outcome) return std::move(**outcome);  // the execution waits or has ended
    }
    auto done = change([&](PipelineExecutionRecord& r) -> Status {
      r.status = ExecutionStatus::succeeded;
      r.status_summary = "";
      r.current_stage = r.stages.size();
      r.process.reset();
      return {};
    }, Durability::sync);
    if (!done) return std::unexpected(done.error());
    if (auto st = leave_stages(); !st) return std::unexpected(st.error());
    say(fmt::format("execution {} Succeeded", m_id));
    return ExecutionResult{std::move(*done), std::nullopt};
  }

 private:
  // An execution that cannot go on: the record says why.
  Result<ExecutionResult> finish_interrupted(const Error& why) {
    auto done = change([&](PipelineExecutionRecord& r) -> Status {
      r.status = why.kind == ErrorKind::stopped ? ExecutionStatus::stopped : ExecutionStatus::failed;
      r.status_summary = why.message;
      r.process.reset();
      return {};
    }, Durability::sync);
    if (!done) return std::unexpected(done.error());
    if (auto st = leave_stages(); !st) return std::unexpected(st.error());
    return ExecutionResult{std::move(*done), std::nullopt};
  }

  // An execution that holds a stage no longer does once it has ended.
  bool holder_done(const std::string& id) {
    auto got = get_record(m_e.m_store, execution_key(m_p.name, id), execution_from_json);
    if (!got || !*got) return true;
    auto looked = repair(m_e.m_store, m_e.m_clock, std::move(**got));
    return !looked || is_final(looked->status);
  }

  Status supersede(const std::string& id) {
    auto st = m_e.m_store.update_json(execution_key(m_p.name, id), [&](std::optional<Json> cur) -> Result<Json> {
      if (!cur) return fail(ErrorKind::not_found, "gone");
      auto r = execution_from_json(*cur);
      if (!r) return std::unexpected(r.error());
      if (r->status == ExecutionStatus::in_progress && r->waiting) {
        r->status = ExecutionStatus::superseded;
        r->status_summary = fmt::format("superseded by execution {}", m_id);
        r->last_update_time = format_iso8601(m_e.m_clock.now());
      }
      return execution_to_json(*r);
    });
    if (!st) return std::unexpected(st.error());
    return {};
  }

  // 2. A stage: its runOrder groups in turn, the actions of a group at once. nullopt when the
  // stage succeeded; else how the execution stands (waiting for an approval, or ended).
  Result<std::optional<ExecutionResult>> run_stage(size_t index) {
    const PipelineStage& stage = m_p.stages[index];
    auto started = change([&](PipelineExecutionRecord& r) -> Status {
      if (r.stages[index].status == StageStatus::not_started) r.stages[index].status = StageStatus::in_progress;
      return {};
    });
    if (!started) return std::unexpected(started.error());
    for (int order : stage.run_orders()) {
      if (m_stop_requested || m_cancel.cancelled()) return end_stopped(index);
      auto rec = load();
      if (!rec) return std::unexpected(rec.error());
      std::vector<const PipelineAction*> to_run;
      std::optional<PendingApproval> pending;
      for (auto& a : stage.actions) {
        if (a.run_order != order) continue;
        // Only what has not run yet runs: a group resumed after an approval keeps its other
        // actions' outcomes (and a rejected approval fails the stage below).
        const ActionExecution* ae = rec->action(stage.name, a.name);
        if (ae->status == ActionStatus::not_started) to_run.push_back(&a);
      }
      if (auto st = run_group(stage, to_run); !st) return std::unexpected(st.error());
      auto after = load();
      if (!after) return std::unexpected(after.error());
      // A failure ends the stage and the execution; a stop too.
      std::string failure;
      bool stopped = false;
      for (auto& a : stage.actions) {
        if (a.run_order != order) continue;
        const ActionExecution* ae = after->action(stage.name, a.name);
        if (ae->status == ActionStatus::failed && failure.empty())
          failure = fmt::format("action {} failed: {}", a.name, ae->error_message);
        if (ae->status == ActionStatus::abandoned) stopped = true;
        if (ae->status == ActionStatus::in_progress && !ae->token.empty() && !pending) pending = approval_of(a, *ae);
      }
      if (!failure.empty() || stopped || m_cancel.cancelled() || m_stop_requested) {
        bool by_stop = stopped || m_cancel.cancelled() || m_stop_requested;
        auto done = change([&](PipelineExecutionRecord& r) -> Status {
          r.stages[index].status = by_stop ? StageStatus::stopped : StageStatus::failed;
          r.status = by_stop ? ExecutionStatus::stopped : ExecutionStatus::failed;
          r.status_summary = !by_stop           ? failure
                             : m_stop_requested ? fmt::format("the execution was {}", m_stop_message)
                                                : fmt::format("the execution was {}", m_cancel.message());
          r.process.reset();
          return {};
        }, Durability::sync);
        if (!done) return std::unexpected(done.error());
        if (auto st = leave_stages(); !st) return std::unexpected(st.error());
        say(fmt::format("execution {} {}: {}", m_id, execution_status_name(done->status), done->status_summary));
        return std::optional<ExecutionResult>(ExecutionResult{std::move(*done), std::nullopt});
      }
      if (pending) {
        auto waiting = change([&](PipelineExecutionRecord& r) -> Status {
          r.status_summary = fmt::format("waiting for approval of {}/{}", pending->stage, pending->action);
          r.process.reset();
          return {};
        }, Durability::sync);
        if (!waiting) return std::unexpected(waiting.error());
        say(fmt::format("waiting for approval of {}/{}: token {}", pending->stage, pending->action, pending->token));
        return std::optional<ExecutionResult>(ExecutionResult{std::move(*waiting), pending});
      }
    }
    auto done = change([&](PipelineExecutionRecord& r) -> Status {
      r.stages[index].status = StageStatus::succeeded;
      return {};
    });
    if (!done) return std::unexpected(done.error());
    return std::optional<ExecutionResult>();
  }

  // Stopped between groups: what has run stays as it ended, the rest never starts.
  Result<std::optional<ExecutionResult>> end_stopped(size_t index) {
    std::string why;
    {
      std::lock_guard lock(m_stop_mutex);
      why = m_stop_requested ? m_stop_message : m_cancel.message();
    }
    auto done = change([&](PipelineExecutionRecord& r) -> Status {
      r.stages[index].status = StageStatus::stopped;
      r.status = ExecutionStatus::stopped;
      r.status_summary = fmt::format("the execution was {}", why);
      r.process.reset();
      return {};
    }, Durability::sync);
    if (!done) return std::unexpected(done.error());
    if (auto st = leave_stages(); !st) return std::unexpected(st.error());
    say(fmt::format("execution {} Stopped: {}", m_id, done->status_summary));
    return std::optional<ExecutionResult>(ExecutionResult{std::move(*done), std::nullopt});
  }

  PendingApproval approval_of(const PipelineAction& a, const ActionExecution& ae) {
    PendingApproval p;
    p.stage = ae.stage_name;
    p.action = a.name;
    p.token = ae.token;
    p.expires = ae.expires;
    // As resolved when the approval started (#{ns.var} in them).
    auto text = [&](const char* key) {
      return ae.resolved_configuration.is_object() && ae.resolved_configuration.contains(key) &&
                     ae.resolved_configuration[key].is_string()
                 ? ae.resolved_configuration[key].get<std::string>()
                 : std::string();
    };
    p.custom_data = text("CustomData");
    p.external_link = text("ExternalEntityLink");
    return p;
  }

  // The actions of one runOrder group, at most max_parallel at a time, each on a thread of its
  // own with a token of its own (a child of the execution's).
  // The first error of the group's record saves (each action still ran to its end).
  Status run_group(const PipelineStage& stage, const std::vector<const PipelineAction*>& actions) {
    std::mutex m;
    std::condition_variable cv;
    unsigned running = 0;
    unsigned limit = std::max(1u, m_options.max_parallel);
    std::vector<std::thread> threads;
    std::optional<Error> first_error;
    for (const PipelineAction* a : actions) {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return running < limit; });
        ++running;
      }
      threads.emplace_back([&, a] {
        auto st = run_one(stage, *a);
        std::lock_guard lock(m);
        if (!st && !first_error) first_error = st.error();
        --running;
        cv.notify_all();
      });
    }
    for (auto& t : threads) t.join();
    if (first_error) return std::unexpected(*first_error);
    return {};
  }

  // 3. One action: inputs located, configuration resolved, the provider run, the outcome saved.
  // A record save that fails is returned: the execution cannot say how it stands.
  Status run_one(const PipelineStage& stage, const PipelineAction& a) {
    fs::path dir = m_e.execution_dir(m_p.name, m_id);
    std::string action_id = make_uuid();
    std::string label = fmt::format("{}/{}", stage.name, a.name);
    fs::path log = action_log_path(dir, stage.name, a.name);
    // The inputs, from the actions that produced them in this execution.
    std::vector<std::pair<std::string, fs::path>> inputs;
    std::vector<ArtifactLocation> input_locations;
    std::string problem;
    for (auto& in : a.inputs) {
      fs::path where = dir / "artifacts" / in.name;
      inputs.emplace_back(in.name, where);
      input_locations.push_back({in.name, where.string()});
    }
    // #{ns.var} resolved now, from what has run.
    auto current = load();
    if (!current) return std::unexpected(current.error());
    const PipelineExecutionRecord& r = *current;
    std::vector<std::pair<std::string, std::string>> config;
    Json resolved = Json::object();
    auto lookup = record_lookup(r);
    for (auto& [k, v] : a.configuration) {
      std::vector<VariableReference> missing;
      auto value = resolve_references(v, lookup, missing);
      if (!missing.empty() && problem.empty())
        problem = fmt::format("configuration '{}' refers to {}, which no earlier action produced", k,
                              reference_text(missing.front()));
      config.emplace_back(k, value);
      resolved[k] = value;
    }
    PipelineAction resolved_action = a;
    for (auto& c : resolved_action.commands) {
      std::vector<VariableReference> missing;
      c = resolve_references(c, lookup, missing);
      if (!missing.empty() && problem.empty())
        problem = fmt::format("a command refers to {}, which no earlier action produced", reference_text(missing.front()));
    }
    auto now = format_iso8601(m_e.m_clock.now());
    auto begun = change([&](PipelineExecutionRecord& rec) -> Status {
      ActionExecution* ae = rec.action(stage.name, a.name);
      ae->action_execution_id = action_id;
      ae->status = ActionStatus::in_progress;
      ae->start_time = now;
      ae->last_update_time = now;
      ae->resolved_configuration = resolved;
      ae->input_artifacts = input_locations;
      ae->error_code.clear();
      ae->error_message.clear();
      ae->token.clear();
      return {};
    });
    if (!begun) return std::unexpected(begun.error());
    say(fmt::format("{} started", label));
    if (auto st = make_dirs(log.parent_path()); !st && problem.empty()) problem = st.error().message;

    ActionOutcome outcome;
    if (!problem.empty()) {
      outcome.status = ActionStatus::failed;
      outcome.error_code = "ConfigurationError";
      outcome.error_message = problem;
    } else {
      ActionContext c{m_p,
                      stage,
                      resolved_action,
                      m_id,
                      config,
                      inputs,
                      dir / "artifacts",
                      action_work_dir(dir, stage.name, a.name),
                      log,
                      m_e.m_home,
                      m_e.m_store_root,
                      m_e.m_store,
                      m_e.m_runner,
                      m_e.m_clock,
                      m_cancel.child()};
      auto ran = run_action(c);
      if (ran) {
        outcome = std::move(*ran);
      } else {
        outcome.status = ActionStatus::failed;
        outcome.error_code = "JobFailed";
        outcome.error_message = ran.error().message;
      }
    }
    std::vector<ArtifactLocation> outputs;
    if (outcome.status == ActionStatus::succeeded)
      for (auto& o : a.outputs) outputs.push_back({o.name, (dir / "artifacts" / o.name).string()});
    auto end = format_iso8601(m_e.m_clock.now());
    auto ended = change([&](PipelineExecutionRecord& rec) -> Status {
      ActionExecution* ae = rec.action(stage.name, a.name);
      ae->status = outcome.stopped ? ActionStatus::abandoned : outcome.status;
      ae->last_update_time = end;
      ae->summary = outcome.summary;
      ae->external_id = outcome.external_id;
      ae->external_url = outcome.external_url;
      ae->error_code = outcome.error_code;
      ae->error_message = outcome.error_message;
      ae->output_variables = outcome.output_variables;
      ae->output_artifacts = outputs;
      ae->token = outcome.token;
      ae->expires = outcome.expires;
      ae->log = outcome.log;
      for (auto& rev : outcome.revisions) rec.artifact_revisions.push_back(rev);
      return {};
    });
    if (!ended) return std::unexpected(ended.error());
    if (outcome.status == ActionStatus::in_progress) return {};
    say(fmt::format("{} {}{}", label, action_status_name(outcome.stopped ? ActionStatus::abandoned : outcome.status),
                    outcome.error_message.empty() ? "" : ": " + outcome.error_message));
    return {};
  }

  // stop-pipeline-execution, seen through its request in the store: no new action starts; with
  // --abandon, the running ones are stopped too (their token is cancelled).
  void watch_stop_requests() {
    auto key = execution_stop_request_key(m_p.name, m_id);
    while (!m_watch_quit.wait_for(k_wait_interval)) {
      auto request = read_stop_request(m_e.m_store, key);
      if (!request || !*request) continue;
      {
        std::lock_guard lock(m_stop_mutex);
        m_stop_message = describe_stop_request(**request);
      }
      m_stop_requested = true;
      if ((*request)->via.find("--abandon") != std::string::npos) m_cancel.cancel(CancelReason::stopped, m_stop_message);
      return;
    }
  }

  PipelineEngine& m_e;
  const Pipeline& m_p;
  std::string m_id;
  const PipelineRunOptions& m_options;
  std::string m_key;
  std::mutex m_mutex;
  CancelToken m_cancel = m_options.cancel.child();
  std::atomic<bool> m_stop_requested{false};
  std::mutex m_stop_mutex;
  std::string m_stop_message;
  CancelToken m_watch_quit;
  std::thread m_watcher;
};

Result<ExecutionResult> PipelineEngine::start(const Pipeline& pipeline, const PipelineRunOptions& options) {
  // 1. What can be checked before anything is recorded: every action can run here, every
  // variable given is declared.
  if (auto st = check_startable(pipeline, options.variables); !st) return std::unexpected(st.error());
  // 2. The record: InProgress, owned by this process.
  auto record = new_execution(pipeline, make_uuid(), format_iso8601(m_clock.now()));
  for (auto& [name, value] : options.variables)
    for (auto& v : record.variables)
      if (v.first == name) v.second = value;
  record.trigger_type = options.trigger_type;
  record.trigger_detail = options.trigger_detail.empty() ? who() : options.trigger_detail;
  record.process = this_process();
  if (auto st = m_store.put_json(execution_key(pipeline.name, record.id), execution_to_json(record), PutCondition::if_absent());
      !st)
    return std::unexpected(st.error());
  if (options.progress) options.progress(fmt::format("execution {} of pipeline {} started", record.id, pipeline.name));
  // 3. Run it.
  return advance(pipeline, record.id, options);
}

Result<ExecutionResult> PipelineEngine::advance(const Pipeline& pipeline, const std::string& id,
                                                const PipelineRunOptions& options) {
  LiveRun live(id);
  Execution execution(*this, pipeline, id, options);
  return execution.run();
}

Result<ExecutionResult> PipelineEngine::put_approval_result(const Pipeline& pipeline, const std::string& stage,
                                                            const std::string& action, const std::string& token,
                                                            bool approved, const std::string& summary,
                                                            const PipelineRunOptions& options) {
  // 1. Which execution waits with this token (the latest to reach the action).
  auto executions = list_executions(pipeline.name);
  if (!executions) return std::unexpected(executions.error());
  const PipelineExecutionRecord* target = nullptr;
  std::string stage_name = stage, action_name = action;
  for (auto& r : *executions) {
    for (auto& se : r.stages)
      for (auto& ae : se.actions)
        if (!token.empty() && ae.token == token && (stage.empty() || se.name == stage) &&
            (action.empty() || ae.action_name == action) && !target) {
          target = &r;
          stage_name = se.name;
          action_name = ae.action_name;
        }
    if (target) break;
  }
  if (!target)
    return fail(ErrorKind::invalid, "token '{}' is not the token of {} of pipeline '{}'", token,
                stage.empty() || action.empty() ? std::string("an approval") : fmt::format("approval {}/{}", stage, action),
                pipeline.name);
  std::string id = target->id;
  // 2. The answer, once: a second answer finds the approval no longer waiting.
  Execution execution(*this, pipeline, id, options);
  std::string user = who();
  auto now = m_clock.now();
  bool expired = false;
  auto answered = execution.change([&](PipelineExecutionRecord& r) -> Status {
    ActionExecution* ae = r.action(stage_name, action_name);
    if (is_final(r.status))
      return fail(ErrorKind::invalid, "execution {} has ended ({}): its approval can no longer be answered", r.id,
                  execution_status_name(r.status));
    if (ae->status != ActionStatus::in_progress)
      return fail(ErrorKind::invalid, "approval {}/{} of execution {} was already answered ({}{})", stage_name, action_name, r.id,
                  action_status_name(ae->status), ae->updated_by.empty() ? "" : " by " + ae->updated_by);
    expired = !ae->expires.empty() && parse_iso8601(ae->expires) && now > *parse_iso8601(ae->expires);
    ae->updated_by = user;
    ae->last_update_time = format_iso8601(now);
    if (expired) {
      ae->status = ActionStatus::failed;
      ae->error_code = "ApprovalTimedOut";
      ae->error_message = fmt::format("the approval timed out at {}", ae->expires);
    } else {
      ae->status = approved ? ActionStatus::succeeded : ActionStatus::failed;
      ae->summary = summary;
      ae->output_variables = Json{{"ApprovalSummary", summary}};
      if (!approved) {
        ae->error_code = "Rejected";
        ae->error_message = fmt::format("rejected by {}{}", user, summary.empty() ? "" : ": " + summary);
      }
    }
    return {};
  }, Durability::sync);
  if (!answered) return std::unexpected(answered.error());
  if (options.progress)
    options.progress(fmt::format("{}/{} {} by {}", stage_name, action_name, expired ? "timed out" : approved ? "approved" : "rejected", user));
  // 3. Approved: the rest runs here. Rejected (or timed out): the stage fails, and with it the
  // execution.
  return advance(pipeline, id, options);
}

Result<PipelineExecutionRecord> PipelineEngine::stop(const Pipeline& pipeline, const std::string& id, bool abandon,
                                                     const std::string& reason) {
  auto current = get_execution(pipeline.name, id);
  if (!current) return std::unexpected(current.error());
  if (is_final(current->status))
    return fail(ErrorKind::invalid, "execution {} has ended ({}): there is nothing to stop", id,
                execution_status_name(current->status));
  std::string user = who();
  std::string why = fmt::format("stopped by {}{}", user, reason.empty() ? "" : ": " + reason);
  const auto& p = current->process;
  bool running = p && run_alive(id, p->pid, static_cast<uint64_t>(p->start_time), p->host);
  PipelineRunOptions none;
  Execution execution(*this, pipeline, id, none);
  if (running) {
    // 1. Its process stops it: ask through the store, and say Stopping meanwhile.
    StopRequest request{user, format_iso8601(m_clock.now()),
                        abandon ? "stop-pipeline-execution --abandon" : "stop-pipeline-execution"};
    if (auto st = request_stop(m_store, execution_stop_request_key(pipeline.name, id), request); !st)
      return std::unexpected(st.error());
    return execution.change([&](PipelineExecutionRecord& r) -> Status {
      if (!is_final(r.status)) {
        r.status = ExecutionStatus::stopping;
        r.stop_reason = why;
      }
      return {};
    }, Durability::sync);
  }
  // 2. No process runs it: stopped here and now.
  auto done = execution.change([&](PipelineExecutionRecord& r) -> Status {
    if (is_final(r.status)) return {};
    for (auto& s : r.stages) {
      bool touched = false;
      for (auto& a : s.actions)
        if (a.status == ActionStatus::in_progress) {
          a.status = ActionStatus::abandoned;
          a.error_code = "Abandoned";
          a.error_message = fmt::format("the execution was {}", why);
          touched = true;
        }
      if (touched || s.status == StageStatus::in_progress) s.status = StageStatus::stopped;
    }
    r.status = ExecutionStatus::stopped;
    r.status_summary = fmt::format("the execution was {}", why);
    r.stop_reason = why;
    r.process.reset();
    return {};
  }, Durability::sync);
  if (!done) return std::unexpected(done.error());
  if (auto st = execution.leave_stages(); !st) return std::unexpected(st.error());
  return done;
}

Result<PipelineExecutionRecord> PipelineEngine::get_execution(const std::string& pipeline, const std::string& id) {
  auto got = get_record(m_store, execution_key(pipeline, id), execution_from_json);
  if (!got) return std::unexpected(got.error());
  if (!*got) return fail(ErrorKind::not_found, "pipeline execution '{}' of pipeline '{}' does not exist", id, pipeline);
  return repair(m_store, m_clock, std::move(**got));
}

Result<std::vector<PipelineExecutionRecord>> PipelineEngine::list_executions(const std::string& pipeline) {
  auto keys = m_store.list(executions_prefix(pipeline));
  if (!keys) return std::unexpected(keys.error());
  std::vector<PipelineExecutionRecord> out;
  for (auto& k : *keys) {
    if (!k.ends_with(".json") || k.find('/', executions_prefix(pipeline).size()) != std::string::npos) continue;
    auto got = get_record(m_store, k, execution_from_json);
    if (!got) return std::unexpected(got.error());
    if (!*got) continue;
    auto looked = repair(m_store, m_clock, std::move(**got));
    if (!looked) return std::unexpected(looked.error());
    out.push_back(std::move(*looked));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.start_time > b.start_time; });
  return out;
}

Result<Json> PipelineEngine::list_action_executions(const std::string& pipeline, const std::string& execution_id) {
  auto executions = list_executions(pipeline);
  if (!executions) return std::unexpected(executions.error());
  Json list = Json::array();
  for (auto& r : *executions) {
    if (!execution_id.empty() && r.id != execution_id) continue;
    for (auto& s : r.stages)
      for (auto& a : s.actions)
        if (a.status != ActionStatus::not_started) list.push_back(action_execution_detail_json(r, a));
  }
  return list;
}

Result<Json> PipelineEngine::state(const Pipeline& pipeline) {
  auto executions = list_executions(pipeline.name);
  if (!executions) return std::unexpected(executions.error());
  auto state = m_store.get_json(pipeline_state_key(pipeline.name));
  if (!state) return std::unexpected(state.error());
  auto slots = slots_from(*state);
  Json stages = Json::array();
  for (auto& stage : pipeline.stages) {
    Json s{{"stageName", stage.name}, {"inboundTransitionState", Json{{"enabled", true}}}, {"actionStates", Json::array()}};
    // The newest execution that reached the stage.
    const PipelineExecutionRecord* latest = nullptr;
    for (auto& r : *executions) {
      for (auto& se : r.stages)
        if (se.name == stage.name && se.status != StageStatus::not_started) latest = &r;
      if (latest) break;
    }
    if (latest) {
      for (auto& se : latest->stages)
        if (se.name == stage.name)
          s["latestExecution"] = Json{{"pipelineExecutionId", latest->id}, {"status", std::string(stage_status_name(se.status))}};
    }
    if (auto it = slots.find(stage.name); it != slots.end() && !it->second.waiting.empty())
      s["inboundExecution"] = Json{{"pipelineExecutionId", it->second.waiting.front()}, {"status", "InProgress"}};
    for (auto& a : stage.actions) {
      Json as{{"actionName", a.name}};
      const ActionExecution* ae = latest ? latest->action(stage.name, a.name) : nullptr;
      if (ae && ae->status != ActionStatus::not_started) {
        Json le{{"actionExecutionId", ae->action_execution_id},
                {"status", std::string(action_status_name(ae->status))},
                {"summary", ae->summary},
                {"lastStatusChange", ae->last_update_time},
                {"externalExecutionId", ae->external_id},
                {"externalExecutionUrl", ae->external_url}};
        if (ae->status == ActionStatus::in_progress && !ae->token.empty()) le["token"] = ae->token;
        if (!ae->updated_by.empty()) le["lastUpdatedBy"] = ae->updated_by;
        if (!ae->error_code.empty()) le["errorDetails"] = Json{{"code", ae->error_code}, {"message", ae->error_message}};
        as["latestExecution"] = le;
      }
      s["actionStates"].push_back(as);
    }
    stages.push_back(s);
  }
  return Json{{"pipelineName", pipeline.name}, {"pipelineVersion", pipeline.version}, {"stageStates", stages}};
}

}  // namespace cicd

#include "pipeline/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <atomic>
#include <thread>

#include "store/stop_request.hpp"

#include "pipeline/actions.hpp"
#include "pipeline/triggers.hpp"
#include "pipeline/variables.hpp"
#include "store/definitions.hpp"
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

// The inbound transitions that are disabled, by stage (state.json "transitions").
std::map<std::string, TransitionState> transitions_from(const std::optional<Json>& state) {
  std::map<std::string, TransitionState> out;
  if (!state || !state->is_object() || !state->contains("transitions") || !(*state)["transitions"].is_object()) return out;
  for (auto& [name, v] : (*state)["transitions"].items()) {
    if (!v.is_object()) continue;
    TransitionState t;
    auto text = [&](const char* key) {
      return v.contains(key) && v[key].is_string() ? v[key].get<std::string>() : std::string();
    };
    t.enabled = !v.contains("enabled") || !v["enabled"].is_boolean() || v["enabled"].get<bool>();
    t.reason = text("disabledReason");
    t.changed_by = text("lastChangedBy");
    t.changed_at = text("lastChangedAt");
    out[name] = t;
  }
  return out;
}

Json transition_json(const TransitionState& t) {
  Json j{{"enabled", t.enabled}};
  if (!t.reason.empty()) j["disabledReason"] = t.reason;
  if (!t.changed_by.empty()) j["lastChangedBy"] = t.changed_by;
  if (!t.changed_at.empty()) j["lastChangedAt"] = t.changed_at;
  return j;
}

// A stage's actions as a retry finds them: the ones to run again back to NotStarted (with what
// their last run left cleared), the others as they ended; the stages after it all NotStarted.
void reset_for_retry(PipelineExecutionRecord& r, size_t index, RetryMode mode) {
  auto fresh = [](const ActionExecution& a) {
    ActionExecution f;
    f.action_name = a.action_name;
    f.stage_name = a.stage_name;
    f.type = a.type;
    f.configuration = a.configuration;
    f.name_space = a.name_space;
    return f;
  };
  for (size_t i = index; i < r.stages.size(); ++i) {
    auto& stage = r.stages[i];
    for (auto& a : stage.actions) {
      bool again = i > index || mode == RetryMode::all_actions || a.status == ActionStatus::failed ||
                   a.status == ActionStatus::abandoned || a.status == ActionStatus::not_started;
      if (again) a = fresh(a);
    }
    stage.status = StageStatus::not_started;
  }
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
    : m_store(store), m_home(std::move(home)), m_store_root(std::move(store_root)), m_runner(runner), m_clock(clock) {
  // A rules file that cannot be read turns notifications off, never the pipeline (said in advance).
  auto loaded = notify::Notifier::load(m_home);
  if (loaded) m_notifier = std::move(*loaded);
  else m_notify_problem = loaded.error().message;
}

namespace {

std::string_view event_state(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::in_progress: return "started";
    case ExecutionStatus::succeeded: return "succeeded";
    case ExecutionStatus::failed: return "failed";
    case ExecutionStatus::superseded: return "superseded";
    case ExecutionStatus::stopped:
    case ExecutionStatus::cancelled: return "canceled";
    case ExecutionStatus::stopping: break;
  }
  return "";
}

std::string_view event_state(StageStatus s) {
  switch (s) {
    case StageStatus::in_progress: return "started";
    case StageStatus::succeeded: return "succeeded";
    case StageStatus::failed: return "failed";
    case StageStatus::stopped:
    case StageStatus::cancelled: return "canceled";
    default: break;
  }
  return "";
}

std::string_view event_state(ActionStatus s) {
  switch (s) {
    case ActionStatus::in_progress: return "started";
    case ActionStatus::succeeded: return "succeeded";
    case ActionStatus::failed: return "failed";
    case ActionStatus::abandoned: return "canceled";
    case ActionStatus::not_started: break;
  }
  return "";
}

}  // namespace

void PipelineEngine::publish(const PipelineExecutionRecord* before, const PipelineExecutionRecord& after) const {
  auto send = [&](std::string type, Json detail) {
    detail["pipeline"] = after.pipeline_name;
    detail["execution-id"] = after.id;
    detail["version"] = after.pipeline_version;
    notify::NotifyEvent e;
    e.type = "codepipeline-pipeline-" + type;
    e.source = "cpipeline";
    e.resource = "pipeline/" + after.pipeline_name;
    e.detail = std::move(detail);
    m_notifier.publish(e);
  };
  auto upper = [](std::string_view s) { return to_upper(s); };
  if ((!before || before->status != after.status) && !event_state(after.status).empty()) {
    bool resumed = before && after.status == ExecutionStatus::in_progress;
    std::string state = resumed ? "resumed" : std::string(event_state(after.status));
    send("pipeline-execution-" + state, Json{{"state", upper(state)}, {"summary", after.status_summary}});
  }
  for (size_t i = 0; i < after.stages.size(); ++i) {
    const auto& s = after.stages[i];
    const StageExecution* was = before && i < before->stages.size() ? &before->stages[i] : nullptr;
    if ((!was || was->status != s.status) && !event_state(s.status).empty())
      send("stage-execution-" + std::string(event_state(s.status)),
           Json{{"stage", s.name}, {"state", upper(event_state(s.status))}});
    for (size_t k = 0; k < s.actions.size(); ++k) {
      const auto& a = s.actions[k];
      const ActionExecution* old = was && k < was->actions.size() ? &was->actions[k] : nullptr;
      bool token_new = !a.token.empty() && (!old || old->token != a.token);
      if ((!old || old->status == a.status) && !token_new) continue;
      std::string state(event_state(a.status));
      if (state.empty()) continue;
      Json detail{{"stage", s.name},
                  {"action", a.action_name},
                  {"state", upper(state)},
                  {"type", Json{{"owner", a.type.owner}, {"category", a.type.category}, {"provider", a.type.provider},
                                {"version", a.type.version}}}};
      if (a.type.category == "Approval") {
        if (token_new && a.status == ActionStatus::in_progress) {
          detail["token"] = a.token;
          detail["expires"] = a.expires;
          send("manual-approval-needed", detail);
        } else if (a.status == ActionStatus::succeeded || a.status == ActionStatus::failed) {
          detail["summary"] = a.summary;
          send(a.status == ActionStatus::succeeded ? "manual-approval-succeeded" : "manual-approval-failed", detail);
        }
        continue;
      }
      if (!a.error_message.empty()) detail["error"] = a.error_message;
      send("action-execution-" + state, detail);
    }
  }
}

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
    std::optional<PipelineExecutionRecord> result, before;
    auto updated = m_e.m_store.update_json(m_key, [&](std::optional<Json> cur) -> Result<Json> {
      if (!cur) return fail(ErrorKind::not_found, "pipeline execution '{}' vanished", m_id);
      auto r = execution_from_json(*cur);
      if (!r) {
        Error e = r.error();
        e.message = fmt::format("'{}': {}", m_e.m_store.where(m_key), e.message);
        return std::unexpected(std::move(e));
      }
      before = *r;
      // A superseded execution is over: whatever its process still tries to record is refused.
      if (r->status == ExecutionStatus::superseded)
        return fail(ErrorKind::stopped, "execution {} was superseded by a newer execution", m_id);
      if (auto st = fn(*r); !st) return std::unexpected(st.error());
      r->last_update_time = format_iso8601(m_e.m_clock.now());
      result = *r;
      return execution_to_json(*r);
    }, durability);
    if (!updated) return std::unexpected(updated.error());
    m_e.publish(before ? &*before : nullptr, *result);
    return std::move(*result);
  }

  void say(const std::string& line) {
    if (m_options.progress) m_options.progress(line);
  }

  enum class Entry { entered, superseded, held };

  // 1. Enter stage `index`: wait while another execution holds it (SUPERSEDED: a newer waiting
  // execution replaces an older waiting one; QUEUED: in order of arrival; PARALLEL: no waiting),
  // then hold it and let go of the stage before. An inbound transition that is disabled holds the
  // execution as an occupied stage would, but with no process waiting: the execution is `held`
  // and this process lets it be (enable-stage-transition continues it).
  Result<Entry> enter_stage(size_t index) {
    const std::string& name = m_p.stages[index].name;
    const std::string previous = index > 0 ? m_p.stages[index - 1].name : "";
    bool parallel = m_p.execution_mode == ExecutionMode::parallel;
    bool said = false;
    // SUPERSEDED: of two executions waiting for a stage, the one started later stays; the
    // decision is made inside the state's read-modify-write (its "superseded" list), so that two
    // executions arriving at once cannot replace each other.
    const std::string my_start = m_start_time;
    auto started_after_me = [&](const std::string& other) {
      auto got = get_record(m_e.m_store, execution_key(m_p.name, other), execution_from_json);
      if (!got || !*got) return false;
      const auto& theirs = (*got)->start_time;
      return theirs > my_start || (theirs == my_start && other > m_id);
    };
    bool superseding = m_p.execution_mode == ExecutionMode::superseded;
    for (;;) {
      bool held = false, blocked = false, lost = false;
      std::string disabled_reason;
      std::vector<std::string> superseded;
      auto st = m_e.m_store.update_json(pipeline_state_key(m_p.name), [&](std::optional<Json> cur) -> Result<Json> {
        held = blocked = lost = false;
        superseded.clear();
        auto slots = slots_from(cur);
        auto transitions = transitions_from(cur);
        std::vector<std::string> gone;
        if (cur && cur->is_object() && cur->contains("superseded") && (*cur)["superseded"].is_array())
          for (auto& g : (*cur)["superseded"])
            if (g.is_string() && !holder_done(g.get<std::string>())) gone.push_back(g.get<std::string>());
        auto finish = [&](std::map<std::string, StageSlot>& sl) {
          Json j = state_json(cur, sl);
          j["superseded"] = gone;
          return j;
        };
        auto& slot = slots[name];
        // Replaced: named in the list, or already marked so (the list forgets an execution once
        // its record says Superseded).
        auto mine = get_record(m_e.m_store, m_key, execution_from_json);
        bool marked = mine && *mine && (*mine)->status == ExecutionStatus::superseded;
        if (marked || std::find(gone.begin(), gone.end(), m_id) != gone.end()) {
          lost = true;
          remove_from(slot.waiting, m_id);
          return finish(slots);
        }
        auto t = transitions.find(name);
        blocked = index > 0 && t != transitions.end() && !t->second.enabled;
        if (blocked) disabled_reason = t->second.reason;
        bool occupied = !parallel && !slot.holder.empty() && slot.holder != m_id && !holder_done(slot.holder);
        // QUEUED: first come, first in; an execution that finds the stage free while older ones
        // wait for it waits behind them (those that ended while waiting leave the queue).
        std::erase_if(slot.waiting, [&](const std::string& w) { return w != m_id && holder_done(w); });
        bool behind = m_p.execution_mode == ExecutionMode::queued && !slot.waiting.empty() && slot.waiting.front() != m_id;
        // Who of the waiting ones this execution replaces (or is replaced by).
        auto settle_waiting = [&](bool entering) {
          if (!superseding) return;
          for (auto& w : slot.waiting) {
            if (w == m_id) continue;
            if (started_after_me(w)) {
              if (!entering) lost = true;
            } else {
              superseded.push_back(w);
            }
          }
          for (auto& w : superseded) remove_from(slot.waiting, w);
          gone.insert(gone.end(), superseded.begin(), superseded.end());
          if (lost) {
            gone.push_back(m_id);
            remove_from(slot.waiting, m_id);
          }
        };
        if (blocked || occupied || behind) {
          // Waiting between stages, as CodePipeline's executions do: the stage before is free
          // for the next execution (which, SUPERSEDED, may then catch up and replace this one).
          if (!previous.empty() && slots[previous].holder == m_id) slots[previous].holder.clear();
          settle_waiting(false);
          if (!lost && std::find(slot.waiting.begin(), slot.waiting.end(), m_id) == slot.waiting.end())
            slot.waiting.push_back(m_id);
          return finish(slots);
        }
        held = true;
        if (!parallel) slot.holder = m_id;
        settle_waiting(true);
        remove_from(slot.waiting, m_id);
        if (!previous.empty() && slots[previous].holder == m_id) slots[previous].holder.clear();
        return finish(slots);
      }, Durability::atomic);
      if (!st) return std::unexpected(st.error());
      for (auto& other : superseded)
        if (auto replaced = supersede(other, m_id); !replaced) return std::unexpected(replaced.error());
      if (lost) {
        if (auto replaced = supersede(m_id, "a newer execution"); !replaced) return std::unexpected(replaced.error());
        return Entry::superseded;
      }
      if (held) {
        auto marked = change([&](PipelineExecutionRecord& r) -> Status {
          r.current_stage = index;
          r.waiting = false;
          r.held = false;
          return {};
        });
        if (!marked) return std::unexpected(marked.error());
        return Entry::entered;
      }
      auto now = load();
      if (!now) return std::unexpected(now.error());
      if (now->status == ExecutionStatus::superseded) return Entry::superseded;
      if (blocked) {
        auto marked = change([&](PipelineExecutionRecord& r) -> Status {
          r.current_stage = index;
          r.waiting = true;
          r.held = true;
          r.process.reset();
          r.status_summary = fmt::format("held before stage {}: its inbound transition is disabled{}", name,
                                         disabled_reason.empty() ? "" : " (" + disabled_reason + ")");
          return {};
        }, Durability::sync);
        if (!marked) return std::unexpected(marked.error());
        say(marked->status_summary);
        return Entry::held;
      }
      if (!said) {
        said = true;
        say(fmt::format("waiting to enter stage {} (another execution is in it{})", name,
                        m_p.execution_mode == ExecutionMode::queued ? " or before it in the queue" : ""));
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
    m_start_time = rec->start_time;
    if (m_options.on_started) m_options.on_started();
    // A rollback runs its one stage; the others run to the end.
    size_t end = rec->last_stage < m_p.stages.size() ? rec->last_stage + 1 : m_p.stages.size();
    for (size_t s = rec->current_stage; s < end; ++s) {
      auto entered = enter_stage(s);
      if (!entered) return finish_interrupted(entered.error());
      if (*entered == Entry::superseded) {
        say("superseded by a newer execution");
        auto done = load();
        if (!done) return std::unexpected(done.error());
        return ExecutionResult{std::move(*done), std::nullopt};
      }
      if (*entered == Entry::held) {
        auto held = load();
        if (!held) return std::unexpected(held.error());
        return ExecutionResult{std::move(*held), std::nullopt, m_p.stages[s].name};
      }
      auto outcome = run_stage(s);
      if (!outcome) return std::unexpected(outcome.error());
      if (*outcome) {  // the execution waits or has ended
        ExecutionResult result = std::move(**outcome);
        bool rollback = result.record.status == ExecutionStatus::failed && m_p.stages[s].on_failure.result == "ROLLBACK" &&
                        result.record.execution_type == "STANDARD";
        if (rollback) {
          auto rolled = m_e.automatic_rollback(m_p, s, result.record, m_options);
          if (!rolled) return std::unexpected(rolled.error());
          result.rollback = std::move(*rolled);
        }
        return result;
      }
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
    // Superseded meanwhile: that is how it ended.
    if (auto now = load(); now && now->status == ExecutionStatus::superseded) return ExecutionResult{std::move(*now)};
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

  Status supersede(const std::string& id, const std::string& by) {
    std::optional<PipelineExecutionRecord> before, after;
    auto st = m_e.m_store.update_json(execution_key(m_p.name, id), [&](std::optional<Json> cur) -> Result<Json> {
      if (!cur) return fail(ErrorKind::not_found, "gone");
      auto r = execution_from_json(*cur);
      if (!r) return std::unexpected(r.error());
      if (!is_final(r->status)) {
        before = *r;
        r->status = ExecutionStatus::superseded;
        r->status_summary = by == "a newer execution" ? "superseded by a newer execution"
                                                      : fmt::format("superseded by execution {}", by);
        r->waiting = false;
        r->held = false;
        r->process.reset();
        r->last_update_time = format_iso8601(m_e.m_clock.now());
        after = *r;
      }
      return execution_to_json(*r);
    }, Durability::sync);
    if (!st) return std::unexpected(st.error());
    if (before && after) m_e.publish(&*before, *after);
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
        // onFailure RETRY: the stage runs again once, its failed actions or all of them.
        if (!by_stop && stage.on_failure.result == "RETRY" && after->stages[index].retries == 0) {
          RetryMode mode = stage.on_failure.retry_mode == "ALL_ACTIONS" ? RetryMode::all_actions : RetryMode::failed_actions;
          auto reset = change([&](PipelineExecutionRecord& r) -> Status {
            reset_for_retry(r, index, mode);
            r.stages[index].retries += 1;
            return {};
          });
          if (!reset) return std::unexpected(reset.error());
          say(fmt::format("stage {} failed ({}); retrying it once (onFailure RETRY, {})", stage.name, failure,
                          mode == RetryMode::all_actions ? "ALL_ACTIONS" : "FAILED_ACTIONS"));
          return run_stage(index);
        }
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
    auto current = load();
    if (!current) return std::unexpected(current.error());
    const PipelineExecutionRecord& r = *current;
    // The inputs, where the actions that produced them left them: in this execution's folder, or
    // (a rollback) in the folder of the execution it rolls back to. Read in place, never copied.
    std::vector<std::pair<std::string, fs::path>> inputs;
    std::vector<ArtifactLocation> input_locations;
    std::string problem;
    for (auto& in : a.inputs) {
      fs::path where = dir / "artifacts" / in.name;
      for (auto& se : r.stages)
        for (auto& ae : se.actions)
          for (auto& out : ae.output_artifacts)
            if (out.name == in.name && ae.status == ActionStatus::succeeded) where = out.path;
      inputs.emplace_back(in.name, where);
      input_locations.push_back({in.name, where.string()});
    }
    // What a run before this one (a retry) left goes, its outputs and its workspace: the action
    // starts afresh.
    std::vector<fs::path> leftovers{dir / "work" / stage.name / a.name};
    for (auto& out : a.outputs) leftovers.push_back(dir / "artifacts" / out.name);
    for (auto& old : leftovers) {
      std::error_code ec;
      fs::remove_all(old, ec);
      if (ec && problem.empty()) problem = fmt::format("cannot remove '{}' of an earlier run: {}", old.string(), ec.message());
    }
    std::string source_revision;
    for (auto& v : r.source_revisions)
      if (v.action_name == a.name) source_revision = v.revision_value;
    // #{ns.var} resolved now, from what has run.
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
                      m_cancel.child(),
                      source_revision};
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
      for (auto& rev : outcome.revisions) {
        std::erase_if(rec.artifact_revisions, [&](const ArtifactRevision& old) { return old.name == rev.name; });
        rec.artifact_revisions.push_back(rev);
      }
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
  std::string m_start_time;
};

Result<ExecutionResult> PipelineEngine::start(const Pipeline& pipeline, const PipelineRunOptions& options) {
  // 1. What can be checked before anything is recorded: every action can run here, every
  // variable given is declared.
  if (auto st = check_startable(pipeline, options.variables); !st) return std::unexpected(st.error());
  for (auto& v : options.source_revisions) {
    const PipelineAction* source = nullptr;
    for (auto& a : pipeline.stages.front().actions)
      if (a.name == v.action_name) source = &a;
    if (!source)
      return fail(ErrorKind::usage, "--source-revisions: pipeline '{}' has no source action '{}'", pipeline.name, v.action_name);
    auto git = git_source(*source, m_home);
    if (!git || !*git || v.revision_type != "COMMIT_ID")
      return fail(ErrorKind::usage, "--source-revisions: {} is a {} source; cpipeline takes revisionType=COMMIT_ID for a "
                  "git source (CodeCommit, CodeStarSourceConnection, GitHub) only", v.action_name, source->type.provider);
  }
  // 2. The record: InProgress, owned by this process.
  auto record = new_execution(pipeline, make_uuid(), format_iso8601(m_clock.now()));
  for (auto& [name, value] : options.variables)
    for (auto& v : record.variables)
      if (v.first == name) v.second = value;
  record.trigger_type = options.trigger_type;
  record.source_revisions = options.source_revisions;
  record.trigger_detail = options.trigger_detail.empty() ? who() : options.trigger_detail;
  record.process = this_process();
  if (auto st = m_store.put_json(execution_key(pipeline.name, record.id), execution_to_json(record), PutCondition::if_absent());
      !st)
    return std::unexpected(st.error());
  publish(nullptr, record);
  if (options.progress) {
    if (!m_notify_problem.empty()) options.progress(fmt::format("warning: notifications are off: {}", m_notify_problem));
    options.progress(fmt::format("execution {} of pipeline {} started", record.id, pipeline.name));
  }
  // 3. Run it.
  return advance_or_detach(pipeline, record.id, options);
}

namespace {

// The exit code of a background process advancing an execution, as `cpipeline start` has them.
int exit_code_of(const Result<ExecutionResult>& r) {
  if (!r) return 5;
  if (r->approval || !r->held_before.empty()) return 6;
  switch (r->record.status) {
    case ExecutionStatus::succeeded: return 0;
    case ExecutionStatus::stopped:
    case ExecutionStatus::stopping:
    case ExecutionStatus::superseded:
    case ExecutionStatus::cancelled: return 4;
    default: return 1;
  }
}

}  // namespace

Result<ExecutionResult> PipelineEngine::advance_or_detach(const Pipeline& pipeline, const std::string& id,
                                                          const PipelineRunOptions& options) {
  if (!options.detach) return advance(pipeline, id, options);
  PipelineRunOptions background = options;
  background.detach = false;
  background.progress = nullptr;  // nobody reads the caller's terminal any more
  auto pid = run_detached([&](const std::function<void()>& ready) -> int {
    background.on_started = ready;
    auto result = advance(pipeline, id, background);
    ready();  // an execution that could not start must not leave its caller waiting
    return exit_code_of(result);
  });
  if (!pid) return std::unexpected(pid.error());
  if (options.progress) options.progress(fmt::format("execution {} goes on in the background (pid {})", id, *pid));
  auto now = get_execution(pipeline.name, id);
  if (!now) return std::unexpected(now.error());
  return ExecutionResult{std::move(*now), std::nullopt};
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
  // 3. Approved: the rest runs here (or in the background). Rejected (or timed out): the stage
  // fails, and with it the execution.
  return advance_or_detach(pipeline, id, options);
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

namespace {

size_t stage_index(const Pipeline& pipeline, const std::string& stage) {
  for (size_t i = 0; i < pipeline.stages.size(); ++i)
    if (pipeline.stages[i].name == stage) return i;
  return pipeline.stages.size();
}

// The actions a stage of the record has are the ones the pipeline's stage has now.
bool same_actions(const StageExecution& recorded, const PipelineStage& declared) {
  if (recorded.actions.size() != declared.actions.size()) return false;
  for (size_t i = 0; i < declared.actions.size(); ++i)
    if (recorded.actions[i].action_name != declared.actions[i].name) return false;
  return true;
}

}  // namespace

Result<ExecutionResult> PipelineEngine::retry_stage(const Pipeline& pipeline, const std::string& stage, const std::string& id,
                                                    RetryMode mode, const PipelineRunOptions& options, bool automatic) {
  size_t index = stage_index(pipeline, stage);
  if (index == pipeline.stages.size())
    return fail(ErrorKind::invalid, "pipeline '{}' has no stage '{}'", pipeline.name, stage);
  auto executions = list_executions(pipeline.name);
  if (!executions) return std::unexpected(executions.error());
  const PipelineExecutionRecord* target = nullptr;
  const PipelineExecutionRecord* latest = nullptr;
  for (auto& r : *executions) {
    if (r.id == id) target = &r;
    if (!latest && index < r.stages.size() && r.stages[index].name == stage &&
        r.stages[index].status != StageStatus::not_started)
      latest = &r;
  }
  if (!target) return fail(ErrorKind::not_found, "pipeline execution '{}' of pipeline '{}' does not exist", id, pipeline.name);
  // 1. What CodePipeline refuses: not the latest through the stage (NotLatestPipelineExecution),
  // a stage that did not fail or whose actions changed (StageNotRetryable).
  if (latest && latest->id != id)
    return fail(ErrorKind::invalid,
                "execution {} is not the latest to reach stage {}: {} is; only the latest execution of a stage can be retried",
                id, stage, latest->id);
  if (index >= target->stages.size() || !same_actions(target->stages[index], pipeline.stages[index]))
    return fail(ErrorKind::invalid, "stage {} of pipeline '{}' has changed since execution {} ran it: it cannot be retried",
                stage, pipeline.name, id);
  // 2. The record back to InProgress at that stage, in one read-modify-write: of two retries at
  // once, the second finds it InProgress and is refused.
  Execution execution(*this, pipeline, id, options);
  auto claimed = execution.change([&](PipelineExecutionRecord& r) -> Status {
    auto& se = r.stages[index];
    if (r.status != ExecutionStatus::failed && r.status != ExecutionStatus::stopped)
      return fail(ErrorKind::invalid, "execution {} is {}: only a Failed or Stopped execution can be retried", id,
                  execution_status_name(r.status));
    if (se.status != StageStatus::failed && se.status != StageStatus::stopped)
      return fail(ErrorKind::invalid, "stage {} of execution {} is {}: only a stage that Failed or was Stopped can be retried",
                  stage, id, stage_status_name(se.status));
    bool any_failed = std::any_of(se.actions.begin(), se.actions.end(), [](const ActionExecution& a) {
      return a.status == ActionStatus::failed || a.status == ActionStatus::abandoned;
    });
    if (mode == RetryMode::failed_actions && !any_failed)
      return fail(ErrorKind::invalid, "stage {} of execution {} has no failed actions to retry (use --retry-mode ALL_ACTIONS)",
                  stage, id);
    if (automatic && se.retries > 0) return fail(ErrorKind::invalid, "stage {} was retried automatically once already", stage);
    reset_for_retry(r, index, mode);
    if (automatic) r.stages[index].retries += 1;
    r.status = ExecutionStatus::in_progress;
    r.status_summary.clear();
    r.stop_reason.clear();
    r.current_stage = index;
    r.waiting = false;
    r.held = false;
    r.process = this_process();
    return {};
  }, Durability::sync);
  if (!claimed) return std::unexpected(claimed.error());
  // A stop asked of the run before must not stop this one.
  if (auto st = m_store.remove(execution_stop_request_key(pipeline.name, id)); !st) return std::unexpected(st.error());
  if (options.progress)
    options.progress(fmt::format("retrying stage {} of execution {} ({})", stage, id,
                                 mode == RetryMode::all_actions ? "ALL_ACTIONS" : "FAILED_ACTIONS"));
  return advance_or_detach(pipeline, id, options);
}

Result<TransitionState> PipelineEngine::disable_transition(const Pipeline& pipeline, const std::string& stage,
                                                           const std::string& reason) {
  size_t index = stage_index(pipeline, stage);
  if (index == pipeline.stages.size())
    return fail(ErrorKind::invalid, "pipeline '{}' has no stage '{}'", pipeline.name, stage);
  if (index == 0) return fail(ErrorKind::invalid, "stage {} is the first stage: it has no inbound transition", stage);
  // DisableStageTransition's reason: 1 to 300 characters of [a-zA-Z0-9!@ \(\)\.\*\?\-]
  if (reason.empty() || reason.size() > 300 ||
      reason.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@ ().*?-") != std::string::npos)
    return fail(ErrorKind::usage,
                "--reason '{}': 1 to 300 characters of letters, digits, spaces and !@().*?- (as CodePipeline takes it)",
                reason);
  TransitionState t{false, reason, who(), format_iso8601(m_clock.now())};
  auto st = m_store.update_json(pipeline_state_key(pipeline.name), [&](std::optional<Json> cur) -> Result<Json> {
    Json j = cur && cur->is_object() ? *cur : Json{{"stages", Json::object()}};
    if (!j.contains("transitions") || !j["transitions"].is_object()) j["transitions"] = Json::object();
    j["transitions"][stage] = transition_json(t);
    return j;
  }, Durability::sync);
  if (!st) return std::unexpected(st.error());
  return t;
}

Result<std::optional<ExecutionResult>> PipelineEngine::enable_transition(const Pipeline& pipeline, const std::string& stage,
                                                                         const PipelineRunOptions& options) {
  size_t index = stage_index(pipeline, stage);
  if (index == pipeline.stages.size())
    return fail(ErrorKind::invalid, "pipeline '{}' has no stage '{}'", pipeline.name, stage);
  if (index == 0) return fail(ErrorKind::invalid, "stage {} is the first stage: it has no inbound transition", stage);
  std::vector<std::string> waiting;
  auto st = m_store.update_json(pipeline_state_key(pipeline.name), [&](std::optional<Json> cur) -> Result<Json> {
    Json j = cur && cur->is_object() ? *cur : Json{{"stages", Json::object()}};
    if (!j.contains("transitions") || !j["transitions"].is_object()) j["transitions"] = Json::object();
    j["transitions"][stage] = transition_json({true, "", who(), format_iso8601(m_clock.now())});
    waiting = slots_from(j)[stage].waiting;
    return j;
  }, Durability::sync);
  if (!st) return std::unexpected(st.error());
  // Every held execution goes on: the first here (or in the background, with options.detach),
  // the ones after it in the background, where they wait their turn at the stage (QUEUED) or go
  // in at once (PARALLEL; SUPERSEDED holds only one).
  std::vector<std::string> held;
  for (auto& id : waiting) {
    auto r = get_execution(pipeline.name, id);
    if (!r && r.error().kind != ErrorKind::not_found) return std::unexpected(r.error());  // a record that does not read
    if (r && r->held && !is_final(r->status)) held.push_back(id);
  }
  PipelineRunOptions background = options;
  background.detach = true;
  for (size_t i = 1; i < held.size(); ++i)
    if (auto later = continue_held(pipeline, held[i], background); !later) return std::unexpected(later.error());
  if (held.empty()) return std::optional<ExecutionResult>();
  auto first = continue_held(pipeline, held.front(), options);
  if (!first) return std::unexpected(first.error());
  return std::optional<ExecutionResult>(std::move(*first));
}

Result<ExecutionResult> PipelineEngine::continue_held(const Pipeline& pipeline, const std::string& id,
                                                      const PipelineRunOptions& options) {
  Execution execution(*this, pipeline, id, options);
  auto claimed = execution.change([&](PipelineExecutionRecord& r) -> Status {
    if (!r.held || is_final(r.status) || r.process)
      return fail(ErrorKind::invalid, "execution {} is no longer held", id);
    r.held = false;
    r.status_summary.clear();
    r.process = this_process();
    return {};
  }, Durability::sync);
  if (!claimed) return std::unexpected(claimed.error());
  if (options.progress) options.progress(fmt::format("execution {} continues into stage {}", id,
                                                     pipeline.stages[claimed->current_stage].name));
  return advance_or_detach(pipeline, id, options);
}

Result<ExecutionResult> PipelineEngine::rollback_stage(const Pipeline& pipeline, const std::string& stage,
                                                       const std::string& target, const PipelineRunOptions& options) {
  if (pipeline.pipeline_type != "V2")
    return fail(ErrorKind::invalid, "pipeline '{}' is {}: rollback-stage needs a V2 pipeline", pipeline.name,
                pipeline.pipeline_type);
  size_t index = stage_index(pipeline, stage);
  if (index == pipeline.stages.size())
    return fail(ErrorKind::invalid, "pipeline '{}' has no stage '{}'", pipeline.name, stage);
  if (index == 0) return fail(ErrorKind::invalid, "stage {} is the source stage: it cannot be rolled back", stage);
  auto got = get_execution(pipeline.name, target);
  if (!got) return std::unexpected(got.error());
  if (index >= got->stages.size() || got->stages[index].status != StageStatus::succeeded)
    return fail(ErrorKind::invalid, "execution {} did not succeed in stage {}: it cannot be the target of a rollback", target,
                stage);
  if (!same_actions(got->stages[index], pipeline.stages[index]))
    return fail(ErrorKind::invalid, "stage {} of pipeline '{}' has changed since execution {} ran it", stage, pipeline.name,
                target);
  // The stage must not be running: CodePipeline refuses a rollback of a stage in progress.
  auto state = m_store.get_json(pipeline_state_key(pipeline.name));
  if (!state) return std::unexpected(state.error());
  auto holder = slots_from(*state)[stage].holder;
  if (!holder.empty()) {
    auto h = get_execution(pipeline.name, holder);
    if (h && !is_final(h->status))
      return fail(ErrorKind::invalid, "stage {} is in progress (execution {}): roll it back once it has ended", stage, holder);
  }
  return start_rollback(pipeline, index, *got, "ManualRollback", options);
}

Result<ExecutionResult> PipelineEngine::start_rollback(const Pipeline& pipeline, size_t index,
                                                       const PipelineExecutionRecord& target, const std::string& trigger_type,
                                                       const PipelineRunOptions& options) {
  auto record = new_execution(pipeline, make_uuid(), format_iso8601(m_clock.now()));
  record.execution_type = "ROLLBACK";
  record.rollback_target = target.id;
  record.trigger_type = trigger_type;
  record.trigger_detail = options.trigger_detail.empty() ? who() : options.trigger_detail;
  record.variables = target.variables;
  record.artifact_revisions = target.artifact_revisions;
  // The stages before it as the target ran them: their outputs (artifacts in the target's folder)
  // and variables are what the stage reads again.
  for (size_t i = 0; i < index && i < target.stages.size(); ++i) record.stages[i] = target.stages[i];
  record.current_stage = index;
  record.last_stage = index;
  record.process = this_process();
  if (auto st = m_store.put_json(execution_key(pipeline.name, record.id), execution_to_json(record), PutCondition::if_absent());
      !st)
    return std::unexpected(st.error());
  publish(nullptr, record);
  if (options.progress)
    options.progress(fmt::format("rollback {} of stage {} to execution {} started", record.id, pipeline.stages[index].name,
                                 target.id));
  return advance_or_detach(pipeline, record.id, options);
}

Result<std::optional<PipelineExecutionRecord>> PipelineEngine::automatic_rollback(const Pipeline& pipeline, size_t index,
                                                                                  const PipelineExecutionRecord& failed,
                                                                                  const PipelineRunOptions& options) {
  auto executions = list_executions(pipeline.name);
  if (!executions) return std::unexpected(executions.error());
  const std::string& stage = pipeline.stages[index].name;
  for (auto& r : *executions) {
    if (r.id == failed.id || index >= r.stages.size() || r.stages[index].status != StageStatus::succeeded) continue;
    if (!same_actions(r.stages[index], pipeline.stages[index])) continue;
    if (options.progress)
      options.progress(fmt::format("stage {} failed: rolling it back to execution {} (onFailure ROLLBACK)", stage, r.id));
    auto rolled = start_rollback(pipeline, index, r, "AutomatedRollback", options);
    if (!rolled) return std::unexpected(rolled.error());
    return std::optional<PipelineExecutionRecord>(std::move(rolled->record));
  }
  if (options.progress)
    options.progress(fmt::format("stage {} failed; no earlier execution succeeded in it: nothing to roll back to", stage));
  return std::optional<PipelineExecutionRecord>();
}

Result<PollReport> PipelineEngine::poll(const std::vector<Pipeline>& pipelines, const PipelineRunOptions& options) {
  PollReport report;
  PipelineRunOptions background = options;
  background.detach = true;
  for (auto& p : pipelines) {
    // 1. Executions whose process died or whose approval expired end Failed (or Stopped), and
    // their stage's failure rule applies. Held ones whose transition is enabled again go on.
    auto keys = m_store.list(executions_prefix(p.name));
    if (!keys) return std::unexpected(keys.error());
    auto state = m_store.get_json(pipeline_state_key(p.name));
    if (!state) return std::unexpected(state.error());
    auto transitions = transitions_from(*state);
    for (auto& k : *keys) {
      if (!k.ends_with(".json") || k.find('/', executions_prefix(p.name).size()) != std::string::npos) continue;
      auto got = get_record(m_store, k, execution_from_json);
      if (!got) {
        report.problems.push_back(got.error().message);
        continue;
      }
      if (!*got || is_final((*got)->status)) continue;
      PipelineExecutionRecord was = **got;
      auto looked = repair(m_store, m_clock, std::move(**got));
      if (!looked) return std::unexpected(looked.error());
      if (is_final(looked->status)) {
        publish(&was, *looked);  // the failure the repair found, to the notification rules
        report.repaired.push_back(fmt::format("{} {}: {} ({})", p.name, looked->id, execution_status_name(looked->status),
                                              looked->status_summary));
        if (auto applied = apply_failure_rule(p, *looked, background); !applied)
          report.problems.push_back(applied.error().message);
        else if (!applied->empty())
          report.continued.push_back(*applied);
        continue;
      }
      if (looked->held && !looked->process && looked->current_stage < p.stages.size()) {
        auto t = transitions.find(p.stages[looked->current_stage].name);
        if (t != transitions.end() && !t->second.enabled) continue;
        auto continued = continue_held(p, looked->id, background);
        if (!continued) report.problems.push_back(continued.error().message);
        else report.continued.push_back(fmt::format("{} {}: continued into stage {}", p.name, looked->id,
                                                    p.stages[looked->current_stage].name));
      }
    }
    // 2. Change detection: a source whose revision differs from the one the latest execution
    // took starts an execution (PollForSourceChanges "false" opts out, as in CodePipeline).
    auto started = start_if_changed(p, background);
    if (!started) report.problems.push_back(started.error().message);
    else if (!started->empty()) report.started.push_back(*started);
  }
  return report;
}

Result<std::string> PipelineEngine::apply_failure_rule(const Pipeline& pipeline, const PipelineExecutionRecord& failed,
                                                       const PipelineRunOptions& options) {
  if (failed.status != ExecutionStatus::failed || failed.execution_type != "STANDARD") return std::string();
  for (size_t i = 0; i < failed.stages.size() && i < pipeline.stages.size(); ++i) {
    if (failed.stages[i].status != StageStatus::failed) continue;
    const auto& rule = pipeline.stages[i].on_failure;
    if (rule.result == "RETRY" && failed.stages[i].retries == 0) {
      RetryMode mode = rule.retry_mode == "ALL_ACTIONS" ? RetryMode::all_actions : RetryMode::failed_actions;
      auto retried = retry_stage(pipeline, pipeline.stages[i].name, failed.id, mode, options, true);
      if (!retried) return std::unexpected(retried.error());
      return fmt::format("{} {}: stage {} retried (onFailure RETRY)", pipeline.name, failed.id, pipeline.stages[i].name);
    }
    if (rule.result == "ROLLBACK") {
      auto rolled = automatic_rollback(pipeline, i, failed, options);
      if (!rolled) return std::unexpected(rolled.error());
      if (*rolled)
        return fmt::format("{} {}: stage {} rolled back by execution {} (onFailure ROLLBACK)", pipeline.name, failed.id,
                           pipeline.stages[i].name, (*rolled)->id);
    }
    return std::string();
  }
  return std::string();
}

Result<std::string> PipelineEngine::start_if_changed(const Pipeline& pipeline, const PipelineRunOptions& options) {
  if (pipeline.stages.empty()) return std::string();
  auto executions = list_executions(pipeline.name);
  if (!executions) return std::unexpected(executions.error());
  const PipelineExecutionRecord* latest = nullptr;
  for (auto& r : *executions)
    if (r.execution_type == "STANDARD") {
      latest = &r;
      break;
    }
  std::vector<std::string> changes;
  for (auto& a : pipeline.stages.front().actions) {
    if (a.type.provider != "CodeCommit" && a.type.provider != "S3" && a.type.provider != "CodeStarSourceConnection" &&
        a.type.provider != "GitHub")
      continue;
    if (auto poll_flag = a.config("PollForSourceChanges"); poll_flag && iequals(*poll_flag, "false")) continue;
    auto now = current_source_revision(a, m_home, m_store_root);
    if (!now) return std::unexpected(now.error());
    if (!*now) continue;  // nothing there yet
    // What the latest execution took (or was told to take).
    std::optional<std::string> taken;
    if (latest) {
      for (auto& v : latest->source_revisions)
        if (v.action_name == a.name) taken = v.revision_value;
      for (auto& v : latest->artifact_revisions)
        if (!a.outputs.empty() && v.name == a.outputs.front().name) taken = v.revision_id;
      // One that has not read its source yet will take the head, or ended before it could: not
      // a change to start another for.
      if (!taken) continue;
    }
    if (!taken || *taken != **now) changes.push_back(fmt::format("{} at {}", a.name, (*now)->substr(0, 12)));
  }
  if (changes.empty()) return std::string();
  PipelineRunOptions o = options;
  o.trigger_type = "PollForSourceChanges";
  o.trigger_detail = fmt::format("source changed: {}", join(changes, ", "));
  auto started = start(pipeline, o);
  if (!started) return std::unexpected(started.error());
  return fmt::format("{} {}: started ({})", pipeline.name, started->record.id, o.trigger_detail);
}

Result<std::vector<std::string>> PipelineEngine::on_push(const std::vector<Pipeline>& pipelines, const std::string& repository,
                                                         const std::vector<RefUpdate>& updates,
                                                         const PipelineRunOptions& options) {
  if (!is_valid_resource_name(repository)) return fail(ErrorKind::usage, "invalid repository name '{}'", repository);
  auto matches = pipelines_for_push(pipelines, m_home, repository, updates);
  if (!matches) return std::unexpected(matches.error());
  std::vector<std::string> out;
  for (auto& m : *matches) {
    PipelineRunOptions o = options;
    o.detach = true;
    o.trigger_type = m.trigger_type;
    o.trigger_detail = m.trigger_detail;
    o.source_revisions = {m.revision};
    auto started = start(*m.pipeline, o);
    // One pipeline that cannot start does not keep the others from starting.
    out.push_back(started ? fmt::format("{}\t{}\tstarted for {}", m.pipeline->name, started->record.id, m.trigger_detail)
                          : fmt::format("{}\t-\tnot started: {}", m.pipeline->name, started.error().message));
  }
  return out;
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
  auto transitions = transitions_from(*state);
  Json stages = Json::array();
  for (auto& stage : pipeline.stages) {
    Json s{{"stageName", stage.name}, {"actionStates", Json::array()}};
    if (stage.name != pipeline.stages.front().name) {
      auto t = transitions.find(stage.name);
      s["inboundTransitionState"] = transition_json(t == transitions.end() ? TransitionState{} : t->second);
    }
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

#include "deploy/engine.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "deploy/lifecycle.hpp"
#include "deploy/revision.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "store/stop_request.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

using std::chrono::milliseconds;

std::string deployment_key(const std::string& id) { return "deployments/" + id + "/deployment.json"; }
std::string instance_key(const std::string& id, const std::string& instance) {
  return "deployments/" + id + "/instances/" + instance + ".json";
}
std::string appspec_key(const std::string& id) { return "deployments/" + id + "/appspec.yml"; }
std::string stop_request_key(const std::string& id) { return "deployments/" + id + "/stop-request.json"; }
// By the group's id, not its name: a renamed group keeps its history, and a new group that
// takes a deleted one's name starts afresh.
std::string group_state_key(const std::string& group_id) { return "deployment-groups/" + group_id + "/state.json"; }

// The group's memory between deployments: what runs now, what last succeeded, how each
// instance fared.
struct GroupState {
  std::string active;
  std::string last_successful;
  std::vector<std::string> successful;  // oldest first
  std::string last_attempted;
  std::map<std::string, std::string> instance_health;  // name -> Succeeded | Failed

  static GroupState from_json(const std::optional<Json>& j) {
    GroupState s;
    if (!j) return s;
    s.active = j->value("activeDeploymentId", "");
    s.last_successful = j->value("lastSuccessfulDeploymentId", "");
    for (auto& d : j->value("successfulDeployments", Json::array())) s.successful.push_back(d);
    s.last_attempted = j->value("lastAttemptedDeploymentId", "");
    Json health = j->value("instanceHealth", Json::object());
    for (auto& [k, v] : health.items()) s.instance_health[k] = v;
    return s;
  }
  Json to_json() const {
    return Json{{"activeDeploymentId", active},
                {"lastSuccessfulDeploymentId", last_successful},
                {"successfulDeployments", successful},
                {"lastAttemptedDeploymentId", last_attempted},
                {"instanceHealth", instance_health}};
  }
};

Result<GroupState> load_group_state(Store& store, const std::string& group_id) {
  auto j = store.get_json(group_state_key(group_id));
  if (!j) return std::unexpected(j.error());
  return GroupState::from_json(*j);
}

Result<GroupState> update_group_state(Store& store, const std::string& group_id,
                                      const std::function<Status(GroupState&)>& change) {
  GroupState out;
  auto r = store.update_json(group_state_key(group_id), [&](std::optional<Json> cur) -> Result<Json> {
    out = GroupState::from_json(cur);
    if (auto st = change(out); !st) return std::unexpected(st.error());
    return out.to_json();
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

DeploymentOverview overview_of(const std::vector<InstanceRecord>& instances) {
  DeploymentOverview o;
  for (auto& i : instances) {
    switch (i.status) {
      case TargetStatus::pending: ++o.pending; break;
      case TargetStatus::in_progress: ++o.in_progress; break;
      case TargetStatus::succeeded: ++o.succeeded; break;
      case TargetStatus::failed: ++o.failed; break;
      case TargetStatus::skipped: ++o.skipped; break;
      case TargetStatus::unknown: ++o.failed; break;
    }
  }
  return o;
}

// A deployment still being worked on: a process holds it, or it was created a moment ago and
// the process that will run it (--no-wait) is starting.
bool deployment_alive(const DeploymentRecord& d, SystemTime now) {
  if (is_final(d.status)) return false;
  if (d.pid == 0) {
    // `now` is the engine's clock, which wrote create_time. A clock that jumped back makes the age
    // negative: a minute either way, or the group would be held for as long as the clock jumped.
    auto created = parse_iso8601(d.create_time);
    return created && std::chrono::abs(now - *created) < std::chrono::seconds(60);
  }
  return run_alive(d.id, d.pid, d.pid_start_time, d.host);
}

}  // namespace

DeployEngine::DeployEngine(Store& store, Resources& resources, ProcessRunner& runner, const Clock& clock,
                           HostOpener open)
    : m_store(store), m_resources(resources), m_runner(runner), m_clock(clock),
      m_open_host(open ? std::move(open) : HostOpener(&open_host)) {}

Status DeployEngine::save(const DeploymentRecord& record) {
  auto put = m_store.put_json(deployment_key(record.id), deployment_to_json(record), {},
                              is_final(record.status) ? Durability::sync : Durability::atomic);
  if (!put) return std::unexpected(put.error());
  return {};
}

Status DeployEngine::save_instance(const InstanceRecord& record) {
  auto put = m_store.put_json(instance_key(record.deployment_id, record.instance_name), instance_record_to_json(record),
                              {}, Durability::atomic);
  if (!put) return std::unexpected(put.error());
  return {};
}

Result<DeploymentRecord> DeployEngine::get(const std::string& id) {
  if (!is_valid_deployment_id(id)) return fail(ErrorKind::not_found, "deployment '{}' does not exist", id);
  auto got = get_record(m_store, deployment_key(id), deployment_from_json);
  if (!got) return std::unexpected(got.error());
  if (!*got) return fail(ErrorKind::not_found, "deployment '{}' does not exist", id);
  auto record = std::move(**got);
  // A deployment whose process died is repaired on the first look.
  if (!is_final(record.status) && !deployment_alive(record, m_clock.now())) {
    if (auto st = repair_group_id(record.deployment_group_id); !st) return std::unexpected(st.error());
    auto again = get_record(m_store, deployment_key(id), deployment_from_json);
    if (!again) return std::unexpected(again.error());
    if (*again) return std::move(**again);
  }
  return record;
}

Status DeployEngine::repair_group(const std::string& application, const std::string& group) {
  auto g = m_resources.get_deployment_group(application, group);
  if (!g) return std::unexpected(g.error());
  return repair_group_id(g->id);
}

Status DeployEngine::repair_group_id(const std::string& group_id) {
  auto state = load_group_state(m_store, group_id);
  if (!state) return std::unexpected(state.error());
  if (state->active.empty()) return {};
  // A record of the active deployment that cannot be read (corrupt, by hand) must not hold the
  // group forever: the group is freed, as for a missing record; a look at that deployment itself
  // (get) reports the file.
  auto got = get_record(m_store, deployment_key(state->active), deployment_from_json);
  std::optional<DeploymentRecord> record;
  if (got && *got) record = std::move(**got);
  if (record && deployment_alive(*record, m_clock.now())) return {};
  // 1. What the dead process left running goes first (only processes provably its own): the
  // next deployment must not meet an old hook still at work on the instance.
  if (record) kill_recorded_groups(record->process_groups);
  // 2. The record says why it ended; instances caught mid-way are Failed, the rest Skipped.
  if (record && !is_final(record->status)) {
    // This very process: it lives on, but the deployment's run ended without recording its end.
    bool here = record->pid == static_cast<int>(::getpid()) && record->host == host_name();
    std::string reason = !record->pid ? "the process that was to run this deployment never started it"
                         : here       ? fmt::format("the run of this deployment in this process (pid {} on {}) ended "
                                                    "without recording how it ended; the instances it was working on "
                                                    "are marked Failed",
                                                    record->pid, record->host)
                                      : fmt::format("the cdeploy process running this deployment (pid {} on {}) ended "
                                                    "before it finished; the instances it was working on are marked "
                                                    "Failed",
                                                    record->pid, record->host);
    std::vector<InstanceRecord> instances;
    for (auto& name : record->instances) {
      auto got_instance = get_record(m_store, instance_key(record->id, name), instance_record_from_json);
      if (!got_instance) return std::unexpected(got_instance.error());
      if (!*got_instance) continue;
      auto ir = std::move(*got_instance);
      if (ir->status == TargetStatus::in_progress || ir->status == TargetStatus::pending) {
        ir->status = ir->status == TargetStatus::in_progress ? TargetStatus::failed : TargetStatus::skipped;
        for (auto& e : ir->lifecycle_events) {
          if (e.status == TargetStatus::in_progress) {
            e.status = TargetStatus::failed;
            e.end_time = format_iso8601(m_clock.now());
            e.diagnostics = LifecycleDiagnostics{"UnknownError", "", reason, ""};
          } else if (e.status == TargetStatus::pending) {
            e.status = TargetStatus::skipped;
          }
        }
        ir->last_updated_at = format_iso8601(m_clock.now());
        if (auto st = save_instance(*ir); !st) return st;
      }
      instances.push_back(*ir);
    }
    record->status = DeploymentStatus::failed;
    record->error = ErrorInformation{"INTERNAL_ERROR", reason};
    record->complete_time = format_iso8601(m_clock.now());
    record->overview = overview_of(instances);
    record->process_groups.clear();
    if (auto st = save(*record); !st) return st;
  }
  // 3. The group is free again; failed instances go first next time.
  auto updated = update_group_state(m_store, group_id, [&](GroupState& s) -> Status {
    if (record)
      for (auto& name : record->instances)
        if (!s.instance_health.count(name) || s.instance_health[name] != "Succeeded") s.instance_health[name] = "Failed";
    s.active.clear();
    return {};
  });
  if (!updated) return std::unexpected(updated.error());
  return {};
}

Result<DeploymentOutcome> DeployEngine::create(const CreateDeploymentOptions& options) {
  return create_internal(options, std::nullopt);
}

Result<DeploymentOutcome> DeployEngine::create_internal(const CreateDeploymentOptions& options,
                                                        const std::optional<std::string>& rollback_of,
                                                        const DeploymentRecord* reuse) {
  // 1. Everything the deployment needs must exist and be valid before anything is written.
  auto app = m_resources.get_application(options.application);
  if (!app) return std::unexpected(app.error());
  auto group = m_resources.get_deployment_group(options.application, options.deployment_group);
  if (!group) return std::unexpected(group.error());
  auto config = m_resources.get_deployment_config(options.deployment_config.empty() ? group->deployment_config_name
                                                                                    : options.deployment_config);
  if (!config) return std::unexpected(config.error());
  std::optional<PreparedRevision> revision;
  if (!reuse) {
    auto prepared = prepare_revision(options.revision);
    if (!prepared) return std::unexpected(prepared.error());
    revision = std::move(*prepared);
  }
  auto instances = m_resources.instances_for(*group);
  if (!instances) return std::unexpected(instances.error());

  DeploymentRecord record;
  record.id = make_deployment_id();
  record.application = group->application;
  record.deployment_group = group->name;
  record.deployment_group_id = group->id;
  record.deployment_config = config->name;
  record.status = DeploymentStatus::created;
  record.create_time = format_iso8601(m_clock.now());
  record.description = options.description;
  record.creator = rollback_of ? "autoRollback" : "user";
  record.user = current_user_name();
  record.ignore_application_stop_failures = options.ignore_application_stop_failures;
  record.hard_links = options.hard_links;
  if (options.file_exists_behavior)
    record.file_exists_behavior = std::string(file_exists_behavior_name(*options.file_exists_behavior));
  record.auto_rollback_enabled = group->auto_rollback.enabled;
  record.auto_rollback_events = group->auto_rollback.events;
  record.revision.location = reuse ? reuse->revision.location : revision->location;
  for (auto& i : *instances) record.instances.push_back(i.name);
  record.overview.pending = static_cast<int>(record.instances.size());
  record.host = host_name();

  // 2. The bundle the instances get, kept in the store (rollbacks redeploy it from there).
  auto bundle_key = "deployments/" + record.id + "/bundle.tar";
  auto bundle_path = m_store.local_path(bundle_key);
  if (!bundle_path) return fail(ErrorKind::usage, "this store keeps no local files; cdeploy needs a local store");
  if (reuse) {
    // The same bundle again: a hard link when the store allows, else a copy.
    if (auto st = make_dirs(bundle_path->parent_path()); !st) return std::unexpected(st.error());
    std::error_code ec;
    std::filesystem::create_hard_link(reuse->revision.bundle, *bundle_path, ec);
    if (ec) std::filesystem::copy_file(reuse->revision.bundle, *bundle_path, ec);
    if (ec) return fail(ErrorKind::io, "cannot reuse the bundle of {}: {}", reuse->id, ec.message());
    auto old_appspec = m_store.get(appspec_key(reuse->id));
    if (!old_appspec || !*old_appspec)
      return fail(ErrorKind::not_found, "the appspec of deployment {} is missing from the store", reuse->id);
    if (auto put = m_store.put(appspec_key(record.id), (*old_appspec)->data); !put) return std::unexpected(put.error());
    record.revision.sha256 = reuse->revision.sha256;
  } else {
    auto sha = pack_bundle(*revision, *bundle_path);
    if (!sha) return std::unexpected(sha.error());
    // The appspec is kept beside the bundle: running the deployment needs it, not the whole tree.
    auto appspec_text = read_file(revision->appspec_path);
    if (!appspec_text) return std::unexpected(appspec_text.error());
    if (auto put = m_store.put(appspec_key(record.id), *appspec_text); !put) return std::unexpected(put.error());
    record.revision.sha256 = *sha;
  }
  record.revision.bundle = bundle_path->string();
  if (rollback_of) record.rollback = RollbackInfo{"", *rollback_of, fmt::format("Rollback of {}", *rollback_of)};

  // 3. One deployment at a time per group: claim it (repairing a dead claim first).
  if (auto st = repair_group_id(record.deployment_group_id); !st) return std::unexpected(st.error());
  auto claimed = update_group_state(m_store, record.deployment_group_id, [&](GroupState& s) -> Status {
    if (!s.active.empty())
      return fail(ErrorKind::conflict,
                  "deployment {} is already in progress in deployment group '{}' of application '{}'; wait for it, "
                  "or stop it with: cdeploy stop-deployment --deployment-id {}",
                  s.active, record.deployment_group, record.application, s.active);
    s.active = record.id;
    s.last_attempted = record.id;
    record.previous_revision_deployment_id = s.last_successful;
    return {};
  });
  if (!claimed) {
    Error e = claimed.error();
    if (auto removed = m_store.remove_prefix("deployments/" + record.id); !removed)
      e.message += fmt::format(" (and the unused bundle of {} could not be removed: {})", record.id, removed.error().message);
    return std::unexpected(e);
  }
  if (auto st = save(record); !st) return std::unexpected(st.error());
  DeploymentOutcome out;
  out.deployment = record;
  if (revision) out.warnings = revision->warnings;
  return out;
}

Result<DeploymentOutcome> DeployEngine::run(const std::string& id, const RunDeploymentOptions& options) {
  auto record = get(id);
  if (!record) return std::unexpected(record.error());
  if (record->status != DeploymentStatus::created)
    return fail(ErrorKind::conflict, "deployment {} is already {}", id, deployment_status_name(record->status));
  DeploymentOutcome out;
  auto done = execute(*record, options);
  if (!done) return std::unexpected(done.error());
  out.deployment = *done;

  // Automatic rollback: a new deployment of the last known good revision, linked both ways.
  bool failed = done->status == DeploymentStatus::failed;
  bool stopped = done->status == DeploymentStatus::stopped;
  bool wanted = done->auto_rollback_enabled && done->creator != "autoRollback" &&
                ((failed && std::find(done->auto_rollback_events.begin(), done->auto_rollback_events.end(),
                                      "DEPLOYMENT_FAILURE") != done->auto_rollback_events.end()) ||
                 (stopped && std::find(done->auto_rollback_events.begin(), done->auto_rollback_events.end(),
                                       "DEPLOYMENT_STOP_ON_REQUEST") != done->auto_rollback_events.end()));
  if (!wanted) return out;
  auto no_rollback = [&](std::string why) -> Result<DeploymentOutcome> {
    out.deployment.status_messages.push_back(std::move(why));
    if (auto st = save(out.deployment); !st) return std::unexpected(st.error());
    return out;
  };
  // An interruption of the caller (Ctrl-C, a stopped pipeline) means "stop now", not "roll back".
  if (options.cancel.cancelled())
    return no_rollback(fmt::format("No rollback: {}; roll back with: cdeploy rollback --application-name {} "
                                   "--deployment-group-name {}",
                                   options.cancel.message(), done->application, done->deployment_group));
  if (done->previous_revision_deployment_id.empty())
    return no_rollback("No rollback: the deployment group has no earlier successful revision");
  auto good = get(done->previous_revision_deployment_id);
  if (!good)
    return no_rollback(fmt::format("No rollback: the last good deployment {} cannot be read: {}",
                                   done->previous_revision_deployment_id, good.error().message));
  CreateDeploymentOptions ro;
  ro.application = done->application;
  ro.deployment_group = done->deployment_group;
  ro.revision = good->revision.bundle;
  ro.description = fmt::format("Automatic rollback of {} to the revision of {}", done->id, good->id);
  ro.ignore_application_stop_failures = true;
  ro.hard_links = done->hard_links;
  if (options.progress)
    options.progress({ProgressLine::Kind::info, fmt::format("{}: {}; rolling back to the revision of {}", done->id,
                                                            deployment_status_name(done->status), good->id)});
  auto created = create_internal(ro, done->id, &*good);
  if (!created) return no_rollback("Rollback could not start: " + created.error().message);
  out.deployment.rollback = RollbackInfo{created->deployment.id, "", fmt::format("Rolled back by {}", created->deployment.id)};
  if (auto st = save(out.deployment); !st) return std::unexpected(st.error());
  // The rollback is a run of its own: the stop request that ended the deployment is not its.
  auto rolled = execute(created->deployment, options);
  if (!rolled) return std::unexpected(rolled.error());
  out.rollback = *rolled;
  return out;
}

Result<DeploymentRecord> DeployEngine::execute(DeploymentRecord record, const RunDeploymentOptions& options) {
  const auto& progress = options.progress;
  // 1. In progress, held by this process: a run of its own, whose process groups (the hooks) the
  // record keeps, and which a stop request in the store cancels.
  record.status = DeploymentStatus::in_progress;
  // Until execute returns, this record's process (ours) runs it; after, a record still in progress
  // is one whose end could not be recorded, and the next look repairs it (run_alive).
  LiveRun live(record.id);
  record.start_time = format_iso8601(m_clock.now());
  record.pid = static_cast<int>(::getpid());
  record.pid_start_time = process_start_time(record.pid);
  record.host = host_name();
  if (auto st = save(record); !st) return std::unexpected(st.error());
  std::mutex mutex;  // the record, the instance records, progress output
  // Saves made while the deployment goes on: a failure is kept (the first) and reported at the end.
  std::optional<Error> save_error;
  auto keep = [&](const Status& st) {
    if (!st && !save_error) save_error = st.error();
  };
  Run run(options.cancel);
  run.on_groups_changed([&](const std::vector<ProcessGroupRef>& groups) {
    std::lock_guard lock(mutex);
    record.process_groups = groups;
    keep(save(record));
  });
  StopRequestWatcher stop_watch(m_store, stop_request_key(record.id), run);
  auto say = [&](const std::string& line, ProgressLine::Kind kind = ProgressLine::Kind::info) {
    if (progress) progress({kind, line});
  };
  auto finish = [&](DeploymentStatus status, std::optional<ErrorInformation> error,
                    const std::vector<InstanceRecord>& instances) -> Result<DeploymentRecord> {
    run.end();
    record.status = status;
    record.error = std::move(error);
    record.complete_time = format_iso8601(m_clock.now());
    record.overview = overview_of(instances);
    record.process_groups.clear();
    if (save_error) {
      record.status_messages.push_back(
          fmt::format("Some progress of this deployment could not be recorded as it happened: {}", save_error->message));
      // An instance whose last save failed would read InProgress for ever: each one's end, again
      // (a failure here is the one reported above).
      for (auto& i : instances)
        if (i.status != TargetStatus::pending) (void)save_instance(i);
    }
    if (auto st = save(record); !st) return std::unexpected(st.error());
    auto state = update_group_state(m_store, record.deployment_group_id, [&](GroupState& s) -> Status {
      if (s.active == record.id) s.active.clear();
      for (auto& i : instances)
        if (i.status == TargetStatus::succeeded || i.status == TargetStatus::failed)
          s.instance_health[i.instance_name] = std::string(target_status_name(i.status));
      if (status == DeploymentStatus::succeeded) {
        s.last_successful = record.id;
        s.successful.push_back(record.id);
      }
      return {};
    });
    if (!state) return std::unexpected(state.error());
    say(fmt::format("{}: {}{}", record.id, deployment_status_name(status),
                    record.error ? " (" + record.error->code + ": " + record.error->message + ")" : ""),
        status == DeploymentStatus::succeeded ? ProgressLine::Kind::succeeded : ProgressLine::Kind::failed);
    return record;
  };

  // 2. The instances, and how the configuration paces them.
  if (record.instances.empty())
    return finish(DeploymentStatus::failed,
                  ErrorInformation{"NO_INSTANCES", "no instance in the deployment group matches its tags"}, {});
  auto config = m_resources.get_deployment_config(record.deployment_config);
  if (!config) return finish(DeploymentStatus::failed, ErrorInformation{"DEPLOYMENT_CONFIG_MISSING", config.error().message}, {});
  auto state = load_group_state(m_store, record.deployment_group_id);
  if (!state) return finish(DeploymentStatus::failed, ErrorInformation{"INTERNAL_ERROR", state.error().message}, {});
  std::vector<FleetInstance> fleet;
  std::map<std::string, Instance> definitions;
  std::map<std::string, InstanceRecord> records;
  for (auto& name : record.instances) {
    auto inst = m_resources.get_instance(name);
    if (!inst) return finish(DeploymentStatus::failed, ErrorInformation{"INSTANCE_MISSING", inst.error().message}, {});
    definitions[name] = *inst;
    bool healthy = state->instance_health.count(name) && state->instance_health.at(name) == "Succeeded";
    fleet.push_back({name, healthy ? PriorHealth::healthy : PriorHealth::failed_or_unknown});
    InstanceRecord ir;
    ir.deployment_id = record.id;
    ir.instance_name = name;
    ir.instance_arn = inst->arn;
    ir.last_updated_at = format_iso8601(m_clock.now());
    for (auto e : in_place_lifecycle()) {
      LifecycleEventRecord event;
      event.name = lifecycle_event_name(e);
      ir.lifecycle_events.push_back(event);
    }
    records[name] = ir;  // saved when it starts: until then `instance()` shows it Pending
  }
  auto all_records = [&] {
    std::vector<InstanceRecord> v;
    for (auto& n : record.instances) v.push_back(records[n]);
    return v;
  };
  auto plan = FleetPlan::create(*config, fleet);
  if (!plan) {
    for (auto& [n, r] : records) {
      r.status = TargetStatus::skipped;
      for (auto& e : r.lifecycle_events) e.status = TargetStatus::skipped;
      keep(save_instance(r));
    }
    return finish(DeploymentStatus::failed, ErrorInformation{"HEALTH_CONSTRAINTS_INVALID", plan.error().message},
                  all_records());
  }
  {
    std::lock_guard lock(mutex);
    record.instances = plan->order();
    keep(save(record));
  }
  auto appspec_object = m_store.get(appspec_key(record.id));
  std::optional<Appspec> spec;
  if (appspec_object && *appspec_object) spec = parse_appspec((*appspec_object)->data).spec;
  if (!spec)
    return finish(DeploymentStatus::failed,
                  ErrorInformation{"REVISION_MISSING", fmt::format("the appspec of deployment {} is missing from the store", record.id)},
                  all_records());
  FileExistsBehavior behavior = spec->file_exists_behavior.value_or(FileExistsBehavior::disallow);
  if (!record.file_exists_behavior.empty())
    behavior = parse_file_exists_behavior(record.file_exists_behavior).value_or(behavior);

  // 3. Pace the fleet: start what the plan allows, wait for any to finish, repeat.
  std::condition_variable cv;
  std::deque<std::pair<std::string, bool>> finished;
  std::map<std::string, std::chrono::steady_clock::time_point> last_saved;
  auto last_record_save = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  int in_flight = 0;
  bool stopping = false;
  for (;;) {
    if (!stopping && run.token().cancelled()) {
      stopping = true;
      say(fmt::format("{}: {}; ending the instances in progress", record.id, run.token().message()));
    }
    if (!stopping)
      for (auto& name : plan->next()) {
        ++in_flight;
        say(fmt::format("{}: deploying to {}", record.id, name));
        threads.emplace_back([&, name] {
          InstanceRecord result;
          auto host = m_open_host(definitions[name], m_runner, &run);
          if (!host) {
            std::lock_guard lock(mutex);
            result = records[name];
            result.status = TargetStatus::failed;
            result.lifecycle_events[0].status = TargetStatus::failed;
            result.lifecycle_events[0].diagnostics = LifecycleDiagnostics{"UnknownError", "", host.error().message, ""};
            for (size_t k = 1; k < result.lifecycle_events.size(); ++k) result.lifecycle_events[k].status = TargetStatus::skipped;
            keep(save_instance(result));
          } else {
            InstanceDeployment d;
            d.deployment_id = record.id;
            d.application = record.application;
            d.deployment_group = record.deployment_group;
            d.deployment_group_id = record.deployment_group_id;
            d.spec = &*spec;
            d.bundle = record.revision.bundle;
            d.file_exists_behavior = behavior;
            d.ignore_application_stop_failures = record.ignore_application_stop_failures;
            d.hard_links = record.hard_links;
            d.clock = &m_clock;
            // Saved as it goes, but at most twice a second per instance: each save replaces a
            // file, which costs a flush on some file systems; the last state is always saved.
            d.on_update = [&](const InstanceRecord& r) {
              std::lock_guard lock(mutex);
              records[r.instance_name] = r;  // the overview counts it InProgress now
              auto now = std::chrono::steady_clock::now();
              auto& last = last_saved[r.instance_name];
              bool decided = r.status != TargetStatus::in_progress && r.status != TargetStatus::pending;
              if (decided || last == std::chrono::steady_clock::time_point{} || now - last >= milliseconds(500)) {
                keep(save_instance(r));
                last = now;
              }
            };
            d.progress = [&](const ProgressLine& line) {
              std::lock_guard lock(mutex);
              if (progress) progress(line);
            };
            d.echo_output = options.echo_output;
            d.run = &run;
            result = deploy_instance(**host, definitions[name], d);
          }
          std::lock_guard lock(mutex);
          records[name] = result;
          finished.emplace_back(name, result.status == TargetStatus::succeeded);
          cv.notify_all();
        });
      }
    if (in_flight == 0) break;
    std::unique_lock lock(mutex);
    cv.wait_for(lock, milliseconds(200), [&] { return !finished.empty(); });
    while (!finished.empty()) {
      auto [name, ok] = finished.front();
      finished.pop_front();
      --in_flight;
      plan->finished(name, ok);
    }
    record.overview = overview_of(all_records());
    if (auto now = std::chrono::steady_clock::now(); now - last_record_save >= milliseconds(500)) {
      keep(save(record));
      last_record_save = now;
    }
    lock.unlock();
    // A stop ends in-progress hooks too (they belong to the run); what ended them decides the verdict.
    if (run.token().cancelled()) stopping = true;
    if (!stopping && plan->done() && in_flight == 0) break;
  }
  for (auto& t : threads) t.join();

  // 4. Instances never reached are Skipped; the deployment's verdict follows the plan.
  for (auto& name : plan->skipped()) {
    auto& r = records[name];
    if (r.status != TargetStatus::pending) continue;
    r.status = TargetStatus::skipped;
    for (auto& e : r.lifecycle_events) e.status = TargetStatus::skipped;
    r.last_updated_at = format_iso8601(m_clock.now());
    keep(save_instance(r));
  }
  if (stopping)
    return finish(DeploymentStatus::stopped, ErrorInformation{"MANUAL_STOP", fmt::format("the deployment was {}", run.token().message())},
                  all_records());
  if (plan->succeeded()) return finish(DeploymentStatus::succeeded, std::nullopt, all_records());
  return finish(DeploymentStatus::failed, ErrorInformation{"HEALTH_CONSTRAINTS", plan->failure_reason()}, all_records());
}

Result<DeploymentOutcome> DeployEngine::rollback(const std::string& application, const std::string& group) {
  auto g = m_resources.get_deployment_group(application, group);
  if (!g) return std::unexpected(g.error());
  if (auto st = repair_group_id(g->id); !st) return std::unexpected(st.error());
  auto state = load_group_state(m_store, g->id);
  if (!state) return std::unexpected(state.error());
  // The last known good revision: the latest success other than the latest deployment itself.
  std::string target;
  for (auto it = state->successful.rbegin(); it != state->successful.rend(); ++it)
    if (*it != state->last_attempted) {
      target = *it;
      break;
    }
  if (target.empty())
    return fail(ErrorKind::conflict,
                "deployment group '{}' of application '{}' has no earlier successful deployment to roll back to",
                group, application);
  auto good = get(target);
  if (!good) return std::unexpected(good.error());
  CreateDeploymentOptions ro;
  ro.application = application;
  ro.deployment_group = group;
  ro.revision = good->revision.bundle;
  ro.description = fmt::format("Rollback to the revision of {}", good->id);
  ro.ignore_application_stop_failures = true;
  ro.hard_links = good->hard_links;
  auto created = create_internal(ro, std::nullopt, &*good);
  if (!created) return std::unexpected(created.error());
  created->deployment.rollback = RollbackInfo{"", state->last_attempted, fmt::format("Rollback to the revision of {}", good->id)};
  if (auto st = save(created->deployment); !st) return std::unexpected(st.error());
  return created;
}

Result<std::vector<std::string>> DeployEngine::list(const std::string& application, const std::string& group,
                                                    const std::vector<DeploymentStatus>& statuses) {
  auto keys = m_store.list("deployments/");
  if (!keys) return std::unexpected(keys.error());
  std::vector<std::pair<std::string, std::string>> found;
  for (auto& k : *keys) {
    if (!k.ends_with("/deployment.json")) continue;
    // A record that cannot be read is an error naming its file, not a deployment left out.
    auto got = get_record(m_store, k, deployment_from_json);
    if (!got) return std::unexpected(got.error());
    if (!*got) continue;
    auto& d = *got;
    if (!application.empty() && d->application != application) continue;
    if (!group.empty() && d->deployment_group != group) continue;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(), d->status) == statuses.end()) continue;
    found.emplace_back(d->create_time, d->id);
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

Result<std::vector<InstanceRecord>> DeployEngine::instances(const std::string& id) {
  auto record = get(id);
  if (!record) return std::unexpected(record.error());
  std::vector<InstanceRecord> out;
  for (auto& name : record->instances) {
    auto r = instance(id, name);
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<InstanceRecord> DeployEngine::instance(const std::string& id, const std::string& name) {
  if (!is_valid_deployment_id(id) || !is_valid_resource_name(name))
    return fail(ErrorKind::not_found, "instance '{}' is not part of deployment '{}'", name, id);
  auto got = get_record(m_store, instance_key(id, name), instance_record_from_json);
  if (!got) return std::unexpected(got.error());
  if (!*got) {
    // Not started yet: Pending, if the deployment targets it.
    auto record = get(id);
    if (!record) return std::unexpected(record.error());
    if (std::find(record->instances.begin(), record->instances.end(), name) == record->instances.end())
      return fail(ErrorKind::not_found, "instance '{}' is not part of deployment '{}'", name, id);
    InstanceRecord pending;
    pending.deployment_id = id;
    pending.instance_name = name;
    pending.last_updated_at = record->create_time;
    for (auto e : in_place_lifecycle()) {
      LifecycleEventRecord event;
      event.name = lifecycle_event_name(e);
      pending.lifecycle_events.push_back(event);
    }
    return pending;
  }
  return std::move(**got);
}

Result<DeploymentRecord> DeployEngine::stop(const std::string& id, milliseconds wait) {
  auto record = get(id);
  if (!record) return std::unexpected(record.error());
  if (is_final(record->status)) return *record;
  // 1. The request, which the deployment watches wherever it runs (a created one sees it as it starts).
  if (auto st = request_stop(m_store, stop_request_key(id),
                             {current_user_name(), format_iso8601(m_clock.now()), "stop-deployment"});
      !st)
    return std::unexpected(st.error());
  // 2. Its record says when it ended (or its process died, and the look repairs it).
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    auto again = get(id);
    if (!again) return std::unexpected(again.error());
    if (is_final(again->status)) return *again;
  }
  return fail(ErrorKind::timed_out, "deployment {} did not stop within {} s (the request stays: it stops when it next looks)",
              id, wait.count() / 1000);
}

}  // namespace cicd

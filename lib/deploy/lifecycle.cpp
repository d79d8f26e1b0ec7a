#include "deploy/lifecycle.hpp"

#include <unistd.h>

#include <deque>
#include <mutex>

#include "util/strings.hpp"

namespace cicd {

namespace {

constexpr size_t k_tail_bytes = 4096;



// Collects a script's output for the script log (timestamped) and the diagnostics' log tail.
class ScriptOutput final : public OutputSink {
 public:
  explicit ScriptOutput(const Clock& clock) : m_clock(clock) {}
  // Each line also goes to `echo`, prefixed ("web1 AfterInstall| ").
  void set_echo(ProgressCallback echo, std::string instance) {
    std::lock_guard lock(m_mutex);
    m_echo = std::move(echo);
    m_instance = std::move(instance);
  }
  void set_event(std::string_view event) {
    std::lock_guard lock(m_mutex);
    m_event = event;
  }
  void on_line(OutputStream stream, std::string_view line) override {
    std::lock_guard lock(m_mutex);
    if (m_echo) m_echo({ProgressLine::Kind::output, fmt::format("{} {}| {}", m_instance, m_event, line)});
    std::string stamp = format_iso8601(m_clock.now());
    stamp[10] = ' ';
    stamp.pop_back();  // "2026-11-26 06:50:00.123"
    m_log += fmt::format("[{}] [{}]{}\n", stamp, stream == OutputStream::out ? "stdout" : "stderr", line);
    m_tail.emplace_back(line);
    m_tail_size += line.size() + 1;
    while (m_tail_size > k_tail_bytes && m_tail.size() > 1) {
      m_tail_size -= m_tail.front().size() + 1;
      m_tail.pop_front();
    }
  }
  void note(const std::string& text) { on_line(OutputStream::out, text); }
  // The tail is per script: what the diagnostics show is that script's output.
  void clear_tail() {
    std::lock_guard lock(m_mutex);
    m_tail.clear();
    m_tail_size = 0;
  }
  std::string take_log() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_log, {});
  }
  std::string tail() const {
    std::lock_guard lock(m_mutex);
    std::string out;
    for (auto& l : m_tail) out += l + "\n";
    return out;
  }

 private:
  const Clock& m_clock;
  mutable std::mutex m_mutex;
  ProgressCallback m_echo;
  std::string m_instance, m_event;
  std::string m_log;
  std::deque<std::string> m_tail;
  size_t m_tail_size = 0;
};

std::string join_path(const std::string& dir, const std::string& rel) {
  std::string r = rel;
  while (r.starts_with("/")) r.erase(0, 1);
  return dir + "/" + r;
}

}  // namespace

const std::vector<LifecycleEvent>& in_place_lifecycle() {
  static const std::vector<LifecycleEvent> k_events = {
      LifecycleEvent::application_stop, LifecycleEvent::download_bundle,   LifecycleEvent::before_install,
      LifecycleEvent::install,          LifecycleEvent::after_install,     LifecycleEvent::application_start,
      LifecycleEvent::validate_service};
  return k_events;
}

DeploymentRootPaths deployment_root_paths(const std::string& root, const std::string& group_id,
                                          const std::string& deployment_id) {
  DeploymentRootPaths p;
  p.root = root;
  p.group_dir = root + "/" + group_id;
  p.deployment_dir = p.group_dir + "/" + deployment_id;
  p.archive = p.deployment_dir + "/deployment-archive";
  p.bundle = p.deployment_dir + "/bundle.tar";
  p.script_log = p.deployment_dir + "/logs/scripts.log";
  std::string instructions = root + "/deployment-instructions/" + group_id;
  p.cleanup = instructions + "-cleanup";
  p.last_successful = instructions + "_last_successful_install";
  p.most_recent = instructions + "_most_recent_install";
  return p;
}

namespace {

// One instance's run: the record, the log, and the steps.
class InstanceRun {
 public:
  InstanceRun(InstanceHost& host, const Instance& instance, const InstanceDeployment& d)
      : m_host(host), m_d(d), m_output(std::make_shared<ScriptOutput>(*d.clock)) {
    m_record.deployment_id = d.deployment_id;
    m_record.instance_name = instance.name;
    m_record.instance_arn = instance.arn;
    for (auto e : in_place_lifecycle()) {
      LifecycleEventRecord event;
      event.name = lifecycle_event_name(e);
      m_record.lifecycle_events.push_back(event);
    }
    m_paths = deployment_root_paths(host.deployment_root(), d.deployment_group_id, d.deployment_id);
    if (d.echo_output && d.progress) m_output->set_echo(d.progress, instance.name);
  }

  InstanceRecord run();

 private:
  LifecycleEventRecord& event(LifecycleEvent e) {
    return m_record.lifecycle_events[static_cast<size_t>(
        std::find(in_place_lifecycle().begin(), in_place_lifecycle().end(), e) - in_place_lifecycle().begin())];
  }
  void update() {
    m_record.last_updated_at = format_iso8601(m_d.clock->now());
    if (m_d.on_update) m_d.on_update(m_record);
  }
  // A script log that cannot be written is said once on the progress; the text is kept for the
  // next attempt rather than lost.
  void flush_log() {
    auto text = m_unwritten + m_output->take_log();
    m_unwritten.clear();
    if (text.empty()) return;
    auto st = m_host.append_text(m_paths.script_log, text);
    if (st) return;
    m_unwritten = std::move(text);
    if (!m_log_failure_told && m_d.progress)
      m_d.progress({ProgressLine::Kind::failed, fmt::format("{}: cannot write the script log {}: {}", m_record.instance_name,
                                                            m_paths.script_log, st.error().message)});
    m_log_failure_told = true;
  }
  void begin(LifecycleEvent e) {
    auto& ev = event(e);
    ev.status = TargetStatus::in_progress;
    ev.start_time = format_iso8601(m_d.clock->now());
    m_output->set_event(ev.name);
    m_output->note(fmt::format("LifecycleEvent - {}", lifecycle_event_name(e)));
    update();
  }
  void end(LifecycleEvent e, TargetStatus status, LifecycleDiagnostics diagnostics) {
    auto& ev = event(e);
    ev.status = status;
    ev.end_time = format_iso8601(m_d.clock->now());
    ev.diagnostics = std::move(diagnostics);
    flush_log();
    update();
    if (m_d.progress) {
      auto kind = status == TargetStatus::succeeded ? ProgressLine::Kind::succeeded
                  : status == TargetStatus::failed  ? ProgressLine::Kind::failed
                  : status == TargetStatus::skipped ? ProgressLine::Kind::skipped
                                                    : ProgressLine::Kind::info;
      m_d.progress({kind, fmt::format("{}: {} {}{}", m_record.instance_name, ev.name, target_status_name(status),
                                      status == TargetStatus::failed ? " (" + ev.diagnostics->error_code + ": " +
                                                                           ev.diagnostics->message + ")"
                                                                     : "")});
    }
  }
  // Runs an event's scripts from a revision directory; returns false when one failed.
  bool run_scripts(LifecycleEvent e, const Appspec& spec, const std::string& archive, bool ignore_failures);
  bool step_application_stop();
  bool step_download_bundle();
  bool step_install();
  void retire_old_revisions();

  InstanceHost& m_host;
  const InstanceDeployment& m_d;
  InstanceRecord m_record;
  DeploymentRootPaths m_paths;
  std::shared_ptr<ScriptOutput> m_output;
  std::string m_unwritten;  // script log text a failed append left over
  bool m_log_failure_told = false;
};

bool InstanceRun::run_scripts(LifecycleEvent e, const Appspec& spec, const std::string& archive, bool ignore_failures) {
  begin(e);
  const AppspecHook* hook = spec.hook(e);
  if (!hook || hook->scripts.empty()) {
    end(e, TargetStatus::succeeded, {"Success", "", "Succeeded: no scripts for this event", ""});
    return true;
  }
  for (auto& script : hook->scripts) {
    std::string path = join_path(archive, script.location);
    m_output->note(fmt::format("Script - {}", script.location));
    m_output->clear_tail();
    LifecycleDiagnostics diag{"", script.location, "", ""};
    auto state = m_host.check_script(path);
    if (state == ScriptState::missing) {
      diag.error_code = "ScriptMissing";
      diag.message = fmt::format("Script does not exist at specified location: {}", path);
    } else if (state == ScriptState::not_executable) {
      diag.error_code = "ScriptNotExecutable";
      diag.message = fmt::format("Script at specified location: {} is not executable (chmod +x it in the revision)",
                                 script.location);
    } else {
      HookRun run;
      run.script = path;
      run.cwd = archive;
      run.env = {{"LIFECYCLE_EVENT", std::string(lifecycle_event_name(e))},
                 {"DEPLOYMENT_ID", m_d.deployment_id},
                 {"APPLICATION_NAME", m_d.application},
                 {"DEPLOYMENT_GROUP_NAME", m_d.deployment_group},
                 {"DEPLOYMENT_GROUP_ID", m_d.deployment_group_id}};
      run.timeout = std::chrono::seconds(script.timeout_seconds);
      run.runas = script.runas;
      run.sudo = script.sudo;
      run.sink = m_output;
      run.run = m_d.run;
      auto result = m_host.run_hook(run);
      if (!result) {
        diag.error_code = "UnknownError";
        diag.message = result.error().message;
      } else if (result->timed_out) {
        diag.error_code = "ScriptTimedOut";
        diag.message = fmt::format("Script at specified location: {} failed to complete in {} seconds",
                                   script.location, script.timeout_seconds);
      } else if (result->stopped) {
        diag.error_code = "UnknownError";
        diag.message = fmt::format("Script at specified location: {} was stopped (the deployment was {})",
                                   script.location, m_d.run ? m_d.run->token().message() : "stopped");
      } else if (!result->succeeded()) {
        diag.error_code = "ScriptFailed";
        diag.message = fmt::format("Script at specified location: {} run as user {} failed with {}", script.location,
                                   script.runas.value_or(m_host.hook_user()), result->describe());
      }
    }
    if (!diag.error_code.empty()) {
      diag.log_tail = m_output->tail();
      if (ignore_failures) {
        m_output->note(fmt::format("Ignoring the failure: {} (--ignore-application-stop-failures)", diag.message));
        continue;
      }
      end(e, TargetStatus::failed, diag);
      return false;
    }
  }
  end(e, TargetStatus::succeeded, {"Success", "", "Succeeded", m_output->tail()});
  return true;
}

bool InstanceRun::step_application_stop() {
  // The scripts of the last revision that succeeded here stop what it started.
  auto last = m_host.read_text(m_paths.last_successful);
  std::string previous = last && *last ? std::string(trim(**last)) : std::string();
  if (previous.empty()) {
    begin(LifecycleEvent::application_stop);
    m_output->note("No previous successful deployment on this instance: nothing to stop");
    end(LifecycleEvent::application_stop, TargetStatus::succeeded,
        {"Success", "", "Skipped scripts: no previous successful revision on this instance", ""});
    return true;
  }
  std::optional<std::string> text;
  for (const char* name : {"appspec.yml", "appspec.yaml"})
    if (auto t = m_host.read_text(previous + "/" + name); t && *t) {
      text = **t;
      break;
    }
  auto parsed = text ? parse_appspec(*text) : AppspecParse{};
  if (!text || !parsed.spec) {
    begin(LifecycleEvent::application_stop);
    m_output->note(fmt::format("The previous revision at {} has no readable appspec: nothing to stop", previous));
    end(LifecycleEvent::application_stop, TargetStatus::succeeded,
        {"Success", "", "Skipped scripts: the previous revision's appspec is missing or invalid", ""});
    return true;
  }
  m_output->note(fmt::format("ApplicationStop runs the scripts of the last successful revision ({})", previous));
  return run_scripts(LifecycleEvent::application_stop, *parsed.spec, previous, m_d.ignore_application_stop_failures);
}

bool InstanceRun::step_download_bundle() {
  begin(LifecycleEvent::download_bundle);
  // The pointer first: a killed deployment's Install is cleaned up from it next time.
  auto st = m_host.write_text(m_paths.most_recent, m_paths.archive + "\n");
  if (st) st = m_host.unpack_bundle(m_d.bundle, m_paths.archive);
  if (!st) {
    end(LifecycleEvent::download_bundle, TargetStatus::failed, {"UnknownError", "", st.error().message, ""});
    return false;
  }
  end(LifecycleEvent::download_bundle, TargetStatus::succeeded, {"Success", "", "Succeeded", ""});
  return true;
}

bool InstanceRun::step_install() {
  begin(LifecycleEvent::install);
  auto outcome = m_host.install(*m_d.spec, m_paths.archive, m_paths.cleanup, m_d.file_exists_behavior, m_d.hard_links);
  if (!outcome) {
    m_output->note(outcome.error().message);
    end(LifecycleEvent::install, TargetStatus::failed, {"UnknownError", "", outcome.error().message, ""});
    return false;
  }
  for (auto& l : outcome->log) m_output->note(l);
  end(LifecycleEvent::install, TargetStatus::succeeded,
      {"Success", "", fmt::format("Succeeded: {} files installed", outcome->copied), ""});
  return true;
}

void InstanceRun::retire_old_revisions() {
  // Keep the newest few revisions, and never the last successful one.
  auto dirs = m_host.list_directories(m_paths.group_dir);
  if (!dirs) return;
  auto last = m_host.read_text(m_paths.last_successful);
  std::string keep = last && *last ? std::string(trim(**last)) : "";
  int excess = static_cast<int>(dirs->size()) - m_d.revisions_to_keep;
  for (auto& dir : *dirs) {
    if (excess <= 0) break;
    if (!keep.empty() && keep.starts_with(dir + "/")) continue;
    if (dir == m_paths.deployment_dir) continue;
    if (auto st = m_host.remove_tree(dir); !st) m_output->note(fmt::format("Cannot remove an old revision: {}", st.error().message));
    --excess;
  }
}

InstanceRecord InstanceRun::run() {
  m_record.status = TargetStatus::in_progress;
  update();
  // 1. The lifecycle, in order, stopping at the first failure (or a stop request).
  using Step = std::function<bool()>;
  std::vector<std::pair<LifecycleEvent, Step>> steps = {
      {LifecycleEvent::application_stop, [&] { return step_application_stop(); }},
      {LifecycleEvent::download_bundle, [&] { return step_download_bundle(); }},
      {LifecycleEvent::before_install,
       [&] { return run_scripts(LifecycleEvent::before_install, *m_d.spec, m_paths.archive, false); }},
      {LifecycleEvent::install, [&] { return step_install(); }},
      {LifecycleEvent::after_install,
       [&] { return run_scripts(LifecycleEvent::after_install, *m_d.spec, m_paths.archive, false); }},
      {LifecycleEvent::application_start,
       [&] { return run_scripts(LifecycleEvent::application_start, *m_d.spec, m_paths.archive, false); }},
      {LifecycleEvent::validate_service,
       [&] { return run_scripts(LifecycleEvent::validate_service, *m_d.spec, m_paths.archive, false); }},
  };
  bool ok = true;
  bool stopped = false;
  for (auto& [e, step] : steps) {
    if (!ok || stopped) {
      event(e).status = TargetStatus::skipped;
      continue;
    }
    if (m_d.run && m_d.run->token().cancelled()) {
      stopped = true;
      event(e).status = TargetStatus::skipped;
      continue;
    }
    ok = step();
  }
  // 2. Success moves the last-successful pointer; old revisions go.
  if (ok && !stopped) {
    // Without the pointer the next ApplicationStop would run an older revision's scripts: the
    // instance did not complete the deployment.
    if (auto st = m_host.write_text(m_paths.last_successful, m_paths.archive + "\n"); !st) {
      ok = false;
      auto& last = event(LifecycleEvent::validate_service);
      last.status = TargetStatus::failed;
      last.diagnostics = LifecycleDiagnostics{
          "UnknownError", "", fmt::format("cannot record the last successful revision: {}", st.error().message), ""};
      m_output->note(last.diagnostics->message);
    }
  }
  if (ok && !stopped) {
    retire_old_revisions();
    m_record.status = TargetStatus::succeeded;
  } else {
    m_record.status = stopped ? TargetStatus::skipped : TargetStatus::failed;
  }
  flush_log();
  update();
  return m_record;
}

}  // namespace

InstanceRecord deploy_instance(InstanceHost& host, const Instance& instance, const InstanceDeployment& d) {
  InstanceRun run(host, instance, d);
  return run.run();
}

}  // namespace cicd

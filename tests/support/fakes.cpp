#include "support/fakes.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include "artifact/archive.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd::test {

bool pattern_matches(std::string_view pattern, std::string_view text) {
  return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

// ---- FakeClock ----

SystemTime FakeClock::default_start() { return *parse_iso8601("2026-03-01T12:00:00.000Z"); }

FakeClock::FakeClock(SystemTime start) : m_now(start) {}

SystemTime FakeClock::now() const {
  std::lock_guard lock(m_mutex);
  ++m_reads;
  m_now += m_step;
  return m_now;
}

void FakeClock::set(SystemTime t) {
  std::lock_guard lock(m_mutex);
  m_now = t;
}

void FakeClock::advance(std::chrono::milliseconds by) {
  std::lock_guard lock(m_mutex);
  m_now += by;
}

void FakeClock::set_step(std::chrono::milliseconds step) {
  std::lock_guard lock(m_mutex);
  m_step = step;
}

int FakeClock::reads() const {
  std::lock_guard lock(m_mutex);
  return m_reads;
}

// ---- FaultyStore ----

std::string_view store_op_name(StoreOp op) {
  switch (op) {
    case StoreOp::get: return "get";
    case StoreOp::put: return "put";
    case StoreOp::list: return "list";
    case StoreOp::remove: return "remove";
    case StoreOp::remove_prefix: return "remove_prefix";
    case StoreOp::put_file: return "put_file";
    case StoreOp::get_file: return "get_file";
  }
  return "?";
}

FaultyStore::FaultyStore(std::filesystem::path root)
    : m_owned(std::make_unique<LocalStore>(std::move(root))), m_inner(m_owned.get()) {}

FaultyStore::FaultyStore(Store& inner) : m_inner(&inner) {}

void FaultyStore::add_fault(Fault fault) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back({std::move(fault), 0, 0});
}

void FaultyStore::fail_puts(std::string pattern, int nth, int times) {
  Fault f;
  f.op = StoreOp::put;
  f.key_pattern = std::move(pattern);
  f.skip = nth - 1;
  f.times = times;
  add_fault(std::move(f));
}

void FaultyStore::heal() {
  std::lock_guard lock(m_mutex);
  m_rules.clear();
}

Error FaultyStore::disk_full(std::string_view key) const {
  return Error{ErrorKind::io, fmt::format("cannot write '{}': disk full", where(key))};
}

Error FaultyStore::io_error(std::string_view key) const {
  return Error{ErrorKind::io, fmt::format("cannot read '{}': I/O error", where(key))};
}

std::optional<Error> FaultyStore::check(StoreOp op, std::string_view key, std::string_view data) {
  std::optional<Error> error;
  std::function<void()> on_fail;
  {
    std::lock_guard lock(m_mutex);
    for (auto& rule : m_rules) {
      if (rule.fault.op != op || !pattern_matches(rule.fault.key_pattern, key)) continue;
      if (rule.fault.when && !rule.fault.when(data)) continue;
      ++rule.seen;
      if (rule.seen <= rule.fault.skip) continue;
      if (rule.fault.times >= 0 && rule.failed >= rule.fault.times) continue;
      ++rule.failed;
      bool write = op == StoreOp::put || op == StoreOp::put_file;
      error = rule.fault.error ? *rule.fault.error : write ? disk_full(key) : io_error(key);
      on_fail = rule.fault.on_fail;
      break;
    }
    m_calls.emplace_back(op, std::string(key));
    m_call_failed.push_back(error.has_value());
    if (error) ++m_failures;
  }
  if (on_fail) on_fail();
  return error;
}

std::vector<std::string> FaultyStore::log() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (size_t i = 0; i < m_calls.size(); ++i)
    out.push_back(fmt::format("{} {}{}", store_op_name(m_calls[i].first), m_calls[i].second,
                              m_call_failed[i] ? " FAILED" : ""));
  return out;
}

int FaultyStore::failures() const {
  std::lock_guard lock(m_mutex);
  return m_failures;
}

int FaultyStore::count(StoreOp op, std::string_view pattern) const {
  std::lock_guard lock(m_mutex);
  return static_cast<int>(std::count_if(m_calls.begin(), m_calls.end(), [&](auto& c) {
    return c.first == op && pattern_matches(pattern, c.second);
  }));
}

Result<std::optional<StoredObject>> FaultyStore::get(std::string_view key) {
  if (auto e = check(StoreOp::get, key)) return std::unexpected(*e);
  return m_inner->get(key);
}

Result<std::string> FaultyStore::put(std::string_view key, std::string_view data, PutCondition condition,
                                     Durability durability) {
  if (auto e = check(StoreOp::put, key, data)) return std::unexpected(*e);
  return m_inner->put(key, data, std::move(condition), durability);
}

Result<std::vector<std::string>> FaultyStore::list(std::string_view prefix) {
  if (auto e = check(StoreOp::list, prefix)) return std::unexpected(*e);
  return m_inner->list(prefix);
}

Status FaultyStore::remove(std::string_view key) {
  if (auto e = check(StoreOp::remove, key)) return std::unexpected(*e);
  return m_inner->remove(key);
}

Status FaultyStore::remove_prefix(std::string_view prefix) {
  if (auto e = check(StoreOp::remove_prefix, prefix)) return std::unexpected(*e);
  return m_inner->remove_prefix(prefix);
}

Status FaultyStore::put_file(std::string_view key, const std::filesystem::path& source) {
  if (auto e = check(StoreOp::put_file, key)) return std::unexpected(*e);
  return m_inner->put_file(key, source);
}

Status FaultyStore::get_file(std::string_view key, const std::filesystem::path& destination) {
  if (auto e = check(StoreOp::get_file, key)) return std::unexpected(*e);
  return m_inner->get_file(key, destination);
}

std::optional<std::filesystem::path> FaultyStore::local_path(std::string_view key) const {
  return m_inner->local_path(key);
}

std::string FaultyStore::describe() const { return m_inner->describe(); }

// ---- ScriptedProcessRunner ----

namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Plays a scripted process against a spec: its action, its output to the sink, its result.
Result<ProcessResult> play(const ScriptedProcess& p, const ProcessSpec& spec) {
  if (p.action) p.action(spec);
  if (p.error) return std::unexpected(*p.error);
  if (spec.sink && spec.output_mode == OutputMode::sink) {
    for (auto& line : p.out) spec.sink->on_line(OutputStream::out, line);
    for (auto& line : p.err) spec.sink->on_line(spec.merge_stderr ? OutputStream::out : OutputStream::err, line);
  }
  ProcessResult r;
  r.pid = 0;
  r.exit_code = p.term_signal ? -1 : p.exit_code;
  r.term_signal = p.term_signal;
  r.timed_out = p.timed_out;
  r.stopped = p.stopped;
  return r;
}

}  // namespace

void ScriptedProcessRunner::on(std::string argv_pattern, ScriptedProcess process, int times) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back({std::move(argv_pattern), std::move(process), times});
}

void ScriptedProcessRunner::set_fallback(ScriptedProcess process) {
  std::lock_guard lock(m_mutex);
  m_fallback = std::move(process);
}

Result<ProcessResult> ScriptedProcessRunner::run(const ProcessSpec& spec) {
  ScriptedProcess chosen;
  {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(spec);
    chosen = m_fallback;
    auto text = joined(spec.argv);
    for (auto& rule : m_rules) {
      if (rule.remaining == 0 || !pattern_matches(rule.pattern, text)) continue;
      if (rule.remaining > 0) --rule.remaining;
      chosen = rule.process;
      break;
    }
  }
  return play(chosen, spec);  // outside the lock: its action may call back into the test
}

std::vector<ProcessSpec> ScriptedProcessRunner::calls() const {
  std::lock_guard lock(m_mutex);
  return m_calls;
}

std::vector<std::string> ScriptedProcessRunner::commands() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (auto& c : m_calls) out.push_back(joined(c.argv));
  return out;
}

int ScriptedProcessRunner::count(std::string_view argv_pattern) const {
  std::lock_guard lock(m_mutex);
  return static_cast<int>(std::count_if(m_calls.begin(), m_calls.end(),
                                        [&](auto& c) { return pattern_matches(argv_pattern, joined(c.argv)); }));
}

// ---- FakeInstanceHost ----

FakeInstanceHost::FakeInstanceHost(std::string name) : m_state(std::make_shared<State>()) {
  m_state->name = std::move(name);
}

void FakeInstanceHost::on_hook(FakeHook hook) {
  std::lock_guard lock(m_state->mutex);
  m_state->hooks.push_back(std::move(hook));
}

void FakeInstanceHost::fail(std::string op, std::string path_pattern, std::optional<Error> error, int times) {
  std::lock_guard lock(m_state->mutex);
  Error e = error ? *error : Error{ErrorKind::io, ""};
  m_state->failures.push_back({std::move(op), std::move(path_pattern), std::move(e), times});
}

std::vector<FakeHostCall> FakeInstanceHost::calls() const {
  std::lock_guard lock(m_state->mutex);
  return m_state->calls;
}

std::vector<std::string> FakeInstanceHost::hooks_run() const {
  std::lock_guard lock(m_state->mutex);
  std::vector<std::string> out;
  for (auto& c : m_state->calls)
    if (c.op == "run_hook") out.push_back(c.event + " " + c.path);
  return out;
}

std::optional<std::string> FakeInstanceHost::file(const std::string& path) const {
  std::lock_guard lock(m_state->mutex);
  auto it = m_state->files.find(path);
  if (it == m_state->files.end()) return std::nullopt;
  return it->second.content;
}

void FakeInstanceHost::wipe() {
  std::lock_guard lock(m_state->mutex);
  m_state->files.clear();
  m_state->dir_created.clear();
}

std::optional<Error> FakeInstanceHost::enter(std::string op, const std::string& path, std::string event) {
  std::lock_guard lock(m_state->mutex);
  std::optional<Error> error;
  for (auto& f : m_state->failures) {
    if (f.op != op || f.remaining == 0 || !pattern_matches(f.pattern, path)) continue;
    if (f.remaining > 0) --f.remaining;
    error = f.error;
    if (error->message.empty()) error->message = fmt::format("{} '{}': injected failure", op, path);
    break;
  }
  m_state->calls.push_back({std::move(op), path, std::move(event), error.has_value()});
  return error;
}

void FakeInstanceHost::add_dirs_locked(const std::string& file_path) {
  for (auto slash = file_path.find('/', 1); slash != std::string::npos; slash = file_path.find('/', slash + 1))
    m_state->dir_created.emplace(file_path.substr(0, slash), ++m_state->sequence);
}

std::string FakeInstanceHost::describe() const { return m_state->name + " (fake)"; }

std::string FakeInstanceHost::deployment_root() const { return "/opt/cdeploy/deployment-root"; }

Status FakeInstanceHost::unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) {
  if (auto e = enter("unpack_bundle", dir)) return std::unexpected(*e);
  // The bundle is real (the engine packed it into the store): read its files into memory.
  auto tmp = TempDir::create({}, "cicd-fake-host-");
  if (!tmp) return std::unexpected(tmp.error());
  ExtractOptions options;
  options.hash_contents = false;
  auto manifest = extract_archive(bundle, tmp->path(), options);
  if (!manifest) return std::unexpected(manifest.error());
  std::map<std::string, File> unpacked;
  for (auto& entry : manifest->entries) {
    if (entry.symlink) continue;
    auto text = read_file(tmp->path() / entry.path);
    if (!text) return std::unexpected(text.error());
    unpacked[dir + "/" + entry.path] = File{std::move(*text), entry.mode};
  }
  std::lock_guard lock(m_state->mutex);
  std::erase_if(m_state->files, [&](auto& f) { return f.first.starts_with(dir + "/"); });
  for (auto& [path, file] : unpacked) {
    add_dirs_locked(path);
    m_state->files[path] = std::move(file);
  }
  return {};
}

Result<std::optional<std::string>> FakeInstanceHost::read_text(const std::string& path) {
  if (auto e = enter("read_text", path)) return std::unexpected(*e);
  return file(path);
}

Status FakeInstanceHost::write_text(const std::string& path, const std::string& content) {
  if (auto e = enter("write_text", path)) return std::unexpected(*e);
  std::lock_guard lock(m_state->mutex);
  add_dirs_locked(path);
  m_state->files[path].content = content;
  return {};
}

Status FakeInstanceHost::append_text(const std::string& path, const std::string& content) {
  if (auto e = enter("append_text", path)) return std::unexpected(*e);
  std::lock_guard lock(m_state->mutex);
  add_dirs_locked(path);
  m_state->files[path].content += content;
  return {};
}

Status FakeInstanceHost::remove_tree(const std::string& path) {
  if (auto e = enter("remove_tree", path)) return std::unexpected(*e);
  std::lock_guard lock(m_state->mutex);
  auto under = [&](const std::string& p) { return p == path || p.starts_with(path + "/"); };
  std::erase_if(m_state->files, [&](auto& f) { return under(f.first); });
  std::erase_if(m_state->dir_created, [&](auto& d) { return under(d.first); });
  return {};
}

Result<std::vector<std::string>> FakeInstanceHost::list_directories(const std::string& path) {
  if (auto e = enter("list_directories", path)) return std::unexpected(*e);
  std::lock_guard lock(m_state->mutex);
  std::vector<std::pair<uint64_t, std::string>> dirs;
  for (auto& [dir, created] : m_state->dir_created)
    if (dir.starts_with(path + "/") && dir.find('/', path.size() + 1) == std::string::npos)
      dirs.emplace_back(created, dir);
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::string> out;
  for (auto& d : dirs) out.push_back(d.second);
  return out;
}

Result<InstallOutcome> FakeInstanceHost::install(const Appspec& spec, const std::string& archive_dir,
                                                 const std::string& cleanup_file, FileExistsBehavior, bool) {
  if (auto e = enter("install", archive_dir)) return std::unexpected(*e);
  std::lock_guard lock(m_state->mutex);
  // Only what the engine can see: a cleanup list naming the appspec's files entries.
  std::string cleanup;
  for (auto& f : spec.files) cleanup += f.destination + "\n";
  add_dirs_locked(cleanup_file);
  m_state->files[cleanup_file].content = cleanup;
  InstallOutcome outcome;
  outcome.copied = spec.files.size();
  return outcome;
}

ScriptState FakeInstanceHost::check_script(const std::string& path) {
  if (auto e = enter("check_script", path)) return ScriptState::missing;
  std::lock_guard lock(m_state->mutex);
  auto it = m_state->files.find(path);
  if (it == m_state->files.end()) return ScriptState::missing;
  return (it->second.mode & 0111) ? ScriptState::ok : ScriptState::not_executable;
}

Result<ProcessResult> FakeInstanceHost::run_hook(const HookRun& run) {
  auto event_it = run.env.find("LIFECYCLE_EVENT");
  std::string event = event_it == run.env.end() ? "" : event_it->second;
  if (auto e = enter("run_hook", run.script, event)) return std::unexpected(*e);
  ScriptedProcess chosen;
  {
    std::lock_guard lock(m_state->mutex);
    for (auto& hook : m_state->hooks) {
      if (hook.times == 0) continue;
      if (!hook.event.empty() && hook.event != event) continue;
      if (!hook.script.empty() && !pattern_matches(hook.script, run.script)) continue;
      if (hook.times > 0) --hook.times;
      chosen = hook.process;
      break;
    }
  }
  ProcessSpec spec;
  spec.argv = {run.script};
  spec.environment = run.env;
  spec.cwd = run.cwd;
  spec.sink = run.sink;
  spec.run = run.run;
  return play(chosen, spec);
}

// ---- FakeFleet ----

FakeInstanceHost& FakeFleet::operator[](const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto& host = m_hosts[name];
  if (!host) host = std::make_unique<FakeInstanceHost>(name);
  return *host;
}

void FakeFleet::make_unreachable(const std::string& name, std::string why) {
  std::lock_guard lock(m_mutex);
  m_unreachable[name] = std::move(why);
}

int FakeFleet::opened(const std::string& name) const {
  std::lock_guard lock(m_mutex);
  auto it = m_opened.find(name);
  return it == m_opened.end() ? 0 : it->second;
}

HostOpener FakeFleet::opener() {
  return [this](const Instance& instance, ProcessRunner&, Run*) -> Result<std::unique_ptr<InstanceHost>> {
    {
      std::lock_guard lock(m_mutex);
      ++m_opened[instance.name];
      if (auto it = m_unreachable.find(instance.name); it != m_unreachable.end())
        return fail(ErrorKind::io, "instance '{}': ssh failed: {}", instance.name, it->second);
    }
    // A copy: the engine owns what it is given, the state stays shared with the test's.
    return std::unique_ptr<InstanceHost>(std::make_unique<FakeInstanceHost>((*this)[instance.name]));
  };
}

}  // namespace cicd::test

#include "builder/engine.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <thread>

#include "artifact/archive.hpp"
#include "artifact/artifact_dir.hpp"
#include "builder/runtimes.hpp"
#include "builder/shell_session.hpp"
#include "git/git.hpp"
#include "store/parameters.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "store/stop_request.hpp"
#include "util/strings.hpp"

namespace cicd {

using std::chrono::milliseconds;

// ---- loading ----

Result<LoadedBuildspec> load_buildspec(const std::filesystem::path& path, std::string_view display_name) {
  std::string shown = display_name.empty() ? path.string() : std::string(display_name);
  auto text = read_file(path);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found)
      return fail(ErrorKind::invalid, "cannot read buildspec '{}': no such file", shown);
    return std::unexpected(text.error());
  }
  return load_buildspec_text(*text, shown);
}

Result<LoadedBuildspec> load_buildspec_text(std::string_view text, std::string_view shown) {
  auto parsed = parse_buildspec(text);
  LoadedBuildspec out;
  auto [errors, warnings] = format_diagnostics(shown, parsed.diagnostics);
  out.warnings = std::move(warnings);
  if (!parsed.spec || !errors.empty()) {
    Error e{ErrorKind::invalid,
            fmt::format("invalid buildspec '{}': {} error{}", shown, errors.size(), errors.size() == 1 ? "" : "s"),
            errors};
    e.details.insert(e.details.begin(), out.warnings.begin(), out.warnings.end());
    return std::unexpected(e);
  }
  out.spec = std::move(*parsed.spec);
  return out;
}

namespace {
// builds/<project>/<uuid>/<file>, or "" for an id that is not <project>:<uuid>.
std::string build_key(const std::string& id, std::string_view file) {
  auto colon = id.find(':');
  if (colon == std::string::npos) return {};
  return "builds/" + id.substr(0, colon) + "/" + id.substr(colon + 1) + "/" + std::string(file);
}
}  // namespace

std::string build_record_key(const std::string& id) { return build_key(id, "build.json"); }
std::string build_stop_request_key(const std::string& id) { return build_key(id, "stop-request.json"); }

namespace {

bool is_valid_project_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string default_project_name(const std::filesystem::path& source_dir) {
  std::string name = source_dir.filename().string();
  if (name.empty()) name = "project";
  for (auto& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) c = '-';
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) name = "p" + name;
  return name;
}

// What the engine resolved from options before anything runs (shared by run and plan).
struct Inputs {
  std::filesystem::path source_dir;
  std::filesystem::path buildspec_path;
  std::string project;
  LoadedBuildspec loaded;
  EnvList user_env;  // env file then --env, in precedence order
};

Result<Inputs> resolve_inputs(const BuildOptions& options, const std::filesystem::path& workspace) {
  Inputs in;
  std::error_code ec;
  // A source that is not a directory builds in its workspace.
  bool directory = options.source_kind == BuildOptions::SourceKind::directory;
  in.source_dir = !directory ? workspace : options.source_dir.empty() ? std::filesystem::current_path(ec) : options.source_dir;
  in.source_dir = std::filesystem::absolute(in.source_dir, ec).lexically_normal();
  if (in.source_dir.filename().empty()) in.source_dir = in.source_dir.parent_path();
  if (!std::filesystem::is_directory(in.source_dir, ec))
    return fail(ErrorKind::usage, "source directory '{}' does not exist", in.source_dir.string());
  // 1. The project.
  in.project = options.project.empty() ? default_project_name(in.source_dir) : options.project;
  if (!is_valid_project_name(in.project))
    return fail(ErrorKind::usage,
                "invalid project name '{}': use letters, digits, '-' and '_', starting with a letter or digit",
                in.project);
  // 2. The buildspec: from the exported commit when there is one, else as given.
  std::filesystem::path root = workspace.empty() ? in.source_dir : workspace;
  if (options.buildspec.empty()) {
    in.buildspec_path = root / "buildspec.yml";
    if (!std::filesystem::exists(in.buildspec_path, ec) && std::filesystem::exists(root / "buildspec.yaml", ec))
      in.buildspec_path = root / "buildspec.yaml";
  } else if (options.buildspec.is_absolute()) {
    in.buildspec_path = options.buildspec;
  } else if (!workspace.empty() && std::filesystem::exists(workspace / options.buildspec, ec)) {
    in.buildspec_path = workspace / options.buildspec;
  } else if (std::filesystem::exists(options.buildspec, ec)) {
    in.buildspec_path = std::filesystem::absolute(options.buildspec, ec);
  } else {
    in.buildspec_path = root / options.buildspec;
  }
  std::string shown = options.buildspec.empty() ? in.buildspec_path.string() : options.buildspec.string();
  if (!workspace.empty() && in.buildspec_path.string().starts_with(workspace.string()))
    shown = (directory ? options.source_version : options.source_archive.filename().string()) + ":" +
            in.buildspec_path.lexically_relative(workspace).string();
  if (!options.buildspec_text.empty()) {
    shown = options.buildspec_name.empty() ? "inline buildspec" : options.buildspec_name;
    in.buildspec_path = shown;
  }
  auto loaded = options.buildspec_text.empty() ? load_buildspec(in.buildspec_path, shown)
                                               : load_buildspec_text(options.buildspec_text, shown);
  if (!loaded) return std::unexpected(loaded.error());
  in.loaded = std::move(*loaded);
  // 3. Variables from the env file, then the command line (later wins).
  if (!options.env_file.empty()) {
    auto text = read_file(options.env_file);
    if (!text) return fail(ErrorKind::usage, "cannot read env file '{}': {}", options.env_file.string(), text.error().message);
    auto parsed = parse_env_file(*text, options.env_file.string());
    if (!parsed) return std::unexpected(parsed.error());
    in.user_env = std::move(*parsed);
  }
  for (auto& [name, value] : options.env_overrides) {
    if (!is_valid_env_name(name)) return fail(ErrorKind::usage, "invalid variable name '{}' in --env", name);
    in.user_env.emplace_back(name, value);
  }
  if (!(options.timeout_minutes > 0) || options.timeout_minutes > 2160)
    return fail(ErrorKind::usage, "--timeout must be between 0 and 2160 minutes");
  return in;
}

// --source-version: the commit exported into a fresh directory (nothing without the option).
struct Workspace {
  TempDir dir;
  std::string commit;
};

Result<std::optional<Workspace>> export_workspace(const BuildOptions& options) {
  using Kind = BuildOptions::SourceKind;
  if (options.source_kind != Kind::directory) {
    // An archive unpacked (safely: nothing outside the workspace), or an empty workspace.
    auto dir = TempDir::create({}, "cbuild-src-");
    if (!dir) return std::unexpected(dir.error());
    if (options.source_kind == Kind::archive) {
      auto extracted = extract_archive(options.source_archive, dir->path(), {.keep_permissions = true, .hash_contents = false});
      if (!extracted)
        return fail(ErrorKind::usage, "source '{}' is not a readable zip or tar archive: {}",
                    options.source_archive.string(), extracted.error().message);
    }
    return std::optional<Workspace>{Workspace{std::move(*dir), {}}};
  }
  if (options.source_version.empty()) return std::optional<Workspace>{};
  std::error_code ec;
  auto repo = options.source_dir.empty() ? std::filesystem::current_path(ec) : options.source_dir;
  auto dir = TempDir::create({}, "cbuild-src-");
  if (!dir) return std::unexpected(dir.error());
  auto exported = export_revision(repo, options.source_version, dir->path());
  if (!exported) return std::unexpected(exported.error());
  return std::optional<Workspace>{Workspace{std::move(*dir), exported->commit}};
}

enum class PhaseOutcome { succeeded, failed, timed_out, stopped, fault };

BuildStatus status_of(PhaseOutcome o) {
  switch (o) {
    case PhaseOutcome::succeeded: return BuildStatus::succeeded;
    case PhaseOutcome::failed: return BuildStatus::failed;
    case PhaseOutcome::timed_out: return BuildStatus::timed_out;
    case PhaseOutcome::stopped: return BuildStatus::stopped;
    case PhaseOutcome::fault: return BuildStatus::fault;
  }
  return BuildStatus::fault;
}

BuildPhase record_phase(PhaseType t) {
  switch (t) {
    case PhaseType::install: return BuildPhase::install;
    case PhaseType::pre_build: return BuildPhase::pre_build;
    case PhaseType::build: return BuildPhase::build;
    case PhaseType::post_build: return BuildPhase::post_build;
  }
  return BuildPhase::build;
}

// One build in progress: its record, its log, its shell.
class BuildRun {
 public:
  BuildRun(Store& store, const std::filesystem::path& home, ProcessRunner& runner, const Clock& clock,
           const BuildOptions& options)
      : m_store(store), m_home(home), m_runner(runner), m_clock(clock), m_options(options),
        m_log(clock, options.echo) {}

  Result<BuildOutcome> execute();
  // An unexpected exception ended the run: the record says FAULT, never stays IN_PROGRESS.
  void fault(const std::string& why);

 private:
  // -- phases --
  void begin_phase(BuildPhase phase);
  void end_phase(BuildStatus status, std::vector<PhaseContext> contexts = {});
  // The store's copy follows the build as it goes; the build directory's copy is written when
  // the build starts and when it ends (each replacement of a file costs a flush on ext4).
  enum class RecordCopies { store, store_and_build_dir };
  void save_record(RecordCopies copies = RecordCopies::store, Durability durability = Durability::atomic);
  PhaseOutcome provision();
  PhaseOutcome download_source();
  PhaseOutcome run_command_phase(PhaseType type);
  PhaseOutcome run_commands(const std::vector<SpecString>& commands, const std::optional<std::string>& run_as,
                            PhaseContext& context);
  bool check_runtimes(const Phase& phase, PhaseContext& context);
  PhaseOutcome upload_artifacts(bool build_succeeded);
  void finalize();
  std::optional<std::string> run_as_for(const Phase& phase) const;
  CommandRun command_run(const std::optional<std::string>& run_as);
  std::optional<milliseconds> remaining() const;

  Store& m_store;
  std::filesystem::path m_home;
  ProcessRunner& m_runner;
  const Clock& m_clock;
  const BuildOptions& m_options;
  BuildLog m_log;

  Inputs m_inputs;
  Buildspec* m_spec = nullptr;
  BuildRecord m_record;
  std::filesystem::path m_build_dir;   // record, log, artifacts
  std::filesystem::path m_src;         // CODEBUILD_SRC_DIR
  std::optional<TempDir> m_scratch;    // state and helper programs
  // The build's processes and its cancellation (a stop request, the front end's Ctrl-C). After
  // the record (its callback saves it) and before the shell (which it outlives).
  Run m_run{m_options.cancel};
  std::optional<LiveRun> m_live;
  std::optional<StopRequestWatcher> m_stop_watch;
  bool m_save_groups_at_once = false;  // see on_groups_changed in execute()
  std::optional<ShellSession> m_session;
  Environment m_env;
  std::optional<FileLock> m_source_lock;
  std::chrono::steady_clock::time_point m_deadline;
  bool m_succeeding = true;
  std::vector<ReportOutcome> m_reports;
};

std::optional<milliseconds> BuildRun::remaining() const {
  auto left = std::chrono::duration_cast<milliseconds>(m_deadline - std::chrono::steady_clock::now());
  return std::max(left, milliseconds(0));
}

void BuildRun::save_record(RecordCopies copies, Durability durability) {
  Json j = build_record_to_json(m_record);
  auto key = build_record_key(m_record.id);
  auto put = m_store.put_json(key, j, {}, durability);
  if (!put) m_log.warning(fmt::format("cannot save the build record: {}", put.error().message));
  auto in_store = m_store.local_path(key);
  auto here = ArtifactDirLayout{m_build_dir}.record();
  // The build directory's copy is the store's own file when the build's folder is in the store:
  // written by the put, unless the put failed.
  if (copies == RecordCopies::store_and_build_dir && (!in_store || *in_store != here || !put))
    if (auto st = write_artifact_record(m_build_dir, j, durability == Durability::sync); !st)
      m_log.warning(fmt::format("cannot write '{}': {}", here.string(), st.error().message));
}

void BuildRun::begin_phase(BuildPhase phase) {
  PhaseRecord p;
  p.type = phase;
  p.start_time = m_clock.now();
  m_record.phases.push_back(p);
  m_record.current_phase = phase;
  if (phase >= BuildPhase::install && phase <= BuildPhase::post_build)
    m_log.system(fmt::format("Entering phase {}", build_phase_name(phase)));
  // Phases that take time are visible while they run; instant ones are saved with the next.
  if (phase == BuildPhase::submitted) save_record(RecordCopies::store_and_build_dir);
  else if (phase >= BuildPhase::install && phase <= BuildPhase::upload_artifacts) save_record();
}

void BuildRun::end_phase(BuildStatus status, std::vector<PhaseContext> contexts) {
  auto& p = m_record.phases.back();
  p.status = status;
  p.end_time = m_clock.now();
  for (auto& c : contexts) c.message = m_log.mask(c.message);
  p.contexts = std::move(contexts);
  if (p.type >= BuildPhase::install && p.type <= BuildPhase::post_build) {
    m_log.system(fmt::format("Phase complete: {} State: {}", build_phase_name(p.type), build_status_name(status)));
    std::string code = p.contexts.empty() ? "" : p.contexts.back().status_code;
    std::string message = p.contexts.empty() ? "" : p.contexts.back().message;
    m_log.system(fmt::format("Phase context status code: {} Message: {}", code, message));
  } else if (status != BuildStatus::succeeded) {
    for (auto& c : p.contexts) m_log.system(fmt::format("{}: {}", c.status_code, c.message));
  }
}

std::optional<std::string> BuildRun::run_as_for(const Phase& phase) const {
  std::optional<std::string> user;
  if (m_spec->run_as) user = m_spec->run_as->value;
  if (phase.run_as) user = phase.run_as->value;
  // Running as ourselves needs no switch (and works without root).
  if (user && *user == current_user_name()) return std::nullopt;
  return user;
}

CommandRun BuildRun::command_run(const std::optional<std::string>& run_as) {
  CommandRun how;
  how.timeout = remaining();
  how.sink = std::shared_ptr<OutputSink>(&m_log, [](OutputSink*) {});
  how.run_as_user = run_as;
  how.forced = {{"CODEBUILD_BUILD_SUCCEEDING", m_succeeding ? "1" : "0"}};
  return how;
}

PhaseOutcome BuildRun::provision() {
  begin_phase(BuildPhase::provisioning);
  std::vector<PhaseContext> problems;
  // 1. The shell.
  std::string shell_name = m_spec->env.shell ? m_spec->env.shell->value : "bash";
  auto shell = resolve_build_shell(shell_name);
  if (!shell) {
    end_phase(BuildStatus::failed, {{"CLIENT_ERROR", fmt::format("env.shell '{}' cannot run here: use bash or sh", shell_name)}});
    return PhaseOutcome::failed;
  }
  // 2. run-as needs root, unless it names us.
  std::vector<std::optional<SpecString>> users = {m_spec->run_as};
  for (auto t : k_command_phases) users.push_back(m_spec->phase(t).run_as);
  for (auto& u : users) {
    if (!u || u->value == current_user_name()) continue;
    if (::geteuid() != 0)
      problems.push_back({"CLIENT_ERROR", fmt::format("run-as '{}' needs cbuild to run as root (it runs as '{}')",
                                                      u->value, current_user_name())});
    else if (!::getpwnam(u->value.c_str()))
      problems.push_back({"CLIENT_ERROR", fmt::format("run-as '{}': no such user on this machine", u->value)});
  }
  // 3. Secrets from the local parameter store.
  ParameterStore parameters(ParameterStore::default_file(m_home));
  EnvList secret_vars;
  for (auto& v : m_spec->env.parameter_store) {
    auto p = parameters.get(v.value);
    if (!p) {
      problems.push_back({"CLIENT_ERROR", fmt::format("parameter-store variable '{}': parameter '{}' does not exist "
                                                      "(add it with: cbuild put-parameter --name {})",
                                                      v.name, v.value, v.value)});
      continue;
    }
    secret_vars.emplace_back(v.name, p->value);
  }
  for (auto& v : m_spec->env.secrets_manager) {
    auto value = resolve_secret_reference(parameters, v.value);
    if (!value) {
      problems.push_back({"CLIENT_ERROR", fmt::format("secrets-manager variable '{}': {}", v.name, value.error().message)});
      continue;
    }
    secret_vars.emplace_back(v.name, *value);
  }
  // A project's variables and typed overrides: a PARAMETER_STORE or SECRETS_MANAGER value names
  // the secret, as in the buildspec.
  auto typed = [&](const std::vector<EnvironmentVariableRecord>& vars, std::string_view where) {
    EnvList out;
    for (auto& v : vars) {
      if (v.type == "PARAMETER_STORE") {
        auto p = parameters.get(v.value);
        if (!p) {
          problems.push_back({"CLIENT_ERROR", fmt::format("{} variable '{}': parameter '{}' does not exist "
                                                          "(add it with: cbuild put-parameter --name {})",
                                                          where, v.name, v.value, v.value)});
          continue;
        }
        m_log.add_secret(p->value);
        out.emplace_back(v.name, p->value);
      } else if (v.type == "SECRETS_MANAGER") {
        auto value = resolve_secret_reference(parameters, v.value);
        if (!value) {
          problems.push_back({"CLIENT_ERROR", fmt::format("{} variable '{}': {}", where, v.name, value.error().message)});
          continue;
        }
        m_log.add_secret(*value);
        out.emplace_back(v.name, *value);
      } else {
        out.emplace_back(v.name, v.value);
      }
    }
    return out;
  };
  EnvList project_vars = typed(m_options.project_env, "project");
  EnvList override_vars = typed(m_options.env_override_vars, "--environment-variables-override");
  for (auto& [name, value] : secret_vars) m_log.add_secret(value);

  // 4. The environment, lowest precedence first: ours, the buildspec's, its secrets, the project's,
  // env file, --env, typed overrides; CODEBUILD_* last, as they are the build's own facts.
  m_env = current_environment();
  for (auto it = m_env.begin(); it != m_env.end();)
    it = it->first.starts_with("__CICD") ? m_env.erase(it) : std::next(it);
  for (auto& v : m_spec->env.variables) m_env[v.name] = v.value;
  for (auto& [name, value] : secret_vars) m_env[name] = value;
  for (auto& [name, value] : project_vars) m_env[name] = value;
  for (auto& [name, value] : m_inputs.user_env) m_env[name] = value;
  for (auto& [name, value] : override_vars) m_env[name] = value;
  for (auto* given : {&project_vars, &m_inputs.user_env, &override_vars})
    for (auto& [name, value] : *given)
      if (name.starts_with("CODEBUILD_"))
        m_log.warning(fmt::format("'{}' is set by cbuild itself; the value given is ignored", name));
  auto helpers = m_scratch->path() / "bin";
  // codebuild-hash-files, as CodeBuild's images provide it: a build that calls it must not find
  // it silently missing.
  auto self = self_executable();
  std::error_code ec;
  auto cbuild = self.filename() == "cbuild" ? self : self.parent_path() / "cbuild";
  if (!std::filesystem::exists(cbuild, ec)) cbuild = find_program("cbuild");
  if (cbuild.empty()) {
    m_log.warning(fmt::format("codebuild-hash-files is not available: no cbuild next to '{}' nor on PATH",
                              self.string()));
  } else {
    std::string script = "#!/bin/sh\nexec " + shell_quote(cbuild.string()) + " hash-files \"$@\"\n";
    Status installed = make_dirs(helpers);
    if (installed)
      installed = write_file_atomic(helpers / "codebuild-hash-files", script, {.mode = 0755, .sync = false});
    if (!installed)
      problems.push_back({"CLIENT_ERROR", fmt::format("cannot install codebuild-hash-files: {}", installed.error().message)});
  }
  m_env["PATH"] = helpers.string() + ":" + (m_env.count("PATH") ? m_env["PATH"] : "/usr/local/bin:/usr/bin:/bin");
  m_env["CODEBUILD_BUILD_ID"] = m_record.id;
  m_env["CODEBUILD_BUILD_ARN"] = m_record.arn;
  m_env["CODEBUILD_BUILD_NUMBER"] = std::to_string(m_record.build_number);
  m_env["CODEBUILD_PROJECT_NAME"] = m_record.project_name;
  m_env["CODEBUILD_SRC_DIR"] = m_src.string();
  m_env["CODEBUILD_SOURCE_VERSION"] = m_record.source_version;
  m_env["CODEBUILD_RESOLVED_SOURCE_VERSION"] = m_record.resolved_source_version;
  m_env["CODEBUILD_INITIATOR"] = m_record.initiator;
  m_env["CODEBUILD_BUILD_IMAGE"] = m_record.environment_image;
  m_env["CODEBUILD_CI"] = "true";
  m_env["CODEBUILD_LOG_PATH"] = m_record.id.substr(m_record.id.find(':') + 1);
  m_env["CODEBUILD_START_TIME"] = std::to_string(
      std::chrono::duration_cast<milliseconds>(m_record.start_time.time_since_epoch()).count());
  m_env["CODEBUILD_BUILD_SUCCEEDING"] = "1";
  m_env["CODEBUILD_BUILD_URL"] = "file://" + ArtifactDirLayout{m_build_dir}.record().string();

  // 5. Record the variables we were given (never a secret's value).
  for (auto& v : m_spec->env.parameter_store)
    m_record.environment_variables.push_back({v.name, v.value, "PARAMETER_STORE"});
  for (auto& v : m_spec->env.secrets_manager)
    m_record.environment_variables.push_back({v.name, v.value, "SECRETS_MANAGER"});
  for (auto* given : {&m_options.project_env, &m_options.env_override_vars})
    for (auto& v : *given)
      m_record.environment_variables.push_back({v.name, v.type == "PLAINTEXT" ? m_log.mask(v.value) : v.value, v.type});
  for (auto& [name, value] : m_inputs.user_env)
    m_record.environment_variables.push_back({name, m_log.mask(value), "PLAINTEXT"});

  if (m_spec->env.git_credential_helper.value_or(false))
    m_log.system("git-credential-helper: yes: git commands use this machine's own credential helpers and keys");
  if (m_spec->proxy.upload_artifacts || m_spec->proxy.logs)
    m_log.system("proxy: nothing is uploaded through a proxy here; artifacts and logs stay on this machine");

  // Another user (run-as) must reach the state and the helper programs.
  if (std::any_of(users.begin(), users.end(), [](auto& u) { return u && u->value != current_user_name(); })) {
    std::error_code perm_ec;
    std::filesystem::permissions(m_scratch->path(), std::filesystem::perms(0755), std::filesystem::perm_options::replace,
                                 perm_ec);
    if (perm_ec)
      problems.push_back({"CLIENT_ERROR", fmt::format("run-as: cannot open '{}' to the build's users: {}",
                                                      m_scratch->path().string(), perm_ec.message())});
  }
  if (!problems.empty()) {
    end_phase(BuildStatus::failed, problems);
    return PhaseOutcome::failed;
  }
  ShellSessionOptions so;
  so.state_dir = m_scratch->path() / "state";
  so.initial_cwd = m_src;
  so.initial_environment = m_env;
  so.shell = shell->first;
  so.shell_path = shell->second;
  so.carry_state = !m_spec->fresh_shell_per_command();
  so.run = &m_run;
  m_session.emplace(m_runner, so);
  // The shell starts now, so that the first command phase's save records its group (a save of its
  // own costs a file replacement); from then on a new group is saved as it appears.
  if (!run_as_for(m_spec->phase(k_command_phases.front())))
    if (auto st = m_session->start(); !st) m_log.warning(fmt::format("the build shell did not start: {}", st.error().message));
  if (m_spec->fresh_shell_per_command())
    m_log.system("buildspec version 0.1: each command runs in a fresh shell from the source directory");
  end_phase(BuildStatus::succeeded);
  return PhaseOutcome::succeeded;
}

PhaseOutcome BuildRun::download_source() {
  begin_phase(BuildPhase::download_source);
  m_log.system(fmt::format("CODEBUILD_SRC_DIR={}", m_src.string()));
  if (!m_record.resolved_source_version.empty())
    m_log.system(fmt::format("Source version {} resolved to {}", m_record.source_version.empty() ? "HEAD" : m_record.source_version,
                             m_record.resolved_source_version));
  // The cache comes back before INSTALL.
  const auto& cache = m_spec->cache;
  if (!m_options.cache_enabled && cache.present)
    m_log.system("Cache: the project's cache type is NO_CACHE; the buildspec's cache is not used");
  if (m_options.cache_enabled && cache.present && !cache.paths.empty() && cache.action != CacheAction::save) {
    auto how = command_run(std::nullopt);
    std::string key = m_record.project_name;
    if (cache.key) {
      auto k = m_session->expand(cache.key->value, how);
      if (k) key = *k;
      else m_log.warning(fmt::format("cache key '{}' could not be evaluated: {}", cache.key->value, k.error().message));
    }
    std::vector<std::string> fallbacks;
    for (auto& f : cache.fallback_keys)
      if (auto k = m_session->expand(f.value, how)) fallbacks.push_back(*k);
    BuildCache build_cache(m_store, m_record.project_name);
    auto restored = build_cache.restore(cache, key, fallbacks, m_src);
    if (!restored) m_log.warning(fmt::format("cache not restored: {}", restored.error().message));
    else if (!restored->matched_key) m_log.system(fmt::format("Cache: no entry for key '{}'", key));
    else m_log.system(fmt::format("Cache: restored {} files from key '{}'", restored->files, *restored->matched_key));
    m_record.cache_location = build_cache.location();
  }
  end_phase(BuildStatus::succeeded);
  return PhaseOutcome::succeeded;
}

bool BuildRun::check_runtimes(const Phase& phase, PhaseContext& context) {
  bool ok = true;
  for (auto& rv : phase.runtime_versions) {
    std::string requested = rv.value;
    if (requested.find('$') != std::string::npos) {
      if (auto expanded = m_session->expand(requested, command_run(std::nullopt))) requested = *expanded;
    }
    auto check = check_runtime(m_runner, m_env, rv.name, requested);
    if (check.satisfied) {
      m_log.system(check.message);
      continue;
    }
    if (m_options.strict_runtimes && check.known) {
      m_log.system("Error: " + check.message);
      context = {"CLIENT_ERROR", check.message};
      ok = false;
    } else {
      m_log.warning(check.message);
    }
  }
  return ok;
}

PhaseOutcome BuildRun::run_commands(const std::vector<SpecString>& commands, const std::optional<std::string>& run_as,
                                    PhaseContext& context) {
  for (auto& command : commands) {
    if (m_run.token().cancelled()) {
      context = {"BUILD_STOPPED", fmt::format("the build was {}", m_run.token().message())};
      return PhaseOutcome::stopped;
    }
    if (remaining() <= milliseconds(0)) {
      context = {"BUILD_TIMED_OUT", fmt::format("build timed out after {:g} minutes", m_options.timeout_minutes)};
      return PhaseOutcome::timed_out;
    }
    m_log.system(fmt::format("Running command {}", command.value));
    auto result = m_session->run(command.value, command_run(run_as));
    if (!result) {
      context = {"COMMAND_EXECUTION_ERROR",
                 fmt::format("Error while executing command: {}. Reason: {}", command.value, result.error().message)};
      return PhaseOutcome::fault;
    }
    if (result->timed_out) {
      context = {"BUILD_TIMED_OUT", fmt::format("build timed out after {:g} minutes while running: {}",
                                                m_options.timeout_minutes, command.value)};
      return PhaseOutcome::timed_out;
    }
    if (result->stopped) {
      context = {"BUILD_STOPPED",
                 fmt::format("the build was {} while running: {}", m_run.token().message(), command.value)};
      return PhaseOutcome::stopped;
    }
    if (m_options.verbose)
      m_log.system(fmt::format("Command finished: {} after {}", result->describe(), format_duration_ms(result->duration.count())));
    if (!result->succeeded()) {
      m_log.system(fmt::format("Command did not exit successfully {} {}", command.value, result->describe()));
      context = {"COMMAND_EXECUTION_ERROR",
                 fmt::format("Error while executing command: {}. Reason: {}", command.value, result->describe())};
      return PhaseOutcome::failed;
    }
  }
  return PhaseOutcome::succeeded;
}

PhaseOutcome BuildRun::run_command_phase(PhaseType type) {
  const Phase& phase = m_spec->phase(type);
  begin_phase(record_phase(type));
  m_save_groups_at_once = true;
  auto run_as = run_as_for(phase);
  std::vector<PhaseContext> contexts;
  int attempts = 1;
  if (phase.on_failure.action == OnFailureAction::retry) attempts += phase.on_failure.retries;
  PhaseOutcome outcome = PhaseOutcome::succeeded;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    m_log.clear_recent_output();
    PhaseContext context;
    outcome = PhaseOutcome::succeeded;
    // 1. runtime-versions, then the commands; `finally` runs whatever they did, unless the
    // build is being stopped or ran out of time.
    if (type == PhaseType::install && attempt == 1 && !check_runtimes(phase, context)) outcome = PhaseOutcome::failed;
    if (outcome == PhaseOutcome::succeeded) outcome = run_commands(phase.commands, run_as, context);
    if (!phase.finally.empty() && outcome != PhaseOutcome::stopped && outcome != PhaseOutcome::timed_out) {
      PhaseContext finally_context;
      auto finally_outcome = run_commands(phase.finally, run_as, finally_context);
      if (finally_outcome != PhaseOutcome::succeeded && outcome == PhaseOutcome::succeeded) {
        outcome = finally_outcome;
        context = finally_context;
      } else if (finally_outcome == PhaseOutcome::stopped || finally_outcome == PhaseOutcome::timed_out) {
        outcome = finally_outcome;
        context = finally_context;
      }
    }
    if (outcome == PhaseOutcome::succeeded) break;
    contexts.push_back(context);
    if (outcome != PhaseOutcome::failed || attempt == attempts) break;
    // 2. RETRY: only when the error (or what the command printed) matches the regex.
    if (phase.on_failure.regex) {
      std::string haystack = context.message;
      for (auto& line : m_log.recent_output()) haystack += "\n" + line;
      bool matches = false;
      try {
        matches = std::regex_search(haystack, std::regex(*phase.on_failure.regex));
      } catch (const std::regex_error&) {
      }
      if (!matches) {
        m_log.system(fmt::format("Phase {} failed; the error does not match on-failure regex '{}': not retrying",
                                 build_phase_name(record_phase(type)), *phase.on_failure.regex));
        break;
      }
    }
    m_log.system(fmt::format("Phase {} failed; retrying (attempt {} of {})", build_phase_name(record_phase(type)),
                             attempt + 1, attempts));
  }
  if (outcome != PhaseOutcome::succeeded) m_succeeding = false;
  end_phase(status_of(outcome), outcome == PhaseOutcome::succeeded ? std::vector<PhaseContext>{} : contexts);
  return outcome;
}

PhaseOutcome BuildRun::upload_artifacts(bool build_succeeded) {
  begin_phase(BuildPhase::upload_artifacts);
  std::vector<PhaseContext> problems;
  // Everything goes to a staging folder first, then replaces the previous build's outputs.
  auto staging = m_build_dir / (".staging-" + make_uuid().substr(0, 8));
  std::error_code ec;
  std::filesystem::remove_all(staging, ec);
  if (auto st = make_dirs(staging); !st) problems.push_back({"UPLOAD_ERROR", st.error().message});
  auto how = command_run(std::nullopt);

  // 1. Reports.
  if (!m_spec->reports.empty())
    m_reports = process_reports(m_store, *m_spec, m_record.project_name, m_record.id, m_src, staging, m_log, m_clock);
  for (auto& r : m_reports) m_record.report_arns.push_back(r.arn);

  // 2. Artifacts, primary then secondary.
  auto package = [&](const ArtifactSpec& spec, const std::filesystem::path& dest,
                     const std::string& default_name) -> std::optional<ArtifactRecord> {
    std::string name = default_name;
    if (spec.name) {
      auto expanded = m_session->expand(spec.name->value, how);
      if (expanded && !expanded->empty()) name = *expanded;
      else m_log.warning(fmt::format("artifact name '{}' could not be evaluated; using '{}'", spec.name->value, name));
    }
    if (name.find('/') != std::string::npos || name == "." || name == "..") {
      problems.push_back({"CLIENT_ERROR", fmt::format("artifact name '{}' must not contain '/'", name)});
      return std::nullopt;
    }
    ArtifactRequest request{&spec, name, m_src, dest, m_options.packaging};
    auto record = package_artifact(request);
    if (!record) {
      problems.push_back({record.error().message.starts_with("CLIENT_ERROR") ? "CLIENT_ERROR" : "UPLOAD_ERROR",
                          record.error().message});
      return std::nullopt;
    }
    // Point at where it will be once staged outputs are moved into place.
    auto rel = std::filesystem::path(record->location).lexically_relative(staging);
    record->location = (m_build_dir / rel).string();
    record->manifest = (m_build_dir / std::filesystem::path(record->manifest).lexically_relative(staging)).string();
    m_log.system(fmt::format("Artifact {}: {} ({} files, {} bytes)", spec.identifier.empty() ? "primary" : spec.identifier,
                             record->location, record->files, record->size));
    return std::optional<ArtifactRecord>(std::move(*record));
  };
  const auto& artifacts = m_spec->artifacts;
  ArtifactDirLayout staged{staging};
  if (!m_options.package_artifacts && artifacts.present)
    m_log.system("Artifacts: the project's artifacts type is NO_ARTIFACTS; nothing is packaged");
  if (m_options.package_artifacts) {
    if (artifacts.present && !artifacts.primary.files.empty())
      m_record.artifacts = package(artifacts.primary, staged.primary_dir(), m_record.project_name);
    for (auto& s : artifacts.secondary)
      if (auto r = package(s, staged.secondary_dir(s.identifier), s.identifier)) m_record.secondary_artifacts.push_back(*r);
  }

  // 3. Move the staged outputs into place.
  for (const char* part : ArtifactDirLayout::k_replaced_parts) {
    auto old_dir = m_build_dir / part;
    std::filesystem::remove_all(old_dir, ec);
    if (std::filesystem::exists(staging / part, ec)) std::filesystem::rename(staging / part, old_dir, ec);
    if (ec) problems.push_back({"UPLOAD_ERROR", fmt::format("cannot move {} into '{}': {}", part, old_dir.string(), ec.message())});
  }
  std::filesystem::remove_all(staging, ec);

  // 4. The cache, after a successful build only.
  const auto& cache = m_spec->cache;
  if (build_succeeded && problems.empty() && m_options.cache_enabled && cache.present && !cache.paths.empty() &&
      cache.action != CacheAction::restore) {
    std::string key = m_record.project_name;
    if (cache.key)
      if (auto k = m_session->expand(cache.key->value, how)) key = *k;
    BuildCache build_cache(m_store, m_record.project_name);
    auto saved = build_cache.save(cache, key, m_src);
    if (saved) m_log.system(fmt::format("Cache: saved {} files under key '{}'", *saved, key));
    else m_log.warning(fmt::format("cache not saved: {}", saved.error().message));
    m_record.cache_location = build_cache.location();
  }
  if (!problems.empty()) {
    end_phase(BuildStatus::failed, problems);
    return PhaseOutcome::failed;
  }
  end_phase(BuildStatus::succeeded);
  return PhaseOutcome::succeeded;
}

void BuildRun::finalize() {
  begin_phase(BuildPhase::finalizing);
  // 1. Exported variables: their values as the last command left them (secrets masked).
  std::vector<std::string> names;
  for (auto& n : m_spec->env.exported_variables) names.push_back(n.value);
  if (m_session && !names.empty()) {
    auto values = m_session->values(names, command_run(std::nullopt));
    if (values) {
      for (auto& n : names) {
        auto it = values->find(n);
        if (it != values->end()) m_record.exported_environment_variables.emplace_back(n, m_log.mask(it->second));
        else m_log.warning(fmt::format("exported variable '{}' is not set at the end of the build", n));
      }
    }
  }
  if (auto st = write_exported_variables(m_build_dir, m_record.exported_environment_variables); !st)
    m_log.warning(st.error().message);
  // 2. Nothing the build started outlives it. The groups' end is saved with the COMPLETED record.
  m_save_groups_at_once = false;
  if (m_session) m_session->close();
  m_run.end();
  end_phase(BuildStatus::succeeded);
}

void BuildRun::fault(const std::string& why) {
  if (m_record.id.empty() || m_record.build_complete) return;
  auto now = m_clock.now();
  if (!m_record.phases.empty() && !m_record.phases.back().end_time) {
    auto& phase = m_record.phases.back();
    phase.end_time = now;
    phase.status = BuildStatus::fault;
    phase.contexts.push_back({"INTERNAL_ERROR", why});
  }
  m_record.status = BuildStatus::fault;
  m_record.end_time = now;
  m_record.build_complete = true;
  m_record.process_groups.clear();
  if (m_session) m_session->close();
  m_run.end();
  save_record(RecordCopies::store_and_build_dir, Durability::sync);
}

Result<BuildOutcome> BuildRun::execute() {
  // 1. Inputs: with --source-version, the buildspec comes from the exported commit.
  std::optional<TempDir> workspace;
  std::string resolved;
  auto exported = export_workspace(m_options);
  if (!exported) return std::unexpected(exported.error());
  if (*exported) {
    resolved = (*exported)->commit;
    workspace = std::move((*exported)->dir);
  }
  auto inputs = resolve_inputs(m_options, workspace ? workspace->path() : std::filesystem::path());
  if (!inputs) return std::unexpected(inputs.error());
  m_inputs = std::move(*inputs);
  m_spec = &m_inputs.loaded.spec;
  bool has_phases = std::any_of(k_command_phases.begin(), k_command_phases.end(),
                                [&](PhaseType t) { return m_spec->phase(t).present; });
  if (!has_phases && m_spec->batch.present)
    return fail(ErrorKind::usage,
                "'{}' defines only a batch build (build-list, build-graph, build-matrix or build-fanout); "
                "running batch builds is not supported yet, run the buildspecs it names one by one",
                m_inputs.buildspec_path.string());
  m_src = workspace ? workspace->path() : m_inputs.source_dir;
  if (resolved.empty()) resolved = head_commit(m_src).value_or("");

  // 2. The record: id, number, where its files go.
  std::string uuid = make_uuid();
  m_record.project_name = m_inputs.project;
  m_record.id = m_inputs.project + ":" + uuid;
  // Until the build ends, this record's process (ours) runs it; after, a record still in progress
  // is one whose end could not be saved, and the next look repairs it (run_alive).
  m_live.emplace(m_record.id);
  m_record.arn = "arn:cicd:codebuild:local:" + current_user_name() + ":build/" + m_record.id;
  auto counter = m_store.update_json("projects/" + m_inputs.project + "/build-counter.json",
                                     [](std::optional<Json> cur) -> Result<Json> {
                                       Json next = cur ? *cur : Json{{"lastBuildNumber", 0}};
                                       next["lastBuildNumber"] = next.value("lastBuildNumber", 0) + 1;
                                       return next;
                                     });
  if (!counter) return std::unexpected(counter.error());
  m_record.build_number = (*counter)["lastBuildNumber"].get<int64_t>();
  m_record.start_time = m_clock.now();
  m_record.initiator = m_options.initiator.empty() ? current_user_name() : m_options.initiator;
  m_record.source_location = m_options.source_location.empty() ? m_inputs.source_dir.string() : m_options.source_location;
  m_record.source_type = m_options.source_type;
  m_record.environment_type = m_options.environment_type;
  m_record.environment_image = m_options.environment_image;
  m_record.compute_type = m_options.compute_type;
  m_record.service_role = m_options.service_role;
  m_record.source_version = m_options.source_version;
  m_record.resolved_source_version = resolved;
  m_record.buildspec = m_inputs.buildspec_path.string();
  m_record.timeout_in_minutes = static_cast<int>(std::ceil(m_options.timeout_minutes));
  m_record.pid = static_cast<int>(::getpid());
  m_record.pid_start_time = process_start_time(m_record.pid);
  m_record.host = host_name();
  // The groups the build runs go into the record as they change: if this process dies, the next
  // look at the record kills what is left of them (the guard of util/run.hpp does it first).
  m_run.on_groups_changed([this](const std::vector<ProcessGroupRef>& groups) {
    m_record.process_groups = groups;
    if (m_save_groups_at_once) save_record();
  });
  m_stop_watch.emplace(m_store, build_stop_request_key(m_record.id), m_run);
  if (!m_options.artifacts_dir.empty()) {
    std::error_code ec;
    m_build_dir = std::filesystem::absolute(m_options.artifacts_dir, ec);
    if (m_options.artifacts_dir_per_build) m_build_dir /= uuid;
  } else if (auto local = m_store.local_path("builds/" + m_inputs.project + "/" + uuid)) {
    m_build_dir = *local;
  } else {
    return fail(ErrorKind::usage, "this store keeps no local files: give --artifacts DIR");
  }
  m_record.artifacts_dir = m_build_dir.string();
  m_record.log_path = ArtifactDirLayout{m_build_dir}.log().string();
  if (auto st = make_dirs(m_build_dir); !st) return std::unexpected(st.error());
  if (auto st = m_log.open(ArtifactDirLayout{m_build_dir}.log()); !st) return std::unexpected(st.error());
  auto scratch = TempDir::create({}, "cbuild-run-");
  if (!scratch) return std::unexpected(scratch.error());
  m_scratch = std::move(*scratch);
  auto minutes = std::chrono::duration_cast<milliseconds>(std::chrono::duration<double, std::ratio<60>>(m_options.timeout_minutes));
  m_deadline = std::chrono::steady_clock::now() + minutes;

  for (auto& w : m_inputs.loaded.warnings) m_log.warning(w);
  m_log.system(fmt::format("Build {} (number {}) of project {}", m_record.id, m_record.build_number, m_record.project_name));

  // 3. SUBMITTED, QUEUED: one build at a time in a given source directory.
  begin_phase(BuildPhase::submitted);
  end_phase(BuildStatus::succeeded);
  begin_phase(BuildPhase::queued);
  PhaseOutcome outcome = PhaseOutcome::succeeded;
  if (!workspace) {
    auto lock_file = m_home / "locks" / ("source-" + sha256_hex(m_src.string()).substr(0, 24) + ".lock");
    bool told = false;
    for (;;) {
      auto lock = FileLock::acquire(lock_file, LockMode::exclusive, LockWait::try_once);
      if (lock) {
        m_source_lock = std::move(*lock);
        break;
      }
      if (lock.error().kind != ErrorKind::conflict) break;  // cannot lock at all: go on unguarded
      if (!told) m_log.system(fmt::format("Waiting for another build in {} to finish", m_src.string()));
      told = true;
      if (m_run.token().wait_for(milliseconds(100))) {
        outcome = PhaseOutcome::stopped;
        break;
      }
    }
  }
  // The timeout counts from when the build could start.
  m_deadline = std::chrono::steady_clock::now() + minutes;
  end_phase(status_of(outcome), outcome == PhaseOutcome::stopped
                                    ? std::vector<PhaseContext>{{"BUILD_STOPPED", m_run.token().message() + " while queued"}}
                                    : std::vector<PhaseContext>{});

  // 4. PROVISIONING, DOWNLOAD_SOURCE.
  if (outcome == PhaseOutcome::succeeded) outcome = provision();
  if (outcome == PhaseOutcome::succeeded) outcome = download_source();

  // 5. The command phases, with CodeBuild's transitions.
  bool reached_upload = false;
  BuildStatus status = status_of(outcome);
  if (outcome == PhaseOutcome::succeeded) {
    bool failed = false;
    for (auto type : k_command_phases) {
      auto result = run_command_phase(type);
      if (result == PhaseOutcome::succeeded) {
        if (type == PhaseType::post_build) reached_upload = true;
        continue;
      }
      if (result != PhaseOutcome::failed) {  // timed out, stopped, fault: straight to the end
        status = status_of(result);
        failed = true;
        break;
      }
      failed = true;
      auto action = m_spec->phase(type).on_failure.action;
      bool late = type == PhaseType::build || type == PhaseType::post_build;
      if (action == OnFailureAction::continue_build) {
        if (type == PhaseType::post_build) reached_upload = true;
        continue;
      }
      if (action == OnFailureAction::abort) {
        reached_upload = late;
        break;
      }
      // Default transitions: INSTALL and PRE_BUILD failures end the build; a BUILD failure
      // still runs POST_BUILD; artifacts are attempted after BUILD or POST_BUILD fails.
      if (!late) break;
      if (type == PhaseType::post_build) reached_upload = true;
    }
    if (failed && status == BuildStatus::succeeded) status = BuildStatus::failed;
    if (!failed) status = BuildStatus::succeeded;
    if (status == BuildStatus::timed_out || status == BuildStatus::stopped || status == BuildStatus::fault)
      reached_upload = false;
  }

  // 6. UPLOAD_ARTIFACTS, FINALIZING, COMPLETED.
  if (reached_upload) {
    auto upload = upload_artifacts(status == BuildStatus::succeeded);
    if (upload != PhaseOutcome::succeeded && status == BuildStatus::succeeded) status = BuildStatus::failed;
  }
  finalize();
  if (auto in_store = m_store.local_path(build_record_key(m_record.id)); !in_store || in_store->parent_path() != m_build_dir)
    if (auto st = m_store.put_file("builds/" + m_record.project_name + "/" + uuid + "/build.log", m_build_dir / "build.log"); !st)
      m_log.warning(st.error().message);
  m_record.status = status;
  m_record.end_time = m_clock.now();
  m_record.build_complete = true;
  m_log.system(fmt::format("Build {} {}", m_record.id, build_status_name(status)));
  begin_phase(BuildPhase::completed);
  save_record(RecordCopies::store_and_build_dir, Durability::sync);
  if (workspace && m_options.keep_workspace) {
    m_log.system(fmt::format("Workspace kept at {}", workspace->path().string()));
    workspace->release();
  }
  BuildOutcome result;
  result.record = m_record;
  result.reports = m_reports;
  result.warnings = m_inputs.loaded.warnings;
  return result;
}

}  // namespace

BuildEngine::BuildEngine(Store& store, std::filesystem::path home, ProcessRunner& runner, const Clock& clock)
    : m_store(store), m_home(std::move(home)), m_runner(runner), m_clock(clock) {}

Result<BuildOutcome> BuildEngine::run(const BuildOptions& options) {
  BuildRun run(m_store, m_home, m_runner, m_clock, options);
  try {
    return run.execute();
  } catch (const std::exception& e) {
    run.fault(e.what());
    return fail(ErrorKind::internal, "the build failed unexpectedly: {}", e.what());
  }
}

Result<BuildPlan> BuildEngine::plan(const BuildOptions& options) {
  std::optional<TempDir> workspace;
  auto exported = export_workspace(options);
  if (!exported) return std::unexpected(exported.error());
  if (*exported) workspace = std::move((*exported)->dir);
  auto inputs = resolve_inputs(options, workspace ? workspace->path() : std::filesystem::path());
  if (!inputs) return std::unexpected(inputs.error());
  BuildPlan plan;
  plan.project = inputs->project;
  plan.source_dir = inputs->source_dir;
  plan.buildspec_path = inputs->buildspec_path;
  plan.spec = inputs->loaded.spec;
  plan.warnings = inputs->loaded.warnings;
  for (auto& v : plan.spec.env.variables) plan.environment.push_back({v.name, v.value, "PLAINTEXT"});
  for (auto& v : plan.spec.env.parameter_store) plan.environment.push_back({v.name, v.value, "PARAMETER_STORE"});
  for (auto& v : plan.spec.env.secrets_manager) plan.environment.push_back({v.name, v.value, "SECRETS_MANAGER"});
  for (auto& [n, v] : inputs->user_env) plan.environment.push_back({n, v, "PLAINTEXT"});
  return plan;
}

Json build_plan_to_json(const BuildPlan& plan) {
  Json j = Json::object();
  j["projectName"] = plan.project;
  j["sourceDirectory"] = plan.source_dir.string();
  j["buildspec"] = plan.buildspec_path.string();
  j["version"] = plan.spec.version;
  Json env = Json::array();
  for (auto& e : plan.environment) env.push_back(Json{{"name", e.name}, {"value", e.value}, {"type", e.type}});
  j["environmentVariables"] = env;
  Json phases = Json::array();
  for (auto t : k_command_phases) {
    const auto& p = plan.spec.phase(t);
    if (!p.present) continue;
    Json pj{{"phaseType", phase_record_name(t)}};
    Json cmds = Json::array(), fin = Json::array();
    for (auto& c : p.commands) cmds.push_back(c.value);
    for (auto& c : p.finally) fin.push_back(c.value);
    pj["commands"] = cmds;
    if (!fin.empty()) pj["finally"] = fin;
    if (!p.on_failure.text.empty()) pj["onFailure"] = p.on_failure.text;
    if (p.run_as) pj["runAs"] = p.run_as->value;
    phases.push_back(pj);
  }
  j["phases"] = phases;
  auto artifact = [](const ArtifactSpec& a) {
    Json aj = Json::object();
    if (!a.identifier.empty()) aj["artifactIdentifier"] = a.identifier;
    Json files = Json::array();
    for (auto& f : a.files) files.push_back(f.value);
    aj["files"] = files;
    if (a.name) aj["name"] = a.name->value;
    if (!a.base_directory.empty()) aj["baseDirectory"] = a.base_directory;
    aj["discardPaths"] = a.discard_paths;
    return aj;
  };
  if (plan.spec.artifacts.present && !plan.spec.artifacts.primary.files.empty())
    j["artifacts"] = artifact(plan.spec.artifacts.primary);
  Json secondary = Json::array();
  for (auto& s : plan.spec.artifacts.secondary) secondary.push_back(artifact(s));
  j["secondaryArtifacts"] = secondary;
  Json reports = Json::array();
  for (auto& r : plan.spec.reports)
    reports.push_back(Json{{"reportGroup", report_group_name(plan.project, r.name)},
                           {"fileFormat", report_format_name(r.format)}});
  j["reports"] = reports;
  if (plan.spec.cache.present) {
    Json paths = Json::array();
    for (auto& p : plan.spec.cache.paths) paths.push_back(p.value);
    j["cache"] = Json{{"paths", paths}, {"key", plan.spec.cache.key ? plan.spec.cache.key->value : ""}};
  }
  j["warnings"] = plan.warnings;
  return j;
}

// ---- queries ----

namespace {

// The record in a build's artifact directory, when it is of that build and complete.
std::optional<Json> completed_copy_in_artifact_dir(const BuildRecord& r) {
  if (r.artifacts_dir.empty()) return std::nullopt;
  auto text = read_file(ArtifactDirLayout{r.artifacts_dir}.record());
  if (!text) return std::nullopt;
  auto json = parse_json(*text, "build.json");
  if (!json) return std::nullopt;
  auto copy = build_record_from_json(*json);
  if (!copy || copy->id != r.id || !copy->build_complete) return std::nullopt;
  return std::move(*json);
}

}  // namespace

Result<std::vector<std::string>> list_builds(Store& store, const std::string& project) {
  auto keys = store.list(project.empty() ? "builds/" : "builds/" + project + "/");
  if (!keys) return std::unexpected(keys.error());
  std::vector<std::pair<std::string, std::string>> found;  // startTime, id
  for (auto& k : *keys) {
    if (!k.ends_with("/build.json")) continue;
    auto parts = split(k, '/');
    if (parts.size() != 4) continue;
    // The key names the build; its record is read only to sort by start time. A record that does not
    // parse is still a build (get-builds says what is wrong with it, naming the file): it sorts last.
    auto json = store.get_json(k);
    if (!json && json.error().kind != ErrorKind::invalid) return std::unexpected(json.error());
    if (json && !*json) continue;  // gone meanwhile
    std::string start;
    if (json) {
      auto at = (*json)->find("startTime");
      if (at != (*json)->end() && at->is_string()) start = at->get<std::string>();
    }
    found.emplace_back(std::move(start), parts[1] + ":" + parts[2]);
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> ids;
  for (auto& f : found) ids.push_back(f.second);
  return ids;
}

Result<std::vector<BuildRecord>> get_builds(Store& store, const std::vector<std::string>& ids,
                                            std::vector<std::string>* not_found) {
  std::vector<BuildRecord> out;
  for (auto& id : ids) {
    auto key = build_record_key(id);
    if (key.empty() || !is_valid_store_key(key)) {
      if (not_found) not_found->push_back(id);
      continue;
    }
    auto got = get_record(store, key, build_record_from_json);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
      if (not_found) not_found->push_back(id);
      continue;
    }
    auto record = std::move(**got);
    // A build whose process is gone without finishing: what it left running goes (only processes
    // provably its own), and the record says so, once.
    if (record.status == BuildStatus::in_progress && !build_process_alive(record)) {
      kill_recorded_groups(record.process_groups);
      auto repaired = store.update_json(key, [&](std::optional<Json> cur) -> Result<Json> {
        if (!cur) return fail(ErrorKind::not_found, "build '{}' vanished", id);
        auto r = build_record_from_json(*cur);
        if (!r) return std::unexpected(r.error());
        if (r->status != BuildStatus::in_progress) return *cur;
        // It may have ended and failed only to save its end here: the artifact directory's copy,
        // written apart, says how.
        if (auto ended = completed_copy_in_artifact_dir(*r)) return *ended;
        auto now = std::chrono::system_clock::now();
        if (!r->phases.empty() && !r->phases.back().end_time) {
          r->phases.back().end_time = now;
          r->phases.back().status = BuildStatus::fault;
          r->phases.back().contexts.push_back(
              {"BUILD_INTERRUPTED",
               fmt::format("the cbuild process (pid {}) ended without finishing this build", r->pid)});
        }
        r->status = BuildStatus::fault;
        r->end_time = now;
        r->build_complete = true;
        r->process_groups.clear();
        return build_record_to_json(*r);
      });
      if (repaired) {
        if (auto r = build_record_from_json(*repaired)) record = std::move(*r);
      }
    }
    out.push_back(std::move(record));
  }
  return out;
}

Result<BuildRecord> stop_build(Store& store, const std::string& id, milliseconds wait) {
  std::vector<std::string> missing;
  auto records = get_builds(store, {id}, &missing);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return fail(ErrorKind::not_found, "build '{}' not found", id);
  if (records->front().status != BuildStatus::in_progress) return records->front();
  // 1. The request, which the build watches wherever it runs.
  if (auto st = request_stop(store, build_stop_request_key(id), {current_user_name(), format_iso8601(std::chrono::system_clock::now()), "stop-build"}); !st)
    return std::unexpected(st.error());
  // 2. Its record says when it has stopped (or the build's process died, and the look repairs it).
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    auto again = get_builds(store, {id});
    if (!again) return std::unexpected(again.error());
    if (!again->empty() && again->front().status != BuildStatus::in_progress) return again->front();
  }
  return fail(ErrorKind::timed_out, "build '{}' did not stop within {} s (the request stays: it stops when it next looks)",
              id, wait.count() / 1000);
}

}  // namespace cicd

namespace cicd {

Status stream_build_log(Store& store, const std::string& id, bool follow,
                        const std::function<void(std::string_view)>& out, const CancelToken& cancel) {
  auto records = get_builds(store, {id});
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return fail(ErrorKind::not_found, "build '{}' not found", id);
  auto record = records->front();
  auto stored = store.local_path(build_record_key(id));
  std::filesystem::path path = record.log_path;
  std::error_code ec;
  if (stored && std::filesystem::exists(stored->parent_path() / "build.log", ec)) path = stored->parent_path() / "build.log";
  std::ifstream in(path, std::ios::binary);
  if (!in && record.status != BuildStatus::in_progress)
    return fail(ErrorKind::not_found, "the log of build '{}' ({}) is gone", id, path.string());
  std::string pending;
  auto pump = [&] {
    char buf[65536];
    while (in) {
      in.read(buf, sizeof buf);
      auto n = in.gcount();
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t pos;
      while ((pos = pending.find('\n')) != std::string::npos) {
        out(std::string_view(pending).substr(0, pos));
        pending.erase(0, pos + 1);
      }
    }
    in.clear();
  };
  pump();
  while (follow) {
    auto again = get_builds(store, {id});
    bool done = !again || again->empty() || again->front().status != BuildStatus::in_progress;
    if (!in) in.open(path, std::ios::binary);
    pump();
    if (done || cancel.wait_for(milliseconds(200))) break;
  }
  if (!pending.empty()) out(pending);
  return {};
}

}  // namespace cicd

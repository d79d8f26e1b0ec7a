#include "pipeline/actions.hpp"
#include "pipeline/triggers.hpp"

#include <fmt/format.h>

#include <mutex>
#include <system_error>

#include "artifact/archive.hpp"
#include "builder/engine.hpp"
#include "builder/projects.hpp"
#include "deploy/engine.hpp"
#include "deploy/resources.hpp"
#include "git/git.hpp"
#include "store/definitions.hpp"
#include "util/envfile.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

ActionOutcome failed(std::string code, std::string message) {
  ActionOutcome out;
  out.status = ActionStatus::failed;
  out.error_code = std::move(code);
  out.error_message = std::move(message);
  out.summary = out.error_message;
  return out;
}

ActionOutcome failed_from(const Error& e) {
  return failed(e.kind == ErrorKind::invalid || e.kind == ErrorKind::usage || e.kind == ErrorKind::not_found
                    ? "ConfigurationError"
                    : "JobFailed",
                e.message);
}

// The stop of a run (Ctrl-C, stop-pipeline-execution) as the action's end.
ActionOutcome stopped_outcome(const CancelToken& token) {
  auto out = failed("JobFailed", fmt::format("the action was {}", token.message()));
  out.stopped = true;
  return out;
}

// Copies a tree (files, directories, symbolic links as links) into `to`, which must not exist.
Status copy_tree(const fs::path& from, const fs::path& to) {
  if (auto st = make_dirs(to.parent_path()); !st) return st;
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return fail(ErrorKind::io, "cannot copy '{}' to '{}': {}", from.string(), to.string(), ec.message());
  return {};
}

std::string first_line(std::string_view text) {
  auto nl = text.find('\n');
  return std::string(trim(text.substr(0, nl)));
}

const fs::path* input_dir(const ActionContext& c, std::string_view name) {
  for (auto& [n, p] : c.inputs)
    if (n == name) return &p;
  return nullptr;
}

fs::path output_dir(const ActionContext& c, size_t index = 0) {
  return c.action.outputs.size() > index ? c.outputs_dir / c.action.outputs[index].name : fs::path();
}

// ---- Source: S3 (the store's bucket area: a directory or an archive) ----

Result<ActionOutcome> source_s3(ActionContext& c) {
  const std::string* bucket = c.config("S3Bucket");
  const std::string* key = c.config("S3ObjectKey");
  if (!bucket || !key) return failed("ConfigurationError", "an S3 source needs S3Bucket and S3ObjectKey");
  auto where = bucket_path(c.store_root, *bucket + "/" + *key);
  std::error_code ec;
  auto out = output_dir(c);
  if (fs::is_directory(where, ec)) {
    if (auto st = copy_tree(where, out); !st) return failed_from(st.error());
  } else if (fs::is_regular_file(where, ec)) {
    if (auto st = make_dirs(out); !st) return std::unexpected(st.error());
    auto extracted = extract_archive(where, out);
    if (!extracted) return failed_from(extracted.error());
  } else {
    return failed("ConfigurationError", fmt::format("S3 source s3://{}/{}: nothing at '{}'", *bucket, *key, where.string()));
  }
  ActionOutcome o;
  // The ETag of the object: a digest of the file, or of a directory's listing (what `poll`
  // compares to find a change).
  auto stamp = current_source_revision(c.action, c.home, c.store_root);
  std::string etag = stamp && *stamp ? **stamp : "";
  o.output_variables = Json{{"ETag", etag}, {"VersionId", ""}, {"ObjectKey", *key}};
  o.revisions.push_back({c.action.outputs.empty() ? "" : c.action.outputs[0].name, etag, *key, "file://" + where.string(),
                         format_iso8601(c.clock.now())});
  o.summary = fmt::format("s3://{}/{}", *bucket, *key);
  return o;
}

// ---- Source: CodeCommit, and connection (GitHub, GitLab, ...) sources mapped to the home ----

// A git source: its branch (or the given revision) of its repository (git_source), exported into
// the output artifact.
Result<ActionOutcome> source_git(ActionContext& c, const GitSourceRef& g) {
  const auto& path = g.path;
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    return failed("ConfigurationError", fmt::format("repository '{}' does not exist (no '{}')",
                                                    g.repository.empty() ? g.full_name : g.repository, path.string()));
  // A given revision (a push's commit) must be a commit id: anything else would let a caller
  // name refs and expressions.
  if (!c.source_revision.empty() && (c.source_revision.size() < 7 || c.source_revision.size() > 64 ||
                                     c.source_revision.find_first_not_of("0123456789abcdef") != std::string::npos))
    return failed("ConfigurationError", fmt::format("source revision '{}' is not a commit id", c.source_revision));
  auto out = output_dir(c);
  if (auto st = make_dirs(out); !st) return std::unexpected(st.error());
  auto exported = export_revision(path, c.source_revision.empty() ? "refs/heads/" + g.branch : c.source_revision, out);
  if (!exported) return failed_from(exported.error());
  ActionOutcome o;
  auto when = [](int64_t seconds) { return format_iso8601(SystemTime(std::chrono::seconds(seconds))); };
  o.output_variables = Json{{"CommitId", exported->commit},
                            {"CommitMessage", exported->message},
                            {"BranchName", g.branch},
                            {"AuthorDate", when(exported->author_time)}};
  if (g.full_name.empty()) {
    o.output_variables["RepositoryName"] = g.repository;
    o.output_variables["CommitterDate"] = when(exported->committer_time);
  } else {
    const std::string* arn = c.config("ConnectionArn");
    o.output_variables["FullRepositoryName"] = g.full_name;
    o.output_variables["ConnectionArn"] = arn ? *arn : "";
    o.output_variables["ProviderType"] = "Local";  // the home's repository stands in for the provider's
  }
  o.revisions.push_back({c.action.outputs.empty() ? "" : c.action.outputs[0].name, exported->commit,
                         first_line(exported->message), "file://" + path.string(), when(exported->committer_time)});
  o.summary = fmt::format("{} {}", exported->commit.substr(0, 12), first_line(exported->message));
  o.external_id = exported->commit;
  return o;
}

Result<ActionOutcome> source_git_action(ActionContext& c) {
  auto g = git_source(c.action, c.home);
  if (!g) return failed("ConfigurationError", g.error().message);
  return source_git(c, **g);
}

// ---- Builds: CodeBuild and Compute/Commands, through the build engine ----

// The build's input: the primary input copied into a workspace of the action's own (a build
// writes into its source; the artifact is read by others), the other inputs read where they are
// through CODEBUILD_SRC_DIR_<name>, as CodeBuild names secondary sources.
struct BuildInputs {
  fs::path source;
  EnvList env;
};

Result<BuildInputs> build_inputs(ActionContext& c, const std::string& primary) {
  BuildInputs in;
  in.source = c.work_dir / "src";
  const fs::path* p = input_dir(c, primary);
  if (!p) return fail(ErrorKind::invalid, "primary source '{}' is not an input artifact of action '{}'", primary, c.action.name);
  if (auto st = copy_tree(*p, in.source); !st) return std::unexpected(st.error());
  for (auto& [name, dir] : c.inputs)
    if (name != primary) in.env.emplace_back("CODEBUILD_SRC_DIR_" + name, dir.string());
  return in;
}

// Moves a build's packaged (packaging NONE) artifact into the output artifact's place: a rename,
// no copy. An artifact the build did not make gives an empty one.
Status take_build_output(const std::optional<ArtifactRecord>& artifact, const fs::path& out) {
  if (out.empty()) return {};
  std::error_code ec;
  if (artifact && !artifact->location.empty() && fs::is_directory(artifact->location, ec)) {
    fs::rename(artifact->location, out, ec);
    if (ec) return fail(ErrorKind::io, "cannot move '{}' to '{}': {}", artifact->location, out.string(), ec.message());
    return {};
  }
  return make_dirs(out);
}

// The output artifacts of a build action, as CodePipeline maps them: the first is the build's
// primary artifact, each other one the secondary artifact whose identifier is its name.
Status take_build_outputs(const BuildRecord& record, const ActionContext& c) {
  for (size_t i = 0; i < c.action.outputs.size(); ++i) {
    std::optional<ArtifactRecord> artifact;
    if (i == 0) artifact = record.artifacts;
    else
      for (auto& s : record.secondary_artifacts)
        if (s.identifier == c.action.outputs[i].name) artifact = s;
    if (i > 0 && !artifact)
      return fail(ErrorKind::invalid, "the build made no secondary artifact '{}' (output artifact {} of action '{}')",
                  c.action.outputs[i].name, i + 1, c.action.name);
    if (auto st = take_build_output(artifact, output_dir(c, i)); !st) return st;
  }
  return {};
}

ActionOutcome build_outcome(const BuildOutcome& built, const ActionContext& c) {
  ActionOutcome o;
  const BuildRecord& r = built.record;
  o.external_id = r.id;
  o.external_url = "file://" + (fs::path(r.artifacts_dir) / "build.json").string();
  o.log = r.log_path;
  for (auto& [k, v] : r.exported_environment_variables) o.output_variables[k] = v;
  if (r.status == BuildStatus::succeeded) {
    o.summary = fmt::format("build {} succeeded", r.id);
    if (auto st = take_build_outputs(r, c); !st) {
      auto f = failed_from(st.error());
      f.log = o.log;
      f.external_id = o.external_id;
      return f;
    }
    return o;
  }
  o.status = ActionStatus::failed;
  o.stopped = r.status == BuildStatus::stopped;
  o.error_code = "JobFailed";
  o.error_message = fmt::format("build {} ended {}", r.id, build_status_name(r.status));
  o.summary = o.error_message;
  return o;
}

// CodePipeline's EnvironmentVariables configuration: a JSON list of {name, value, type}.
Result<std::vector<EnvironmentVariableRecord>> pipeline_build_env(const std::string* text) {
  std::vector<EnvironmentVariableRecord> out;
  if (!text || trim(*text).empty()) return out;
  auto j = parse_json(*text, "EnvironmentVariables");
  if (!j) return std::unexpected(j.error());
  if (!j->is_array()) return fail(ErrorKind::invalid, "EnvironmentVariables must be a JSON list of {{name, value, type}}");
  for (auto& e : *j) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("value") || !e["value"].is_string())
      return fail(ErrorKind::invalid, "EnvironmentVariables: each is {{\"name\": ..., \"value\": ..., \"type\": ...}} with text");
    std::string type = e.value("type", "PLAINTEXT");
    if (type != "PLAINTEXT" && type != "PARAMETER_STORE" && type != "SECRETS_MANAGER")
      return fail(ErrorKind::invalid, "EnvironmentVariables: type '{}' is not PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER", type);
    out.push_back({e["name"].get<std::string>(), e["value"].get<std::string>(), type});
  }
  return out;
}

BuildOptions base_build_options(ActionContext& c) {
  BuildOptions o;
  o.artifacts_dir = build_artifacts_dir(c.work_dir);
  o.packaging = ArtifactPackaging::none;
  o.initiator = fmt::format("codepipeline/{}", c.pipeline.name);
  o.cancel = c.cancel;
  o.env_overrides.emplace_back("CODEBUILD_INITIATOR", o.initiator);
  return o;
}

Result<ActionOutcome> build_codebuild(ActionContext& c) {
  const std::string* project_name = c.config("ProjectName");
  if (!project_name) return failed("ConfigurationError", "a CodeBuild action needs ProjectName");
  auto project = BuildProjects(c.home).get(*project_name);
  if (!project) return failed_from(project.error());
  std::string primary = c.config("PrimarySource") ? *c.config("PrimarySource") : c.inputs.front().first;
  auto in = build_inputs(c, primary);
  if (!in) return failed_from(in.error());
  // The project's own source and artifacts settings give way to the pipeline's, as for a project
  // of type CODEPIPELINE (which is how AWS sets one up for a pipeline).
  BuildProject p = *project;
  p.source_type = "CODEPIPELINE";
  p.artifacts_type = "CODEPIPELINE";
  ProjectBuildInputs pin;
  pin.home = c.home;
  pin.store_root = c.store_root;
  pin.source_dir = in->source;
  pin.artifacts_dir = build_artifacts_dir(c.work_dir);
  auto options = build_options_for(p, pin);
  if (!options) return failed_from(options.error());
  BuildOptions base = base_build_options(c);
  options->packaging = base.packaging;
  options->initiator = base.initiator;
  options->cancel = base.cancel;
  options->artifacts_dir_per_build = false;
  for (auto& e : base.env_overrides) options->env_overrides.push_back(e);
  for (auto& e : in->env) options->env_overrides.push_back(e);
  auto env = pipeline_build_env(c.config("EnvironmentVariables"));
  if (!env) return failed_from(env.error());
  options->env_override_vars = std::move(*env);
  BuildEngine engine(c.store, c.home, c.runner, c.clock);
  auto built = engine.run(*options);
  if (!built) return failed_from(built.error());
  return build_outcome(*built, c);
}

// A Compute/Commands action: its commands as the build phase of a buildspec written for it, its
// output artifact's files as the buildspec's artifacts, its outputVariables exported.
std::string commands_buildspec(const PipelineAction& a) {
  Json spec = Json{{"version", "0.2"}};
  if (!a.output_variables.empty()) spec["env"] = Json{{"exported-variables", a.output_variables}};
  spec["phases"] = Json{{"build", Json{{"commands", a.commands}}}};
  if (!a.outputs.empty()) {
    Json files = Json::array();
    for (auto& f : a.outputs[0].files) files.push_back(f);
    if (files.empty()) files.push_back("**/*");
    spec["artifacts"] = Json{{"files", files}};
  }
  return spec.dump();  // JSON is YAML
}

Result<ActionOutcome> compute_commands(ActionContext& c) {
  auto in = build_inputs(c, c.inputs.front().first);
  if (!in) return failed_from(in.error());
  BuildOptions o = base_build_options(c);
  o.source_dir = in->source;
  o.project = c.pipeline.name + "-" + c.action.name;
  o.buildspec_text = commands_buildspec(c.action);
  o.buildspec_name = fmt::format("the commands of action '{}'", c.action.name);
  o.source_type = "CODEPIPELINE";
  if (c.action.timeout_in_minutes) o.timeout_minutes = *c.action.timeout_in_minutes;
  for (auto& e : in->env) o.env_overrides.push_back(e);
  BuildEngine engine(c.store, c.home, c.runner, c.clock);
  auto built = engine.run(o);
  if (!built) return failed_from(built.error());
  return build_outcome(*built, c);
}

// ---- Approval: Manual ----

Result<ActionOutcome> approval_manual(ActionContext& c) {
  ActionOutcome o;
  o.status = ActionStatus::in_progress;
  o.token = make_uuid();
  o.expires = format_iso8601(c.clock.now() + approval_timeout(c.action));
  o.summary = "waiting for approval";
  if (auto* link = c.config("ExternalEntityLink")) o.external_url = *link;
  return o;
}

// ---- Deploy: CodeDeploy (the deploy engine, the input artifact as the revision) and S3 ----

Result<ActionOutcome> deploy_codedeploy(ActionContext& c) {
  const std::string* app = c.config("ApplicationName");
  const std::string* group = c.config("DeploymentGroupName");
  if (!app || !group) return failed("ConfigurationError", "a CodeDeploy action needs ApplicationName and DeploymentGroupName");
  Resources resources(c.home);
  DeployEngine engine(c.store, resources, c.runner, c.clock);
  CreateDeploymentOptions create;
  create.application = *app;
  create.deployment_group = *group;
  create.revision = c.inputs.front().second.string();  // read where it is: no copy
  create.description = fmt::format("pipeline {} execution {}", c.pipeline.name, c.execution_id);
  auto created = engine.create(create);
  if (!created) return failed_from(created.error());
  RunDeploymentOptions run;
  run.cancel = c.cancel;
  auto ran = engine.run(created->deployment.id, run);
  if (!ran) return failed_from(ran.error());
  const DeploymentRecord& d = ran->deployment;
  ActionOutcome o;
  o.external_id = d.id;
  o.summary = fmt::format("deployment {} {}", d.id, deployment_status_name(d.status));
  if (d.status != DeploymentStatus::succeeded) {
    o.status = ActionStatus::failed;
    o.stopped = d.status == DeploymentStatus::stopped;
    o.error_code = "JobFailed";
    o.error_message = d.error ? fmt::format("deployment {} {}: {}", d.id, deployment_status_name(d.status), d.error->message)
                              : o.summary;
  }
  return o;
}

Result<ActionOutcome> deploy_s3(ActionContext& c) {
  const std::string* bucket = c.config("BucketName");
  if (!bucket) return failed("ConfigurationError", "an S3 deploy action needs BucketName");
  bool extract = c.config("Extract") && iequals(*c.config("Extract"), "true");
  const std::string* key = c.config("ObjectKey");
  if (!extract && !key) return failed("ConfigurationError", "an S3 deploy action with Extract false needs ObjectKey");
  auto target = bucket_path(c.store_root, *bucket + (key ? "/" + *key : std::string()));
  const fs::path& input = c.inputs.front().second;
  std::error_code ec;
  if (extract) {
    // The artifact's files replace what the folder held (a deploy of a site).
    fs::path staging = target.string() + ".cpipeline-new";
    fs::remove_all(staging, ec);
    if (auto st = copy_tree(input, staging); !st) return failed_from(st.error());
    fs::remove_all(target, ec);
    if (auto st = make_dirs(target.parent_path()); !st) return std::unexpected(st.error());
    fs::rename(staging, target, ec);
    if (ec) return failed("JobFailed", fmt::format("cannot put the files in '{}': {}", target.string(), ec.message()));
  } else {
    std::vector<ArchiveEntry> entries;
    auto files = glob_files(input, {"**/*"});
    if (!files) return failed_from(files.error());
    for (auto& f : *files) entries.push_back({f.relative, input / f.relative, f.is_symlink});
    if (auto st = make_dirs(target.parent_path()); !st) return std::unexpected(st.error());
    auto zipped = write_zip(entries, target);
    if (!zipped) return failed_from(zipped.error());
  }
  ActionOutcome o;
  o.summary = fmt::format("{} to s3://{}/{}", extract ? "extracted" : "zipped", *bucket, key ? *key : "");
  o.external_url = "file://" + target.string();
  return o;
}

// ---- A local command for any other action type ----

Result<ActionOutcome> local_command(ActionContext& c) {
  if (auto st = make_dirs(c.work_dir); !st) return std::unexpected(st.error());
  Environment env = current_environment();
  env["CPIPELINE_PIPELINE"] = c.pipeline.name;
  env["CPIPELINE_EXECUTION_ID"] = c.execution_id;
  env["CPIPELINE_STAGE"] = c.stage.name;
  env["CPIPELINE_ACTION"] = c.action.name;
  Json config = Json::object();
  for (auto& [k, v] : c.configuration) config[k] = v;
  env["CPIPELINE_CONFIGURATION"] = config.dump();
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (i == 0) env["CPIPELINE_INPUT_DIR"] = c.inputs[i].second.string();
    env["CPIPELINE_INPUT_" + c.inputs[i].first] = c.inputs[i].second.string();
  }
  for (size_t i = 0; i < c.action.outputs.size(); ++i) {
    auto dir = output_dir(c, i);
    if (auto st = make_dirs(dir); !st) return std::unexpected(st.error());
    if (i == 0) env["CPIPELINE_OUTPUT_DIR"] = dir.string();
    env["CPIPELINE_OUTPUT_" + c.action.outputs[i].name] = dir.string();
  }
  auto variables_file = c.work_dir / "variables.env";
  env["CPIPELINE_VARIABLES_FILE"] = variables_file.string();
  Run run(c.cancel);
  ProcessSpec spec;
  spec.argv = {"/bin/bash", "-c", c.action.local_command};
  spec.environment = env;
  spec.inherit_environment = false;
  spec.cwd = c.work_dir.string();
  spec.run = &run;
  spec.leftovers = Leftovers::kill;
  // The log's first write error fails the action: output that could not be kept is not dropped.
  auto log_error = std::make_shared<std::optional<Error>>();
  auto log_mutex = std::make_shared<std::mutex>();
  auto log = std::make_shared<CallbackSink>([path = c.log_path, log_error, log_mutex](OutputStream, std::string_view line) {
    auto st = append_file(path, std::string(line) + "\n");
    std::lock_guard lock(*log_mutex);
    if (!st && !*log_error) *log_error = st.error();
  });
  spec.sink = log;
  spec.merge_stderr = true;
  auto result = c.runner.run(spec);
  run.end();
  if (!result) return failed_from(result.error());
  if (result->stopped) return stopped_outcome(c.cancel);
  {
    std::lock_guard lock(*log_mutex);
    if (*log_error) return failed_from(**log_error);
  }
  ActionOutcome o;
  std::error_code ec;
  if (fs::exists(variables_file, ec)) {
    auto text = read_file(variables_file);
    if (!text) return failed_from(text.error());
    auto vars = parse_env_file(*text, variables_file.string());
    if (!vars) return failed_from(vars.error());
    for (auto& [k, v] : *vars) o.output_variables[k] = v;
  }
  o.log = c.log_path.string();
  if (!result->succeeded()) {
    o = failed("JobFailed", fmt::format("the local command of action '{}' failed ({})", c.action.name, result->describe()));
    o.log = c.log_path.string();
    return o;
  }
  o.summary = "local command succeeded";
  return o;
}

}  // namespace

const std::string* ActionContext::config(std::string_view key) const {
  for (auto& [k, v] : configuration)
    if (k == key) return &v;
  return nullptr;
}

std::filesystem::path build_artifacts_dir(const std::filesystem::path& work_dir) { return work_dir / "build"; }

std::chrono::minutes approval_timeout(const PipelineAction& action) {
  return std::chrono::minutes(action.timeout_in_minutes.value_or(7 * 24 * 60));
}

Result<ActionOutcome> run_action(ActionContext& c) {
  if (c.cancel.cancelled()) return stopped_outcome(c.cancel);
  if (auto st = make_dirs(c.work_dir); !st) return std::unexpected(st.error());
  const auto& t = c.action.type;
  if (!c.action.local_command.empty()) return local_command(c);
  if (t.category == "Source" && t.provider == "S3") return source_s3(c);
  if (t.category == "Source" &&
      (t.provider == "CodeCommit" || t.provider == "CodeStarSourceConnection" || t.provider == "GitHub"))
    return source_git_action(c);
  if ((t.category == "Build" || t.category == "Test") && t.provider == "CodeBuild") return build_codebuild(c);
  if (t.category == "Compute" && t.provider == "Commands") return compute_commands(c);
  if (t.category == "Approval" && t.provider == "Manual") return approval_manual(c);
  if (t.category == "Deploy" && t.provider == "CodeDeploy") return deploy_codedeploy(c);
  if (t.category == "Deploy" && t.provider == "S3") return deploy_s3(c);
  return failed("ConfigurationError", fmt::format("action '{}' ({}/{}/{}) has no local runner and no local command", c.action.name,
                                                  t.owner, t.category, t.provider));
}

}  // namespace cicd

#include "pipeline/triggers.hpp"

#include <fmt/format.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "builder/projects.hpp"
#include "git/git.hpp"
#include "store/definitions.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

Result<std::vector<RefUpdate>> parse_ref_updates(std::string_view text) {
  std::vector<RefUpdate> out;
  for (auto& line : split_lines(text)) {
    auto t = trim(line);
    if (t.empty()) continue;
    std::vector<std::string> fields;
    for (auto& f : split(t, ' '))
      if (!f.empty()) fields.push_back(f);
    if (fields.size() != 3)
      return fail(ErrorKind::usage, "post-receive input '{}': expected '<old-commit> <new-commit> <ref>'", t);
    out.push_back({fields[0], fields[1], fields[2]});
  }
  return out;
}

namespace {

// <home>/pipeline/connections.yml: "repositories:" mapping a connection's full repository name to a
// repository of the home (a name) or an absolute path. Absent: no mappings.
Result<std::map<std::string, std::string>> read_connections(const fs::path& home) {
  auto file = home / "pipeline" / "connections.yml";
  std::error_code ec;
  std::map<std::string, std::string> out;
  if (!fs::exists(file, ec)) return out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::invalid, "{}:{}:{}: error: {}", file.string(), e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  auto at = [&](const YAML::Node& n) { return fmt::format("{}:{}:{}", file.string(), n.Mark().line + 1, n.Mark().column + 1); };
  std::vector<std::string> errors;
  if (!root.IsMap() || !root["repositories"] || !root["repositories"].IsMap()) {
    return fail(ErrorKind::invalid, "{}: error: expected 'repositories:', a mapping of FullRepositoryId to a repository",
                at(root));
  }
  for (auto it : root["repositories"]) {
    if (!it.second.IsScalar() || !it.first.IsScalar()) {
      errors.push_back(fmt::format("{}: error: expected FullRepositoryId: REPOSITORY", at(it.first)));
      continue;
    }
    auto value = it.second.as<std::string>();
    if (!(value.starts_with('/') || is_valid_resource_name(value)))
      errors.push_back(fmt::format("{}: error: '{}' is neither a repository of the home nor an absolute path", at(it.second),
                                   value));
    out[it.first.as<std::string>()] = value;
  }
  if (!errors.empty()) return fail(ErrorKind::invalid, "{}", join(errors, "\n"));
  return out;
}

}  // namespace

Result<std::optional<GitSourceRef>> git_source(const PipelineAction& action, const fs::path& home) {
  if (action.type.category != "Source") return std::optional<GitSourceRef>();
  GitSourceRef g;
  if (action.type.provider == "CodeCommit") {
    const std::string* repo = action.config("RepositoryName");
    const std::string* branch = action.config("BranchName");
    if (!repo || !branch) return fail(ErrorKind::usage, "CodeCommit source {} needs RepositoryName and BranchName", action.name);
    g.repository = *repo;
    g.branch = *branch;
  } else if (action.type.provider == "CodeStarSourceConnection" || action.type.provider == "GitHub") {
    if (action.type.provider == "GitHub") {
      const std::string* owner = action.config("Owner");
      const std::string* repo = action.config("Repo");
      const std::string* branch = action.config("Branch");
      if (!repo || !branch) return fail(ErrorKind::usage, "GitHub source {} needs Repo and Branch", action.name);
      g.full_name = (owner ? *owner + "/" : std::string()) + *repo;
      g.branch = *branch;
    } else {
      const std::string* full = action.config("FullRepositoryId");
      const std::string* branch = action.config("BranchName");
      if (!full || !branch)
        return fail(ErrorKind::usage, "connection source {} needs FullRepositoryId and BranchName", action.name);
      g.full_name = *full;
      g.branch = *branch;
    }
    auto mapped = read_connections(home);
    if (!mapped) return std::unexpected(mapped.error());
    auto m = mapped->find(g.full_name);
    if (m != mapped->end() && m->second.starts_with('/')) {
      g.path = fs::path(m->second);
      return std::optional<GitSourceRef>(std::move(g));
    }
    auto slash = g.full_name.rfind('/');
    g.repository = m != mapped->end() ? m->second : slash == std::string::npos ? g.full_name : g.full_name.substr(slash + 1);
  } else {
    return std::optional<GitSourceRef>();
  }
  if (!is_valid_resource_name(g.repository))
    return fail(ErrorKind::usage, "source {}: '{}' does not name a repository of the home", action.name, g.repository);
  g.path = home / "repos" / (g.repository + ".git");
  return std::optional<GitSourceRef>(std::move(g));
}

bool passes_filter(const GlobFilter& filter, std::string_view value) {
  auto any = [&](const std::vector<std::string>& globs) {
    return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return GlobPattern(g).matches(value); });
  };
  if (any(filter.excludes)) return false;
  return filter.includes.empty() || any(filter.includes);
}

namespace {

bool is_zero_id(std::string_view id) { return id.empty() || id.find_first_not_of('0') == std::string_view::npos; }

std::string short_id(std::string_view id) { return std::string(id.substr(0, 7)); }

// A push filter of a V2 trigger: a tag filter takes tags, else the branch filter takes branches;
// a file path filter then needs one changed path through it.
Result<bool> push_filter_matches(const PushFilter& f, const RefUpdate& u, const fs::path& repository_path) {
  constexpr std::string_view heads = "refs/heads/", tags = "refs/tags/";
  if (!f.tags.empty()) {
    if (!u.ref.starts_with(tags)) return false;
    return passes_filter(f.tags, std::string_view(u.ref).substr(tags.size()));
  }
  if (!u.ref.starts_with(heads)) return false;
  if (!f.branches.empty() && !passes_filter(f.branches, std::string_view(u.ref).substr(heads.size()))) return false;
  if (f.file_paths.empty()) return true;
  auto paths = changed_paths(repository_path, u.old_id, u.new_id);
  if (!paths) return std::unexpected(paths.error());
  return std::any_of(paths->begin(), paths->end(), [&](const std::string& p) { return passes_filter(f.file_paths, p); });
}

}  // namespace

Result<std::vector<PushMatch>> pipelines_for_push(const std::vector<Pipeline>& pipelines, const fs::path& home,
                                                  const std::string& repository, const std::vector<RefUpdate>& updates) {
  const fs::path repository_path = home / "repos" / (repository + ".git");
  std::error_code ec;
  const fs::path pushed = fs::weakly_canonical(repository_path, ec);
  std::vector<PushMatch> out;
  for (auto& p : pipelines) {
    if (p.stages.empty()) continue;
    std::optional<PushMatch> match;
    for (auto& a : p.stages.front().actions) {
      if (match) break;
      auto source = git_source(a, home);
      if (!source) return std::unexpected(source.error());
      if (!*source || fs::weakly_canonical((*source)->path, ec) != pushed) continue;
      const std::string* branch = &(*source)->branch;
      std::vector<const PipelineTrigger*> triggers;
      for (auto& t : p.triggers)
        if (t.source_action == a.name && !t.push.empty()) triggers.push_back(&t);
      for (auto& u : updates) {
        if (match || is_zero_id(u.new_id)) continue;
        bool starts = false;
        if (triggers.empty()) {
          starts = branch && u.ref == "refs/heads/" + *branch;
        } else {
          for (auto* t : triggers)
            for (auto& f : t->push) {
              if (starts) break;
              auto m = push_filter_matches(f, u, repository_path);
              if (!m) return std::unexpected(m.error());
              starts = *m;
            }
        }
        if (!starts) continue;
        match = PushMatch{&p,
                          {a.name, "COMMIT_ID", u.new_id},
                          triggers.empty() ? "CloudWatchEvent" : "WebhookV2",
                          fmt::format("push of {} ({}) to repository {}", u.ref, short_id(u.new_id), repository)};
      }
    }
    if (match) out.push_back(std::move(*match));
  }
  return out;
}

namespace {

// A directory's ETag: a digest of its listing (paths, sizes, modification times), so that a
// change to any file changes it without reading every file.
Result<std::string> directory_digest(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    auto st = it->symlink_status(ec);
    if (ec) break;
    auto rel = fs::relative(it->path(), dir, ec).generic_string();
    auto size = fs::is_regular_file(st) ? it->file_size(ec) : 0;
    auto when = it->last_write_time(ec).time_since_epoch().count();
    lines.push_back(fmt::format("{} {} {} {}", rel, static_cast<int>(st.type()), size, when));
  }
  if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", dir.string(), ec.message());
  std::sort(lines.begin(), lines.end());
  return sha256_hex(join(lines, "\n"));
}

}  // namespace

Result<std::optional<std::string>> current_source_revision(const PipelineAction& action, const fs::path& home,
                                                           const fs::path& store_root) {
  auto source = git_source(action, home);
  if (!source) return std::unexpected(source.error());
  if (*source) {
    std::error_code ec;
    if (!fs::is_directory((*source)->path, ec)) return std::optional<std::string>();
    return resolve_commit((*source)->path, "refs/heads/" + (*source)->branch);
  }
  if (action.type.provider == "S3") {
    const std::string* bucket = action.config("S3Bucket");
    const std::string* key = action.config("S3ObjectKey");
    if (!bucket || !key) return fail(ErrorKind::usage, "source {} needs S3Bucket and S3ObjectKey", action.name);
    auto where = bucket_path(store_root, *bucket + "/" + *key);
    std::error_code ec;
    Result<std::string> digest = fs::is_directory(where, ec)      ? directory_digest(where)
                                 : fs::is_regular_file(where, ec) ? sha256_file(where)
                                                                  : Result<std::string>(std::string());
    if (!digest) return std::unexpected(digest.error());
    if (digest->empty()) return std::optional<std::string>();
    return std::optional<std::string>(digest->substr(0, 32));
  }
  return fail(ErrorKind::usage, "source {} ({}): cpipeline cannot look for its changes", action.name, action.type.provider);
}

namespace {

constexpr std::string_view k_dispatcher_mark = "# cicd post-receive dispatcher";

const char* const k_dispatcher = R"(#!/bin/sh
# cicd post-receive dispatcher: runs every program in post-receive.d with this push's input.
# Installed by `cpipeline install-hook`; a hook that was here before was moved into
# post-receive.d/00-previous. A failing program fails nothing: the push has happened.
input=$(cat)
dir=$(dirname "$0")/post-receive.d
for hook in "$dir"/*; do
  [ -f "$hook" ] && [ -x "$hook" ] || continue
  printf '%s\n' "$input" | "$hook" "$@" || true
done
exit 0
)";

Status write_executable(const fs::path& path, std::string_view text) {
  if (auto st = write_file_atomic(path, text); !st) return st;
  std::error_code ec;
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec,
                  ec);
  if (ec) return fail(ErrorKind::io, "cannot make '{}' executable: {}", path.string(), ec.message());
  return {};
}

}  // namespace

Result<HookInstall> install_post_receive_hook(const fs::path& repository_path, const std::string& command) {
  HookInstall out;
  auto hooks = repository_path / "hooks";
  auto dir = hooks / "post-receive.d";
  if (auto st = make_dirs(dir); !st) return std::unexpected(st.error());
  auto hook = hooks / "post-receive";
  std::error_code ec;
  if (fs::exists(hook, ec)) {
    auto text = read_file(hook);
    if (!text) return std::unexpected(text.error());
    if (text->find(k_dispatcher_mark) == std::string::npos) {
      auto previous = dir / "00-previous";
      if (fs::exists(previous, ec))
        return fail(ErrorKind::invalid, "'{}' is not cicd's dispatcher and '{}' exists: move one of them yourself",
                    hook.string(), previous.string());
      fs::rename(hook, previous, ec);
      if (ec) return fail(ErrorKind::io, "cannot move '{}' to '{}': {}", hook.string(), previous.string(), ec.message());
      out.moved_existing = previous.string();
    }
  }
  if (auto st = write_executable(hook, k_dispatcher); !st) return std::unexpected(st.error());
  out.hook = dir / "cpipeline";
  std::string script = fmt::format(
      "#!/bin/sh\n"
      "# Installed by `cpipeline install-hook`: starts the pipelines that watch this repository, in\n"
      "# the background. It never fails or holds up the push.\n"
      "{} >/dev/null 2>&1 || true\n"
      "exit 0\n",
      command);
  if (auto st = write_executable(out.hook, script); !st) return std::unexpected(st.error());
  return out;
}

}  // namespace cicd

#include "git/git.hpp"

#include <memory>
#include <system_error>

#include "git/libgit2.hpp"

namespace cicd {

namespace {

// libgit2's table: api() loaded it before any object these wrappers hold was made.
const libgit2::Api& git() { return **libgit2::api(); }

std::string last_git_error() {
  const git_error* e = git().git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

// Frees with the table's function `Free` (a member pointer such as &Api::git_tree_free).
template <class T, auto Free>
struct GitDeleter {
  void operator()(T* p) const {
    if (p) (git().*Free)(p);
  }
};
using RepoPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, &libgit2::Api::git_repository_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, &libgit2::Api::git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, &libgit2::Api::git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitDeleter<git_tree, &libgit2::Api::git_tree_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, &libgit2::Api::git_remote_free>>;

std::string oid_text(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git().git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

// Whether `path` or a directory above it may hold a repository that git_repository_open_ext
// would find: a `.git` (directory or gitlink file), or a bare repository's HEAD and objects,
// looked for as libgit2 does, from the path with its symlinks resolved. A few stat calls spare
// loading libgit2 where there is no repository (a build's source outside git, an exported one).
bool may_be_in_repository(const std::filesystem::path& path) {
  std::error_code ec;
  auto dir = std::filesystem::canonical(path, ec);
  if (ec) return true;  // let libgit2 say what is wrong
  for (;;) {
    if (std::filesystem::exists(dir / ".git", ec) ||
        (std::filesystem::exists(dir / "HEAD", ec) && std::filesystem::exists(dir / "objects", ec)))
      return true;
    if (!dir.has_relative_path()) return false;
    dir = dir.parent_path();
  }
}

Result<RepoPtr> open_repository(const std::filesystem::path& path) {
  if (auto loaded = libgit2::api(); !loaded) return std::unexpected(loaded.error());
  git_repository* repo = nullptr;
  if (git().git_repository_open_ext(&repo, path.c_str(), 0, nullptr) != 0)
    return fail(ErrorKind::invalid, "'{}' is not a git repository: {}", path.string(), last_git_error());
  return RepoPtr(repo);
}

}  // namespace

Result<ExportedSource> export_revision(const std::filesystem::path& repository, const std::string& revision,
                                       const std::filesystem::path& destination) {
  auto repo = open_repository(repository);
  if (!repo) return std::unexpected(repo.error());
  // 1. Resolve the revision to a commit.
  git_object* obj = nullptr;
  if (git().git_revparse_single(&obj, repo->get(), revision.c_str()) != 0)
    return fail(ErrorKind::invalid, "revision '{}' not found in '{}': {}", revision, repository.string(),
                last_git_error());
  ObjectPtr object(obj);
  git_object* peeled = nullptr;
  if (git().git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0)
    return fail(ErrorKind::invalid, "revision '{}' does not name a commit: {}", revision, last_git_error());
  CommitPtr commit(reinterpret_cast<git_commit*>(peeled));
  git_tree* tree_raw = nullptr;
  if (git().git_commit_tree(&tree_raw, commit.get()) != 0)
    return fail(ErrorKind::io, "cannot read the tree of '{}': {}", revision, last_git_error());
  TreePtr tree(tree_raw);

  // 2. Check the tree out into the destination, leaving the repository's own work tree alone.
  git_checkout_options opts;
  git().git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  std::string dest = destination.string();
  opts.target_directory = dest.c_str();
  if (git().git_checkout_tree(repo->get(), reinterpret_cast<git_object*>(tree.get()), &opts) != 0)
    return fail(ErrorKind::io, "cannot export '{}' into '{}': {}", revision, dest, last_git_error());

  ExportedSource out;
  out.commit = oid_text(git().git_commit_id(commit.get()));
  if (const char* message = git().git_commit_message(commit.get())) out.message = message;
  if (const git_signature* a = git().git_commit_author(commit.get())) {
    out.author_name = a->name ? a->name : "";
    out.author_email = a->email ? a->email : "";
    out.author_time = a->when.time;
  }
  if (const git_signature* c = git().git_commit_committer(commit.get())) {
    out.committer_name = c->name ? c->name : "";
    out.committer_email = c->email ? c->email : "";
    out.committer_time = c->when.time;
  }
  git_remote* remote = nullptr;
  if (git().git_remote_lookup(&remote, repo->get(), "origin") == 0) {
    RemotePtr r(remote);
    if (const char* url = git().git_remote_url(r.get())) out.remote_url = url;
  }
  return out;
}

std::optional<std::string> head_commit(const std::filesystem::path& directory) {
  if (!may_be_in_repository(directory)) return std::nullopt;
  auto repo = open_repository(directory);
  if (!repo) return std::nullopt;
  git_oid oid;
  if (git().git_reference_name_to_id(&oid, repo->get(), "HEAD") != 0) return std::nullopt;
  return oid_text(&oid);
}

namespace {

using DiffPtr = std::unique_ptr<git_diff, GitDeleter<git_diff, &libgit2::Api::git_diff_free>>;

Result<CommitPtr> lookup_commit(git_repository* repo, const std::string& id) {
  git_oid oid;
  if (git().git_oid_fromstr(&oid, id.c_str()) != 0) return fail(ErrorKind::invalid, "'{}' is not a commit id", id);
  git_commit* commit = nullptr;
  if (git().git_commit_lookup(&commit, repo, &oid) != 0)
    return fail(ErrorKind::invalid, "commit {} not found: {}", id, last_git_error());
  return CommitPtr(commit);
}

}  // namespace

Result<std::optional<std::string>> resolve_commit(const std::filesystem::path& repository, const std::string& revision) {
  auto repo = open_repository(repository);
  if (!repo) return std::unexpected(repo.error());
  git_object* obj = nullptr;
  if (git().git_revparse_single(&obj, repo->get(), revision.c_str()) != 0) return std::optional<std::string>();
  ObjectPtr object(obj);
  git_object* peeled = nullptr;
  if (git().git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0)
    return fail(ErrorKind::invalid, "revision '{}' does not name a commit: {}", revision, last_git_error());
  CommitPtr commit(reinterpret_cast<git_commit*>(peeled));
  return std::optional<std::string>(oid_text(git().git_commit_id(commit.get())));
}

Result<std::vector<std::string>> changed_paths(const std::filesystem::path& repository, const std::string& from,
                                               const std::string& to) {
  auto repo = open_repository(repository);
  if (!repo) return std::unexpected(repo.error());
  auto tree_of = [&](const std::string& id) -> Result<TreePtr> {
    if (id.empty() || id.find_first_not_of('0') == std::string::npos) return TreePtr();
    auto commit = lookup_commit(repo->get(), id);
    if (!commit) return std::unexpected(commit.error());
    git_tree* tree = nullptr;
    if (git().git_commit_tree(&tree, commit->get()) != 0)
      return fail(ErrorKind::invalid, "commit {} has no tree: {}", id, last_git_error());
    return TreePtr(tree);
  };
  auto old_tree = tree_of(from);
  if (!old_tree) return std::unexpected(old_tree.error());
  auto new_tree = tree_of(to);
  if (!new_tree) return std::unexpected(new_tree.error());
  git_diff* diff = nullptr;
  if (git().git_diff_tree_to_tree(&diff, repo->get(), old_tree->get(), new_tree->get(), nullptr) != 0)
    return fail(ErrorKind::invalid, "cannot compare {} with {}: {}", from, to, last_git_error());
  DiffPtr owned(diff);
  std::vector<std::string> out;
  size_t n = git().git_diff_num_deltas(diff);
  for (size_t i = 0; i < n; ++i) {
    const git_diff_delta* d = git().git_diff_get_delta(diff, i);
    if (d->old_file.path) out.emplace_back(d->old_file.path);
    if (d->new_file.path && (!d->old_file.path || std::string_view(d->new_file.path) != d->old_file.path))
      out.emplace_back(d->new_file.path);
  }
  return out;
}

}  // namespace cicd

#include "git/git.hpp"

#include <git2.h>

#include <memory>
#include <mutex>

namespace cicd {

namespace {

void init_libgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

std::string last_git_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

template <class T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
using RepoPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, git_repository_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitDeleter<git_tree, git_tree_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, git_remote_free>>;

std::string oid_text(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

Result<RepoPtr> open_repository(const std::filesystem::path& path) {
  init_libgit2();
  git_repository* repo = nullptr;
  if (git_repository_open_ext(&repo, path.c_str(), 0, nullptr) != 0)
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
  if (git_revparse_single(&obj, repo->get(), revision.c_str()) != 0)
    return fail(ErrorKind::invalid, "revision '{}' not found in '{}': {}", revision, repository.string(),
                last_git_error());
  ObjectPtr object(obj);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0)
    return fail(ErrorKind::invalid, "revision '{}' does not name a commit: {}", revision, last_git_error());
  CommitPtr commit(reinterpret_cast<git_commit*>(peeled));
  git_tree* tree_raw = nullptr;
  if (git_commit_tree(&tree_raw, commit.get()) != 0)
    return fail(ErrorKind::io, "cannot read the tree of '{}': {}", revision, last_git_error());
  TreePtr tree(tree_raw);

  // 2. Check the tree out into the destination, leaving the repository's own work tree alone.
  git_checkout_options opts;
  git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  std::string dest = destination.string();
  opts.target_directory = dest.c_str();
  if (git_checkout_tree(repo->get(), reinterpret_cast<git_object*>(tree.get()), &opts) != 0)
    return fail(ErrorKind::io, "cannot export '{}' into '{}': {}", revision, dest, last_git_error());

  ExportedSource out;
  out.commit = oid_text(git_commit_id(commit.get()));
  git_remote* remote = nullptr;
  if (git_remote_lookup(&remote, repo->get(), "origin") == 0) {
    RemotePtr r(remote);
    if (const char* url = git_remote_url(r.get())) out.remote_url = url;
  }
  return out;
}

std::optional<std::string> head_commit(const std::filesystem::path& directory) {
  auto repo = open_repository(directory);
  if (!repo) return std::nullopt;
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo->get(), "HEAD") != 0) return std::nullopt;
  return oid_text(&oid);
}

}  // namespace cicd

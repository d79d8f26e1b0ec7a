// libgit2 wrappers: what the engines need of git repositories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace cicd {

struct ExportedSource {
  std::string commit;  // full object id of the commit exported
  std::string remote_url;  // origin's URL, if any
  std::string message;     // the commit's message
  std::string author_name, author_email, committer_name, committer_email;
  int64_t author_time = 0;  // seconds since the epoch
  int64_t committer_time = 0;
};

// Writes the tree of `revision` (anything git rev-parse understands: a branch, a tag, a sha)
// of the repository at `repository` (bare or not) into `destination`, an empty directory.
Result<ExportedSource> export_revision(const std::filesystem::path& repository, const std::string& revision,
                                       const std::filesystem::path& destination);

// The commit `revision` names in the repository at `repository` (a ref such as
// refs/heads/main, a sha); nullopt when it names nothing (a branch not yet pushed).
Result<std::optional<std::string>> resolve_commit(const std::filesystem::path& repository, const std::string& revision);

// The paths a push changed: those that differ between the trees of commits `from` and `to` (both
// sides of a rename). An empty or all-zero `from` (a new branch) compares with the empty tree.
Result<std::vector<std::string>> changed_paths(const std::filesystem::path& repository, const std::string& from,
                                               const std::string& to);

// The commit HEAD points at, when `directory` is inside a git work tree.
std::optional<std::string> head_commit(const std::filesystem::path& directory);

}  // namespace cicd

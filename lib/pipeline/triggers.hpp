// What starts a pipeline besides a person: a push to a repository of the home (the post-receive
// hook `cpipeline install-hook` installs calls `cpipeline notify-push`), and a source that changed
// since the pipeline's latest execution (`cpipeline poll`, from cron).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "formats/pipeline.hpp"
#include "pipeline/records.hpp"
#include "util/error.hpp"

namespace cicd {

// A git source's repository on this machine. A CodeCommit source's RepositoryName is the home's
// repository (<home>/repos/NAME.git). A connection's (CodeStarSourceConnection: FullRepositoryId
// "owner/name", BranchName; GitHub version 1: Owner, Repo, Branch) is what
// <home>/pipeline/connections.yml maps its full name to (a repository of the home by name, or an
// absolute path to a git repository), else the home's repository of the same name.
struct GitSourceRef {
  std::string repository;        // the home's repository name; empty for a mapped path
  std::filesystem::path path;    // the repository
  std::string branch, full_name; // full_name: a connection's "owner/name"; empty for CodeCommit
};
// nullopt for a source that is not a git one; Error{usage} for a configuration that lacks what it
// needs, Error{invalid} for a connections.yml that cannot be read (positioned).
Result<std::optional<GitSourceRef>> git_source(const PipelineAction& action, const std::filesystem::path& home);

// One line of a post-receive hook's input: "<old> <new> <ref>".
struct RefUpdate {
  std::string old_id, new_id, ref;
};
// Reads post-receive input; a line that is not three fields is Error{usage} naming it.
Result<std::vector<RefUpdate>> parse_ref_updates(std::string_view text);

// A pipeline a push starts: with the pushed commit as its source action's revision.
struct PushMatch {
  const Pipeline* pipeline = nullptr;
  SourceRevision revision;
  std::string trigger_type;    // CloudWatchEvent (a CodeCommit source's branch), WebhookV2 (a V2 trigger)
  std::string trigger_detail;  // "push of refs/heads/main (1a2b3c4) to repository web"
};

// The pipelines a push of `updates` to repository `repository` (a name in the home) starts. A
// source action watches its RepositoryName and BranchName; a V2 pipeline's push triggers on that
// action decide instead, by their branch, tag and file path filters (globs; includes and excludes;
// an exclude wins). A deleted ref starts nothing. `repository_path` is read for the changed paths
// only when a filter needs them.
Result<std::vector<PushMatch>> pipelines_for_push(const std::vector<Pipeline>& pipelines, const std::filesystem::path& home,
                                                  const std::string& repository, const std::vector<RefUpdate>& updates);

// Whether `value` passes a V2 trigger's glob filter: some include matches (or there are none)
// and no exclude does.
bool passes_filter(const GlobFilter& filter, std::string_view value);

// The revision a source action would take now: a CodeCommit branch's head commit, an S3 object's
// ETag (a directory's: a digest of its listing). nullopt when there is nothing there yet.
// Error{usage} for a source this cannot look at.
Result<std::optional<std::string>> current_source_revision(const PipelineAction& action, const std::filesystem::path& home,
                                                           const std::filesystem::path& store_root);

// post-receive hooks: `hooks/post-receive` as a dispatcher that runs every program in
// `hooks/post-receive.d/` with the same input (a hook the repository had moves there first), and
// `post-receive.d/cpipeline` running `notify-push`. Installing twice changes nothing.
struct HookInstall {
  std::filesystem::path hook;       // the script that calls notify-push
  std::string moved_existing;       // where a hook that was there before went, if one was
};
Result<HookInstall> install_post_receive_hook(const std::filesystem::path& repository_path, const std::string& command);

}  // namespace cicd

// The Install lifecycle step, as the CodeDeploy agent does it: remove what the previous
// deployment installed (its cleanup list), copy the revision's files per the appspec's `files`
// with file_exists_behavior, write the new cleanup list, apply `permissions`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/appspec.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace cicd {

struct InstallRequest {
  const Appspec* spec = nullptr;
  std::filesystem::path archive_dir;  // the unpacked revision (its root holds the appspec)
  std::filesystem::path root = "/";   // the instance's root prefix: destinations go under it
  std::filesystem::path previous_cleanup;  // the last deployment's cleanup list (may not exist)
  std::filesystem::path new_cleanup;       // where this deployment's goes
  FileExistsBehavior file_exists_behavior = FileExistsBehavior::disallow;
  // Place files that nothing will change by a hard link to the deployment archive's copy instead
  // of a second copy (see FileWrite). Off: every file is copied, as the agent does.
  bool hard_links = true;
};

// One file of the Install step: whatever is at `to` is replaced by the revision's `from` (a
// symlink stays a symlink; a file keeps its mode and modification time, as the agent's
// FileUtils.copy(preserve: true) does). `may_link`: `to` may share `from`'s inode (a hard link)
// where both are on one file system. install_revision allows it only for a file that is neither a
// hook script nor under any `permissions` entry, so that nothing this deployment does changes the
// archive's copy, which the hooks (and the next deployment's ApplicationStop) run from.
struct FileWrite {
  std::filesystem::path from;
  std::filesystem::path to;
  bool may_link = false;
  bool is_symlink = false;  // `from` is a symlink (as the revision's listing said)
  bool replaces = true;     // something was at `to` when the step looked (false: nothing to remove first)
};

struct InstallOutcome {
  size_t removed = 0;    // files of the previous deployment removed first
  size_t copied = 0;
  size_t retained = 0;   // existing files kept (RETAIN)
  size_t overwritten = 0;
  size_t linked = 0;     // of `copied`, placed as hard links to the archive's copy
  std::vector<std::string> log;  // what happened, for the deployment's script log
};

// What the Install step asks about a destination path before it changes anything there.
struct DestinationState {
  bool present = false;       // lstat finds something (a dangling symlink counts)
  bool is_symlink = false;
  bool is_directory = false;  // lstat: a real directory, not a symlink to one
  bool resolves = false;      // stat (through symlinks) finds something
  bool resolves_to_directory = false;
};

// What `begin` needs to know up front, so that a remote target can answer every later question
// from one round trip.
struct InstallQuery {
  std::filesystem::path previous_cleanup;
  std::vector<std::filesystem::path> paths;  // every path `state` will be asked about
  std::vector<std::string> users;            // owners named by `permissions`
  std::vector<std::string> groups;
  bool acls = false;      // some permission sets acls
  bool contexts = false;  // some permission sets an SELinux context
};

// The destination side of the Install step. The sources (the unpacked revision) are always read
// from the local disk; the destination is this machine (LocalHost) or an instance over ssh, whose
// target answers queries from one probe and batches the changes (see ssh_host.cpp). Each change
// returns an error that names the path and why, as the local file system would say it.
class InstallTarget {
 public:
  virtual ~InstallTarget() = default;
  // Removes the previous deployment's files listed in `query.previous_cleanup` (files before
  // their directories, directories only when empty): how many; nullopt when there is no list.
  virtual Result<std::optional<size_t>> begin(const InstallQuery& query) = 0;
  // Whether `state` answers from `query.paths` (a remote target); a local one looks itself, and
  // is given no paths.
  virtual bool answers_from_query() const { return true; }
  virtual DestinationState state(const std::filesystem::path& path) = 0;
  virtual Status create_directory(const std::filesystem::path& path) = 0;
  // Places each file (see FileWrite); how many were hard-linked. May work on several at once;
  // after a failure, some may have been placed.
  virtual Result<size_t> copy_files(const std::vector<FileWrite>& files) = 0;
  virtual Status write_cleanup(const std::filesystem::path& path, const std::string& content) = 0;
  virtual bool user_exists(const std::string& name) = 0;
  virtual bool group_exists(const std::string& name) = 0;
  virtual bool has_setfacl() = 0;
  virtual bool selinux_enabled() = 0;  // chcon present and SELinux on
  // Owner and/or group of the path itself (not of a symlink's target).
  virtual Status change_owner(const std::filesystem::path& path, const std::optional<std::string>& owner,
                              const std::optional<std::string>& group) = 0;
  virtual Status change_mode(const std::filesystem::path& path, unsigned mode) = 0;
  virtual Status set_acl(const std::filesystem::path& path, const std::string& entries) = 0;  // setfacl -m
  virtual Status set_context(const std::filesystem::path& path, const std::vector<std::string>& chcon_options) = 0;
};

// Errors say which file and why ("a file already exists at /srv/app/index.html and
// file_exists_behavior is DISALLOW"). Tools that permissions need (setfacl, chcon) are found via
// PATH; a missing one is an error naming it.
Result<InstallOutcome> install_revision(const InstallRequest& request, ProcessRunner& runner);

// The same step against any destination: `request.archive_dir` is a local directory holding the
// revision, `request.root` and the cleanup paths are paths on the target.
Result<InstallOutcome> install_revision(const InstallRequest& request, InstallTarget& target);

}  // namespace cicd

// The Install lifecycle step, as the CodeDeploy agent does it: remove what the previous
// deployment installed (its cleanup list), copy the revision's files per the appspec's `files`
// with file_exists_behavior, write the new cleanup list, apply `permissions`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "spec/appspec.hpp"
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
};

struct InstallOutcome {
  size_t removed = 0;    // files of the previous deployment removed first
  size_t copied = 0;
  size_t retained = 0;   // existing files kept (RETAIN)
  size_t overwritten = 0;
  std::vector<std::string> log;  // what happened, for the deployment's script log
};

// Errors say which file and why ("a file already exists at /srv/app/index.html and
// file_exists_behavior is DISALLOW"). Tools that permissions need (setfacl, chcon) are found via
// PATH; a missing one is an error naming it.
Result<InstallOutcome> install_revision(const InstallRequest& request, ProcessRunner& runner);

}  // namespace cicd

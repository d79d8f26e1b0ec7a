// Unpacking a deployment bundle (a tar cdeploy wrote itself) onto this machine quickly: the
// archive is read in order, files are created on several threads, symlinks come last so that
// nothing is ever written through one.
#pragma once

#include <filesystem>

#include "util/error.hpp"

namespace cicd {

// `dest` must not exist yet (or be empty). Entry names must be safe relative paths and symlink
// targets must follow the extractor's rule (symlink_target_stays_inside); anything else (an
// absolute name, "..", a link out of `dest`, a device) refuses the bundle. Files and directories
// get the archive's permission bits (never set-user-ID, set-group-ID or sticky) and files its
// modification time; one that cannot be set, or a write that fails at close, is an error naming
// the file.
Status unpack_own_bundle(const std::filesystem::path& bundle, const std::filesystem::path& dest);

}  // namespace cicd

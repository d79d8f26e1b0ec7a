// Unpacking a deployment bundle (a tar cdeploy wrote itself) onto this machine quickly: the
// archive is read in order, files are created on several threads, symlinks come last so that
// nothing is ever written through one.
#pragma once

#include <filesystem>

#include "util/error.hpp"

namespace cicd {

// `dest` must not exist yet (or be empty). Entry names must be safe relative paths; anything
// else (an absolute name, "..", a device) refuses the bundle.
Status unpack_own_bundle(const std::filesystem::path& bundle, const std::filesystem::path& dest);

}  // namespace cicd

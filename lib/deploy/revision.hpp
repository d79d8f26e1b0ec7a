// Revisions: what `--revision` names (a directory, a .zip, a .tar/.tar.gz, or a cbuild artifact
// directory), found, checked and packed into the bundle the instances receive.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "formats/appspec.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace cicd {

struct PreparedRevision {
  std::string location;              // as given, made absolute
  std::filesystem::path root;        // the directory holding the appspec (inside `unpacked`)
  std::filesystem::path appspec_path;
  Appspec spec;
  std::vector<std::string> warnings;  // the appspec's, positioned
  std::optional<TempDir> unpacked;    // when the revision was an archive
};

// Resolves and validates a revision. An invalid appspec is Error{invalid} whose details are the
// positioned diagnostics; nothing is written anywhere.
Result<PreparedRevision> prepare_revision(const std::filesystem::path& location);

// Packs a prepared revision's root into a tar bundle; returns its sha256.
Result<std::string> pack_bundle(const PreparedRevision& revision, const std::filesystem::path& bundle);

}  // namespace cicd

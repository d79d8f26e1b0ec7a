// Definitions in the home (DESIGN.md section 4): the resources a user creates (applications,
// deployment groups, build projects, pipelines, repositories), one YAML file per resource,
// readable and editable by hand and checked by the same validators on every read.
//
// Layout: <home>/<area>/<kind>/<name>.yml. The area is a tool's folder (cdeploy's is "deploy");
// the kind is a folder per resource type ("applications"), and may be nested for resources that
// belong to another one ("deployment-groups/<application>").
//
// Concurrency: every change holds one advisory lock per area, <home>/<area>/.lock, for its whole
// check-then-write: lock(), then exists()/read(), then write() or remove(). One lock for all the
// kinds of an area rather than one per kind, because the checks cross kinds (a deployment group
// needs its application and its deployment config, and deleting either must not race with
// creating a group that uses it). Changes are rare and quick, so the coarser lock costs nothing.
// Readers take no lock: every file is replaced by an atomic rename, so a reader sees the old or
// the new file. create() is the common case in one call: of two concurrent creates of one name,
// exactly one succeeds.
//
// Reading checks: read() parses the YAML and hands the mapping to a parse function of the kind,
// which reports every problem it finds into Diagnostics (store/definition_fields.hpp has the
// field readers it needs); any error makes the read Error{invalid} "invalid <what> definition
// '<file>'" with one "FILE:LINE:COL: error: ..." detail per problem, all of them at once.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace cicd {

// The extension of definition files.
inline constexpr std::string_view k_definition_extension = ".yml";

// Names of resources: 1-100 of [A-Za-z0-9._-], not only dots (as AWS, which also allows more;
// these are also file names here).
bool is_valid_resource_name(std::string_view name);
// Why `name` is not a valid name for a `what` ("application"), or nullopt:
// "invalid application name 'a/b': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)".
std::optional<std::string> resource_name_problem(std::string_view what, std::string_view name);

class Definitions {
 public:
  // Writes the fields of a definition into the mapping that write() opened.
  using EmitBody = std::function<void(YAML::Emitter&)>;
  // Reads a definition's top-level mapping; reports problems into the Diagnostics, and returns
  // whether it filled its result (a read fails if it did not, or if any error was reported).
  using ParseBody = std::function<bool(const YAML::Node& root, Diagnostics& diagnostics)>;

  // `area`: the folder under the home ("deploy"); `tool`: the tool named in the files' header
  // comment ("cdeploy").
  Definitions(std::filesystem::path home, std::string area, std::string tool);

  const std::filesystem::path& home() const { return m_home; }
  std::filesystem::path dir(std::string_view kind) const;  // <home>/<area>/<kind>
  std::filesystem::path path(std::string_view kind, std::string_view name) const;

  // The area's lock, held until the FileLock goes away. A holder that is alive but stuck does not
  // hang every other command forever: after 30 s this is Error{conflict}.
  Result<FileLock> lock() const;

  // Whether the file is there (false for a name that is not a resource name).
  bool exists(std::string_view kind, std::string_view name) const;
  // The names of a kind's definitions, sorted; a missing directory has none. Files that are not
  // definitions (temporary files of atomic writes, invalid names, other extensions) are skipped.
  Result<std::vector<std::string>> list(std::string_view kind) const;
  // Removes one definition (and syncs its directory); a missing one is no error. The caller holds
  // lock().
  Status remove(std::string_view kind, std::string_view name) const;

  // Writes a definition atomically: a comment "<tool> <what>. This file may be edited by hand:
  // <tool> checks it on every read." (`what`: "application 'web'"), then the mapping `body`
  // fills. The caller holds lock().
  Status write(std::string_view kind, std::string_view name, std::string_view what,
               const EmitBody& body) const;

  // Creates a definition: takes the lock, runs `check` (the preconditions that need the lock, such
  // as a parent that must exist; may be empty), then Error{conflict} `exists_message` if a
  // definition of that name is there, else `write` (which calls write()). The lock is not
  // reentrant: a caller that holds lock() already checks exists() and calls write() itself.
  Status create(std::string_view kind, std::string_view name, const std::string& exists_message,
                const std::function<Status()>& write,
                const std::function<Status()>& check = {}) const;

  // Reads and checks one definition: Error{not_found} `missing_message` when there is no file,
  // Error{invalid} with positioned details when it does not pass `parse` (see the top of this
  // file). `what` names the kind in messages ("deployment group").
  Status read_checked(std::string_view kind, std::string_view name, std::string_view what,
                      const std::string& missing_message, const ParseBody& parse) const;

  // The same, for a parse function `std::optional<T>(const YAML::Node&, Diagnostics&)`.
  template <class T, class Parse>
  Result<T> read(std::string_view kind, std::string_view name, std::string_view what,
                 const std::string& missing_message, const Parse& parse) const {
    std::optional<T> out;
    auto st = read_checked(kind, name, what, missing_message,
                           [&](const YAML::Node& root, Diagnostics& d) {
                             out = parse(root, d);
                             return out.has_value();
                           });
    if (!st) return std::unexpected(st.error());
    return std::move(*out);
  }

 private:
  std::filesystem::path m_home;
  std::string m_area;
  std::string m_tool;
};

}  // namespace cicd

// The appspec model (CodeDeploy appspec version 0.0 for EC2/On-Premises) and its parser and
// validator. Pure: text in, model plus positioned diagnostics out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/buildspec.hpp"  // SpecString
#include "util/error.hpp"

namespace cicd {

// The in-place lifecycle, in order. DownloadBundle and Install are the agent's own steps; the
// others run the appspec's scripts. The traffic events belong to load-balanced deployments.
enum class LifecycleEvent {
  application_stop,
  download_bundle,
  before_install,
  install,
  after_install,
  application_start,
  validate_service,
  before_block_traffic,
  after_block_traffic,
  before_allow_traffic,
  after_allow_traffic,
};
std::string_view lifecycle_event_name(LifecycleEvent event);  // "ApplicationStop"
std::optional<LifecycleEvent> parse_lifecycle_event(std::string_view name);
bool is_scriptable(LifecycleEvent event);

struct HookScript {
  std::string location;  // relative to the revision root
  int timeout_seconds = 3600;
  std::optional<std::string> runas;
  Position position;
  // The agent's undocumented `sudo: true`: run the script through sudo (after runas, if any).
  bool sudo = false;
};

struct AppspecHook {
  LifecycleEvent event = LifecycleEvent::application_stop;
  Position position;
  std::vector<HookScript> scripts;
};

struct FileMapping {
  std::string source;       // relative to the revision root; "/" means all of it
  std::string destination;  // absolute
  Position position;
};

enum class FileExistsBehavior { disallow, overwrite, retain };
std::string_view file_exists_behavior_name(FileExistsBehavior b);  // "DISALLOW"
std::optional<FileExistsBehavior> parse_file_exists_behavior(std::string_view text);  // any case

// One ACL entry as setfacl takes it: [d[efault]:]{u[ser]|g[roup]|m[ask]|o[ther]}:[name]:perms
struct AclEntry {
  bool is_default = false;
  std::string type;  // user, group, mask, other
  std::string name;  // empty for the owning user/group, mask, other
  std::string permissions;  // r, w, x, - in rwx order ("rw-")
  std::string text;  // as written
};

struct SeLinuxContext {
  std::optional<std::string> name;  // SELinux user
  std::string type;
  std::optional<std::string> range;  // "s0", "s0-s3:c0.c5", ...
  // SELinux role, as the AWS docs' template and other agents accept it (files take object_r).
  std::optional<std::string> role;
};

enum class PermissionType { file, directory };

struct Permission {
  std::string object;  // a path on the instance, required
  std::string pattern = "**";
  std::vector<std::string> except;
  std::optional<std::string> owner;
  std::optional<std::string> group;
  std::optional<unsigned> mode;  // octal, 0-07777
  std::vector<AclEntry> acls;
  std::optional<SeLinuxContext> context;
  std::vector<PermissionType> types = {PermissionType::file, PermissionType::directory};
  Position position;
};

struct Appspec {
  std::string version;  // "0.0"
  std::string os;       // "linux" or "windows"
  std::vector<FileMapping> files;
  std::optional<FileExistsBehavior> file_exists_behavior;  // unset: the deployment's, else DISALLOW
  std::vector<Permission> permissions;
  std::vector<AppspecHook> hooks;  // in lifecycle order, only events with at least one script

  const AppspecHook* hook(LifecycleEvent e) const;
};

// What kind of appspec the text is: only EC2/On-Premises revisions are deployed here.
enum class AppspecKind { server, lambda, ecs };

struct AppspecParse {
  std::optional<Appspec> spec;  // set when there are no errors
  AppspecKind kind = AppspecKind::server;
  Diagnostics diagnostics;
};

AppspecParse parse_appspec(std::string_view text);

// Reads and checks an appspec file (`cdeploy validate`).
struct AppspecFileCheck : SpecFileCheck {
  AppspecKind kind = AppspecKind::server;
};
AppspecFileCheck check_appspec_file(const std::string& file);

}  // namespace cicd

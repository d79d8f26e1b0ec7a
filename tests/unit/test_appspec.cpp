#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "formats/appspec.hpp"

using namespace cicd;

namespace {

using Lines = std::vector<std::string>;

// Every diagnostic as the tools print it, in order.
Lines all(const AppspecParse& r) {
  Lines out;
  for (auto& d : r.diagnostics.items()) out.push_back(format_diagnostic("a.yml", d));
  return out;
}

// The diagnostics of an appspec made of the usual first two lines and `rest`.
Lines diagnostics_of(const std::string& rest) {
  return all(parse_appspec("version: 0.0\nos: linux\n" + rest));
}

// A valid appspec's model (warnings allowed).
Appspec model_of(const std::string& text) {
  auto r = parse_appspec(text);
  INFO(text);
  for (auto& line : all(r)) UNSCOPED_INFO(line);
  REQUIRE_FALSE(r.diagnostics.has_errors());
  REQUIRE(r.spec);
  return *r.spec;
}

// The one permission of "permissions: - object: /srv" plus `fields` (each line indented by 4).
Permission permission_with(const std::string& fields) {
  auto spec = model_of("version: 0.0\nos: linux\npermissions:\n  - object: /srv\n" + fields);
  REQUIRE(spec.permissions.size() == 1);
  return spec.permissions[0];
}

}  // namespace

// ---- names ----

TEST_CASE("appspec: lifecycle event and file_exists_behavior names", "[appspec]") {
  CHECK(lifecycle_event_name(LifecycleEvent::application_stop) == "ApplicationStop");
  CHECK(lifecycle_event_name(LifecycleEvent::download_bundle) == "DownloadBundle");
  CHECK(lifecycle_event_name(LifecycleEvent::after_allow_traffic) == "AfterAllowTraffic");
  for (int i = 0; i <= static_cast<int>(LifecycleEvent::after_allow_traffic); ++i) {
    auto e = static_cast<LifecycleEvent>(i);
    CHECK(parse_lifecycle_event(lifecycle_event_name(e)) == e);
  }
  // The agent looks events up by their exact name.
  CHECK_FALSE(parse_lifecycle_event("afterinstall"));
  CHECK_FALSE(parse_lifecycle_event("AfterInstal"));
  CHECK_FALSE(is_scriptable(LifecycleEvent::download_bundle));
  CHECK_FALSE(is_scriptable(LifecycleEvent::install));
  CHECK(is_scriptable(LifecycleEvent::application_stop));
  CHECK(is_scriptable(LifecycleEvent::before_block_traffic));

  CHECK(file_exists_behavior_name(FileExistsBehavior::disallow) == "DISALLOW");
  CHECK(file_exists_behavior_name(FileExistsBehavior::overwrite) == "OVERWRITE");
  CHECK(file_exists_behavior_name(FileExistsBehavior::retain) == "RETAIN");
  CHECK(parse_file_exists_behavior("Retain") == FileExistsBehavior::retain);
  CHECK(parse_file_exists_behavior("overwrite") == FileExistsBehavior::overwrite);
  CHECK_FALSE(parse_file_exists_behavior("replace"));
}

// ---- the whole model ----

TEST_CASE("appspec: a minimal appspec", "[appspec]") {
  auto r = parse_appspec("version: 0.0\nos: linux\n");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  CHECK(r.kind == AppspecKind::server);
  CHECK(r.spec->version == "0.0");
  CHECK(r.spec->os == "linux");
  CHECK(r.spec->files.empty());
  CHECK(r.spec->permissions.empty());
  CHECK(r.spec->hooks.empty());
  CHECK_FALSE(r.spec->file_exists_behavior);
  CHECK(r.spec->hook(LifecycleEvent::before_install) == nullptr);
}

TEST_CASE("appspec: a complete appspec becomes the model", "[appspec]") {
  auto r = parse_appspec(R"(version: 0.0
os: linux
files:
  - source: /
    destination: /srv/app
  - source: config/app.conf
    destination: /etc/app
file_exists_behavior: overwrite
permissions:
  - object: /srv/app
    pattern: "*.sh"
    except: [skip.sh]
    owner: app
    group: www
    mode: 750
    acls:
      - u:deploy:rwx
      - d:g:ops:r
    context:
      name: system_u
      type: httpd_sys_content_t
      range: s0
    type:
      - file
      - directory
hooks:
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 60
      runas: app
  BeforeInstall:
    - location: scripts/stop_old.sh
    - location: scripts/prepare.sh
      timeout: 300
      sudo: true
)");
  CHECK(all(r).empty());
  REQUIRE(r.spec);
  const Appspec& spec = *r.spec;

  REQUIRE(spec.files.size() == 2);
  CHECK(spec.files[0].source == "/");
  CHECK(spec.files[0].destination == "/srv/app");
  CHECK(spec.files[0].position.line == 4);
  CHECK(spec.files[0].position.column == 5);
  CHECK(spec.files[1].source == "config/app.conf");
  CHECK(spec.files[1].destination == "/etc/app");
  CHECK(spec.file_exists_behavior == FileExistsBehavior::overwrite);

  REQUIRE(spec.permissions.size() == 1);
  const Permission& p = spec.permissions[0];
  CHECK(p.object == "/srv/app");
  CHECK(p.pattern == "*.sh");
  CHECK(p.except == std::vector<std::string>{"skip.sh"});
  CHECK(p.owner == "app");
  CHECK(p.group == "www");
  CHECK(p.mode == 0750u);
  REQUIRE(p.acls.size() == 2);
  CHECK_FALSE(p.acls[0].is_default);
  CHECK(p.acls[0].type == "user");
  CHECK(p.acls[0].name == "deploy");
  CHECK(p.acls[0].permissions == "rwx");
  CHECK(p.acls[0].text == "u:deploy:rwx");
  CHECK(p.acls[1].is_default);
  CHECK(p.acls[1].type == "group");
  CHECK(p.acls[1].name == "ops");
  CHECK(p.acls[1].permissions == "r--");
  REQUIRE(p.context);
  CHECK(p.context->name == "system_u");
  CHECK(p.context->type == "httpd_sys_content_t");
  CHECK(p.context->range == "s0");
  CHECK_FALSE(p.context->role);
  CHECK(p.types == std::vector<PermissionType>{PermissionType::file, PermissionType::directory});
  CHECK(p.position.line == 10);
  CHECK(p.position.column == 5);

  // Lifecycle order, not the order written.
  REQUIRE(spec.hooks.size() == 2);
  CHECK(spec.hooks[0].event == LifecycleEvent::before_install);
  CHECK(spec.hooks[0].position.line == 31);
  CHECK(spec.hooks[0].position.column == 3);
  CHECK(spec.hooks[1].event == LifecycleEvent::application_start);
  const AppspecHook* before = spec.hook(LifecycleEvent::before_install);
  REQUIRE(before == &spec.hooks[0]);
  REQUIRE(before->scripts.size() == 2);
  CHECK(before->scripts[0].location == "scripts/stop_old.sh");
  CHECK(before->scripts[0].timeout_seconds == 3600);
  CHECK_FALSE(before->scripts[0].runas);
  CHECK_FALSE(before->scripts[0].sudo);
  CHECK(before->scripts[0].position.line == 32);
  CHECK(before->scripts[0].position.column == 7);
  CHECK(before->scripts[1].location == "scripts/prepare.sh");
  CHECK(before->scripts[1].timeout_seconds == 300);
  CHECK(before->scripts[1].sudo);
  const AppspecHook* start = spec.hook(LifecycleEvent::application_start);
  REQUIRE(start);
  REQUIRE(start->scripts.size() == 1);
  CHECK(start->scripts[0].runas == "app");
  CHECK(start->scripts[0].timeout_seconds == 60);
  CHECK(spec.hook(LifecycleEvent::validate_service) == nullptr);
}

TEST_CASE("appspec: permission defaults", "[appspec]") {
  Permission p = permission_with("");
  CHECK(p.object == "/srv");
  CHECK(p.pattern == "**");
  CHECK(p.except.empty());
  CHECK_FALSE(p.owner);
  CHECK_FALSE(p.group);
  CHECK_FALSE(p.mode);
  CHECK(p.acls.empty());
  CHECK_FALSE(p.context);
  CHECK(p.types == std::vector<PermissionType>{PermissionType::file, PermissionType::directory});
  // An empty pattern is the default, as the agent reads it.
  CHECK(permission_with("    pattern:\n").pattern == "**");
  CHECK(permission_with("    type: [directory]\n").types ==
        std::vector<PermissionType>{PermissionType::directory});
}

// ---- documents, version, os ----

TEST_CASE("appspec: an empty document is refused", "[appspec]") {
  for (std::string text : {"", "\n", "# only a comment\n", "---\n"}) {
    INFO(text);
    CHECK(
        all(parse_appspec(text)) ==
        Lines{"a.yml:1:1: error: empty appspec: expected a mapping with 'version: 0.0' and 'os'"});
  }
  CHECK(all(parse_appspec("- version: 0.0\n")) ==
        Lines{"a.yml:1:1: error: an appspec must be a mapping with 'version: 0.0' and 'os'; got a "
              "list"});
  CHECK(all(parse_appspec("appspec\n")) ==
        Lines{"a.yml:1:1: error: an appspec must be a mapping with 'version: 0.0' and 'os'; got "
              "'appspec'"});
}

TEST_CASE("appspec: invalid YAML is a positioned error", "[appspec]") {
  auto r = parse_appspec("version: 0.0\nos: linux\nhooks:\n\tBeforeInstall:\n");
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK_FALSE(r.spec);
  CHECK(r.diagnostics.items()[0].position.line == 4);
  CHECK(r.diagnostics.items()[0].message.starts_with("invalid YAML: "));
}

TEST_CASE("appspec: version must be 0.0, written as a number or a string", "[appspec]") {
  for (std::string v : {"0.0", "\"0.0\"", "'0.0'"}) {
    INFO(v);
    CHECK(model_of("version: " + v + "\nos: linux\n").version == "0.0");
  }
  CHECK(all(parse_appspec("version: 0.2\nos: linux\n")) ==
        Lines{"a.yml:1:10: error: 'version' must be 0.0; got '0.2'"});
  CHECK(all(parse_appspec("version: [0.0]\nos: linux\n")) ==
        Lines{"a.yml:1:10: error: 'version' must be 0.0; got a list"});
  CHECK(all(parse_appspec("version:\nos: linux\n")) ==
        Lines{"a.yml:1:1: error: 'version' must be 0.0; got an empty value"});
  CHECK(all(parse_appspec("os: linux\n")) ==
        Lines{"a.yml:1:1: error: missing required key 'version'; expected 'version: 0.0'"});
}

TEST_CASE("appspec: os must be linux or windows", "[appspec]") {
  CHECK(model_of("version: 0.0\nos: windows\n").os == "windows");
  CHECK(all(parse_appspec("version: 0.0\nos: Linux\n")) ==
        Lines{"a.yml:2:5: error: 'os' must be linux or windows; got 'Linux'"});
  CHECK(
      all(parse_appspec("version: 0.0\n")) ==
      Lines{"a.yml:1:1: error: missing required key 'os'; expected 'os: linux' or 'os: windows'"});
}

TEST_CASE("appspec: unknown top-level keys are errors with a suggestion", "[appspec]") {
  CHECK(diagnostics_of("hook:\n  BeforeInstall:\n    - location: a.sh\n") ==
        Lines{"a.yml:3:1: error: unknown key 'hook' in appspec; did you mean 'hooks'?"});
  CHECK(diagnostics_of("Hooks: {}\n") ==
        Lines{"a.yml:3:1: error: unknown key 'Hooks' in appspec; did you mean 'hooks'?"});
  CHECK(diagnostics_of("name: web\n") ==
        Lines{"a.yml:3:1: error: unknown key 'name' in appspec; expected version, os, files, "
              "file_exists_behavior, permissions or hooks"});
  CHECK(diagnostics_of("os: windows\n") ==
        Lines{"a.yml:3:1: error: duplicate key 'os' in appspec (first at 2:1)"});
}

TEST_CASE("appspec: an 'overwrite' key points at file_exists_behavior", "[appspec]") {
  // Common in real appspecs; the agent ignores it, so it stays a warning.
  auto r = parse_appspec(R"(version: 0.0
os: linux
overwrite: true
files:
  - source: /
    destination: /srv/app
    overwrite: true
)");
  CHECK(all(r) ==
        Lines{"a.yml:3:1: warning: unknown key 'overwrite' in appspec; CodeDeploy ignores it: to "
              "replace files already on the instance, set 'file_exists_behavior: OVERWRITE' at "
              "the top level",
              "a.yml:7:5: warning: unknown key 'overwrite' in files[0]; CodeDeploy ignores it: to "
              "replace files already on the instance, set 'file_exists_behavior: OVERWRITE' at "
              "the top level"});
  REQUIRE(r.spec);
  CHECK_FALSE(r.spec->file_exists_behavior);
  CHECK(r.spec->files.size() == 1);
}

// ---- files ----

TEST_CASE("appspec: file_exists_behavior is DISALLOW, OVERWRITE or RETAIN in any case",
          "[appspec]") {
  CHECK(model_of("version: 0.0\nos: linux\nfile_exists_behavior: RETAIN\n").file_exists_behavior ==
        FileExistsBehavior::retain);
  CHECK(
      model_of("version: 0.0\nos: linux\nfile_exists_behavior: Disallow\n").file_exists_behavior ==
      FileExistsBehavior::disallow);
  CHECK(diagnostics_of("file_exists_behavior: REPLACE\n") ==
        Lines{"a.yml:3:23: error: 'file_exists_behavior' must be DISALLOW, OVERWRITE or RETAIN; "
              "got 'REPLACE'"});
}

TEST_CASE("appspec: files entries need a source and a destination", "[appspec]") {
  CHECK(diagnostics_of("files:\n  - source: /\n") ==
        Lines{"a.yml:4:5: error: missing required key 'destination' in files[0]"});
  CHECK(diagnostics_of("files:\n  - destination: /srv\n") ==
        Lines{"a.yml:4:5: error: missing required key 'source' in files[0]"});
  CHECK(diagnostics_of("files:\n  - source: /\n    destination: /srv\n  - source: ' '\n    "
                       "destination: /srv\n") ==
        Lines{"a.yml:6:13: error: 'source' in files[1] must not be empty"});
  CHECK(diagnostics_of("files:\n  - source: /\n    dest: /srv\n") ==
        Lines{"a.yml:4:5: error: missing required key 'destination' in files[0]",
              "a.yml:5:5: error: unknown key 'dest' in files[0]; expected source or destination"});
  CHECK(diagnostics_of("files:\n  source: /\n  destination: /srv\n") ==
        Lines{"a.yml:4:3: error: 'files' must be a list of mappings with 'source' and "
              "'destination'; got a mapping (start each entry with '- ')"});
  CHECK(diagnostics_of("files:\n  - /srv\n") ==
        Lines{"a.yml:4:5: error: each entry in 'files' must be a mapping with 'source' and "
              "'destination'; got '/srv'"});
  CHECK(diagnostics_of("files:\n  - source: [a]\n    destination: /srv\n") ==
        Lines{"a.yml:4:13: error: 'source' must be a string; got a list"});
  // An empty section installs nothing, as the agent reads it.
  CHECK(diagnostics_of("files:\n").empty());
}

TEST_CASE("appspec: a relative destination gets a warning on linux", "[appspec]") {
  auto r = parse_appspec("version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: srv\n");
  CHECK(all(r) ==
        Lines{"a.yml:5:18: warning: 'destination' in files[0] should be an absolute path; got "
              "'srv'"});
  REQUIRE(r.spec);
  CHECK(r.spec->files[0].destination == "srv");
  CHECK(all(parse_appspec("version: 0.0\nos: windows\nfiles:\n  - source: a\n    destination: "
                          "C:\\inetpub\n"))
            .empty());
}

TEST_CASE("appspec: '..' in a path is a warning naming where it really points", "[appspec]") {
  auto r = parse_appspec("version: 0.0\nos: linux\nfiles:\n  - source: app/../../etc\n"
                         "    destination: /srv/../../../../tmp/x\npermissions:\n  - object: /srv/web/../..\n");
  CHECK(all(r) == Lines{"a.yml:4:13: warning: 'source' in files[0] contains '..': cdeploy normalizes it and reads "
                        "'etc' in the revision",
                        "a.yml:5:18: warning: 'destination' in files[0] contains '..': cdeploy normalizes it and "
                        "installs to '/tmp/x' (never above an instance's root)",
                        "a.yml:7:13: warning: 'object' in permissions[0] contains '..': cdeploy normalizes it and "
                        "applies to '/'"});
  REQUIRE(r.spec);
  CHECK(r.spec->files[0].destination == "/srv/../../../../tmp/x");  // the model keeps what was written
  // Names that merely hold dots are not '..' components.
  CHECK(diagnostics_of("files:\n  - source: a..b\n    destination: /srv/..hidden/x..\n").empty());
}

// ---- permissions ----

TEST_CASE("appspec: permissions need an object, and linux", "[appspec]") {
  CHECK(diagnostics_of("permissions:\n  - pattern: '*'\n") ==
        Lines{"a.yml:4:5: error: missing required key 'object' in permissions[0]"});
  CHECK(diagnostics_of("permissions:\n  - object:\n") ==
        Lines{"a.yml:4:5: error: 'object' must be a string; got an empty value"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    owners: app\n") ==
        Lines{"a.yml:5:5: error: unknown key 'owners' in permissions[0]; did you mean 'owner'?"});
  CHECK(diagnostics_of("permissions:\n  object: /srv\n") ==
        Lines{"a.yml:4:3: error: 'permissions' must be a list of mappings with 'object'; got a "
              "mapping (start each entry with '- ')"});
  CHECK(all(parse_appspec("version: 0.0\nos: windows\npermissions:\n  - object: C:\\app\n")) ==
        Lines{"a.yml:3:1: error: 'permissions' apply only to linux instances; this appspec is for "
              "windows"});
}

TEST_CASE("appspec: permission type is file and/or directory", "[appspec]") {
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    type: [file, dir]\n") ==
        Lines{"a.yml:5:18: error: 'type' in permissions[0] must be file or directory; got 'dir'"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    type: file\n") ==
        Lines{"a.yml:5:11: error: 'type' must be a list; got 'file'"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    type: []\n") ==
        Lines{"a.yml:5:11: warning: 'type' in permissions[0] is empty: the permission applies to "
              "nothing; leave it out for both files and directories"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    except: '*.tmp'\n") ==
        Lines{"a.yml:5:13: error: 'except' must be a list; got '*.tmp'"});
}

TEST_CASE("appspec: mode is 1 to 4 octal digits, padded on the left", "[appspec]") {
  CHECK(permission_with("    mode: 644\n").mode == 0644u);
  CHECK(permission_with("    mode: 44\n").mode == 0044u);
  CHECK(permission_with("    mode: 7\n").mode == 0007u);
  CHECK(permission_with("    mode: 6763\n").mode == 06763u);
  CHECK(permission_with("    mode: '0755'\n").mode == 0755u);
  CHECK(permission_with("    mode: \"0640\"\n").mode == 0640u);

  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 12345\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got "
              "'12345' (5 digits)"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 12a\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got "
              "'12a' ('a' is not an octal digit)"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 0o644\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got "
              "'0o644' ('o' is not an octal digit)"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 800\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got "
              "'800' ('8' is not an octal digit)"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: ''\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got ''"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: [644]\n") ==
        Lines{"a.yml:5:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got a "
              "list"});
}

TEST_CASE("appspec: an unquoted mode with a leading zero gets a warning", "[appspec]") {
  // YAML 1.1 reads 0644 as octal (420); the agent then takes 420's digits as the mode.
  auto r =
      parse_appspec("version: 0.0\nos: linux\npermissions:\n  - object: /srv\n    mode: 0644\n");
  CHECK(all(r) ==
        Lines{"a.yml:5:11: warning: unquoted 'mode' 0644 starts with 0: cdeploy uses 0644, but "
              "YAML 1.1 reads it as the number 420 and the CodeDeploy agent sets mode 0420; quote "
              "it: mode: '0644'"});
  REQUIRE(r.spec);
  CHECK(r.spec->permissions[0].mode == 0644u);
  // 0755 is 493, whose 9 the agent refuses.
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 0755\n") ==
        Lines{"a.yml:5:11: warning: unquoted 'mode' 0755 starts with 0: cdeploy uses 0755, but "
              "YAML 1.1 reads it as the number 493 and the CodeDeploy agent rejects it; quote it: "
              "mode: '0755'"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: '0644'\n").empty());
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    mode: 0\n").empty());
}

TEST_CASE("appspec: ACL entries are read as the agent reads them", "[appspec]") {
  struct Case {
    std::string text;
    bool is_default;
    std::string type, name, permissions;
  };
  const Case cases[] = {
      {"u:bob:rwx", false, "user", "bob", "rwx"},
      {"user:bob:r-x", false, "user", "bob", "r-x"},
      {"g:dev:rw", false, "group", "dev", "rw-"},
      {"group:dev:7", false, "group", "dev", "rwx"},
      {"bob:6", false, "user", "bob", "rw-"},
      {"m:6", false, "mask", "", "rw-"},
      {"mask::r", false, "mask", "", "r--"},
      {"d:bob:0", true, "user", "bob", "---"},
      {"d::3", true, "user", "", "-wx"},
      {"d:g::4", true, "group", "", "r--"},
      {"d:o:3", true, "other", "", "-wx"},
      {"d:m:7", true, "mask", "", "rwx"},
      {"default:g:dev:rw", true, "group", "dev", "rw-"},
      {"d:u:bob:xr", true, "user", "bob", "r-x"},
      // A second type word names a user or group called that.
      {"g:mask:r", false, "group", "mask", "r--"},
  };
  for (auto& c : cases) {
    INFO(c.text);
    Permission p = permission_with("    acls:\n      - '" + c.text + "'\n");
    REQUIRE(p.acls.size() == 1);
    CHECK(p.acls[0].is_default == c.is_default);
    CHECK(p.acls[0].type == c.type);
    CHECK(p.acls[0].name == c.name);
    CHECK(p.acls[0].permissions == c.permissions);
    CHECK(p.acls[0].text == c.text);
  }
}

TEST_CASE("appspec: invalid ACL entries say what is wrong", "[appspec]") {
  auto acl_error = [](const std::string& text) {
    auto lines =
        diagnostics_of("permissions:\n  - object: /srv\n    acls:\n      - '" + text + "'\n");
    INFO(text);
    REQUIRE(lines.size() == 1);
    return lines[0];
  };
  const std::string form = "[d[efault]:]{u[ser]|g[roup]|m[ask]|o[ther]}:[name]:perms";
  CHECK(acl_error("d:u:bob:7:rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'd:u:bob:7:rwx': too many parts (5); expected " +
            form);
  CHECK(acl_error("rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'rwx': too few parts (1); expected " + form);
  CHECK(acl_error("x:u:bob:rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'x:u:bob:rwx': 'x' must be d or default; expected " +
            form);
  CHECK(acl_error("d:d:bob:rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'd:d:bob:rwx': 'default' is given twice");
  CHECK(acl_error("d:invalid:bob:rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'd:invalid:bob:rwx': 'invalid' is not an entry type; "
        "expected u[ser], g[roup], m[ask] or o[ther]");
  CHECK(acl_error("user:bob:rwxd") ==
        "a.yml:6:9: error: invalid ACL entry 'user:bob:rwxd': 'd' is not a permission; use r, w, x "
        "and - (or one octal digit)");
  CHECK(acl_error("u:bob:8") ==
        "a.yml:6:9: error: invalid ACL entry 'u:bob:8': '8' is not a permission; use r, w, x and - "
        "(or one octal digit)");
  CHECK(acl_error("m:bob:rw") ==
        "a.yml:6:9: error: invalid ACL entry 'm:bob:rw': mask entries take no name");
  CHECK(acl_error("o:bob:r") ==
        "a.yml:6:9: error: invalid ACL entry 'o:bob:r': other entries take no name");
  CHECK(acl_error("u::rwx") ==
        "a.yml:6:9: error: invalid ACL entry 'u::rwx': the owner's, owning group's and others' "
        "entries are set with 'mode', not 'acls'");
  CHECK(acl_error("o:r") ==
        "a.yml:6:9: error: invalid ACL entry 'o:r': the owner's, owning group's and others' "
        "entries are set with 'mode', not 'acls'");
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    acls: u:bob:rwx\n") ==
        Lines{"a.yml:5:11: error: 'acls' must be a list; got 'u:bob:rwx'"});
}

TEST_CASE("appspec: default ACL entries on a files-only permission get a warning", "[appspec]") {
  // The agent accepts the appspec and fails at install time on the first file; a permission on
  // files and directories may carry them for its directories, so that one passes silently.
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    acls: ['d:u:bob:rwx']\n").empty());
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    type: [file]\n    acls: "
                       "['d:u:bob:rwx', 'u:ann:r']\n") ==
        Lines{"a.yml:6:12: warning: default ACL entry 'd:u:bob:rwx' applies only to directories, "
              "but permissions[0] applies to files only (type: file)"});
}

TEST_CASE("appspec: SELinux context", "[appspec]") {
  Permission p = permission_with("    context:\n      type: httpd_sys_content_t\n");
  REQUIRE(p.context);
  CHECK(p.context->type == "httpd_sys_content_t");
  CHECK_FALSE(p.context->name);
  CHECK_FALSE(p.context->range);

  // `user` and `role` as the AWS template writes them; range as {low, high}.
  p = permission_with(
      "    context:\n      user: system_u\n      role: object_r\n      type: t\n      range:\n  "
      "      low: s0\n        high: s2:c0.c5\n");
  REQUIRE(p.context);
  CHECK(p.context->name == "system_u");
  CHECK(p.context->role == "object_r");
  CHECK(p.context->range == "s0-s2:c0.c5");
  p = permission_with("    context:\n      type: t\n      range: {low: s1}\n");
  CHECK(p.context->range == "s1");
  p = permission_with("    context:\n      type: t\n      range: 's0-s15:c0.c1023'\n");
  CHECK(p.context->range == "s0-s15:c0.c1023");

  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    context:\n      name: u\n") ==
        Lines{"a.yml:5:5: error: missing required key 'type' in permissions[0].context"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    context:\n      name: u\n      user: "
                       "v\n      type: t\n") ==
        Lines{"a.yml:7:7: error: 'name' and 'user' both give the SELinux user in "
              "permissions[0].context; keep one"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    context:\n      type: t\n      level: "
                       "s0\n") ==
        Lines{"a.yml:7:7: error: unknown key 'level' in permissions[0].context; expected name, "
              "user, role, type or range"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    context: httpd_t\n") ==
        Lines{"a.yml:5:14: error: 'context' must be a mapping with 'type' (and 'name', 'range'); "
              "got 'httpd_t'"});
  CHECK(diagnostics_of("permissions:\n  - object: /srv\n    context:\n      type: t\n      range: "
                       "{high: s2}\n") ==
        Lines{"a.yml:7:7: error: missing required key 'low' in permissions[0].context.range"});
}

TEST_CASE("appspec: SELinux ranges are checked as the agent checks them", "[appspec]") {
  auto range_error = [](const std::string& range) {
    auto lines = diagnostics_of(
        "permissions:\n  - object: /srv\n    context:\n      type: t\n      "
        "range: '" +
        range + "'\n");
    INFO(range);
    REQUIRE(lines.size() == 1);
    return lines[0];
  };
  const std::string prefix = "a.yml:7:14: error: invalid SELinux range ";
  const std::string form = "s<n>[-s<n>][:c<n>[.c<n>][,...]]";
  CHECK(range_error("s3-s2:c0") ==
        prefix + "'s3-s2:c0': the high sensitivity s2 is below the low sensitivity s3");
  CHECK(range_error(":c0") == prefix + "':c0': the sensitivity is missing; expected " + form);
  CHECK(range_error("s0:") ==
        prefix + "'s0:': the categories after ':' are missing; expected " + form);
  CHECK(range_error("-s1") ==
        prefix + "'-s1': the low sensitivity before '-' is missing; expected " + form);
  CHECK(range_error("s0-") ==
        prefix + "'s0-': the high sensitivity after '-' is missing; expected " + form);
  CHECK(range_error("s0-s-1") == prefix + "'s0-s-1': 's-1' is not a sensitivity (s0 to s15)");
  CHECK(range_error("s16") == prefix + "'s16': 's16' is not a sensitivity (s0 to s15)");
  CHECK(range_error("x0") == prefix + "'x0': 'x0' is not a sensitivity (s0 to s15)");
  CHECK(range_error("s0:c") == prefix + "'s0:c': 'c' is not a category (c0 to c1023)");
  CHECK(range_error("s0:c1024") == prefix + "'s0:c1024': 'c1024' is not a category (c0 to c1023)");
  CHECK(range_error("s0:cd3") == prefix + "'s0:cd3': 'cd3' is not a category (c0 to c1023)");
  CHECK(range_error("s0:c1.c2.c3") ==
        prefix + "'s0:c1.c2.c3': 'c2.c3' is not a category (c0 to c1023)");
  CHECK(range_error("s0:c0,,c1") ==
        prefix + "'s0:c0,,c1': a category between commas is missing; expected " + form);
  CHECK(range_error("s0:c5.c2") ==
        prefix + "'s0:c5.c2': the category range c5.c2 goes from high to low");
  CHECK(range_error("s0:c0.c2,c1") == prefix + "'s0:c0.c2,c1': category c1 is listed twice");
  CHECK(range_error("s0:c3,c3") == prefix + "'s0:c3,c3': category c3 is listed twice");

  // What the agent accepts.
  for (std::string ok : {"s0", "s0-s0", "s3-s5:c0.c7,c13", "s0:c0", "s15:c1023", "s0:c0.c1023"}) {
    INFO(ok);
    CHECK(permission_with("    context:\n      type: t\n      range: '" + ok + "'\n")
              .context->range == ok);
  }
}

// ---- hooks ----

TEST_CASE("appspec: hook names are lifecycle events", "[appspec]") {
  CHECK(diagnostics_of("hooks:\n  AfterInstal:\n    - location: a.sh\n") ==
        Lines{"a.yml:4:3: error: 'AfterInstal' is not a lifecycle event; did you mean "
              "'AfterInstall'?"});
  CHECK(diagnostics_of("hooks:\n  afterinstall:\n    - location: a.sh\n") ==
        Lines{"a.yml:4:3: error: 'afterinstall' is not a lifecycle event; did you mean "
              "'AfterInstall'?"});
  // A name like no event is a custom event: only codedeploy-local runs those, the agent
  // ignores them, so it is a warning and its scripts are left out of the model.
  auto r = parse_appspec("version: 0.0\nos: linux\nhooks:\n  Migrate:\n    - location: m.sh\n");
  CHECK(all(r) ==
        Lines{"a.yml:4:3: warning: 'Migrate' is not a lifecycle event, so its scripts never run; "
              "the events that run scripts are ApplicationStop, BeforeInstall, AfterInstall, "
              "ApplicationStart, ValidateService, BeforeBlockTraffic, AfterBlockTraffic, "
              "BeforeAllowTraffic and AfterAllowTraffic"});
  REQUIRE(r.spec);
  CHECK(r.spec->hooks.empty());
  // Its scripts are still checked.
  CHECK(diagnostics_of("hooks:\n  Migrate:\n    - timeout: 5\n").size() == 2);
}

TEST_CASE("appspec: DownloadBundle and Install take no scripts", "[appspec]") {
  CHECK(diagnostics_of("hooks:\n  Install:\n    - location: a.sh\n  DownloadBundle:\n") ==
        Lines{"a.yml:4:3: error: Install is run by cdeploy itself; it takes no scripts",
              "a.yml:6:3: error: DownloadBundle is run by cdeploy itself; it takes no scripts"});
}

TEST_CASE("appspec: every scriptable event keeps its scripts, in lifecycle order", "[appspec]") {
  std::string text = "version: 0.0\nos: linux\nhooks:\n";
  // Written in reverse.
  const LifecycleEvent events[] = {
      LifecycleEvent::after_allow_traffic, LifecycleEvent::before_allow_traffic,
      LifecycleEvent::after_block_traffic, LifecycleEvent::before_block_traffic,
      LifecycleEvent::validate_service,    LifecycleEvent::application_start,
      LifecycleEvent::after_install,       LifecycleEvent::before_install,
      LifecycleEvent::application_stop};
  for (auto e : events)
    text += fmt::format("  {}:\n    - location: {}.sh\n", lifecycle_event_name(e),
                        lifecycle_event_name(e));
  auto spec = model_of(text);
  REQUIRE(spec.hooks.size() == 9);
  for (size_t i = 1; i < spec.hooks.size(); ++i)
    CHECK(static_cast<int>(spec.hooks[i - 1].event) < static_cast<int>(spec.hooks[i].event));
  for (auto e : events) {
    INFO(lifecycle_event_name(e));
    REQUIRE(spec.hook(e));
    CHECK(spec.hook(e)->scripts[0].location == fmt::format("{}.sh", lifecycle_event_name(e)));
  }
}

TEST_CASE("appspec: an empty event is ignored, as the agent does", "[appspec]") {
  auto r = parse_appspec(
      "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n  AfterInstall:\n    - location: a.sh\n");
  CHECK(all(r).empty());
  REQUIRE(r.spec);
  REQUIRE(r.spec->hooks.size() == 1);
  CHECK(r.spec->hooks[0].event == LifecycleEvent::after_install);
  CHECK(r.spec->hook(LifecycleEvent::before_install) == nullptr);
  CHECK(diagnostics_of("hooks:\n").empty());
}

TEST_CASE("appspec: hook scripts need a location", "[appspec]") {
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - timeout: 30\n") ==
        Lines{"a.yml:5:7: error: missing required key 'location' in hooks.BeforeInstall[0]"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - location: ''\n") ==
        Lines{"a.yml:5:17: error: 'location' in hooks.BeforeInstall[0] must not be empty"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - location: a.sh\n      runs: root\n") ==
        Lines{"a.yml:6:7: error: unknown key 'runs' in hooks.BeforeInstall[0]; did you mean "
              "'runas'?"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall: scripts/a.sh\n") ==
        Lines{"a.yml:4:18: error: 'BeforeInstall' in hooks must be a list of scripts; got "
              "'scripts/a.sh' (write '- location: scripts/a.sh')"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    location: a.sh\n") ==
        Lines{"a.yml:5:5: error: 'BeforeInstall' in hooks must be a list of scripts; got a mapping "
              "(start each script with '- location:')"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - scripts/a.sh\n") ==
        Lines{"a.yml:5:7: error: each script in hooks.BeforeInstall must be a mapping with "
              "'location'; got 'scripts/a.sh' (write '- location: scripts/a.sh')"});
  CHECK(diagnostics_of("hooks:\n  - BeforeInstall:\n") ==
        Lines{"a.yml:4:3: error: 'hooks' must be a mapping of lifecycle events to lists of "
              "scripts; got a list"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - location: a.sh\n  BeforeInstall:\n") ==
        Lines{"a.yml:6:3: error: duplicate key 'BeforeInstall' in hooks (first at 4:3)"});
  // The agent strips location and runas.
  auto spec = model_of(
      "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: ' a.sh "
      "'\n      runas: ' app '\n");
  CHECK(spec.hooks[0].scripts[0].location == "a.sh");
  CHECK(spec.hooks[0].scripts[0].runas == "app");
}

TEST_CASE("appspec: timeouts are whole seconds from 1 to 3600", "[appspec]") {
  auto timeout_error = [](const std::string& value) {
    auto lines = diagnostics_of(
        "hooks:\n  BeforeInstall:\n    - location: a.sh\n      timeout: " + value + "\n");
    INFO(value);
    REQUIRE(lines.size() == 1);
    return lines[0];
  };
  CHECK(timeout_error("foo") ==
        "a.yml:6:16: error: 'timeout' in hooks.BeforeInstall[0] must be a whole number of seconds "
        "from 1 to 3600; got 'foo'");
  CHECK(timeout_error("0") ==
        "a.yml:6:16: error: 'timeout' in hooks.BeforeInstall[0] must be a whole number of seconds "
        "from 1 to 3600; got '0'");
  CHECK(timeout_error("-5") ==
        "a.yml:6:16: error: 'timeout' in hooks.BeforeInstall[0] must be a whole number of seconds "
        "from 1 to 3600; got '-5'");
  CHECK(timeout_error("1.5") ==
        "a.yml:6:16: error: 'timeout' in hooks.BeforeInstall[0] must be a whole number of seconds "
        "from 1 to 3600; got '1.5'");
  CHECK(timeout_error("3601") ==
        "a.yml:6:16: error: 'timeout' in hooks.BeforeInstall[0] must be at most 3600 seconds "
        "(CodeDeploy's limit for a lifecycle event); got 3601");
  CHECK(timeout_error("") ==
        "a.yml:6:7: warning: 'timeout' in hooks.BeforeInstall[0] is empty; the default, 3600 "
        "seconds, applies");

  auto spec = model_of(
      "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n"
      "      timeout: '3600'\n");
  CHECK(spec.hooks[0].scripts[0].timeout_seconds == 3600);
}

TEST_CASE("appspec: the timeouts of one event add up to at most 3600", "[appspec]") {
  CHECK(diagnostics_of("hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 2000\n    - "
                       "location: b.sh\n      timeout: 1601\n") ==
        Lines{"a.yml:4:3: error: the timeouts of the scripts in 'AfterInstall' add up to 3601 "
              "seconds; a lifecycle event may take at most 3600"});
  // Scripts without a timeout are not counted (the AWS samples mix both).
  CHECK(diagnostics_of("hooks:\n  AfterInstall:\n    - location: a.sh\n    - location: b.sh\n      "
                       "timeout: 30\n")
            .empty());
  CHECK(diagnostics_of("hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 1800\n    - "
                       "location: b.sh\n      timeout: 1800\n")
            .empty());
}

TEST_CASE("appspec: runas and sudo", "[appspec]") {
  CHECK(all(parse_appspec("version: 0.0\nos: windows\nhooks:\n  BeforeInstall:\n    - location: "
                          "a.ps1\n      runas: admin\n")) ==
        Lines{"a.yml:6:14: warning: 'runas' is not supported on windows instances; it is ignored "
              "there"});
  CHECK(diagnostics_of("hooks:\n  BeforeInstall:\n    - location: a.sh\n      sudo: maybe\n") ==
        Lines{"a.yml:6:13: error: 'sudo' must be true or false (or yes/no, on/off); got 'maybe'"});
  auto spec = model_of(
      "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n"
      "      runas:\n      sudo: no\n");
  CHECK_FALSE(spec.hooks[0].scripts[0].runas);
  CHECK_FALSE(spec.hooks[0].scripts[0].sudo);
}

// ---- Lambda and ECS ----

TEST_CASE("appspec: Lambda and ECS appspecs get one clear error", "[appspec]") {
  auto r = parse_appspec(R"(version: 0.0
Resources:
  - myLambdaFunction:
      Type: AWS::Lambda::Function
      Properties:
        Name: "f"
Hooks:
  - BeforeAllowTraffic: "CheckBefore"
)");
  CHECK(r.kind == AppspecKind::lambda);
  CHECK_FALSE(r.spec);
  CHECK(all(r) == Lines{"a.yml:2:1: error: not supported: this tool deploys EC2/On-Premises "
                        "revisions (this is a Lambda appspec)"});

  r = parse_appspec(R"(version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn"
)");
  CHECK(r.kind == AppspecKind::ecs);
  CHECK(all(r) == Lines{"a.yml:2:1: error: not supported: this tool deploys EC2/On-Premises "
                        "revisions (this is an ECS appspec)"});

  // Function-style hooks without Resources.
  r = parse_appspec("version: 0.0\nHooks:\n  - BeforeAllowTraffic: CheckBefore\n");
  CHECK(r.kind == AppspecKind::lambda);
  CHECK(all(r) == Lines{"a.yml:2:1: error: not supported: this tool deploys EC2/On-Premises "
                        "revisions (this is a Lambda appspec)"});
  r = parse_appspec("version: 0.0\nhooks:\n  AfterAllowTestTraffic: CheckTest\n");
  CHECK(r.kind == AppspecKind::ecs);

  // A server appspec with a mistaken hook stays a server appspec.
  r = parse_appspec("version: 0.0\nos: linux\nhooks:\n  BeforeAllowTraffic: check.sh\n");
  CHECK(r.kind == AppspecKind::server);
  CHECK(r.diagnostics.error_count() == 1);
}

// ---- all at once ----

TEST_CASE("appspec: every error is reported at once, top to bottom", "[appspec]") {
  auto r = parse_appspec(R"(version: 1.0
files:
  - source: /
permissions:
  - object: /srv
    mode: 999
hooks:
  BeforeInstal:
    - location: a.sh
      timeout: 7200
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "a.yml:1:1: error: missing required key 'os'; expected 'os: linux' or 'os: windows'",
            "a.yml:1:10: error: 'version' must be 0.0; got '1.0'",
            "a.yml:3:5: error: missing required key 'destination' in files[0]",
            "a.yml:6:11: error: 'mode' in permissions[0] must be 1 to 4 octal digits; got '999' "
            "('9' is not an octal digit)",
            "a.yml:8:3: error: 'BeforeInstal' is not a lifecycle event; did you mean "
            "'BeforeInstall'?",
            "a.yml:10:16: error: 'timeout' in hooks.BeforeInstal[0] must be at most 3600 seconds "
            "(CodeDeploy's limit for a lifecycle event); got 7200",
        });
}

TEST_CASE("appspec: merge keys and anchors are followed", "[appspec]") {
  auto spec = model_of(R"(version: 0.0
os: linux
hooks:
  BeforeInstall:
    - &script
      location: a.sh
      timeout: 60
  AfterInstall:
    - <<: *script
      location: b.sh
)");
  REQUIRE(spec.hooks.size() == 2);
  CHECK(spec.hooks[1].scripts[0].location == "b.sh");
  CHECK(spec.hooks[1].scripts[0].timeout_seconds == 60);
}

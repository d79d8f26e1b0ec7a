// Acceptance over real-world appspecs and the CodeDeploy agent's own test inputs: the shared
// corpus (test::corpus_dir(), origins in its SOURCES.tsv), read where it is.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "formats/appspec.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

AppspecParse parse_corpus_file(const std::string& name) {
  return parse_appspec(unwrap(read_file(test::corpus_file("appspec", name).path())));
}

std::string describe(const AppspecParse& r) {
  std::string out;
  for (auto& d : r.diagnostics.items()) out += format_diagnostic("appspec.yml", d) + "\n";
  return out;
}

// The agent fixture number in a name like "..._test_04_with_invalid_version.yml".
std::string agent_case(const std::string& file) {
  auto at = file.find("application_specification_test_");
  if (at == std::string::npos) return {};
  return file.substr(at + std::string_view("application_specification_test_").size(), 2);
}

// Each case the agent rejects: a phrase of the agent's error (from the note column, which cuts
// long messages short, to be sure the row is the one meant) and what our message says instead,
// as clearly. Where the note is cut, the comment gives the rest of the agent's message.
struct AgentExpectation {
  std::string agent_says;
  std::string we_say;
};
const std::map<std::string, AgentExpectation> k_agent_invalid = {
    {"01", {"the application specification file was empty", "empty appspec"}},
    {"04", {"invalid version value (invalid)", "'version' must be 0.0; got 'invalid'"}},
    {"05",
     {"invalid file_exists_behavior value (invalid)",
      "'file_exists_behavior' must be DISALLOW, OVERWRITE or RETAIN; got 'invalid'"}},
    // "... specifies an unsupported operating system ()": the key is missing.
    {"06", {"specifies an unsupport", "missing required key 'os'"}},
    // "... specifies an unsupported operating system (unsupported)"
    {"07", {"specifies an unsupport", "'os' must be linux or windows; got 'unsupported'"}},
    {"16",
     {"invalid timeout value",
      "'timeout' in hooks.test_hook[0] must be a whole number of seconds from 1 to 3600; got "
      "'foo'"}},
    // "... specifies only a source file (test_source). Add the name of the destination file"
    {"19", {"specifies only a sourc", "missing required key 'destination' in files[0]"}},
    // "... specifies a destination file, but no source file"
    {"20", {"specifies a destinatio", "missing required key 'source' in files[0]"}},
    // "... a permission listed in the application specification file has no object value"
    {"21",
     {"a permission listed in the application specification file",
      "missing required key 'object' in permissions[0]"}},
    {"32", {"problem with the acls", "invalid ACL entry 'd:u:bob:7:rwx': too many parts (5)"}},
    {"33",
     {"problem with the acls", "invalid ACL entry 'invalid:u:bob:7:rwx': too many parts (5)"}},
    {"34",
     {"problem with the acls", "invalid ACL entry 'd:invalid:bob:7:rwx': too many parts (5)"}},
    {"35", {"problem with the acls", "invalid ACL entry 'd:d:bob:7:rwx': too many parts (5)"}},
    {"38", {"user:bob:rwxd", "invalid ACL entry 'user:bob:rwxd': 'd' is not a permission"}},
    {"42",
     {"SELinux range specified (s3-s2:c0)",
      "invalid SELinux range 's3-s2:c0': the high sensitivity s2 is below the low sensitivity s3"}},
    {"45", {"invalid range part :c0", "invalid SELinux range ':c0': the sensitivity is missing"}},
    {"47",
     {"invalid sensitivity s-1", "invalid SELinux range 's0-s-1': 's-1' is not a sensitivity"}},
    {"54", {"invalid category c", "invalid SELinux range 's0:c': 'c' is not a category"}},
    {"56",
     {"invalid category c1024", "invalid SELinux range 's0:c1024': 'c1024' is not a category"}},
    // "... specifies an invalid context type ({"name"=>"name"})"
    {"57", {"specifies an invalid c", "missing required key 'type' in permissions[0].context"}},
    {"58", {"invalid category cd3", "invalid SELinux range 's0:cd3': 'cd3' is not a category"}},
    {"60",
     {"duplicate categories", "invalid SELinux range 's0:c0.c2,c1': category c1 is listed twice"}},
    {"61",
     {"length of a permissions mode (12345)",
      "'mode' in permissions[0] must be 1 to 4 octal digits; got '12345' (5 digits)"}},
    {"63",
     {"permissions mode (12a)",
      "'mode' in permissions[0] must be 1 to 4 octal digits; got '12a' ('a' is not an octal "
      "digit)"}},
};

}  // namespace

TEST_CASE("corpus: every appspec gets the expected verdict", "[appspec][corpus]") {
  std::map<std::string, int> checked;
  for (auto& row : test::corpus_files("appspec")) {
    auto r = parse_appspec(unwrap(read_file(row.path())));
    INFO(row.file << " (expect " << row.expect << ")\n" << describe(r));
    if (row.expect == "valid") {
      CHECK_FALSE(r.diagnostics.has_errors());
      CHECK(r.spec.has_value());
      CHECK(r.kind == AppspecKind::server);
    } else if (row.expect == "invalid") {
      CHECK_FALSE(r.spec.has_value());
      bool positioned = false;
      for (auto& d : r.diagnostics.items())
        positioned = positioned || (d.severity == Severity::error && d.position.line > 0);
      CHECK(positioned);
    } else {
      REQUIRE(row.expect == "any");
      // No verdict, but always an answer: a model, or a positioned reason why not.
      CHECK(r.spec.has_value() != r.diagnostics.has_errors());
      for (auto& d : r.diagnostics.items()) CHECK(d.position.line > 0);
    }
    ++checked[row.expect];
  }
  // The whole corpus was read, not a truncated list.
  CHECK(checked["valid"] == 35);
  CHECK(checked["invalid"] == 24);
  CHECK(checked["any"] == 10);
}

TEST_CASE("corpus: for each case the agent rejects, we say the same thing", "[appspec][corpus]") {
  std::set<std::string> seen;
  for (auto& row : test::corpus_files("appspec")) {
    if (row.expect != "invalid") continue;
    std::string number = agent_case(row.file);
    INFO(row.file);
    auto expectation = k_agent_invalid.find(number);
    REQUIRE(expectation != k_agent_invalid.end());
    seen.insert(number);
    // The table is about this row: the agent's message in the note says that.
    CHECK(row.note.find(expectation->second.agent_says) != std::string::npos);

    auto r = parse_appspec(unwrap(read_file(row.path())));
    INFO(describe(r));
    bool found = false;
    for (auto& d : r.diagnostics.items()) {
      if (d.severity == Severity::error && d.position.line > 0 &&
          d.message.find(expectation->second.we_say) != std::string::npos)
        found = true;
    }
    CHECK(found);
  }
  // Every entry of the table was used: none is stale.
  CHECK(seen.size() == k_agent_invalid.size());
}

TEST_CASE("corpus: Lambda and ECS appspecs are named as such", "[appspec][corpus]") {
  const std::pair<std::string, AppspecKind> cases[] = {
      {"mvpjava__aws-codedeploy-lambda__appspec.yml", AppspecKind::lambda},
      {"chrispsheehan__aws-serverless-github-deploy__config_deploy_appspec-lambda.yml",
       AppspecKind::lambda},
      {"dexmo007__dexpenses-classify-go__AppSpec.yml", AppspecKind::lambda},
      {"cogini__phoenix_container_example__ecs_appspec.yml", AppspecKind::ecs},
      {"chrispsheehan__aws-serverless-github-deploy__config_deploy_appspec-ecs.yml",
       AppspecKind::ecs},
      {"aws-samples__aws-codedeploy-appspec-assistant__assistant_test_models_ecsYamlString.yml",
       AppspecKind::ecs},
  };
  for (auto& [file, kind] : cases) {
    auto r = parse_corpus_file(file);
    INFO(file << "\n" << describe(r));
    CHECK(r.kind == kind);
    REQUIRE(r.diagnostics.items().size() == 1);
    CHECK(r.diagnostics.items()[0].message ==
          fmt::format("not supported: this tool deploys EC2/On-Premises revisions (this is {} "
                      "appspec)",
                      kind == AppspecKind::ecs ? "an ECS" : "a Lambda"));
  }
}

TEST_CASE("corpus: real-world gotchas are pointed out", "[appspec][corpus]") {
  // An unquoted 0644: the agent would apply 0420.
  auto r = parse_corpus_file("bimlendu__caddy-hugo__codedeploy_appspec.yml");
  REQUIRE(r.spec);
  CHECK(r.spec->permissions[0].mode == 0644u);
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK(format_diagnostic("appspec.yml", r.diagnostics.items()[0]) ==
        "appspec.yml:12:11: warning: unquoted 'mode' 0644 starts with 0: cdeploy uses 0644, but "
        "YAML 1.1 reads it as the number 420 and the CodeDeploy agent sets mode 0420; quote it: "
        "mode: '0644'");

  // `overwrite: true` in a files entry does nothing in CodeDeploy.
  r = parse_corpus_file("0pointr__aws-bootstrap__appspec.yml");
  REQUIRE(r.spec);
  CHECK_FALSE(r.spec->file_exists_behavior);
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK(format_diagnostic("appspec.yml", r.diagnostics.items()[0]) ==
        "appspec.yml:6:5: warning: unknown key 'overwrite' in files[0]; CodeDeploy ignores it: to "
        "replace files already on the instance, set 'file_exists_behavior: OVERWRITE' at the top "
        "level");

  // The SELinux context as the Go agent's bundle writes it.
  r = parse_corpus_file(
      "gurre__codedeploy-agent-go__integration_bundles_permissions-selinux_appspec.yml");
  REQUIRE(r.spec);
  REQUIRE(r.spec->permissions.size() == 1);
  const Permission& p = r.spec->permissions[0];
  CHECK(p.mode == 0755u);
  REQUIRE(p.context);
  CHECK(p.context->name == "system_u");
  CHECK(p.context->role == "object_r");
  CHECK(p.context->type == "httpd_sys_content_t");
  CHECK(p.context->range == "s0");

  // The agent's test 66: every base/default form it accepts.
  r = parse_corpus_file(
      "aws__aws-codedeploy-agent__application_specification_test_66_when_acl_is_present_with_"
      "existing_aces.yml");
  REQUIRE(r.spec);
  std::vector<std::string> acls;
  for (auto& ace : r.spec->permissions[0].acls)
    acls.push_back(fmt::format("{}{}:{}:{}", ace.is_default ? "default:" : "", ace.type, ace.name,
                               ace.permissions));
  CHECK(acls == std::vector<std::string>{"user:bob:rw-", "mask::rw-", "default:user:bob:---",
                                         "default:user::-wx", "default:group::r--",
                                         "default:other::-wx", "default:mask::rwx"});

  // The agent's test 62: two digits are padded.
  r = parse_corpus_file(
      "aws__aws-codedeploy-agent__application_specification_test_62_with_permission_with_mode_"
      "with_2_digits.yml");
  REQUIRE(r.spec);
  CHECK(r.spec->permissions[0].mode == 0012u);

  // Hooks in the agent's sample bundle come out in lifecycle order.
  r = parse_corpus_file(
      "aws__aws-codedeploy-agent__features_resources_sample_app_bundle_linux_appspec.yml");
  REQUIRE(r.spec);
  REQUIRE(r.spec->hooks.size() == 9);
  CHECK(r.spec->hooks[0].event == LifecycleEvent::application_stop);
  CHECK(r.spec->hooks[0].scripts[0].location == "scripts/application_stop.sh");
  CHECK(r.spec->hooks[8].event == LifecycleEvent::after_allow_traffic);
}

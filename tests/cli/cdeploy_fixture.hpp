// Drives the real cdeploy binary: a home, instances rooted in a scratch directory, revisions.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "util/json.hpp"

namespace cicd::test {

// The appspec most deployment tests use: site/ to /srv/web, config/app.conf to /etc/web, and a
// hook for ApplicationStop, BeforeInstall, ApplicationStart and ValidateService.
inline constexpr const char* k_appspec = R"YML(version: 0.0
os: linux
files:
  - source: site
    destination: /srv/web
  - source: config/app.conf
    destination: /etc/web
hooks:
  ApplicationStop:
    - location: hooks/stop.sh
  BeforeInstall:
    - location: hooks/env.sh
  ApplicationStart:
    - location: hooks/start.sh
      timeout: 60
  ValidateService:
    - location: hooks/validate.sh
)YML";

// The hooks leave evidence under the instance's root (seven levels above a hook's directory).
inline constexpr const char* k_root_of_hook = "$(dirname \"$0\")/../../../../../../..";

// A revision for k_appspec whose hooks leave evidence under the instance's root: stop.sh appends
// to hooks.log, env.sh writes env.<EVENT> and pwd.<EVENT>; `validate` ends validate.sh.
inline std::vector<std::pair<std::string, std::string>> site(const std::string& version, const std::string& validate = "exit 0") {
  return {
      {"site/index.html", "<h1>" + version + "</h1>"},
      {"site/css/style.css", "body{}"},
      {"config/app.conf", "version=" + version},
      {"hooks/stop.sh", "#!/bin/sh\necho \"stop " + version + "\" >> \"" + k_root_of_hook + "/hooks.log\"\n"},
      {"hooks/env.sh",
       "#!/bin/sh\nenv > \"" + std::string(k_root_of_hook) + "/env.$LIFECYCLE_EVENT\"\npwd > \"" + k_root_of_hook +
           "/pwd.$LIFECYCLE_EVENT\"\n"
           "echo \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID\"\n"},
      {"hooks/start.sh", "#!/bin/sh\necho \"start " + version + "\"\necho \"to stderr\" >&2\n"},
      {"hooks/validate.sh", "#!/bin/sh\necho \"validating " + version + "\"\n" + validate + "\n"},
  };
}

// The deployment id in create-deployment's output.
inline std::string deployment_id_of(const RunOutput& r) {
  auto pos = r.out.find("d-");
  REQUIRE(pos != std::string::npos);
  return r.out.substr(pos, 11);
}

struct CdeployFixture {
  Scratch scratch;
  std::filesystem::path home = scratch / "home";

  Environment extra_env;  // more variables for cdeploy (CDEPLOY_SSH for the ssh tests)

  Environment env() const {
    Environment e = {{"CICD_HOME", home.string()}, {"NO_COLOR", "1"}};
    for (auto& [k, v] : extra_env) e[k] = v;
    return e;
  }

  RunOutput cdeploy(std::vector<std::string> args) const {
    args.insert(args.begin(), CICD_CDEPLOY);
    return run(args, scratch.path(), env());
  }
  // Runs a command that must succeed.
  RunOutput ok(std::vector<std::string> args) const {
    auto r = cdeploy(args);
    INFO("cdeploy " << args.front() << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    return r;
  }
  Json json(std::vector<std::string> args) const {
    args.push_back("--output");
    args.push_back("json");
    auto r = cdeploy(args);
    INFO(r.err);
    return unwrap(parse_json(r.out, "cdeploy output"));
  }
  std::filesystem::path host(const std::string& name) const { return scratch / ("hosts/" + name); }

  // An application "web", instances web1..webN tagged Env=Prod, group "prod".
  void fleet(int n, const std::string& config = "CodeDeployDefault.AllAtOnce",
             const std::string& rollback = "enabled=false") {
    std::vector<std::string> names;
    for (int i = 1; i <= n; ++i) names.push_back("web" + std::to_string(i));
    group(names, config, rollback);
  }

  // An application "web" and group "prod" of the named instances, each rooted at host(name) and
  // tagged Env=Prod; `target(name)` adds to its registration (e.g. --ssh).
  void group(const std::vector<std::string>& names, const std::string& config, const std::string& rollback,
             const std::function<std::vector<std::string>(const std::string&)>& target = {}) {
    ok({"create-application", "--application-name", "web"});
    for (auto& name : names) {
      std::vector<std::string> args = {"register-on-premises-instance", "--instance-name", name, "--root",
                                       host(name).string()};
      if (target) {
        auto more = target(name);
        args.insert(args.end(), more.begin(), more.end());
      }
      ok(args);
    }
    std::vector<std::string> tag = {"add-tags-to-on-premises-instances", "--instance-names"};
    tag.insert(tag.end(), names.begin(), names.end());
    tag.insert(tag.end(), {"--tags", "Key=Env,Value=Prod"});
    ok(tag);
    ok({"create-deployment-group", "--application-name", "web", "--deployment-group-name", "prod",
        "--on-premises-instance-tag-filters", "Key=Env,Value=Prod,Type=KEY_AND_VALUE", "--deployment-config-name",
        config, "--auto-rollback-configuration", rollback});
  }

  // A revision directory: appspec text plus files (scripts are made executable).
  std::filesystem::path revision(const std::string& name, const std::string& appspec,
                                 const std::vector<std::pair<std::string, std::string>>& files) const {
    auto dir = scratch / ("revisions/" + name);
    scratch.write("revisions/" + name + "/appspec.yml", appspec);
    for (auto& [rel, content] : files)
      scratch.write("revisions/" + name + "/" + rel, content, rel.ends_with(".sh") ? 0755 : 0644);
    return dir;
  }

  RunOutput deploy(const std::filesystem::path& revision, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"create-deployment", "--application-name", "web", "--deployment-group-name",
                                     "prod", "--revision", revision.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cdeploy(args);
  }
  Json deployment(const std::string& id) const { return json({"get-deployment", "--deployment-id", id})["deploymentInfo"]; }
  Json instance(const std::string& id, const std::string& name) const {
    return json({"get-deployment-instance", "--deployment-id", id, "--instance-id", name})["instanceSummary"];
  }
  std::string group_id() const {
    return json({"get-deployment-group", "--application-name", "web", "--deployment-group-name", "prod"})
        ["deploymentGroupInfo"]["deploymentGroupId"];
  }
  // A deployment's directory in an instance's deployment root.
  std::filesystem::path deployment_dir(const std::string& name, const std::string& id) const {
    return host(name) / "opt/cdeploy/deployment-root" / group_id() / id;
  }
  std::string latest_id() const { return json({"list-deployments", "--application-name", "web"})["deployments"][0]; }

  static std::string event_status(const Json& instance, const std::string& event) {
    for (auto& e : instance["lifecycleEvents"])
      if (e["lifecycleEventName"] == event) return e["status"];
    return "";
  }
  static Json event(const Json& instance, const std::string& event) {
    for (auto& e : instance["lifecycleEvents"])
      if (e["lifecycleEventName"] == event) return e;
    return Json::object();
  }
};

}  // namespace cicd::test

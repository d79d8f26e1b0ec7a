// cdeploy's definitions and validate, through the real binary.
#include "cli/cdeploy_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;

TEST_CASE("cdeploy validate: positioned errors, stricter than the agent, exit 2", "[cdeploy][validate]") {
  CdeployFixture f;
  auto file = f.scratch.write("appspec.yml", R"YML(version: 0.0
os: linux
files:
  - source: /
    destination: /srv/app
    overwrite: true
permissions:
  - object: /srv/app
    mode: 0644
hooks:
  AfterInstal:
    - location: scripts/a.sh
      timeout: 4000
)YML");
  auto r = f.cdeploy({"validate", file.string()});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "appspec.yml:6:5: warning:"));
  CHECK(contains(r.err, "file_exists_behavior"));
  CHECK(contains(r.err, "appspec.yml:9:11: warning:"));
  CHECK(contains(r.err, "appspec.yml:11:3: error: 'AfterInstal' is not a lifecycle event; did you mean 'AfterInstall'?"));
  CHECK(contains(r.err, "appspec.yml:13:16: error:"));
  CHECK(contains(r.out, "appspec.yml: invalid\n"));
}

TEST_CASE("cdeploy validate: the corpus and the agent's own fixtures get their expected outcome", "[cdeploy][validate][corpus]") {
  int checked = 0;
  for (auto& row : corpus_files("appspec")) {
    auto r = run({CICD_CDEPLOY, "validate", row.path().string()});
    INFO(row.file << "\n" << r.err);
    if (row.expect == "valid") CHECK(r.exit_code == 0);
    if (row.expect == "invalid") {
      CHECK(r.exit_code == 2);
      CHECK(contains(r.err, row.name() + ":"));
    }
    if (row.expect == "any") CHECK((r.exit_code == 0 || r.exit_code == 2));
    if (contains(row.note, "Lambda/ECS"))
      CHECK(contains(r.err, "not supported: this tool deploys EC2/On-Premises revisions"));
    ++checked;
  }
  CHECK(checked == 69);  // the whole corpus, as the unit test counts it
}

TEST_CASE("cdeploy: applications, configs, instances and groups as the AWS CLI has them", "[cdeploy][resources]") {
  CdeployFixture f;
  f.ok({"create-application", "--application-name", "web"});
  auto again = f.cdeploy({"create-application", "--application-name", "web"});
  CHECK(again.exit_code == 2);
  CHECK(contains(again.err, "application 'web' already exists"));
  CHECK(f.json({"list-applications"})["applications"] == Json::array({"web"}));
  CHECK(f.json({"get-application", "--application-name", "web"})["application"]["applicationName"] == "web");

  auto configs = f.json({"list-deployment-configs"})["deploymentConfigsList"];
  CHECK(std::find(configs.begin(), configs.end(), "CodeDeployDefault.OneAtATime") != configs.end());
  f.ok({"create-deployment-config", "--deployment-config-name", "TwoHealthy", "--minimum-healthy-hosts",
        "type=HOST_COUNT,value=2"});
  auto cfg = f.json({"get-deployment-config", "--deployment-config-name", "TwoHealthy"})["deploymentConfigInfo"];
  CHECK(cfg["minimumHealthyHosts"] == Json{{"type", "HOST_COUNT"}, {"value", 2}});
  auto builtin = f.cdeploy({"delete-deployment-config", "--deployment-config-name", "CodeDeployDefault.AllAtOnce"});
  CHECK(builtin.exit_code == 2);

  f.ok({"register-on-premises-instance", "--instance-name", "web1", "--root", f.host("web1").string()});
  f.ok({"register-on-premises-instance", "--instance-name", "web2", "--ssh", "deploy@10.0.0.5:2222", "--root", "/"});
  f.ok({"register-on-premises-instance", "--instance-name", "db1", "--root", f.host("db1").string()});
  f.ok({"add-tags-to-on-premises-instances", "--instance-names", "web1", "web2", "--tags", "Key=Env,Value=Prod",
        "Key=Role,Value=web"});
  f.ok({"add-tags-to-on-premises-instances", "--instance-names", "db1", "--tags", "Key=Env,Value=Prod"});
  CHECK(f.json({"list-on-premises-instances", "--tag-filters", "Key=Role,Value=web,Type=KEY_AND_VALUE"})["instanceNames"] ==
        Json::array({"web1", "web2"}));
  auto web2 = f.json({"get-on-premises-instance", "--instance-name", "web2"})["instanceInfo"];
  CHECK(web2["target"]["host"] == "10.0.0.5");
  CHECK(web2["target"]["port"] == 2222);
  f.ok({"remove-tags-from-on-premises-instances", "--instance-names", "web2", "--tags", "Key=Role,Value=web"});
  CHECK(f.json({"list-on-premises-instances", "--tag-filters", "Key=Role,Type=KEY_ONLY"})["instanceNames"] ==
        Json::array({"web1"}));

  f.ok({"create-deployment-group", "--application-name", "web", "--deployment-group-name", "prod",
        "--on-premises-tag-set",
        R"({"onPremisesTagSetList": [[{"Key": "Env", "Value": "Prod", "Type": "KEY_AND_VALUE"}], [{"Key": "Role", "Type": "KEY_ONLY"}]]})",
        "--deployment-config-name", "TwoHealthy", "--auto-rollback-configuration",
        "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST"});
  auto group = f.json({"get-deployment-group", "--application-name", "web", "--deployment-group-name", "prod"})["deploymentGroupInfo"];
  CHECK(group["deploymentConfigName"] == "TwoHealthy");
  CHECK(group["autoRollbackConfiguration"]["events"] == Json::array({"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"}));
  CHECK(group["onPremisesTagSet"]["onPremisesTagSetList"].size() == 2);
  f.ok({"update-deployment-group", "--application-name", "web", "--current-deployment-group-name", "prod",
        "--new-deployment-group-name", "production", "--deployment-config-name", "CodeDeployDefault.HalfAtATime"});
  CHECK(f.json({"list-deployment-groups", "--application-name", "web"})["deploymentGroups"] == Json::array({"production"}));
  auto updated = f.json({"get-deployment-group", "--application-name", "web", "--deployment-group-name", "production"});
  CHECK(updated["deploymentGroupInfo"]["autoRollbackConfiguration"]["enabled"] == true);  // untouched fields stay
  auto missing = f.cdeploy({"create-deployment-group", "--application-name", "nope", "--deployment-group-name", "x"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "application 'nope' does not exist"));
  f.ok({"delete-deployment-group", "--application-name", "web", "--deployment-group-name", "production"});
  f.ok({"deregister-on-premises-instance", "--instance-name", "db1"});
  CHECK(f.cdeploy({"get-on-premises-instance", "--instance-name", "db1"}).exit_code == 2);
  f.ok({"delete-application", "--application-name", "web"});
  CHECK(f.json({"list-applications"})["applications"].empty());
}

TEST_CASE("cdeploy: a hand-edited definition with a mistake is reported with its position", "[cdeploy][resources]") {
  CdeployFixture f;
  f.ok({"create-application", "--application-name", "web"});
  auto file = f.home / "deploy/applications/web.yml";
  auto text = unwrap(read_file(file));
  unwrap(write_file_atomic(file, text + "colour: blue\n"));
  auto r = f.cdeploy({"get-application", "--application-name", "web"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, file.string() + ":"));
  CHECK(contains(r.err, "colour"));
}

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "deploy/resources.hpp"
#include "support/test_support.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

using namespace cicd;
using cicd::test::Scratch;

namespace {

Instance tagged(std::vector<Tag> tags) {
  Instance i;
  i.name = "i";
  i.tags = std::move(tags);
  return i;
}

TagFilter filter(std::string key, std::string value, TagFilterType type) {
  return TagFilter{std::move(key), std::move(value), type};
}

DeploymentGroup group(std::string application, std::string name, TagSet set = {}) {
  DeploymentGroup g;
  g.application = std::move(application);
  g.name = std::move(name);
  g.tag_set = std::move(set);
  return g;
}

InstanceTarget ssh(std::string user, std::string host, int port = 22) {
  InstanceTarget t;
  t.kind = TargetKind::ssh;
  t.user = std::move(user);
  t.host = std::move(host);
  t.port = port;
  return t;
}

std::string error_of(const auto& result) { return result ? std::string("(succeeded)") : result.error().message; }

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

// ---- names ----

TEST_CASE("resources: resource names", "[resources]") {
  CHECK(is_valid_resource_name("web"));
  CHECK(is_valid_resource_name("CodeDeployDefault.OneAtATime"));
  CHECK(is_valid_resource_name("a_b-c.d9"));
  CHECK(is_valid_resource_name(std::string(100, 'x')));
  CHECK_FALSE(is_valid_resource_name(std::string(101, 'x')));
  CHECK_FALSE(is_valid_resource_name(""));
  CHECK_FALSE(is_valid_resource_name("."));
  CHECK_FALSE(is_valid_resource_name(".."));
  CHECK_FALSE(is_valid_resource_name("../etc"));
  CHECK_FALSE(is_valid_resource_name("a/b"));
  CHECK_FALSE(is_valid_resource_name("a b"));
  CHECK_FALSE(is_valid_resource_name("é"));
}

// ---- applications ----

TEST_CASE("resources: applications are created, read, listed and deleted", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  CHECK(r.list_applications()->empty());

  auto web = r.create_application("web");
  REQUIRE(web);
  CHECK(web->name == "web");
  CHECK(is_uuid(web->id));
  CHECK(parse_iso8601(web->create_time));
  REQUIRE(r.create_application("api"));

  // One commented YAML file per application, field names as the AWS CLI's JSON.
  std::string text = scratch.read("deploy/applications/web.yml");
  CHECK(text == fmt::format("# cdeploy application 'web'. This file may be edited by hand: cdeploy checks it on every "
                            "read.\n\napplicationName: web\napplicationId: {}\ncreateTime: {}\n",
                            web->id, web->create_time));

  auto got = r.get_application("web");
  REQUIRE(got);
  CHECK(got->id == web->id);
  CHECK(got->create_time == web->create_time);
  CHECK(*r.list_applications() == std::vector<std::string>{"api", "web"});

  auto again = r.create_application("web");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::conflict);
  CHECK(again.error().message == "application 'web' already exists");

  auto missing = r.get_application("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message == "application 'nope' does not exist");

  auto bad = r.create_application("../evil");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::invalid);
  CHECK(bad.error().message ==
        "invalid application name '../evil': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)");
  CHECK(r.get_application("../evil").error().kind == ErrorKind::invalid);
  CHECK(r.create_application("").error().message == "application name is empty");

  REQUIRE(r.delete_application("api"));
  CHECK(*r.list_applications() == std::vector<std::string>{"web"});
  auto gone = r.delete_application("api");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
  CHECK(gone.error().message == "application 'api' does not exist");
}

TEST_CASE("resources: listing ignores files that are not definitions", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  scratch.write("deploy/applications/web.yml.tmp.0123456789abcdef", "half written");
  scratch.write("deploy/applications/notes.txt", "hello");
  scratch.write("deploy/applications/bad name.yml", "applicationName: bad name\n");
  CHECK(*r.list_applications() == std::vector<std::string>{"web"});
}

TEST_CASE("resources: application JSON in the AWS CLI's shape", "[resources]") {
  Application a{"web", "6f1c1a5e-8c3e-4e47-9d55-0c3c2f7e9a10", "2026-01-31T12:00:00.000Z"};
  CHECK(to_json_text(application_to_json(a), JsonStyle::compact) ==
        R"({"applicationId":"6f1c1a5e-8c3e-4e47-9d55-0c3c2f7e9a10","applicationName":"web",)"
        R"("createTime":"2026-01-31T12:00:00.000Z","linkedToGitHub":false,"computePlatform":"Server"})");
}

TEST_CASE("resources: concurrent creation from threads lets exactly one win", "[resources]") {
  Scratch scratch;
  constexpr int k_threads = 8;
  std::atomic<int> won{0}, conflicts{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      Resources r(scratch.path());  // each its own object, as separate invocations would be
      while (!go) std::this_thread::yield();
      auto result = r.create_application("web");
      if (result) ++won;
      else if (result.error().kind == ErrorKind::conflict && result.error().message == "application 'web' already exists")
        ++conflicts;
      else ++other;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(won == 1);
  CHECK(conflicts == k_threads - 1);
  CHECK(other == 0);
  Resources r(scratch.path());
  CHECK(r.get_application("web"));
}

TEST_CASE("resources: concurrent creation from processes lets exactly one win", "[resources]") {
  Scratch scratch;
  constexpr int k_processes = 6;
  // The children wait for this pipe to close so they start together.
  int gate[2];
  REQUIRE(::pipe(gate) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < k_processes; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) > 0) {
      }
      Resources r(scratch.path());
      auto result = r.create_deployment_config({"Quarter", MinimumHealthyType::fleet_percent, 75, false});
      int code = result ? 0
                 : result.error().kind == ErrorKind::conflict &&
                           result.error().message == "deployment config 'Quarter' already exists"
                     ? 1
                     : 2;
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  int won = 0, conflicts = 0, other = 0;
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 3;
    if (code == 0) ++won;
    else if (code == 1) ++conflicts;
    else ++other;
  }
  CHECK(won == 1);
  CHECK(conflicts == k_processes - 1);
  CHECK(other == 0);
  auto config = Resources(scratch.path()).get_deployment_config("Quarter");
  REQUIRE(config);
  CHECK(config->value == 75);
}

// ---- deployment configs ----

TEST_CASE("resources: built-in and custom deployment configs", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  CHECK(*r.list_deployment_configs() == std::vector<std::string>{"CodeDeployDefault.OneAtATime",
                                                                   "CodeDeployDefault.HalfAtATime",
                                                                   "CodeDeployDefault.AllAtOnce"});
  auto half = r.get_deployment_config("CodeDeployDefault.HalfAtATime");
  REQUIRE(half);
  CHECK(half->builtin);
  CHECK(half->type == MinimumHealthyType::fleet_percent);
  CHECK(half->value == 50);

  auto two = r.create_deployment_config({"TwoHealthy", MinimumHealthyType::host_count, 2, true});
  REQUIRE(two);
  CHECK_FALSE(two->builtin);
  REQUIRE(r.create_deployment_config({"Ninety", MinimumHealthyType::fleet_percent, 90, false}));
  CHECK(*r.list_deployment_configs() ==
        std::vector<std::string>{"CodeDeployDefault.OneAtATime", "CodeDeployDefault.HalfAtATime",
                                 "CodeDeployDefault.AllAtOnce", "Ninety", "TwoHealthy"});

  auto got = r.get_deployment_config("TwoHealthy");
  REQUIRE(got);
  CHECK(got->name == "TwoHealthy");
  CHECK(got->type == MinimumHealthyType::host_count);
  CHECK(got->value == 2);
  CHECK_FALSE(got->builtin);

  auto info = r.describe_deployment_config("TwoHealthy");
  REQUIRE(info);
  CHECK(is_uuid(info->id));
  CHECK(scratch.read("deploy/deployment-configs/TwoHealthy.yml") ==
        fmt::format("# cdeploy deployment config 'TwoHealthy'. This file may be edited by hand: cdeploy checks it on "
                    "every read.\n\ndeploymentConfigName: TwoHealthy\ndeploymentConfigId: {}\nminimumHealthyHosts:\n"
                    "  type: HOST_COUNT\n  value: 2\ncreateTime: {}\n",
                    info->id, info->create_time));
  CHECK(to_json_text(deployment_config_to_json(*info), JsonStyle::compact) ==
        fmt::format(R"({{"deploymentConfigId":"{}","deploymentConfigName":"TwoHealthy",)"
                    R"("minimumHealthyHosts":{{"type":"HOST_COUNT","value":2}},"createTime":"{}",)"
                    R"("computePlatform":"Server"}})",
                    info->id, info->create_time));
  CHECK(to_json_text(deployment_config_to_json(*half), JsonStyle::compact) ==
        R"({"deploymentConfigName":"CodeDeployDefault.HalfAtATime","minimumHealthyHosts":{"type":"FLEET_PERCENT",)"
        R"("value":50},"computePlatform":"Server"})");
  CHECK(to_json_text(deployment_config_to_json(*got, "2026-01-31T12:00:00.000Z"), JsonStyle::compact) ==
        R"({"deploymentConfigName":"TwoHealthy","minimumHealthyHosts":{"type":"HOST_COUNT","value":2},)"
        R"("createTime":"2026-01-31T12:00:00.000Z","computePlatform":"Server"})");

  auto missing = r.get_deployment_config("Nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message == "deployment config 'Nope' does not exist");
}

TEST_CASE("resources: deployment config creation is checked", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  auto check = [&](DeploymentConfig c, ErrorKind kind, const std::string& message) {
    auto result = r.create_deployment_config(c);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == kind);
    CHECK(result.error().message == message);
  };
  check({"CodeDeployDefault.AllAtOnce", MinimumHealthyType::host_count, 0, false}, ErrorKind::conflict,
        "deployment config 'CodeDeployDefault.AllAtOnce' already exists (it is built in)");
  check({"CodeDeployDefault.Mine", MinimumHealthyType::host_count, 0, false}, ErrorKind::invalid,
        "invalid deployment config name 'CodeDeployDefault.Mine': names starting with 'CodeDeployDefault.' are "
        "reserved");
  check({"Full", MinimumHealthyType::fleet_percent, 100, false}, ErrorKind::invalid,
        "a FLEET_PERCENT value must be from 0 to 99; got 100");
  check({"Neg", MinimumHealthyType::fleet_percent, -1, false}, ErrorKind::invalid,
        "a FLEET_PERCENT value must be from 0 to 99; got -1");
  check({"Neg", MinimumHealthyType::host_count, -1, false}, ErrorKind::invalid,
        "a HOST_COUNT value must be 0 or more; got -1");
  check({"Most", MinimumHealthyType::most_concurrency, 1, false}, ErrorKind::invalid,
        "MOST_CONCURRENCY belongs to CodeDeployDefault.OneAtATime and cannot be set; use HOST_COUNT or FLEET_PERCENT");
  check({"a b", MinimumHealthyType::host_count, 1, false}, ErrorKind::invalid,
        "invalid deployment config name 'a b': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)");
  // The edges are fine.
  CHECK(r.create_deployment_config({"Zero", MinimumHealthyType::fleet_percent, 0, false}));
  CHECK(r.create_deployment_config({"NinetyNine", MinimumHealthyType::fleet_percent, 99, false}));
  CHECK(r.create_deployment_config({"NoneHealthy", MinimumHealthyType::host_count, 0, false}));
  check({"Zero", MinimumHealthyType::host_count, 1, false}, ErrorKind::conflict,
        "deployment config 'Zero' already exists");
}

TEST_CASE("resources: deleting deployment configs", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  REQUIRE(r.create_deployment_config({"Two", MinimumHealthyType::host_count, 2, false}));
  auto g = group("web", "prod");
  g.deployment_config_name = "Two";
  REQUIRE(r.create_deployment_group(g));

  auto builtin = r.delete_deployment_config("CodeDeployDefault.OneAtATime");
  REQUIRE_FALSE(builtin);
  CHECK(builtin.error().kind == ErrorKind::conflict);
  CHECK(builtin.error().message == "deployment config 'CodeDeployDefault.OneAtATime' is built in and cannot be deleted");

  auto used = r.delete_deployment_config("Two");
  REQUIRE_FALSE(used);
  CHECK(used.error().kind == ErrorKind::conflict);
  CHECK(used.error().message == "deployment config 'Two' is in use by deployment group 'prod' of application 'web'");

  REQUIRE(r.delete_deployment_group("web", "prod"));
  REQUIRE(r.delete_deployment_config("Two"));
  CHECK(r.get_deployment_config("Two").error().kind == ErrorKind::not_found);
  auto missing = r.delete_deployment_config("Two");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message == "deployment config 'Two' does not exist");
}

// ---- instances ----

TEST_CASE("resources: registering instances", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  auto web1 = r.register_instance("web1", InstanceTarget{}, "/srv//hosts/./web1/");
  REQUIRE(web1);
  CHECK(web1->root == "/srv/hosts/web1");
  CHECK(web1->target.kind == TargetKind::local);
  CHECK(web1->arn.starts_with("arn:cicd:codedeploy:local:"));
  CHECK(web1->arn.ends_with(":instance/web1"));
  CHECK(parse_iso8601(web1->register_time));
  CHECK(web1->tags.empty());

  auto web2 = r.register_instance("web2", ssh("deploy", "10.0.0.5", 2222), "/");
  REQUIRE(web2);
  auto plain = r.register_instance("web3", InstanceTarget{}, "");
  REQUIRE(plain);
  CHECK(plain->root == "/");

  CHECK(scratch.read("deploy/instances/web2.yml") ==
        fmt::format("# cdeploy on-premises instance 'web2'. This file may be edited by hand: cdeploy checks it on "
                    "every read.\n\ninstanceName: web2\ninstanceArn: {}\nregisterTime: {}\ntarget:\n  type: ssh\n"
                    "  user: deploy\n  host: 10.0.0.5\n  port: 2222\nroot: /\ntags: []\n",
                    web2->arn, web2->register_time));

  auto got = r.get_instance("web2");
  REQUIRE(got);
  CHECK(got->target.kind == TargetKind::ssh);
  CHECK(got->target.user == "deploy");
  CHECK(got->target.host == "10.0.0.5");
  CHECK(got->target.port == 2222);
  CHECK(got->arn == web2->arn);
  CHECK(*r.list_instances() == std::vector<std::string>{"web1", "web2", "web3"});

  auto again = r.register_instance("web1", InstanceTarget{}, "/");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::conflict);
  CHECK(again.error().message == "instance 'web1' is already registered");

  auto check = [&](const InstanceTarget& t, const std::string& root, const std::string& message) {
    auto result = r.register_instance("x", t, root);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::invalid);
    CHECK(result.error().message == message);
  };
  check(InstanceTarget{}, "srv/web", "root 'srv/web' must be an absolute path");
  check(ssh("deploy", ""), "/", "an ssh target needs a host");
  check(ssh("deploy", "h", 0), "/", "ssh port must be from 1 to 65535; got 0");
  check(ssh("deploy", "h", 65536), "/", "ssh port must be from 1 to 65535; got 65536");
  check(ssh("deploy", "-oProxyCommand=x"), "/",
        "invalid ssh host '-oProxyCommand=x': use a host name or an IP address");
  check(ssh("-l", "h"), "/", "invalid ssh user '-l': use letters, digits, '.', '_' or '-'");
  InstanceTarget local_with_host;
  local_with_host.host = "h";
  check(local_with_host, "/", "a local target takes no user or host (use an ssh target)");
  CHECK(r.register_instance("y", ssh("", "h", 65535), "/"));

  auto unknown = r.get_instance("web9");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == ErrorKind::not_found);
  CHECK(unknown.error().message == "instance 'web9' is not registered");

  REQUIRE(r.deregister_instance("web3"));
  CHECK(r.get_instance("web3").error().kind == ErrorKind::not_found);
  auto twice = r.deregister_instance("web3");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().kind == ErrorKind::not_found);
  CHECK(twice.error().message == "instance 'web3' is not registered");
}

TEST_CASE("resources: tagging instances", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.register_instance("web1", InstanceTarget{}, "/srv/web1"));
  REQUIRE(r.register_instance("web2", InstanceTarget{}, "/srv/web2"));
  REQUIRE(r.register_instance("db1", InstanceTarget{}, "/srv/db1"));

  REQUIRE(r.add_tags({"web1", "web2"}, {{"Env", "Prod"}, {"Role", "web"}}));
  REQUIRE(r.add_tags({"db1"}, {{"Env", "Staging"}, {"Role", "db"}}));
  CHECK(r.get_instance("web1")->tags == std::vector<Tag>{{"Env", "Prod"}, {"Role", "web"}});

  // A key already there takes the new value.
  REQUIRE(r.add_tags({"web2"}, {{"Env", "Staging"}}));
  CHECK(r.get_instance("web2")->tags == std::vector<Tag>{{"Env", "Staging"}, {"Role", "web"}});

  // An unknown instance changes nothing.
  auto unknown = r.add_tags({"web1", "nope"}, {{"Team", "a"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == ErrorKind::not_found);
  CHECK(unknown.error().message == "instance 'nope' is not registered");
  CHECK(r.get_instance("web1")->tags.size() == 2);

  CHECK(r.add_tags({"web1"}, {{"", "x"}}).error().message == "a tag needs a Key");
  CHECK(r.add_tags({}, {{"a", "b"}}).error().message == "no instance names given");

  // Filters: any of them (OR).
  CHECK(*r.list_instances({filter("Env", "Prod", TagFilterType::key_and_value)}) == std::vector<std::string>{"web1"});
  CHECK(*r.list_instances({filter("", "Staging", TagFilterType::value_only)}) ==
        std::vector<std::string>{"db1", "web2"});
  CHECK(*r.list_instances({filter("Role", "", TagFilterType::key_only)}) ==
        std::vector<std::string>{"db1", "web1", "web2"});
  CHECK(*r.list_instances({filter("Env", "Prod", TagFilterType::key_and_value),
                           filter("Role", "db", TagFilterType::key_and_value)}) ==
        std::vector<std::string>{"db1", "web1"});
  CHECK(r.list_instances({filter("Team", "", TagFilterType::key_only)})->empty());

  // Removing: with a value only that pair, without a value the key whatever its value.
  REQUIRE(r.remove_tags({"web1", "web2"}, {{"Env", "Prod"}}));
  CHECK(r.get_instance("web1")->tags == std::vector<Tag>{{"Role", "web"}});
  CHECK(r.get_instance("web2")->tags == std::vector<Tag>{{"Env", "Staging"}, {"Role", "web"}});
  REQUIRE(r.remove_tags({"web2", "db1"}, {{"Role", ""}}));
  CHECK(r.get_instance("web2")->tags == std::vector<Tag>{{"Env", "Staging"}});
  CHECK(r.get_instance("db1")->tags == std::vector<Tag>{{"Env", "Staging"}});
  auto missing = r.remove_tags({"ghost"}, {{"Env", ""}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "instance 'ghost' is not registered");
}

TEST_CASE("resources: instance JSON", "[resources]") {
  Instance i;
  i.name = "web2";
  i.arn = "arn:cicd:codedeploy:local:me:instance/web2";
  i.register_time = "2026-01-31T12:00:00.000Z";
  i.target = ssh("deploy", "10.0.0.5", 22);
  i.root = "/";
  i.tags = {{"Env", "Prod"}};
  CHECK(to_json_text(instance_to_json(i), JsonStyle::compact) ==
        R"({"instanceName":"web2","instanceArn":"arn:cicd:codedeploy:local:me:instance/web2",)"
        R"("registerTime":"2026-01-31T12:00:00.000Z","tags":[{"Key":"Env","Value":"Prod"}],)"
        R"("target":{"type":"ssh","user":"deploy","host":"10.0.0.5","port":22},"root":"/"})");
  i.target = InstanceTarget{};
  i.tags.clear();
  CHECK(to_json_text(instance_to_json(i), JsonStyle::compact) ==
        R"({"instanceName":"web2","instanceArn":"arn:cicd:codedeploy:local:me:instance/web2",)"
        R"("registerTime":"2026-01-31T12:00:00.000Z","tags":[],"target":{"type":"local"},"root":"/"})");
}

// ---- tag sets ----

TEST_CASE("resources: tag set matching", "[resources]") {
  using T = TagFilterType;
  Instance prod_web = tagged({{"Env", "Prod"}, {"Role", "web"}});
  Instance staging_db = tagged({{"Env", "Staging"}, {"Role", "db"}});
  Instance prod_value_elsewhere = tagged({{"Stage", "Prod"}});
  Instance untagged = tagged({});

  struct Row {
    const char* what;
    TagSet set;
    bool prod_web, staging_db, prod_value_elsewhere, untagged;
  };
  std::vector<Row> rows = {
      {"KEY_AND_VALUE", {{filter("Env", "Prod", T::key_and_value)}}, true, false, false, false},
      {"KEY_ONLY", {{filter("Env", "", T::key_only)}}, true, true, false, false},
      {"VALUE_ONLY matches the value under any key", {{filter("", "Prod", T::value_only)}}, true, false, true, false},
      {"key and value must be on the same tag", {{filter("Role", "Prod", T::key_and_value)}}, false, false, false,
       false},
      {"OR within a group",
       {{filter("Role", "web", T::key_and_value), filter("Role", "db", T::key_and_value)}},
       true,
       true,
       false,
       false},
      {"AND across groups",
       {{filter("Env", "Prod", T::key_and_value)}, {filter("Role", "web", T::key_and_value)}},
       true,
       false,
       false,
       false},
      {"AND of ORs",
       {{filter("Env", "Prod", T::key_and_value), filter("Env", "Staging", T::key_and_value)},
        {filter("Role", "", T::key_only)},
        {filter("", "db", T::value_only), filter("", "web", T::value_only)}},
       true,
       true,
       false,
       false},
      {"one group unmatched fails all", {{filter("Env", "", T::key_only)}, {filter("Team", "", T::key_only)}}, false,
       false, false, false},
      {"case matters", {{filter("env", "prod", T::key_and_value)}}, false, false, false, false},
      {"an empty tag set matches nothing", {}, false, false, false, false},
      {"an empty group matches nothing", {{filter("Env", "", T::key_only)}, {}}, false, false, false, false},
  };
  for (auto& row : rows) {
    INFO(row.what);
    CHECK(instance_matches(prod_web, row.set) == row.prod_web);
    CHECK(instance_matches(staging_db, row.set) == row.staging_db);
    CHECK(instance_matches(prod_value_elsewhere, row.set) == row.prod_value_elsewhere);
    CHECK(instance_matches(untagged, row.set) == row.untagged);
  }
  // An empty tag value is a value.
  CHECK(instance_matches(tagged({{"Canary", ""}}), {{filter("Canary", "", T::key_and_value)}}));
}

// ---- deployment groups ----

TEST_CASE("resources: deployment groups", "[resources]") {
  using T = TagFilterType;
  Scratch scratch;
  Resources r(scratch.path());

  auto no_app = r.create_deployment_group(group("web", "prod"));
  REQUIRE_FALSE(no_app);
  CHECK(no_app.error().kind == ErrorKind::not_found);
  CHECK(no_app.error().message == "application 'web' does not exist");

  REQUIRE(r.create_application("web"));
  auto g = group("web", "prod", {{filter("Env", "Prod", T::key_and_value)}, {filter("Role", "", T::key_only)}});
  g.deployment_config_name = "CodeDeployDefault.HalfAtATime";
  g.auto_rollback = {true, {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_FAILURE"}};
  auto created = r.create_deployment_group(g);
  REQUIRE(created);
  CHECK(is_uuid(created->id));
  CHECK(parse_iso8601(created->create_time));
  CHECK(created->auto_rollback.events == std::vector<std::string>{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"});
  CHECK(created->auto_rollback.on("DEPLOYMENT_FAILURE"));
  CHECK_FALSE(AutoRollbackConfiguration{false, {"DEPLOYMENT_FAILURE"}}.on("DEPLOYMENT_FAILURE"));

  CHECK(scratch.read("deploy/deployment-groups/web/prod.yml") ==
        fmt::format("# cdeploy deployment group 'prod' of application 'web'. This file may be edited by hand: cdeploy "
                    "checks it on every read.\n\napplicationName: web\ndeploymentGroupName: prod\n"
                    "deploymentGroupId: {}\ndeploymentConfigName: CodeDeployDefault.HalfAtATime\n"
                    "onPremisesTagSet:\n  onPremisesTagSetList:\n"
                    "    - [{{Key: Env, Value: Prod, Type: KEY_AND_VALUE}}]\n"
                    "    - [{{Key: Role, Type: KEY_ONLY}}]\n"
                    "autoRollbackConfiguration:\n  enabled: true\n"
                    "  events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_REQUEST]\ncreateTime: {}\n",
                    created->id, created->create_time));

  auto got = r.get_deployment_group("web", "prod");
  REQUIRE(got);
  CHECK(got->id == created->id);
  CHECK(got->tag_set == created->tag_set);
  CHECK(got->deployment_config_name == "CodeDeployDefault.HalfAtATime");
  CHECK(got->auto_rollback.enabled);
  CHECK(got->auto_rollback.events == created->auto_rollback.events);

  CHECK(to_json_text(deployment_group_to_json(*got), JsonStyle::compact) ==
        fmt::format(R"({{"applicationName":"web","deploymentGroupId":"{}","deploymentGroupName":"prod",)"
                    R"("deploymentConfigName":"CodeDeployDefault.HalfAtATime","onPremisesTagSet":{{)"
                    R"("onPremisesTagSetList":[[{{"Key":"Env","Value":"Prod","Type":"KEY_AND_VALUE"}}],)"
                    R"([{{"Key":"Role","Value":"","Type":"KEY_ONLY"}}]]}},"autoRollbackConfiguration":{{)"
                    R"("enabled":true,"events":["DEPLOYMENT_FAILURE","DEPLOYMENT_STOP_ON_REQUEST"]}},)"
                    R"("computePlatform":"Server"}})",
                    created->id));

  // The default deployment config is OneAtATime, as AWS's.
  auto staging = group("web", "staging");
  staging.deployment_config_name.clear();
  auto staging_created = r.create_deployment_group(staging);
  REQUIRE(staging_created);
  CHECK(staging_created->deployment_config_name == "CodeDeployDefault.OneAtATime");
  CHECK(r.get_deployment_group("web", "staging")->tag_set.empty());
  CHECK(*r.list_deployment_groups("web") == std::vector<std::string>{"prod", "staging"});

  auto dup = r.create_deployment_group(group("web", "prod"));
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::conflict);
  CHECK(dup.error().message == "deployment group 'prod' already exists in application 'web'");

  auto missing = r.get_deployment_group("web", "qa");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message == "deployment group 'qa' does not exist in application 'web'");
  CHECK(r.get_deployment_group("api", "prod").error().message == "application 'api' does not exist");
  CHECK(r.list_deployment_groups("api").error().message == "application 'api' does not exist");

  REQUIRE(r.delete_deployment_group("web", "staging"));
  CHECK(*r.list_deployment_groups("web") == std::vector<std::string>{"prod"});
  auto deleted_twice = r.delete_deployment_group("web", "staging");
  REQUIRE_FALSE(deleted_twice);
  CHECK(deleted_twice.error().kind == ErrorKind::not_found);
  CHECK(deleted_twice.error().message == "deployment group 'staging' does not exist in application 'web'");

  // Deleting the application takes its groups along.
  REQUIRE(r.delete_application("web"));
  CHECK_FALSE(std::filesystem::exists(scratch / "deploy/deployment-groups/web"));
  REQUIRE(r.create_application("web"));
  CHECK(r.list_deployment_groups("web")->empty());
}

TEST_CASE("resources: deployment group creation is checked", "[resources]") {
  using T = TagFilterType;
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  auto check = [&](const DeploymentGroup& g, ErrorKind kind, const std::string& message) {
    auto result = r.create_deployment_group(g);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == kind);
    CHECK(result.error().message == message);
  };
  auto g = group("web", "prod");
  g.deployment_config_name = "Missing";
  check(g, ErrorKind::not_found, "deployment config 'Missing' does not exist");

  auto one = filter("Env", "Prod", T::key_and_value);
  check(group("web", "prod", {{one}, {one}, {one}, {one}}), ErrorKind::invalid,
        "a tag set has at most 3 tag groups (AND of OR-groups); got 4");
  CHECK(r.create_deployment_group(group("web", "three", {{one}, {one}, {one}})));
  check(group("web", "prod", {{one}, {}}), ErrorKind::invalid, "tag group 2 is empty");
  check(group("web", "prod", {{filter("Env", "Prod", T::key_only)}}), ErrorKind::invalid,
        "tag group 1: a KEY_ONLY filter takes no Value (got 'Prod'); use KEY_AND_VALUE to match both");
  check(group("web", "prod", {{filter("", "", T::value_only)}}), ErrorKind::invalid,
        "tag group 1: a VALUE_ONLY filter needs a Value");

  auto alarm = group("web", "prod");
  alarm.auto_rollback = {true, {"DEPLOYMENT_STOP_ON_ALARM"}};
  check(alarm, ErrorKind::invalid,
        "DEPLOYMENT_STOP_ON_ALARM: alarms are not supported (there are no CloudWatch alarms here); use "
        "DEPLOYMENT_FAILURE or DEPLOYMENT_STOP_ON_REQUEST");
  auto typo = group("web", "prod");
  typo.auto_rollback = {true, {"DEPLOYMENT_FAILUR"}};
  check(typo, ErrorKind::invalid, "unknown auto-rollback event 'DEPLOYMENT_FAILUR'; did you mean 'DEPLOYMENT_FAILURE'?");
  check(group("web", "a/b"), ErrorKind::invalid,
        "invalid deployment group name 'a/b': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)");
  check(group("..", "prod"), ErrorKind::invalid,
        "invalid application name '..': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)");
}

TEST_CASE("resources: updating deployment groups", "[resources]") {
  using T = TagFilterType;
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  REQUIRE(r.create_deployment_config({"Two", MinimumHealthyType::host_count, 2, false}));
  auto g = group("web", "prod", {{filter("Env", "Prod", T::key_and_value)}});
  g.auto_rollback = {true, {"DEPLOYMENT_FAILURE"}};
  auto created = *r.create_deployment_group(g);
  REQUIRE(r.create_deployment_group(group("web", "staging")));

  SECTION("only the fields given change") {
    DeploymentGroupUpdate u;
    u.deployment_config_name = "Two";
    auto updated = r.update_deployment_group("web", "prod", u);
    REQUIRE(updated);
    CHECK(updated->deployment_config_name == "Two");
    CHECK(updated->tag_set == created.tag_set);
    CHECK(updated->auto_rollback.enabled);
    CHECK(updated->id == created.id);
    CHECK(updated->create_time == created.create_time);
    CHECK(r.get_deployment_group("web", "prod")->deployment_config_name == "Two");
  }
  SECTION("renaming keeps the id and frees the old name") {
    DeploymentGroupUpdate u;
    u.new_name = "production";
    auto updated = r.update_deployment_group("web", "prod", u);
    REQUIRE(updated);
    CHECK(updated->name == "production");
    CHECK(updated->id == created.id);
    CHECK(*r.list_deployment_groups("web") == std::vector<std::string>{"production", "staging"});
    CHECK(r.get_deployment_group("web", "production")->id == created.id);
  }
  SECTION("renaming onto another group is a conflict") {
    DeploymentGroupUpdate u;
    u.new_name = "staging";
    auto updated = r.update_deployment_group("web", "prod", u);
    REQUIRE_FALSE(updated);
    CHECK(updated.error().kind == ErrorKind::conflict);
    CHECK(updated.error().message == "deployment group 'staging' already exists in application 'web'");
  }
  SECTION("the new definition is checked") {
    DeploymentGroupUpdate u;
    u.deployment_config_name = "Nope";
    CHECK(r.update_deployment_group("web", "prod", u).error().message == "deployment config 'Nope' does not exist");
    DeploymentGroupUpdate v;
    v.auto_rollback = AutoRollbackConfiguration{true, {"DEPLOYMENT_STOP_ON_ALARM"}};
    CHECK(r.update_deployment_group("web", "prod", v).error().kind == ErrorKind::invalid);
    CHECK(r.get_deployment_group("web", "prod")->auto_rollback.events ==
          std::vector<std::string>{"DEPLOYMENT_FAILURE"});
    CHECK(r.update_deployment_group("web", "qa", DeploymentGroupUpdate{}).error().message ==
          "deployment group 'qa' does not exist in application 'web'");
  }
  SECTION("a whole definition: empty name and config keep theirs, the rest is replaced") {
    DeploymentGroup whole;
    whole.deployment_config_name.clear();
    whole.tag_set = {{filter("", "Prod", T::value_only)}};
    auto updated = r.update_deployment_group("web", "prod", whole);
    REQUIRE(updated);
    CHECK(updated->name == "prod");
    CHECK(updated->deployment_config_name == "CodeDeployDefault.OneAtATime");
    CHECK(updated->tag_set == TagSet{{filter("", "Prod", T::value_only)}});
    CHECK_FALSE(updated->auto_rollback.enabled);
    CHECK(updated->application == "web");
    CHECK(updated->id == created.id);
  }
}

TEST_CASE("resources: the instances a group deploys to", "[resources]") {
  using T = TagFilterType;
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  for (auto name : {"web1", "web2", "web3", "db1"}) REQUIRE(r.register_instance(name, InstanceTarget{}, "/"));
  REQUIRE(r.add_tags({"web1", "web2"}, {{"Env", "Prod"}, {"Role", "web"}}));
  REQUIRE(r.add_tags({"web3"}, {{"Env", "Staging"}, {"Role", "web"}}));
  REQUIRE(r.add_tags({"db1"}, {{"Env", "Prod"}, {"Role", "db"}}));

  auto names = [](const std::vector<Instance>& instances) {
    std::vector<std::string> out;
    for (auto& i : instances) out.push_back(i.name);
    return out;
  };
  auto prod_web = *r.create_deployment_group(
      group("web", "prod", {{filter("Env", "Prod", T::key_and_value)}, {filter("", "web", T::value_only)}}));
  CHECK(names(*r.instances_for(prod_web)) == std::vector<std::string>{"web1", "web2"});
  auto all_web = *r.create_deployment_group(group("web", "all", {{filter("Role", "web", T::key_and_value)}}));
  CHECK(names(*r.instances_for(all_web)) == std::vector<std::string>{"web1", "web2", "web3"});
  auto untagged = *r.create_deployment_group(group("web", "none"));
  CHECK(r.instances_for(untagged)->empty());
  // The instances come whole, ready to deploy to.
  auto got = *r.instances_for(prod_web);
  CHECK(got[0].tags == std::vector<Tag>{{"Env", "Prod"}, {"Role", "web"}});
}

// ---- hand-edited files ----

TEST_CASE("resources: a hand-broken deployment group is reported with positions", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  REQUIRE(r.create_deployment_group(group("web", "prod")));
  auto path = scratch.write("deploy/deployment-groups/web/prod.yml",
                            "# edited by hand\n"
                            "applicationName: web\n"
                            "deploymentGroupName: prod\n"
                            "deploymentGroupId: 0e7c0c6e-1f4b-4d3e-9a3c-2b1f0d9e8c7a\n"
                            "deploymentConfigName: CodeDeployDefault.AllAtOnce\n"
                            "onPremisesTagSet:\n"
                            "  onPremisesTagSetList:\n"
                            "    - - Key: Env\n"
                            "        Vaule: Prod\n"
                            "        Type: KEY_AND_VALUE\n"
                            "autoRollbackConfiguration:\n"
                            "  enabled: maybe\n"
                            "  events: [DEPLOYMENT_STOP_ON_ALARM]\n"
                            "createTime: yesterday\n"
                            "deploymentConfigName: CodeDeployDefault.OneAtATime\n");
  auto result = r.get_deployment_group("web", "prod");
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK(result.error().message == fmt::format("invalid deployment group definition '{}'", path.string()));
  std::string p = path.string();
  CHECK(result.error().details ==
        std::vector<std::string>{
            p + ":9:9: error: unknown key 'Vaule' in tag filter; did you mean 'Value'?",
            p + ":12:12: error: 'enabled' must be true or false (or yes/no, on/off); got 'maybe'",
            p + ":13:12: error: DEPLOYMENT_STOP_ON_ALARM: alarms are not supported (there are no CloudWatch alarms "
                "here); use DEPLOYMENT_FAILURE or DEPLOYMENT_STOP_ON_REQUEST",
            p + ":14:13: error: 'createTime' must be an ISO-8601 time such as 2026-01-31T12:00:00.000Z; got "
                "'yesterday'",
            p + ":15:1: error: duplicate key 'deploymentConfigName' in the deployment group definition (first at 5:1)",
        });
  // Whatever reads the group sees the same error, and nothing is changed.
  CHECK(r.delete_deployment_config("CodeDeployDefault.AllAtOnce").error().kind == ErrorKind::conflict);
  REQUIRE(r.create_deployment_config({"Two", MinimumHealthyType::host_count, 2, false}));
  auto blocked = r.delete_deployment_config("Two");
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().kind == ErrorKind::invalid);
  CHECK(r.get_deployment_config("Two"));
}

TEST_CASE("resources: hand-edited files are checked on every read", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.create_application("web"));
  REQUIRE(r.register_instance("web1", InstanceTarget{}, "/"));
  auto details_of = [](const auto& result) {
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::invalid);
    return result.error().details;
  };

  SECTION("an application whose name does not match its file, and a missing field") {
    auto path = scratch.write("deploy/applications/web.yml", "applicationName: api\ncreateTime: 2026-01-31T12:00:00Z\n");
    auto result = r.get_application("web");
    CHECK(result.error().message == fmt::format("invalid application definition '{}'", path.string()));
    CHECK(details_of(result) ==
          std::vector<std::string>{
              path.string() + ":1:1: error: missing 'applicationId' in the application definition",
              path.string() + ":1:18: error: 'applicationName' is 'api', which does not match the file name "
                              "'web.yml'; rename one to match",
          });
  }
  SECTION("YAML syntax errors") {
    auto path = scratch.write("deploy/applications/web.yml", "applicationName: [web\n");
    auto details = details_of(r.get_application("web"));
    REQUIRE(details.size() == 1);
    CHECK(details[0].starts_with(path.string() + ":2:1: error: invalid YAML: "));
  }
  SECTION("not a mapping") {
    auto path = scratch.write("deploy/applications/web.yml", "- web\n");
    CHECK(details_of(r.get_application("web")) ==
          std::vector<std::string>{path.string() +
                                   ":1:1: error: the application definition must be a mapping of fields; got a list"});
    scratch.write("deploy/applications/web.yml", "# nothing\n");
    CHECK(details_of(r.get_application("web")) ==
          std::vector<std::string>{path.string() +
                                   ":1:1: error: the application definition must be a mapping of fields; got an empty "
                                   "file"});
  }
  SECTION("instances: target and root") {
    auto path = scratch.write("deploy/instances/web1.yml",
                              "instanceName: web1\n"
                              "instanceArn: arn:cicd:codedeploy:local:me:instance/web1\n"
                              "registerTime: 2026-01-31T12:00:00.000Z\n"
                              "target:\n"
                              "  type: sssh\n"
                              "  prot: 22\n"
                              "root: srv/web1\n"
                              "tags:\n"
                              "  - Key: Env\n"
                              "    Value: Prod\n"
                              "  - Key: Env\n"
                              "    Value: Staging\n");
    std::string p = path.string();
    CHECK(details_of(r.get_instance("web1")) ==
          std::vector<std::string>{
              p + ":5:9: error: unknown target type 'sssh'; did you mean 'ssh'?",
              p + ":6:3: error: unknown key 'prot' in target; did you mean 'port'?",
              p + ":7:7: error: root 'srv/web1' must be an absolute path",
              p + ":11:5: error: duplicate tag 'Env' (first at 9:5)",
          });
  }
  SECTION("instances: ssh fields and local targets") {
    auto path = scratch.write("deploy/instances/web1.yml",
                              "instanceName: web1\n"
                              "instanceArn: arn:cicd:codedeploy:local:me:instance/web1\n"
                              "registerTime: 2026-01-31T12:00:00.000Z\n"
                              "target: {type: local, host: example.org}\n");
    CHECK(details_of(r.get_instance("web1")) ==
          std::vector<std::string>{path.string() + ":4:23: error: 'host' applies only to ssh targets"});
    scratch.write("deploy/instances/web1.yml",
                  "instanceName: web1\n"
                  "instanceArn: arn:cicd:codedeploy:local:me:instance/web1\n"
                  "registerTime: 2026-01-31T12:00:00.000Z\n"
                  "target:\n"
                  "  type: ssh\n"
                  "  port: 70000\n");
    CHECK(details_of(r.get_instance("web1")) ==
          std::vector<std::string>{path.string() + ":5:3: error: an ssh target needs a 'host'",
                                   path.string() + ":6:9: error: ssh port must be from 1 to 65535; got 70000"});
    // Written by hand without optional fields: root defaults to "/", no tags.
    scratch.write("deploy/instances/web1.yml",
                  "instanceName: web1\n"
                  "instanceArn: arn:cicd:codedeploy:local:me:instance/web1\n"
                  "registerTime: 2026-01-31T12:00:00.000Z\n"
                  "target: {type: ssh, host: 'web1.example.org'}\n");
    auto ok = r.get_instance("web1");
    REQUIRE(ok);
    CHECK(ok->root == "/");
    CHECK(ok->target.host == "web1.example.org");
    CHECK(ok->target.port == 22);
  }
  SECTION("deployment configs") {
    auto path = scratch.write("deploy/deployment-configs/Two.yml",
                              "deploymentConfigName: Two\n"
                              "deploymentConfigId: 0e7c0c6e-1f4b-4d3e-9a3c-2b1f0d9e8c7a\n"
                              "minimumHealthyHosts:\n"
                              "  type: FLEET_PERCENT\n"
                              "  value: 100\n"
                              "createTime: 2026-01-31T12:00:00.000Z\n");
    CHECK(details_of(r.get_deployment_config("Two")) ==
          std::vector<std::string>{path.string() + ":5:10: error: a FLEET_PERCENT value must be from 0 to 99; got 100"});
    scratch.write("deploy/deployment-configs/Two.yml",
                  "deploymentConfigName: Two\n"
                  "deploymentConfigId: 0e7c0c6e-1f4b-4d3e-9a3c-2b1f0d9e8c7a\n"
                  "minimumHealthyHosts: {type: HOST_CONT, value: two}\n"
                  "createTime: 2026-01-31T12:00:00.000Z\n");
    CHECK(details_of(r.get_deployment_config("Two")) ==
          std::vector<std::string>{
              path.string() + ":3:29: error: unknown minimum healthy hosts type 'HOST_CONT'; did you mean 'HOST_COUNT'?",
              path.string() + ":3:47: error: 'value' must be an integer; got 'two'"});
  }
  SECTION("deployment groups: too many tag groups and the wrong application") {
    REQUIRE(r.create_deployment_group(group("web", "prod")));
    auto path = scratch.write("deploy/deployment-groups/web/prod.yml",
                              "applicationName: api\n"
                              "deploymentGroupName: prod\n"
                              "deploymentGroupId: 0e7c0c6e-1f4b-4d3e-9a3c-2b1f0d9e8c7a\n"
                              "deploymentConfigName: CodeDeployDefault.AllAtOnce\n"
                              "onPremisesTagSet:\n"
                              "  onPremisesTagSetList:\n"
                              "    - [{Key: A}]\n"
                              "    - [{Key: B}]\n"
                              "    - [{Value: C}]\n"
                              "    - [{Key: D, Value: E, Type: KEY_ONLY}]\n"
                              "createTime: 2026-01-31T12:00:00.000Z\n");
    std::string p = path.string();
    CHECK(details_of(r.get_deployment_group("web", "prod")) ==
          std::vector<std::string>{
              p + ":1:18: error: 'applicationName' is 'api', which does not match the directory 'web' the file is "
                  "in; rename one to match",
              p + ":10:7: error: a tag set has at most 3 tag groups (AND of OR-groups); got 4",
              p + ":10:8: error: a KEY_ONLY filter takes no Value (got 'E'); use KEY_AND_VALUE to match both",
          });
  }
  SECTION("hand-written tag filters take AWS's default types") {
    REQUIRE(r.create_deployment_group(group("web", "prod")));
    scratch.write("deploy/deployment-groups/web/prod.yml",
                  "applicationName: web\n"
                  "deploymentGroupName: prod\n"
                  "deploymentGroupId: 0e7c0c6e-1f4b-4d3e-9a3c-2b1f0d9e8c7a\n"
                  "deploymentConfigName: CodeDeployDefault.AllAtOnce\n"
                  "onPremisesTagSet:\n"
                  "  onPremisesTagSetList:\n"
                  "    - [{Key: A}, {Value: B}, {Key: C, Value: D}]\n"
                  "createTime: 2026-01-31T12:00:00.000Z\n");
    auto g = r.get_deployment_group("web", "prod");
    REQUIRE(g);
    CHECK(g->tag_set == TagSet{{filter("A", "", TagFilterType::key_only), filter("", "B", TagFilterType::value_only),
                                filter("C", "D", TagFilterType::key_and_value)}});
    CHECK_FALSE(g->auto_rollback.enabled);
  }
}

TEST_CASE("resources: values survive the round trip write, read, JSON", "[resources]") {
  Scratch scratch;
  Resources r(scratch.path());
  REQUIRE(r.register_instance("web1", InstanceTarget{}, "/srv/web1"));
  std::vector<Tag> tags = {{"Env", "true"},        {"Empty", ""},     {"Null", "null"},   {"Num", "007"},
                           {"Colon", "a: b"},      {"Hash", "#x"},    {"Comma", "a,b"},   {"Space", " lead"},
                           {"Quote", "it's \"q\""}, {"Unicode", "é"}, {"Tilde", "~"},     {"Dash", "- z"}};
  REQUIRE(r.add_tags({"web1"}, tags));
  auto got = r.get_instance("web1");
  REQUIRE(got);
  CHECK(got->tags == tags);
  Json json = instance_to_json(*got);
  REQUIRE(json["tags"].size() == tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    CHECK(json["tags"][i]["Key"] == tags[i].key);
    CHECK(json["tags"][i]["Value"] == tags[i].value);
  }

  REQUIRE(r.create_application("web"));
  auto g = group("web", "prod",
                 {{filter("Env", "true", TagFilterType::key_and_value), filter("", "a,b", TagFilterType::value_only)},
                  {filter("Empty", "", TagFilterType::key_and_value)}});
  auto created = r.create_deployment_group(g);
  REQUIRE(created);
  auto read = r.get_deployment_group("web", "prod");
  REQUIRE(read);
  CHECK(read->tag_set == g.tag_set);
  CHECK(deployment_group_to_json(*read) == deployment_group_to_json(*created));
}

// ---- shorthand ----

TEST_CASE("resources: tag shorthand", "[resources]") {
  CHECK(*parse_tag_shorthand("Key=Env,Value=Prod") == Tag{"Env", "Prod"});
  CHECK(*parse_tag_shorthand("Value=Prod,Key=Env") == Tag{"Env", "Prod"});
  CHECK(*parse_tag_shorthand("Key=Env") == Tag{"Env", ""});
  CHECK(*parse_tag_shorthand("Key=Env,Value=") == Tag{"Env", ""});
  CHECK(*parse_tag_shorthand("Key=Env, Value=Prod") == Tag{"Env", "Prod"});
  CHECK(*parse_tag_shorthand("Key=Team,Value='a,b'") == Tag{"Team", "a,b"});
  CHECK(*parse_tag_shorthand("Key=Team,Value=\"a,b\"") == Tag{"Team", "a,b"});
  CHECK(*parse_tag_shorthand("Key=Team,Value=a\\,b") == Tag{"Team", "a,b"});
  CHECK(*parse_tag_shorthand("Key=Owner,Value=don't") == Tag{"Owner", "don't"});
  CHECK(*parse_tag_shorthand("Key=Expr,Value=a=b") == Tag{"Expr", "a=b"});

  auto bad = [](std::string_view text) { return error_of(parse_tag_shorthand(text)); };
  CHECK(bad("Key=Env,Vaule=Prod") == "--tags 'Key=Env,Vaule=Prod': unknown field 'Vaule'; did you mean 'Value'?");
  CHECK(bad("key=Env") == "--tags 'key=Env': unknown field 'key'; did you mean 'Key'?");
  CHECK(bad("Name=Env") == "--tags 'Name=Env': unknown field 'Name'; expected Key or Value");
  CHECK(bad("Value=Prod") == "--tags 'Value=Prod': missing 'Key' (as in Key=Env,Value=Prod)");
  CHECK(bad("Key=,Value=Prod") == "--tags 'Key=,Value=Prod': a tag needs a Key");
  CHECK(bad("Key=Env,Value=a,b") ==
        "--tags 'Key=Env,Value=a,b': 'Value' takes one value; got another, 'b' (quote a value that holds a ',')");
  CHECK(bad("Key=Env,Key=Role") == "--tags 'Key=Env,Key=Role': field 'Key' is given twice");
  CHECK(bad("Env") == "--tags 'Env': 'Env' is not of the form name=value");
  CHECK(bad("Key=Env,") == "--tags 'Key=Env,': empty field: remove the stray ','");
  CHECK(bad("") == "--tags '': empty; expected Key or Value");
  CHECK(bad("Key=Env,Value='Prod") == "--tags 'Key=Env,Value='Prod': unterminated quote");
  CHECK(bad("Key=Env,Value=[a,b]") == "--tags 'Key=Env,Value=[a,b]': 'Value' takes one value, not a list");
  CHECK(parse_tag_shorthand("Key=Env,Vaule=Prod").error().kind == ErrorKind::usage);
  CHECK(error_of(parse_tag_shorthand("Key=Env,Vaule=Prod", "--tags-x")) ==
        "--tags-x 'Key=Env,Vaule=Prod': unknown field 'Vaule'; did you mean 'Value'?");
}

TEST_CASE("resources: tag filter shorthand", "[resources]") {
  using T = TagFilterType;
  CHECK(*parse_tag_filter_shorthand("Key=Env,Value=Prod,Type=KEY_AND_VALUE") == filter("Env", "Prod", T::key_and_value));
  // Types default as AWS's.
  CHECK(*parse_tag_filter_shorthand("Key=Env,Value=Prod") == filter("Env", "Prod", T::key_and_value));
  CHECK(*parse_tag_filter_shorthand("Key=Env") == filter("Env", "", T::key_only));
  CHECK(*parse_tag_filter_shorthand("Value=Prod") == filter("", "Prod", T::value_only));
  CHECK(*parse_tag_filter_shorthand("Key=Env,Type=KEY_ONLY") == filter("Env", "", T::key_only));
  CHECK(*parse_tag_filter_shorthand("Value=Prod,Type=VALUE_ONLY") == filter("", "Prod", T::value_only));
  CHECK(*parse_tag_filter_shorthand("Key=Canary,Type=KEY_AND_VALUE") == filter("Canary", "", T::key_and_value));

  auto bad = [](std::string_view text) { return error_of(parse_tag_filter_shorthand(text, "--tag-filters")); };
  CHECK(bad("Key=Env,Value=Prod,Type=KEY_AND_VALU") ==
        "--tag-filters 'Key=Env,Value=Prod,Type=KEY_AND_VALU': unknown Type 'KEY_AND_VALU'; did you mean "
        "'KEY_AND_VALUE'?");
  CHECK(bad("Key=Env,Type=ANY") ==
        "--tag-filters 'Key=Env,Type=ANY': unknown Type 'ANY'; expected KEY_ONLY, VALUE_ONLY or KEY_AND_VALUE");
  CHECK(bad("Type=KEY_ONLY") == "--tag-filters 'Type=KEY_ONLY': a tag filter needs a Key, a Value or both");
  CHECK(bad("Key=Env,Value=Prod,Type=KEY_ONLY") ==
        "--tag-filters 'Key=Env,Value=Prod,Type=KEY_ONLY': a KEY_ONLY filter takes no Value (got 'Prod'); use "
        "KEY_AND_VALUE to match both");
  CHECK(bad("Key=Env,Type=VALUE_ONLY") ==
        "--tag-filters 'Key=Env,Type=VALUE_ONLY': a VALUE_ONLY filter needs a Value");
  CHECK(bad("Key=Env,Tpye=KEY_ONLY") == "--tag-filters 'Key=Env,Tpye=KEY_ONLY': unknown field 'Tpye'; did you mean "
                                       "'Type'?");
  CHECK(error_of(parse_tag_filter_shorthand("Kee=Env")) ==
        "--on-premises-instance-tag-filters 'Kee=Env': unknown field 'Kee'; did you mean 'Key'?");
}

TEST_CASE("resources: auto-rollback shorthand", "[resources]") {
  auto c = parse_auto_rollback_shorthand("enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST");
  REQUIRE(c);
  CHECK(c->enabled);
  CHECK(c->events == std::vector<std::string>{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"});
  auto one = parse_auto_rollback_shorthand("enabled=true,events=DEPLOYMENT_FAILURE");
  REQUIRE(one);
  CHECK(one->events == std::vector<std::string>{"DEPLOYMENT_FAILURE"});
  auto listed = parse_auto_rollback_shorthand("events=[DEPLOYMENT_STOP_ON_REQUEST,DEPLOYMENT_FAILURE],enabled=TRUE");
  REQUIRE(listed);
  CHECK(listed->enabled);
  CHECK(listed->events == std::vector<std::string>{"DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_FAILURE"});
  auto off = parse_auto_rollback_shorthand("enabled=false");
  REQUIRE(off);
  CHECK_FALSE(off->enabled);
  CHECK(off->events.empty());
  auto repeated = parse_auto_rollback_shorthand("enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_FAILURE");
  CHECK(repeated->events == std::vector<std::string>{"DEPLOYMENT_FAILURE"});

  auto bad = [](std::string_view text) { return error_of(parse_auto_rollback_shorthand(text)); };
  CHECK(bad("enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM") ==
        "--auto-rollback-configuration 'enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM': "
        "DEPLOYMENT_STOP_ON_ALARM: alarms are not supported (there are no CloudWatch alarms here); use "
        "DEPLOYMENT_FAILURE or DEPLOYMENT_STOP_ON_REQUEST");
  CHECK(bad("enabled=true,events=DEPLOYMENT_FAIL") ==
        "--auto-rollback-configuration 'enabled=true,events=DEPLOYMENT_FAIL': unknown auto-rollback event "
        "'DEPLOYMENT_FAIL'; did you mean 'DEPLOYMENT_FAILURE'?");
  CHECK(bad("enabled=yes") == "--auto-rollback-configuration 'enabled=yes': 'enabled' must be true or false; got 'yes'");
  CHECK(bad("events=DEPLOYMENT_FAILURE") ==
        "--auto-rollback-configuration 'events=DEPLOYMENT_FAILURE': missing 'enabled=true' or 'enabled=false'");
  CHECK(bad("enabled=true,DEPLOYMENT_FAILURE") ==
        "--auto-rollback-configuration 'enabled=true,DEPLOYMENT_FAILURE': 'enabled' takes one value; got another, "
        "'DEPLOYMENT_FAILURE' (quote a value that holds a ',')");
  CHECK(bad("enable=true") ==
        "--auto-rollback-configuration 'enable=true': unknown field 'enable'; did you mean 'enabled'?");
}

TEST_CASE("resources: minimum healthy hosts shorthand", "[resources]") {
  auto count = parse_minimum_healthy_hosts_shorthand("type=HOST_COUNT,value=2");
  REQUIRE(count);
  CHECK(count->type == MinimumHealthyType::host_count);
  CHECK(count->value == 2);
  auto pct = parse_minimum_healthy_hosts_shorthand("value=75,type=FLEET_PERCENT");
  REQUIRE(pct);
  CHECK(pct->type == MinimumHealthyType::fleet_percent);
  CHECK(pct->value == 75);

  auto bad = [](std::string_view text) { return error_of(parse_minimum_healthy_hosts_shorthand(text)); };
  CHECK(bad("type=HOST_CONUT,value=2") ==
        "--minimum-healthy-hosts 'type=HOST_CONUT,value=2': unknown type 'HOST_CONUT'; did you mean 'HOST_COUNT'?");
  CHECK(bad("type=FLEET_PERCENT,value=100") ==
        "--minimum-healthy-hosts 'type=FLEET_PERCENT,value=100': a FLEET_PERCENT value must be from 0 to 99; got 100");
  CHECK(bad("type=HOST_COUNT,value=-1") ==
        "--minimum-healthy-hosts 'type=HOST_COUNT,value=-1': a HOST_COUNT value must be 0 or more; got -1");
  CHECK(bad("type=HOST_COUNT,value=two") ==
        "--minimum-healthy-hosts 'type=HOST_COUNT,value=two': 'value' must be a whole number; got 'two'");
  CHECK(bad("type=HOST_COUNT") == "--minimum-healthy-hosts 'type=HOST_COUNT': missing 'value'");
  CHECK(bad("value=2") == "--minimum-healthy-hosts 'value=2': missing 'type' (HOST_COUNT or FLEET_PERCENT)");
  CHECK(bad("type=MOST_CONCURRENCY,value=1") ==
        "--minimum-healthy-hosts 'type=MOST_CONCURRENCY,value=1': MOST_CONCURRENCY belongs to "
        "CodeDeployDefault.OneAtATime and cannot be set; use HOST_COUNT or FLEET_PERCENT");
  CHECK(bad("Type=HOST_COUNT,value=2") ==
        "--minimum-healthy-hosts 'Type=HOST_COUNT,value=2': unknown field 'Type'; did you mean 'type'?");
}

TEST_CASE("resources: --on-premises-tag-set as JSON or shorthand", "[resources]") {
  using T = TagFilterType;
  TagSet expected = {{filter("Env", "Prod", T::key_and_value), filter("Role", "", T::key_only)},
                     {filter("", "web", T::value_only)}};
  auto json = parse_tag_set(
      R"({"onPremisesTagSetList":[[{"Key":"Env","Value":"Prod","Type":"KEY_AND_VALUE"},{"Key":"Role"}],)"
      R"([{"Value":"web","Type":"VALUE_ONLY"}]]})");
  REQUIRE(json);
  CHECK(*json == expected);
  auto shorthand = parse_tag_set(
      "onPremisesTagSetList=[[{Key=Env,Value=Prod,Type=KEY_AND_VALUE},{Key=Role}],[{Value=web}]]");
  REQUIRE(shorthand);
  CHECK(*shorthand == expected);
  auto quoted = parse_tag_set("onPremisesTagSetList=[[{Key=Team,Value='a,b}'}]]");
  REQUIRE(quoted);
  CHECK(*quoted == TagSet{{filter("Team", "a,b}", T::key_and_value)}});

  CHECK(error_of(parse_tag_set("onPremisesTagSetList=[[{Key=A}],[{Key=B}],[{Key=C}],[{Key=D}]]")) ==
        "--on-premises-tag-set 'onPremisesTagSetList=[[{Key=A}],[{Key=B}],[{Key=C}],[{Key=D}]]': a tag set has at "
        "most 3 tag groups (AND of OR-groups); got 4");
  CHECK(error_of(parse_tag_set("onPremisesTagSetList=[[{Key=A,Vaule=B}]]")) ==
        "--on-premises-tag-set 'onPremisesTagSetList=[[{Key=A,Vaule=B}]]': unknown field 'Vaule'; did you mean "
        "'Value'?");
  CHECK(error_of(parse_tag_set(R"({"onPremisesTagSetList":[[{"Key":"A","Type":"KEY_ONY"}]]})")) ==
        R"(--on-premises-tag-set '{"onPremisesTagSetList":[[{"Key":"A","Type":"KEY_ONY"}]]}': unknown Type )"
        R"('KEY_ONY'; did you mean 'KEY_ONLY'?)");
  CHECK(error_of(parse_tag_set(R"({"onPremisesTagSet":[]})")) ==
        R"(--on-premises-tag-set '{"onPremisesTagSet":[]}': unknown field 'onPremisesTagSet'; expected )"
        R"(onPremisesTagSetList)");
  CHECK(error_of(parse_tag_set("Key=Env,Value=Prod")) ==
        "--on-premises-tag-set 'Key=Env,Value=Prod': unknown field 'Key'; expected onPremisesTagSetList");
  CHECK(error_of(parse_tag_set("onPremisesTagSetList=[[Key=A]]")) ==
        "--on-premises-tag-set 'onPremisesTagSetList=[[Key=A]]': each tag filter must be in braces: "
        "onPremisesTagSetList=[[{Key=..,Value=..,Type=..},{..}],[{..}]]");
  CHECK(error_of(parse_tag_set("onPremisesTagSetList=[[{Key=A}]")) ==
        "--on-premises-tag-set 'onPremisesTagSetList=[[{Key=A}]': unbalanced brackets: a '[' or '{' is not closed");
  CHECK(error_of(parse_tag_set("onPremisesTagSetList={Key=A}")) ==
        "--on-premises-tag-set 'onPremisesTagSetList={Key=A}': expected a list of lists: "
        "onPremisesTagSetList=[[{Key=..,Value=..,Type=..},{..}],[{..}]]");
}

TEST_CASE("resources: --ssh targets", "[resources]") {
  auto t = parse_ssh_target("deploy@10.0.0.5:22");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::ssh);
  CHECK(t->user == "deploy");
  CHECK(t->host == "10.0.0.5");
  CHECK(t->port == 22);
  auto bare = parse_ssh_target("web1.example.org");
  REQUIRE(bare);
  CHECK(bare->user.empty());
  CHECK(bare->host == "web1.example.org");
  CHECK(bare->port == 22);
  auto v6 = parse_ssh_target("root@[::1]:2222");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 2222);
  CHECK(parse_ssh_target("fe80::1")->host == "fe80::1");

  CHECK(error_of(parse_ssh_target("deploy@host:0")) == "--ssh 'deploy@host:0': ssh port must be from 1 to 65535; got '0'");
  CHECK(error_of(parse_ssh_target("deploy@host:x")) == "--ssh 'deploy@host:x': ssh port must be from 1 to 65535; got 'x'");
  CHECK(error_of(parse_ssh_target("deploy@")) == "--ssh 'deploy@': an ssh target needs a host");
  CHECK(error_of(parse_ssh_target("@host")) == "--ssh '@host': empty user before '@'");
  CHECK(error_of(parse_ssh_target("-oProxyCommand=sh")) ==
        "--ssh '-oProxyCommand=sh': invalid ssh host '-oProxyCommand=sh': use a host name or an IP address");
  CHECK(error_of(parse_ssh_target("a b@host")) ==
        "--ssh 'a b@host': invalid ssh user 'a b': use letters, digits, '.', '_' or '-'");
}

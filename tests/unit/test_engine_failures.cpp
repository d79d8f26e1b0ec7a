// The engines' failure paths, driven through the fakes of tests/support/fakes.hpp: a store write
// that fails in the middle of a deployment or a build, a hook that fails on one instance of a fleet,
// a clock that jumps, a record in the store that is corrupt. Each test asserts what the engine
// returns and what the store holds afterwards.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "builder/engine.hpp"
#include "deploy/engine.hpp"
#include "support/fakes.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;
using namespace std::chrono_literals;

namespace {

// ---- deployments ----

// An appspec whose hooks cover ApplicationStop, BeforeInstall and ValidateService; `stop` names
// the ApplicationStop script so that a test can tell revisions apart.
std::string appspec(const std::string& stop = "hooks/stop.sh") {
  return "version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: /srv/web\nhooks:\n"
         "  ApplicationStop:\n    - location: " + stop + "\n"
         "  BeforeInstall:\n    - location: hooks/before.sh\n"
         "  ValidateService:\n    - location: hooks/validate.sh\n";
}

// One process's deployment setting: real definitions and a real store (behind FaultyStore), fake
// hosts, a fake clock, and a process runner that starts nothing (the fake hosts need none).
struct DeployWorld {
  test::Scratch dir;
  test::FaultyStore store{dir / "store"};
  Resources resources{dir / "home"};
  test::ScriptedProcessRunner runner;
  test::FakeClock clock;
  test::FakeFleet hosts;
  DeployEngine engine{store, resources, runner, clock, hosts.opener()};
  std::string group_id;

  // An application "web", instances web1..webN tagged Env=Prod, group "prod" paced by `config`.
  explicit DeployWorld(int n = 3, const std::string& config = "CodeDeployDefault.OneAtATime") {
    REQUIRE(resources.create_application("web"));
    std::vector<std::string> names;
    for (int i = 1; i <= n; ++i) {
      names.push_back("web" + std::to_string(i));
      REQUIRE(resources.register_instance(names.back(), InstanceTarget{}, "/"));
    }
    REQUIRE(resources.add_tags(names, {Tag{"Env", "Prod"}}));
    DeploymentGroup g;
    g.application = "web";
    g.name = "prod";
    g.deployment_config_name = config;
    g.tag_set = {{TagFilter{"Env", "Prod", TagFilterType::key_and_value}}};
    auto created = resources.create_deployment_group(g);
    REQUIRE(created);
    group_id = created->id;
  }

  // A revision directory with the appspec and its (executable) scripts.
  std::filesystem::path revision(const std::string& name, const std::string& stop = "hooks/stop.sh") {
    auto rel = "revisions/" + name;
    dir.write(rel + "/appspec.yml", appspec(stop));
    dir.write(rel + "/site/index.html", "<h1>" + name + "</h1>");
    for (auto script : {stop, std::string("hooks/before.sh"), std::string("hooks/validate.sh")})
      dir.write(rel + "/" + script, "#!/bin/sh\n", 0755);
    return dir / rel;
  }

  Result<DeploymentOutcome> create(const std::filesystem::path& revision) {
    CreateDeploymentOptions o;
    o.application = "web";
    o.deployment_group = "prod";
    o.revision = revision.string();
    return engine.create(o);
  }
  // Creates and runs; the deployment must at least be created.
  Result<DeploymentOutcome> deploy(const std::filesystem::path& revision) {
    auto created = create(revision);
    if (!created) UNSCOPED_INFO("create: " << created.error().message);
    REQUIRE(created);
    auto ran = engine.run(created->deployment.id);
    if (!ran) UNSCOPED_INFO("run: " << ran.error().message);
    return ran;
  }

  // Where a deployment's revision is unpacked on an instance.
  std::string archive(const std::string& deployment_id) const {
    return "/opt/cdeploy/deployment-root/" + group_id + "/" + deployment_id + "/deployment-archive";
  }
  std::string where(const std::string& key) const { return store.where(key); }

  // The record the store holds (not repaired on the way, unlike DeployEngine::get).
  Json stored(const std::string& key) {
    auto j = store.inner().get_json(key);
    REQUIRE(j);
    REQUIRE(*j);
    return **j;
  }
  InstanceRecord stored_instance(const std::string& id, const std::string& name) {
    auto r = instance_record_from_json(stored("deployments/" + id + "/instances/" + name + ".json"));
    REQUIRE(r);
    return *r;
  }
};

std::vector<std::string> event_statuses(const InstanceRecord& r) {
  std::vector<std::string> out;
  for (auto& e : r.lifecycle_events) out.push_back(e.name + " " + std::string(target_status_name(e.status)));
  return out;
}

const LifecycleEventRecord& event_of(const InstanceRecord& r, const std::string& name) {
  for (auto& e : r.lifecycle_events)
    if (e.name == name) return e;
  FAIL("no event " << name);
  throw;
}

const std::vector<std::string> k_all_succeeded = {
    "ApplicationStop Succeeded", "DownloadBundle Succeeded",   "BeforeInstall Succeeded", "Install Succeeded",
    "AfterInstall Succeeded",    "ApplicationStart Succeeded", "ValidateService Succeeded"};
const std::vector<std::string> k_all_skipped = {
    "ApplicationStop Skipped", "DownloadBundle Skipped",   "BeforeInstall Skipped", "Install Skipped",
    "AfterInstall Skipped",    "ApplicationStart Skipped", "ValidateService Skipped"};
const std::vector<std::string> k_failed_at_before_install = {
    "ApplicationStop Succeeded", "DownloadBundle Succeeded", "BeforeInstall Failed", "Install Skipped",
    "AfterInstall Skipped",      "ApplicationStart Skipped", "ValidateService Skipped"};

// A hook that exits with `code` after printing `line`.
test::FakeHook failing_hook(const std::string& event, int code, const std::string& line) {
  test::FakeHook h;
  h.event = event;
  h.process = test::ScriptedProcess::exits(code);
  h.process.out = {line};
  return h;
}

// A hook that does something as it runs.
test::FakeHook acting_hook(const std::string& event, std::function<void()> action) {
  test::FakeHook h;
  h.event = event;
  h.process.action = [action = std::move(action)](const ProcessSpec&) { action(); };
  return h;
}

// A put fault that fails puts of `pattern` whose record's "status" is `status`.
test::FaultyStore::Fault put_with_status(const std::string& pattern, const std::string& status, int times = -1) {
  test::FaultyStore::Fault f;
  f.op = test::StoreOp::put;
  f.key_pattern = pattern;
  f.times = times;
  f.when = [status](std::string_view data) {
    auto j = parse_json(data, "put");
    return j && j->is_object() && j->contains("status") && (*j)["status"] == status;
  };
  return f;
}

}  // namespace

// ---- the engine's clock ----

TEST_CASE("engine failures: a deployment created and run under a fake clock runs, its times the clock's",
          "[engine-failures][deploy]") {
  // The clock is months away from the machine's: how old a created deployment is must be asked of
  // the engine's clock, or run() takes its own deployment for one whose process never started.
  DeployWorld w;
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  CHECK(out->deployment.status == DeploymentStatus::succeeded);
  CHECK(out->deployment.create_time == "2026-03-01T12:00:00.000Z");
  CHECK(out->deployment.start_time == "2026-03-01T12:00:00.000Z");
  CHECK(out->deployment.complete_time == "2026-03-01T12:00:00.000Z");
  CHECK(w.runner.calls().empty());  // no process: the fake hosts ran the hooks
  for (auto name : {"web1", "web2", "web3"}) {
    auto r = w.stored_instance(out->deployment.id, name);
    CHECK(r.status == TargetStatus::succeeded);
    CHECK(event_statuses(r) == k_all_succeeded);
    CHECK(w.hosts[name].hooks_run() ==
          std::vector<std::string>{"BeforeInstall " + w.archive(out->deployment.id) + "/hooks/before.sh",
                                   "ValidateService " + w.archive(out->deployment.id) + "/hooks/validate.sh"});
  }
}

// ---- pacing, with a hook failing on one instance ----

TEST_CASE("engine failures: OneAtATime, a hook failing on the second of three instances fails the deployment",
          "[engine-failures][deploy]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  w.hosts["web2"].on_hook(failing_hook("BeforeInstall", 3, "boom"));
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  CHECK(d.status == DeploymentStatus::failed);
  REQUIRE(d.error);
  CHECK(d.error->code == "HEALTH_CONSTRAINTS");
  CHECK(d.error->message ==
        "1 of 3 instances failed; CodeDeployDefault.OneAtATime deploys one instance at a time and stops at the first "
        "failure (only a failure on the last instance is forgiven)");
  CHECK(d.overview.succeeded == 1);
  CHECK(d.overview.failed == 1);
  CHECK(d.overview.skipped == 1);
  CHECK(d.instances == std::vector<std::string>{"web1", "web2", "web3"});

  CHECK(event_statuses(w.stored_instance(d.id, "web1")) == k_all_succeeded);
  auto web2 = w.stored_instance(d.id, "web2");
  CHECK(web2.status == TargetStatus::failed);
  CHECK(event_statuses(web2) == k_failed_at_before_install);
  auto& before = event_of(web2, "BeforeInstall");
  REQUIRE(before.diagnostics);
  CHECK(before.diagnostics->error_code == "ScriptFailed");
  CHECK(before.diagnostics->script_name == "hooks/before.sh");
  CHECK(before.diagnostics->message ==
        "Script at specified location: hooks/before.sh run as user fake failed with exit status 3");
  CHECK(before.diagnostics->log_tail == "boom\n");
  auto web3 = w.stored_instance(d.id, "web3");
  CHECK(web3.status == TargetStatus::skipped);
  CHECK(event_statuses(web3) == k_all_skipped);
  CHECK(w.hosts.opened("web3") == 0);  // never reached
  CHECK(w.hosts["web3"].calls().empty());
  CHECK(w.runner.calls().empty());

  // The group is free, and remembers who failed: web2 and web3 (unknown) go first next time.
  auto again = w.create(w.revision("v2"));
  REQUIRE(again);
  CHECK(again->deployment.previous_revision_deployment_id.empty());  // nothing succeeded yet
  auto next = w.engine.run(again->deployment.id);
  REQUIRE(next);
  CHECK(next->deployment.instances == std::vector<std::string>{"web2", "web3", "web1"});
}

TEST_CASE("engine failures: OneAtATime forgives a failure on the last of three instances",
          "[engine-failures][deploy]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  w.hosts["web3"].on_hook(failing_hook("ValidateService", 1, "not healthy"));
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  CHECK(d.status == DeploymentStatus::succeeded);
  CHECK_FALSE(d.error);
  CHECK(d.overview.succeeded == 2);
  CHECK(d.overview.failed == 1);
  CHECK(d.overview.skipped == 0);
  CHECK(w.stored_instance(d.id, "web1").status == TargetStatus::succeeded);
  CHECK(w.stored_instance(d.id, "web2").status == TargetStatus::succeeded);
  auto web3 = w.stored_instance(d.id, "web3");
  CHECK(web3.status == TargetStatus::failed);
  CHECK(event_of(web3, "ValidateService").status == TargetStatus::failed);
  CHECK(event_of(web3, "ValidateService").diagnostics->message ==
        "Script at specified location: hooks/validate.sh run as user fake failed with exit status 1");
  // The instance that failed keeps no pointer to this revision as its last success.
  CHECK(w.hosts["web2"].file("/opt/cdeploy/deployment-root/deployment-instructions/" + w.group_id +
                             "_last_successful_install") == w.archive(d.id) + "\n");
  CHECK_FALSE(w.hosts["web3"].file("/opt/cdeploy/deployment-root/deployment-instructions/" + w.group_id +
                                   "_last_successful_install"));
}

TEST_CASE("engine failures: HalfAtATime of three instances keeps two healthy", "[engine-failures][deploy]") {
  // 50% of 3 is 2 hosts (rounded up): one instance at a time, and one failure may be absorbed only
  // if the other two succeed.
  SECTION("a failure on the first instance leaves the minimum out of reach: the others are skipped") {
    DeployWorld w(3, "CodeDeployDefault.HalfAtATime");
    w.hosts["web1"].on_hook(failing_hook("BeforeInstall", 2, "no"));
    auto out = w.deploy(w.revision("v1"));
    REQUIRE(out);
    auto& d = out->deployment;
    CHECK(d.status == DeploymentStatus::failed);
    REQUIRE(d.error);
    CHECK(d.error->code == "HEALTH_CONSTRAINTS");
    CHECK(d.error->message ==
          "1 of 3 instances failed; CodeDeployDefault.HalfAtATime keeps 2 instances healthy (FLEET_PERCENT 50), "
          "which can no longer be met");
    CHECK(event_statuses(w.stored_instance(d.id, "web1")) == k_failed_at_before_install);
    CHECK(event_statuses(w.stored_instance(d.id, "web2")) == k_all_skipped);
    CHECK(event_statuses(w.stored_instance(d.id, "web3")) == k_all_skipped);
    CHECK(d.overview.failed == 1);
    CHECK(d.overview.skipped == 2);
  }
  SECTION("a failure on the last instance is absorbed: two of three are healthy") {
    DeployWorld w(3, "CodeDeployDefault.HalfAtATime");
    w.hosts["web3"].on_hook(failing_hook("BeforeInstall", 2, "no"));
    auto out = w.deploy(w.revision("v1"));
    REQUIRE(out);
    auto& d = out->deployment;
    CHECK(d.status == DeploymentStatus::succeeded);
    CHECK(event_statuses(w.stored_instance(d.id, "web1")) == k_all_succeeded);
    CHECK(event_statuses(w.stored_instance(d.id, "web2")) == k_all_succeeded);
    CHECK(event_statuses(w.stored_instance(d.id, "web3")) == k_failed_at_before_install);
    CHECK(d.overview.succeeded == 2);
    CHECK(d.overview.failed == 1);
  }
}

TEST_CASE("engine failures: an instance that cannot be reached fails at its first event", "[engine-failures][deploy]") {
  DeployWorld w(3, "CodeDeployDefault.AllAtOnce");
  w.hosts.make_unreachable("web2", "Connection refused");
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  CHECK(d.status == DeploymentStatus::succeeded);  // AllAtOnce needs one success
  auto web2 = w.stored_instance(d.id, "web2");
  CHECK(web2.status == TargetStatus::failed);
  CHECK(event_statuses(web2) == std::vector<std::string>{"ApplicationStop Failed", "DownloadBundle Skipped",
                                                         "BeforeInstall Skipped", "Install Skipped",
                                                         "AfterInstall Skipped", "ApplicationStart Skipped",
                                                         "ValidateService Skipped"});
  CHECK(event_of(web2, "ApplicationStop").diagnostics->message == "instance 'web2': ssh failed: Connection refused");
}

TEST_CASE("engine failures: an instance whose disk refuses a write fails at that step", "[engine-failures][deploy]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  std::string pointer = "/opt/cdeploy/deployment-root/deployment-instructions/" + w.group_id + "_last_successful_install";
  SECTION("the bundle cannot be unpacked: DownloadBundle fails") {
    w.hosts["web2"].fail("unpack_bundle");
    auto out = w.deploy(w.revision("v1"));
    REQUIRE(out);
    auto web2 = w.stored_instance(out->deployment.id, "web2");
    CHECK(event_statuses(web2) == std::vector<std::string>{"ApplicationStop Succeeded", "DownloadBundle Failed",
                                                           "BeforeInstall Skipped", "Install Skipped",
                                                           "AfterInstall Skipped", "ApplicationStart Skipped",
                                                           "ValidateService Skipped"});
    CHECK(event_of(web2, "DownloadBundle").diagnostics->message ==
          "unpack_bundle '" + w.archive(out->deployment.id) + "': injected failure");
    CHECK(w.hosts["web2"].hooks_run().empty());
    CHECK(out->deployment.status == DeploymentStatus::failed);
    CHECK(w.stored_instance(out->deployment.id, "web3").status == TargetStatus::skipped);
  }
  SECTION("the last-successful pointer cannot be written: the instance did not complete") {
    w.hosts["web2"].fail("write_text", pointer);
    auto out = w.deploy(w.revision("v1"));
    REQUIRE(out);
    auto web2 = w.stored_instance(out->deployment.id, "web2");
    CHECK(web2.status == TargetStatus::failed);
    CHECK(event_of(web2, "ValidateService").status == TargetStatus::failed);
    CHECK(event_of(web2, "ValidateService").diagnostics->message ==
          "cannot record the last successful revision: write_text '" + pointer + "': injected failure");
    CHECK_FALSE(w.hosts["web2"].file(pointer));
    CHECK(out->deployment.status == DeploymentStatus::failed);
  }
}

TEST_CASE("engine failures: ApplicationStop runs the scripts of each instance's last successful revision",
          "[engine-failures][deploy]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  auto stop_of = [&](const std::string& host) {
    std::vector<std::string> out;
    for (auto& h : w.hosts[host].hooks_run())
      if (h.starts_with("ApplicationStop ")) out.push_back(h.substr(16));
    return out;
  };
  // 1. v1 everywhere: nothing to stop yet.
  auto v1 = w.deploy(w.revision("v1", "hooks/stop-v1.sh"));
  REQUIRE(v1);
  REQUIRE(v1->deployment.status == DeploymentStatus::succeeded);
  for (auto host : {"web1", "web2", "web3"}) {
    CHECK(stop_of(host).empty());
    CHECK(event_of(w.stored_instance(v1->deployment.id, host), "ApplicationStop").diagnostics->message ==
          "Skipped scripts: no previous successful revision on this instance");
  }
  // 2. v2 fails on web2 (web3 is then skipped): web1 now runs v2, web2 and web3 still v1.
  w.hosts["web2"].on_hook([] {
    auto h = failing_hook("BeforeInstall", 1, "v2 does not install here");
    h.times = 1;
    return h;
  }());
  auto v2 = w.deploy(w.revision("v2", "hooks/stop-v2.sh"));
  REQUIRE(v2);
  REQUIRE(v2->deployment.status == DeploymentStatus::failed);
  for (auto host : {"web1", "web2"}) CHECK(stop_of(host) == std::vector<std::string>{w.archive(v1->deployment.id) + "/hooks/stop-v1.sh"});
  CHECK(stop_of("web3").empty());  // skipped: never reached
  // 3. v3: each instance stops what its own last success started.
  auto v3 = w.deploy(w.revision("v3", "hooks/stop-v3.sh"));
  REQUIRE(v3);
  CHECK(v3->deployment.status == DeploymentStatus::succeeded);
  CHECK(v3->deployment.instances == std::vector<std::string>{"web2", "web1", "web3"});
  CHECK(stop_of("web1") == std::vector<std::string>{w.archive(v1->deployment.id) + "/hooks/stop-v1.sh",
                                                    w.archive(v2->deployment.id) + "/hooks/stop-v2.sh"});
  CHECK(stop_of("web2") == std::vector<std::string>{w.archive(v1->deployment.id) + "/hooks/stop-v1.sh",
                                                    w.archive(v1->deployment.id) + "/hooks/stop-v1.sh"});
  CHECK(stop_of("web3") == std::vector<std::string>{w.archive(v1->deployment.id) + "/hooks/stop-v1.sh"});
}

// ---- store writes that fail mid-deployment ----

TEST_CASE("engine failures: instance record saves that fail while hooks run are reported, and made good at the end",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  std::string web2_key_pattern = "deployments/*/instances/web2.json";
  SECTION("the save as web2 starts fails once") {
    w.store.fail_puts(web2_key_pattern, 1, 1);
  }
  SECTION("the save of web2's end fails once") {
    w.store.add_fault(put_with_status(web2_key_pattern, "Succeeded", 1));
  }
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  CHECK(w.store.failures() == 1);
  // Not a dropped error: the deployment ran to its end and says what could not be recorded.
  CHECK(d.status == DeploymentStatus::succeeded);
  std::string web2_key = "deployments/" + d.id + "/instances/web2.json";
  CHECK(d.status_messages == std::vector<std::string>{"Some progress of this deployment could not be recorded as it "
                                                      "happened: cannot write '" + w.where(web2_key) + "': disk full"});
  auto stored = deployment_from_json(w.stored("deployments/" + d.id + "/deployment.json"));
  REQUIRE(stored);
  CHECK(stored->status == DeploymentStatus::succeeded);
  CHECK(stored->status_messages == d.status_messages);
  // Every instance's record says how it ended.
  for (auto host : {"web1", "web2", "web3"}) {
    INFO(host);
    auto r = w.stored_instance(d.id, host);
    CHECK(r.status == TargetStatus::succeeded);
    CHECK(event_statuses(r) == k_all_succeeded);
  }
}

TEST_CASE("engine failures: instance record saves that fail from a hook on, to the end of the run, are reported",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  // The disk fills up while web2's BeforeInstall runs, and has room again only after the run.
  w.hosts["web2"].on_hook(acting_hook("BeforeInstall", [&] { w.store.fail_puts("deployments/*/instances/web2.json"); }));
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  w.store.heal();
  CHECK(w.store.failures() >= 2);  // web2's end, and its second chance at the end of the run
  CHECK(d.status == DeploymentStatus::succeeded);
  std::string web2_key = "deployments/" + d.id + "/instances/web2.json";
  CHECK(d.status_messages == std::vector<std::string>{"Some progress of this deployment could not be recorded as it "
                                                      "happened: cannot write '" + w.where(web2_key) + "': disk full"});
  auto stored = deployment_from_json(w.stored("deployments/" + d.id + "/deployment.json"));
  REQUIRE(stored);
  CHECK(stored->status == DeploymentStatus::succeeded);
  CHECK(stored->status_messages == d.status_messages);
  CHECK(stored->overview.succeeded == 3);
  // web2's record stays as it was last saved (as it started), which the message above accounts for.
  auto web2 = w.stored_instance(d.id, "web2");
  CHECK(web2.status == TargetStatus::in_progress);
  CHECK(event_of(web2, "BeforeInstall").status == TargetStatus::pending);
  CHECK(w.stored_instance(d.id, "web1").status == TargetStatus::succeeded);
  CHECK(w.stored_instance(d.id, "web3").status == TargetStatus::succeeded);
}

TEST_CASE("engine failures: deployment record saves that fail during the run are reported in the final record",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  // The save that starts the run passes; the ones made as it goes (order, overview) fail.
  auto fault = put_with_status("deployments/*/deployment.json", "InProgress");
  fault.skip = 1;
  w.store.add_fault(fault);
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  REQUIRE(w.store.failures() >= 1);
  CHECK(d.status == DeploymentStatus::succeeded);
  std::string key = "deployments/" + d.id + "/deployment.json";
  CHECK(d.status_messages == std::vector<std::string>{"Some progress of this deployment could not be recorded as it "
                                                      "happened: cannot write '" + w.where(key) + "': disk full"});
  auto stored = deployment_from_json(w.stored(key));
  REQUIRE(stored);
  CHECK(stored->status == DeploymentStatus::succeeded);
  CHECK(stored->status_messages == d.status_messages);
  CHECK(stored->instances == std::vector<std::string>{"web1", "web2", "web3"});
  CHECK(stored->overview.succeeded == 3);
}

TEST_CASE("engine failures: the final deployment record save fails: run() says so, and the next look repairs it",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  w.store.add_fault(put_with_status("deployments/*/deployment.json", "Succeeded"));
  auto created = w.create(w.revision("v1"));
  REQUIRE(created);
  auto id = created->deployment.id;
  std::string key = "deployments/" + id + "/deployment.json";
  auto out = w.engine.run(id);
  // 1. The error is not dropped: run() returns it.
  REQUIRE_FALSE(out);
  CHECK(out.error().kind == ErrorKind::io);
  CHECK(out.error().message == "cannot write '" + w.where(key) + "': disk full");
  // The store still says InProgress (the last save that passed); every instance succeeded.
  auto stale = deployment_from_json(w.stored(key));
  REQUIRE(stale);
  CHECK(stale->status == DeploymentStatus::in_progress);
  for (auto host : {"web1", "web2", "web3"}) CHECK(w.stored_instance(id, host).status == TargetStatus::succeeded);

  // 2. The disk has room again. The deployment's run has ended, though its process (this one)
  // lives on: the next look repairs it and frees the group.
  w.store.heal();
  SECTION("by a repair") {
    REQUIRE(w.engine.repair_group("web", "prod"));
  }
  SECTION("by a look at the deployment") {
    auto seen = w.engine.get(id);
    REQUIRE(seen);
    CHECK(seen->status == DeploymentStatus::failed);
  }
  auto repaired = deployment_from_json(w.stored(key));
  REQUIRE(repaired);
  CHECK(repaired->status == DeploymentStatus::failed);
  REQUIRE(repaired->error);
  CHECK(repaired->error->code == "INTERNAL_ERROR");
  CHECK(repaired->error->message ==
        fmt::format("the run of this deployment in this process (pid {} on {}) ended without recording how it "
                    "ended; the instances it was working on are marked Failed",
                    ::getpid(), host_name()));
  CHECK(repaired->overview.succeeded == 3);
  auto next = w.deploy(w.revision("v2"));
  REQUIRE(next);
  CHECK(next->deployment.status == DeploymentStatus::succeeded);
}

TEST_CASE("engine failures: the group's release fails at the end: run() says so, and the next deployment runs",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  test::FaultyStore::Fault release;
  release.op = test::StoreOp::put;
  release.key_pattern = "deployment-groups/*/state.json";
  release.when = [](std::string_view data) {
    auto j = parse_json(data, "put");
    return j && (*j)["activeDeploymentId"] == "";
  };
  release.times = 1;
  w.store.add_fault(release);
  auto created = w.create(w.revision("v1"));
  REQUIRE(created);
  auto out = w.engine.run(created->deployment.id);
  REQUIRE_FALSE(out);
  CHECK(out.error().kind == ErrorKind::io);
  CHECK(out.error().message ==
        "cannot write '" + w.where("deployment-groups/" + w.group_id + "/state.json") + "': disk full");
  // The record was saved before: the deployment is over, and says so.
  auto record = w.engine.get(created->deployment.id);
  REQUIRE(record);
  CHECK(record->status == DeploymentStatus::succeeded);
  // The group still names it as active, which the next deployment sees is over.
  auto next = w.deploy(w.revision("v2"));
  REQUIRE(next);
  CHECK(next->deployment.status == DeploymentStatus::succeeded);
}

TEST_CASE("engine failures: the save that starts a deployment fails: run() says so and it can run later",
          "[engine-failures][deploy][store]") {
  DeployWorld w(3, "CodeDeployDefault.OneAtATime");
  w.store.add_fault(put_with_status("deployments/*/deployment.json", "InProgress", 1));
  auto created = w.create(w.revision("v1"));
  REQUIRE(created);
  auto id = created->deployment.id;
  auto out = w.engine.run(id);
  REQUIRE_FALSE(out);
  CHECK(out.error().kind == ErrorKind::io);
  CHECK(out.error().message == "cannot write '" + w.where("deployments/" + id + "/deployment.json") + "': disk full");
  // Nothing ran: no host was opened, the record is still Created and holds the group.
  CHECK(w.hosts.opened("web1") == 0);
  auto record = w.engine.get(id);
  REQUIRE(record);
  CHECK(record->status == DeploymentStatus::created);
  auto blocked = w.create(w.revision("v2"));
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().kind == ErrorKind::conflict);
  // Run again once the store takes writes: it runs.
  auto again = w.engine.run(id);
  REQUIRE(again);
  CHECK(again->deployment.status == DeploymentStatus::succeeded);
}

// ---- a clock that jumps, in a deployment ----

TEST_CASE("engine failures: a created deployment that never runs holds its group for a minute of the engine's clock, "
          "whichever way the clock jumps",
          "[engine-failures][deploy][clock]") {
  DeployWorld w(1);
  auto first = w.create(w.revision("v1"));  // and never run (a --no-wait whose process never started)
  REQUIRE(first);
  auto id = first->deployment.id;
  // Within the minute, the group is taken.
  w.clock.advance(30s);
  auto taken = w.create(w.revision("v2"));
  REQUIRE_FALSE(taken);
  CHECK(taken.error().kind == ErrorKind::conflict);
  // Past it, by a clock that jumped forward or back by two hours, it is repaired.
  SECTION("forward") { w.clock.advance(2h); }
  SECTION("backward") { w.clock.advance(-2h); }
  auto next = w.create(w.revision("v2"));
  REQUIRE(next);
  auto repaired = w.engine.get(id);
  REQUIRE(repaired);
  CHECK(repaired->status == DeploymentStatus::failed);
  CHECK(repaired->error->message == "the process that was to run this deployment never started it");
  auto ran = w.engine.run(next->deployment.id);
  REQUIRE(ran);
  CHECK(ran->deployment.status == DeploymentStatus::succeeded);
}

TEST_CASE("engine failures: a clock that jumps during a deployment: times as the clock said", "[engine-failures][deploy][clock]") {
  DeployWorld w(2, "CodeDeployDefault.OneAtATime");
  // web1's BeforeInstall takes the clock back an hour; web2's ValidateService forward three.
  w.hosts["web1"].on_hook(acting_hook("BeforeInstall", [&] { w.clock.advance(-1h); }));
  w.hosts["web2"].on_hook(acting_hook("ValidateService", [&] { w.clock.advance(3h); }));
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto& d = out->deployment;
  CHECK(d.status == DeploymentStatus::succeeded);
  CHECK(d.create_time == "2026-03-01T12:00:00.000Z");
  CHECK(d.start_time == "2026-03-01T12:00:00.000Z");
  CHECK(d.complete_time == "2026-03-01T14:00:00.000Z");
  auto web1 = w.stored_instance(d.id, "web1");
  CHECK(event_of(web1, "ApplicationStop").start_time == "2026-03-01T12:00:00.000Z");
  CHECK(event_of(web1, "BeforeInstall").start_time == "2026-03-01T12:00:00.000Z");
  CHECK(event_of(web1, "BeforeInstall").end_time == "2026-03-01T11:00:00.000Z");
  CHECK(event_of(web1, "ValidateService").end_time == "2026-03-01T11:00:00.000Z");
  auto web2 = w.stored_instance(d.id, "web2");
  CHECK(event_of(web2, "ValidateService").start_time == "2026-03-01T11:00:00.000Z");
  CHECK(event_of(web2, "ValidateService").end_time == "2026-03-01T14:00:00.000Z");
  CHECK(web2.last_updated_at == "2026-03-01T14:00:00.000Z");
  CHECK(event_statuses(web1) == k_all_succeeded);
  CHECK(event_statuses(web2) == k_all_succeeded);
}

// ---- builds ----

namespace {

// One build setting: a real store behind FaultyStore, a fake clock, and a process runner that
// answers the commands (a version 0.1 buildspec runs each command through it, in a fresh shell).
struct BuildWorld {
  test::Scratch dir;
  test::FaultyStore store{dir / "store"};
  test::ScriptedProcessRunner runner;
  test::FakeClock clock;
  BuildEngine engine{store, dir / "home", runner, clock};

  BuildWorld() {
    dir.write("src/buildspec.yml",
              "version: 0.1\nphases:\n  install:\n    commands:\n      - ./install.sh\n"
              "  build:\n    commands:\n      - make all\n");
  }
  // `own_dir`: the artifact directory is a folder of its own (-a); else the build's folder in the store.
  BuildOptions options(bool own_dir = true) const {
    BuildOptions o;
    o.source_dir = dir / "src";
    if (own_dir) o.artifacts_dir = dir / "out";
    o.project = "app";
    return o;
  }
  Json stored(const std::string& id) {
    auto j = store.inner().get_json(build_record_key(id));
    REQUIRE(j);
    REQUIRE(*j);
    return **j;
  }
  static Json in_directory(const std::filesystem::path& dir) {
    return unwrap(parse_json(unwrap(read_file(dir / "build.json")), "build.json"));
  }
};

// A fault failing puts of build records whose current phase is one of `phases`.
test::FaultyStore::Fault record_put_in(std::vector<std::string> phases) {
  test::FaultyStore::Fault f;
  f.op = test::StoreOp::put;
  f.key_pattern = "builds/*/build.json";
  f.when = [phases](std::string_view data) {
    auto j = parse_json(data, "put");
    return j && std::find(phases.begin(), phases.end(), (*j)["currentPhase"]) != phases.end();
  };
  return f;
}

std::vector<std::string> phase_names(const Json& record) {
  std::vector<std::string> out;
  for (auto& p : record["phases"]) out.push_back(p["phaseType"].get<std::string>() + " " + p.value("phaseStatus", "-"));
  return out;
}

const std::vector<std::string> k_build_phases = {
    "SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED", "DOWNLOAD_SOURCE SUCCEEDED",
    "INSTALL SUCCEEDED",   "PRE_BUILD SUCCEEDED", "BUILD SUCCEEDED",   "POST_BUILD SUCCEEDED",
    "UPLOAD_ARTIFACTS SUCCEEDED", "FINALIZING SUCCEEDED", "COMPLETED -"};

}  // namespace

TEST_CASE("engine failures: the build record's save fails in one phase: the build goes on, and its end is recorded",
          "[engine-failures][build][store]") {
  BuildWorld w;
  w.store.add_fault(record_put_in({"BUILD"}));
  auto out = w.engine.run(w.options());
  REQUIRE(out);
  CHECK(out->record.status == BuildStatus::succeeded);
  CHECK(w.store.failures() == 1);
  CHECK(w.runner.commands().size() == 2);
  auto key = build_record_key(out->record.id);
  // The log says what could not be saved.
  auto log = unwrap(read_file(w.dir / "out/build.log"));
  CHECK(test::contains(log, "Warning: cannot save the build record: cannot write '" + w.store.where(key) + "': disk full\n"));
  // Both copies say how it ended.
  for (auto& j : {w.stored(out->record.id), BuildWorld::in_directory(w.dir / "out")}) {
    CHECK(j["buildStatus"] == "SUCCEEDED");
    CHECK(j["buildComplete"] == true);
    CHECK(phase_names(j) == k_build_phases);
  }
}

TEST_CASE("engine failures: the build record's saves fail from BUILD to the end: the artifact directory says how it "
          "ended, and the next look takes the store's copy from it",
          "[engine-failures][build][store]") {
  BuildWorld w;
  w.store.add_fault(record_put_in({"BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"}));
  auto out = w.engine.run(w.options());
  REQUIRE(out);
  auto id = out->record.id;
  CHECK(out->record.status == BuildStatus::succeeded);
  CHECK(exit_code_for(out->record.status) == 0);
  // 1. The artifact directory has the build's end; the store's copy stopped at PRE_BUILD.
  auto here = BuildWorld::in_directory(w.dir / "out");
  CHECK(here["buildStatus"] == "SUCCEEDED");
  CHECK(here["buildComplete"] == true);
  auto stale = w.stored(id);
  CHECK(stale["buildStatus"] == "IN_PROGRESS");
  CHECK(stale["currentPhase"] == "PRE_BUILD");
  // 2. The disk has room again. The build is over though this process lives on: the next look
  // takes the record from the artifact directory, and saves it in the store.
  w.store.heal();
  auto seen = get_builds(w.store, {id});
  REQUIRE(seen);
  REQUIRE(seen->size() == 1);
  CHECK(seen->front().status == BuildStatus::succeeded);
  CHECK(seen->front().build_complete);
  CHECK(w.stored(id) == here);
}

TEST_CASE("engine failures: the build record's last save fails, the artifact directory being the store's folder",
          "[engine-failures][build][store]") {
  BuildWorld w;
  w.store.add_fault(record_put_in({"COMPLETED"}));
  auto out = w.engine.run(w.options(false));
  REQUIRE(out);
  CHECK(out->record.status == BuildStatus::succeeded);
  CHECK(w.store.failures() == 1);
  // The build's folder gets its record all the same (the local store keeps it there too).
  auto folder = std::filesystem::path(out->record.artifacts_dir);
  CHECK(folder == *w.store.local_path("builds/app/" + out->record.id.substr(4)));
  auto here = BuildWorld::in_directory(folder);
  CHECK(here["buildStatus"] == "SUCCEEDED");
  CHECK(here["buildComplete"] == true);
  auto seen = get_builds(w.store, {out->record.id});
  REQUIRE(seen);
  CHECK(seen->front().status == BuildStatus::succeeded);
}

TEST_CASE("engine failures: a clock that jumps during a build: durations never negative, times as the clock said",
          "[engine-failures][build][clock]") {
  BuildWorld w;
  // INSTALL takes the clock back two hours; BUILD forward three (past the build's 60 minutes).
  test::ScriptedProcess install;
  install.action = [&](const ProcessSpec&) { w.clock.advance(-2h); };
  w.runner.on("*./install.sh", install);
  test::ScriptedProcess make;
  make.action = [&](const ProcessSpec&) { w.clock.advance(3h); };
  make.out = {"built"};
  w.runner.on("*make all", make);
  auto options = w.options();
  auto out = w.engine.run(options);
  REQUIRE(out);
  CHECK(w.runner.commands().size() == 2);
  // The timeout runs on a monotonic clock: three hours of wall clock are not an hour of build.
  CHECK(out->record.status == BuildStatus::succeeded);
  for (auto& j : {w.stored(out->record.id), BuildWorld::in_directory(w.dir / "out")}) {
    CHECK(phase_names(j) == k_build_phases);
    CHECK(j["startTime"] == "2026-03-01T12:00:00.000Z");
    CHECK(j["endTime"] == "2026-03-01T13:00:00.000Z");
    for (auto& p : j["phases"]) {
      INFO(p.dump());
      if (!p.contains("endTime")) continue;
      CHECK(p["durationInSeconds"].get<int64_t>() >= 0);
      CHECK(p["durationInMilliseconds"].get<int64_t>() >= 0);
    }
    auto phase = [&](const std::string& name) {
      for (auto& p : j["phases"])
        if (p["phaseType"] == name) return p;
      FAIL("no phase " << name);
      return Json();
    };
    // INSTALL ended two hours before it began, as the clock said; it lasted no time, not -7200 s.
    CHECK(phase("INSTALL")["startTime"] == "2026-03-01T12:00:00.000Z");
    CHECK(phase("INSTALL")["endTime"] == "2026-03-01T10:00:00.000Z");
    CHECK(phase("INSTALL")["durationInSeconds"] == 0);
    CHECK(phase("BUILD")["startTime"] == "2026-03-01T10:00:00.000Z");
    CHECK(phase("BUILD")["endTime"] == "2026-03-01T13:00:00.000Z");
    CHECK(phase("BUILD")["durationInSeconds"] == 10800);
    CHECK(phase("BUILD")["durationInMilliseconds"] == 10800000);
  }
  auto log = unwrap(read_file(w.dir / "out/build.log"));
  CHECK(test::contains(log, "[Container] 2026/03/01 10:00:00.000 Entering phase BUILD\n"));
}

// ---- corrupt records ----

TEST_CASE("engine failures: a corrupt build record in the store is an error naming its file", "[engine-failures][build][records]") {
  BuildWorld w;
  auto out = w.engine.run(w.options());
  REQUIRE(out);
  auto id = out->record.id;
  auto key = build_record_key(id);
  auto path = *w.store.local_path(key);
  auto text = unwrap(read_file(path));
  SECTION("truncated") {
    REQUIRE(write_file_atomic(path, text.substr(0, text.size() / 2), {.sync = false}));
    auto got = get_builds(w.store, {id});
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == ErrorKind::invalid);
    CHECK(got.error().message.starts_with("cannot parse '" + path.string() + "': parse error at line "));
  }
  SECTION("a field of the wrong type") {
    auto j = unwrap(parse_json(text, "build.json"));
    j["phases"] = "BUILD";
    REQUIRE(write_file_atomic(path, to_json_text(j), {.sync = false}));
    auto got = get_builds(w.store, {id});
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == ErrorKind::invalid);
    CHECK(got.error().message == "'" + path.string() + "': build record: field 'phases' is a string, not an array");
  }
  SECTION("a start time of the wrong type: list_builds does not throw") {
    auto j = unwrap(parse_json(text, "build.json"));
    j["startTime"] = 5;
    REQUIRE(write_file_atomic(path, to_json_text(j), {.sync = false}));
    auto got = get_builds(w.store, {id});
    REQUIRE_FALSE(got);
    CHECK(got.error().message == "'" + path.string() + "': build record: field 'startTime' is a number, not a string");
    auto listed = list_builds(w.store, "app");
    REQUIRE(listed);
    CHECK(*listed == std::vector<std::string>{id});
  }
  SECTION("truncated: still listed, last") {
    auto second = w.engine.run(w.options());
    REQUIRE(second);
    REQUIRE(write_file_atomic(path, text.substr(0, text.size() / 2), {.sync = false}));
    auto listed = list_builds(w.store, "app");
    REQUIRE(listed);
    CHECK(*listed == std::vector<std::string>{second->record.id, id});
  }
}

TEST_CASE("engine failures: a corrupt deployment record in the store is an error naming its file",
          "[engine-failures][deploy][records]") {
  DeployWorld w(1);
  auto out = w.deploy(w.revision("v1"));
  REQUIRE(out);
  auto id = out->deployment.id;
  auto path = *w.store.local_path("deployments/" + id + "/deployment.json");
  auto text = unwrap(read_file(path));
  SECTION("truncated") {
    REQUIRE(write_file_atomic(path, text.substr(0, text.size() / 2), {.sync = false}));
    auto got = w.engine.get(id);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == ErrorKind::invalid);
    CHECK(got.error().message.starts_with("cannot parse '" + path.string() + "': parse error at line "));
    // A listing filters by application and group, which only the record says: it cannot skip it.
    auto listed = w.engine.list("web", "prod");
    REQUIRE_FALSE(listed);
    CHECK(listed.error().message == got.error().message);
  }
  SECTION("a field of the wrong type") {
    auto j = unwrap(parse_json(text, "deployment.json"));
    j["targetInstances"] = "web1";
    REQUIRE(write_file_atomic(path, to_json_text(j), {.sync = false}));
    auto got = w.engine.get(id);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == ErrorKind::invalid);
    CHECK(got.error().message ==
          "'" + path.string() + "': deployment record: field 'targetInstances' is a string, not an array");
    auto instances = w.engine.instances(id);
    REQUIRE_FALSE(instances);
    CHECK(instances.error().message == got.error().message);
    auto listed = w.engine.list("web", "prod");
    REQUIRE_FALSE(listed);
    CHECK(listed.error().message == got.error().message);
  }
  // The group is not held by a record nobody can read: the next deployment runs.
  auto next = w.deploy(w.revision("v2"));
  REQUIRE(next);
  CHECK(next->deployment.status == DeploymentStatus::succeeded);
}

// Real deployments to real directories: files, hooks, records, logs, rollback, crashes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>

#include <future>

#include "cli/cdeploy_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;

TEST_CASE("cdeploy: a revision goes onto every instance, hooks run with the documented environment", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(3);
  auto rev = f.revision("v1", k_appspec, site("v1"));
  auto r = f.deploy(rev);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string id = deployment_id_of(r);
  auto d = f.deployment(id);
  CHECK(d["status"] == "Succeeded");
  CHECK(d["creator"] == "user");
  CHECK(d["deploymentOverview"]["Succeeded"] == 3);
  CHECK(d["revision"]["location"] == rev.string());
  for (auto name : {"web1", "web2", "web3"}) {
    auto root = f.host(name);
    CHECK(unwrap(read_file(root / "srv/web/index.html")) == "<h1>v1</h1>");
    CHECK(unwrap(read_file(root / "srv/web/css/style.css")) == "body{}");
    CHECK(unwrap(read_file(root / "etc/web/app.conf")) == "version=v1");
    auto inst = f.instance(id, name);
    CHECK(inst["status"] == "Succeeded");
    for (auto& e : inst["lifecycleEvents"]) CHECK(e["status"] == "Succeeded");
    CHECK(inst["lifecycleEvents"].size() == 7);
    CHECK(inst["lifecycleEvents"][0]["lifecycleEventName"] == "ApplicationStop");
    CHECK(contains(CdeployFixture::event(inst, "ApplicationStop")["diagnostics"]["message"], "no previous successful revision"));
  }
  // The script log: timestamped, every event, the hook's view of its environment.
  auto group_id = f.json({"get-deployment-group", "--application-name", "web", "--deployment-group-name", "prod"})
                      ["deploymentGroupInfo"]["deploymentGroupId"].get<std::string>();
  auto dir = f.host("web1") / "opt/cdeploy/deployment-root" / group_id / id;
  auto log = unwrap(read_file(dir / "logs/scripts.log"));
  CHECK(contains(log, "] [stdout]LifecycleEvent - BeforeInstall\n"));
  CHECK(contains(log, "] [stdout]BeforeInstall " + id + " web prod " + group_id + "\n"));
  CHECK(contains(log, "] [stdout]start v1\n"));
  CHECK(log.starts_with("[20"));
  CHECK(unwrap(read_file(f.host("web1") / "opt/cdeploy/deployment-root/deployment-instructions" /
                         (group_id + "_last_successful_install"))) == (dir / "deployment-archive").string() + "\n");
}

TEST_CASE("cdeploy: ApplicationStop runs the last successful revision's scripts, and the old files are cleaned up", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  auto v1 = site("v1");
  v1.push_back({"site/old-only.html", "gone in v2"});
  REQUIRE(f.deploy(f.revision("v1", k_appspec, v1)).exit_code == 0);
  CHECK(std::filesystem::exists(f.host("web1") / "srv/web/old-only.html"));
  auto r = f.deploy(f.revision("v2", k_appspec, site("v2")));
  REQUIRE(r.exit_code == 0);
  // v1's stop script ran (not v2's), and the file only v1 had is gone.
  CHECK(unwrap(read_file(f.host("web1") / "hooks.log")) == "stop v1\n");
  CHECK_FALSE(std::filesystem::exists(f.host("web1") / "srv/web/old-only.html"));
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v2</h1>");
}

TEST_CASE("cdeploy: file_exists_behavior for files the previous deployment did not install", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  unwrap(write_file_atomic(f.host("web1") / "srv/web/index.html", "hand-made"));
  auto rev = f.revision("v1", k_appspec, site("v1"));
  SECTION("DISALLOW (the default) fails Install, naming the file") {
    auto r = f.deploy(rev);
    CHECK(r.exit_code == 1);
    auto inst = f.instance(f.latest_id(), "web1");
    auto install = CdeployFixture::event(inst, "Install");
    CHECK(install["status"] == "Failed");
    CHECK(contains(install["diagnostics"]["message"], "a file already exists at " +
                                                          (f.host("web1") / "srv/web/index.html").string()));
    CHECK(CdeployFixture::event_status(inst, "ApplicationStart") == "Skipped");
    CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "hand-made");
    CHECK_FALSE(std::filesystem::exists(f.host("web1") / "srv/web/css/style.css"));  // nothing half-installed
  }
  SECTION("OVERWRITE replaces it") {
    REQUIRE(f.deploy(rev, {"--file-exists-behavior", "OVERWRITE"}).exit_code == 0);
    CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v1</h1>");
  }
  SECTION("RETAIN keeps it") {
    REQUIRE(f.deploy(rev, {"--file-exists-behavior", "RETAIN"}).exit_code == 0);
    CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "hand-made");
    CHECK(unwrap(read_file(f.host("web1") / "srv/web/css/style.css")) == "body{}");
  }
}

TEST_CASE("cdeploy: permissions set mode and owner on what was installed", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  bool root = ::geteuid() == 0;
  std::string owner = root ? "nobody" : ::getpwuid(::geteuid())->pw_name;
  std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    pattern: "**"
    except: [css/style.css]
    owner: )YML" + owner + R"YML(
    mode: "640"
    type: [file]
)YML";
  REQUIRE(f.deploy(f.revision("v1", appspec, site("v1"))).exit_code == 0);
  struct stat st {};
  REQUIRE(::stat((f.host("web1") / "srv/web/index.html").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == ::getpwnam(owner.c_str())->pw_uid);
  REQUIRE(::stat((f.host("web1") / "srv/web/css/style.css").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);  // excepted
}

TEST_CASE("cdeploy: hook failures are diagnosed: failed, missing, not executable, timed out", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  SECTION("a failing script: ScriptFailed with its output's tail") {
    auto r = f.deploy(f.revision("v1", k_appspec, site("v1", "echo 'health check: 503'; exit 4")));
    CHECK(r.exit_code == 1);
    auto d = f.deployment(f.latest_id());
    CHECK(d["status"] == "Failed");
    CHECK(d["errorInformation"]["code"] == "HEALTH_CONSTRAINTS");
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "ValidateService");
    CHECK(e["status"] == "Failed");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptFailed");
    CHECK(e["diagnostics"]["scriptName"] == "hooks/validate.sh");
    CHECK(contains(e["diagnostics"]["message"], "failed with exit status 4"));
    CHECK(contains(e["diagnostics"]["logTail"], "health check: 503\n"));
  }
  SECTION("a missing script: ScriptMissing") {
    auto files = site("v1");
    files.erase(std::remove_if(files.begin(), files.end(), [](auto& p) { return p.first == "hooks/start.sh"; }), files.end());
    CHECK(f.deploy(f.revision("v1", k_appspec, files)).exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptMissing");
  }
  SECTION("a script that is not executable: ScriptNotExecutable") {
    auto rev = f.revision("v1", k_appspec, site("v1"));
    std::filesystem::permissions(rev / "hooks/start.sh", std::filesystem::perms(0644));
    CHECK(f.deploy(rev).exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptNotExecutable");
  }
  SECTION("a script over its timeout: ScriptTimedOut, and its whole process group is gone") {
    std::string appspec = R"YML(version: 0.0
os: linux
hooks:
  ApplicationStart:
    - location: hooks/hang.sh
      timeout: 1
)YML";
    auto pidfile = f.scratch / "child.pid";
    auto r = f.deploy(f.revision("v1", appspec, {{"hooks/hang.sh", "#!/bin/sh\nsleep 60 &\necho $! > " + pidfile.string() + "\nwait\n"}}));
    CHECK(r.exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptTimedOut");
    CHECK(e["diagnostics"]["message"] == "Script at specified location: hooks/hang.sh failed to complete in 1 seconds");
    pid_t child = std::stoi(unwrap(read_file(pidfile)));
    CHECK(wait_gone(child));
  }
}

TEST_CASE("cdeploy: a hook that leaves a daemon holding its output does not hang the deployment", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: hooks/daemon.sh\n";
  auto pidfile = f.scratch / "daemon.pid";
  auto r = f.deploy(f.revision(
      "v1", appspec,
      {{"hooks/daemon.sh", "#!/bin/sh\n(sleep 60; echo late) &\necho $! > " + pidfile.string() + "\necho daemon started\n"}}));
  CHECK(r.exit_code == 0);
  // The deployment did not wait for the daemon's output to close: the daemon lives on, and the
  // hook's log has only what the hook wrote.
  auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "ApplicationStart");
  CHECK(e["diagnostics"]["logTail"] == "daemon started\n");
  pid_t daemon = std::stoi(unwrap(read_file(pidfile)));
  CHECK(alive(daemon));
  ::kill(daemon, SIGKILL);
}

TEST_CASE("cdeploy: runas runs a hook as another user (needs root)", "[cdeploy][deploy]") {
  if (::geteuid() != 0) skip("runas needs root");
  if (!::getpwnam("cicd-runas")) {
    auto made = run({"useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "cicd-runas"});
    if (made.exit_code != 0) skip("cannot create the test user");
  }
  CdeployFixture f;
  std::filesystem::permissions(f.scratch.path(), std::filesystem::perms(0755));
  f.fleet(1);
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/who.sh\n      runas: cicd-runas\n";
  auto r = f.deploy(f.revision("v1", appspec, {{"hooks/who.sh", "#!/bin/sh\necho \"ran as $(id -un)\"\n"}}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto e = CdeployFixture::event(f.instance(f.latest_id(), "web1"), "AfterInstall");
  CHECK(e["diagnostics"]["logTail"] == "ran as cicd-runas\n");
}

TEST_CASE("cdeploy: OneAtATime stops at a failure but forgives the last instance", "[cdeploy][fleet]") {
  CdeployFixture f;
  f.fleet(3, "CodeDeployDefault.OneAtATime");
  // Fails only on the instance named in FAIL_ON (the hook sees its root through its own path).
  std::string validate = "case \"$0\" in */hosts/$(cat \"$(dirname \"$0\")/../fail_on\")/*) exit 1;; esac";
  SECTION("a failure before the last instance fails the deployment and skips the rest") {
    auto files = site("v1", validate);
    files.push_back({"fail_on", "web1"});
    auto r = f.deploy(f.revision("v1", k_appspec, files));
    CHECK(r.exit_code == 1);
    auto d = f.deployment(f.latest_id());
    CHECK(d["deploymentOverview"]["Failed"] == 1);
    CHECK(d["deploymentOverview"]["Skipped"] == 2);
  }
  SECTION("a failure on the last instance still succeeds") {
    auto files = site("v1", validate);
    files.push_back({"fail_on", "web3"});
    auto r = f.deploy(f.revision("v1", k_appspec, files));
    CHECK(r.exit_code == 0);
    auto d = f.deployment(f.latest_id());
    CHECK(d["status"] == "Succeeded");
    CHECK(d["deploymentOverview"]["Succeeded"] == 2);
    CHECK(d["deploymentOverview"]["Failed"] == 1);
    // Next time the failed instance goes first.
    REQUIRE(f.deploy(f.revision("v2", k_appspec, site("v2"))).exit_code == 0);
    CHECK(f.deployment(f.latest_id())["targetInstances"][0] == "web3");
  }
}

TEST_CASE("cdeploy: a failed deployment rolls back automatically to the last good revision", "[cdeploy][rollback]") {
  CdeployFixture f;
  f.fleet(2, "CodeDeployDefault.AllAtOnce", "enabled=true,events=DEPLOYMENT_FAILURE");
  REQUIRE(f.deploy(f.revision("v1", k_appspec, site("v1"))).exit_code == 0);
  std::string good = f.latest_id();
  auto r = f.deploy(f.revision("v2", k_appspec, site("v2", "exit 1")), {"--output", "json"});
  CHECK(r.exit_code == 1);  // failed, even though the rollback succeeded
  auto j = unwrap(parse_json(r.out, "create-deployment"));
  auto failed = j["deploymentInfo"];
  auto rollback = j["rollbackDeploymentInfo"];
  CHECK(failed["status"] == "Failed");
  CHECK(rollback["status"] == "Succeeded");
  CHECK(rollback["creator"] == "autoRollback");
  CHECK(failed["rollbackInfo"]["rollbackDeploymentId"] == rollback["deploymentId"]);
  CHECK(rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == failed["deploymentId"]);
  CHECK(f.deployment(failed["deploymentId"])["rollbackInfo"]["rollbackDeploymentId"] == rollback["deploymentId"]);
  for (auto name : {"web1", "web2"})
    CHECK(unwrap(read_file(f.host(name) / "srv/web/index.html")) == "<h1>v1</h1>");
  (void)good;
}

TEST_CASE("cdeploy rollback redeploys the revision before the latest deployment", "[cdeploy][rollback]") {
  CdeployFixture f;
  f.fleet(1);
  REQUIRE(f.deploy(f.revision("v1", k_appspec, site("v1"))).exit_code == 0);
  REQUIRE(f.deploy(f.revision("v2", k_appspec, site("v2"))).exit_code == 0);
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v2</h1>");
  auto r = f.cdeploy({"rollback", "--application-name", "web", "--deployment-group-name", "prod"});
  CHECK(r.exit_code == 0);
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v1</h1>");
}

TEST_CASE("cdeploy: one deployment at a time per group, and kill -9 is repaired by the next command", "[cdeploy][crash]") {
  CdeployFixture f;
  f.fleet(1);
  REQUIRE(f.deploy(f.revision("v1", k_appspec, site("v1"))).exit_code == 0);
  std::string appspec = std::string(k_appspec) + "  AfterInstall:\n    - location: hooks/slow.sh\n";
  auto files = site("v2");
  auto hook_pid = f.scratch / "hook.pid";
  files.push_back({"hooks/slow.sh", "#!/bin/sh\necho $$ > " + hook_pid.string() +
                                        "\ntouch \"$(dirname \"$0\")/../../../../../../../slow.started\"\nsleep 30\n"});
  auto slow = f.revision("slow", appspec, files);
  auto pending = std::async(std::launch::async, [&] { return f.deploy(slow); });
  auto marker = f.host("web1") / "slow.started";
  REQUIRE(wait_until([&] { return std::filesystem::exists(marker); }));
  std::string running = f.latest_id();

  auto second = f.deploy(f.revision("v3", k_appspec, site("v3")));
  CHECK(second.exit_code == 2);
  CHECK(contains(second.err, "deployment " + running + " is already in progress in deployment group 'prod'"));

  auto d = f.deployment(running);
  CHECK(d["status"] == "InProgress");
  CHECK(d["process"]["processGroups"].size() == 1);
  ::kill(d["process"]["pid"].get<int>(), SIGKILL);
  pending.get();
  // The hook does not outlive cdeploy: the run's guard ends it, with no command needed.
  pid_t hook = std::stoi(unwrap(read_file(hook_pid)));
  CHECK(wait_gone(hook));
  // The next command that touches the group says what happened.
  auto listed = f.json({"list-deployments", "--application-name", "web", "--deployment-group-name", "prod"});
  CHECK(listed["deployments"][0] == running);
  auto repaired = f.deployment(running);
  CHECK(repaired["status"] == "Failed");
  CHECK(contains(repaired["errorInformation"]["message"], "ended before it finished"));
  CHECK(f.instance(running, "web1")["status"] == "Failed");
  // ... and the next deployment installs cleanly.
  REQUIRE(f.deploy(f.revision("v3", k_appspec, site("v3"))).exit_code == 0);
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v3</h1>");
}

TEST_CASE("cdeploy: stop-deployment stops it, and a rollback follows when asked", "[cdeploy][stop]") {
  CdeployFixture f;
  f.fleet(1, "CodeDeployDefault.AllAtOnce", "enabled=true,events=DEPLOYMENT_STOP_ON_REQUEST");
  REQUIRE(f.deploy(f.revision("v1", k_appspec, site("v1"))).exit_code == 0);
  std::string appspec = std::string(k_appspec) + "  AfterInstall:\n    - location: hooks/slow.sh\n";
  auto files = site("v2");
  files.push_back({"hooks/slow.sh", "#!/bin/sh\ntouch \"$(dirname \"$0\")/../../../../../../../slow.started\"\nsleep 30\n"});
  auto pending = std::async(std::launch::async, [&] { return f.deploy(f.revision("slow", appspec, files)); });
  auto marker = f.host("web1") / "slow.started";
  REQUIRE(wait_until([&] { return std::filesystem::exists(marker); }));
  std::string running = f.latest_id();
  auto stop = f.cdeploy({"stop-deployment", "--deployment-id", running});
  CHECK(stop.exit_code == 0);
  CHECK(pending.get().exit_code == 4);
  auto d = f.deployment(running);
  CHECK(d["status"] == "Stopped");
  CHECK(d["errorInformation"]["code"] == "MANUAL_STOP");
  REQUIRE(d.contains("rollbackInfo"));
  auto rollback = f.deployment(d["rollbackInfo"]["rollbackDeploymentId"]);
  CHECK(rollback["status"] == "Succeeded");
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v1</h1>");
}

TEST_CASE("cdeploy: revisions as zip, tar.gz, one top-level folder, or a cbuild artifact directory", "[cdeploy][revision]") {
  CdeployFixture f;
  f.fleet(1);
  auto rev = f.revision("v1", k_appspec, site("v1"));
  SECTION("zip") {
    REQUIRE(run({"sh", "-c", "cd " + rev.string() + " && zip -qr ../v1.zip ."}).exit_code == 0);
    CHECK(f.deploy(rev.parent_path() / "v1.zip").exit_code == 0);
  }
  SECTION("tar.gz with the revision inside one folder") {
    REQUIRE(run({"tar", "-czf", (rev.parent_path() / "v1.tar.gz").string(), "-C", rev.parent_path().string(), "v1"}).exit_code == 0);
    CHECK(f.deploy(rev.parent_path() / "v1.tar.gz").exit_code == 0);
  }
  SECTION("a cbuild artifact directory") {
    f.scratch.write("src/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - cp -r " + rev.string() +
                                             " bundle\nartifacts:\n  files: ['**/*']\n  base-directory: bundle\n");
    auto built = run({CICD_CBUILD, "run", "-a", (f.scratch / "out/build").string()}, f.scratch / "src", f.env());
    REQUIRE(built.exit_code == 0);
    CHECK(f.deploy(f.scratch / "out/build").exit_code == 0);
  }
  SECTION("a cbuild artifact directory that was moved after the build") {
    f.scratch.write("src/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - cp -r " + rev.string() +
                                             " bundle\nartifacts:\n  files: ['**/*']\n  base-directory: bundle\n");
    auto built = run({CICD_CBUILD, "run", "-a", (f.scratch / "out/build").string()}, f.scratch / "src", f.env());
    REQUIRE(built.exit_code == 0);
    std::filesystem::rename(f.scratch / "out", f.scratch / "elsewhere");
    CHECK(f.deploy(f.scratch / "elsewhere/build").exit_code == 0);
  }
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v1</h1>");
}

TEST_CASE("cdeploy: an invalid revision is refused before anything is recorded", "[cdeploy][revision]") {
  CdeployFixture f;
  f.fleet(1);
  auto rev = f.revision("bad", "version: 0.0\nos: linux\nhooks:\n  AfterInstal:\n    - location: x.sh\n", {});
  auto r = f.deploy(rev);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "appspec.yml:4:3: error: 'AfterInstal' is not a lifecycle event"));
  CHECK(f.json({"list-deployments"})["deployments"].empty());
  auto none = f.deploy(f.scratch / "nope");
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "does not exist"));
}

TEST_CASE("cdeploy: --no-wait returns the id and the deployment goes on in the background", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(2);
  auto r = f.deploy(f.revision("v1", k_appspec, site("v1")), {"--no-wait"});
  REQUIRE(r.exit_code == 0);
  std::string id(trim(r.out));
  CHECK(id.size() == 11);
  std::string status;
  wait_until([&] {
    status = f.deployment(id)["status"];
    return status == "Succeeded" || status == "Failed";
  });
  CHECK(status == "Succeeded");
  CHECK(unwrap(read_file(f.host("web2") / "srv/web/index.html")) == "<h1>v1</h1>");
}

TEST_CASE("cdeploy: old revisions are retired, never the last successful one", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  for (int i = 1; i <= 7; ++i)
    REQUIRE(f.deploy(f.revision("v" + std::to_string(i), k_appspec, site("v" + std::to_string(i)))).exit_code == 0);
  auto group_id = f.json({"get-deployment-group", "--application-name", "web", "--deployment-group-name", "prod"})
                      ["deploymentGroupInfo"]["deploymentGroupId"].get<std::string>();
  int dirs = 0;
  for (auto& e : std::filesystem::directory_iterator(f.host("web1") / "opt/cdeploy/deployment-root" / group_id)) {
    (void)e;
    ++dirs;
  }
  CHECK(dirs == 5);
  CHECK(std::filesystem::exists(f.host("web1") / "opt/cdeploy/deployment-root" / group_id / f.latest_id()));
}

TEST_CASE("cdeploy: permissions apply ACLs with setfacl", "[cdeploy][deploy]") {
  if (find_program("setfacl").empty() || find_program("getfacl").empty()) skip("setfacl/getfacl are not installed (Debian: acl)");
  CdeployFixture f;
  f.fleet(1);
  std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    pattern: "*.html"
    type: [file]
    acls:
      - "u:nobody:rw-"
)YML";
  REQUIRE(f.deploy(f.revision("v1", appspec, site("v1"))).exit_code == 0);
  auto acl = run({"getfacl", "-c", (f.host("web1") / "srv/web/index.html").string()});
  REQUIRE(acl.exit_code == 0);
  CHECK(contains(acl.out, "user:nobody:rw-"));
  auto css = run({"getfacl", "-c", (f.host("web1") / "srv/web/css/style.css").string()});
  CHECK_FALSE(contains(css.out, "user:nobody"));
}

TEST_CASE("cdeploy: OneAtATime does not forgive the only instance of a group", "[cdeploy][fleet]") {
  CdeployFixture f;
  f.fleet(1, "CodeDeployDefault.OneAtATime");
  CHECK(f.deploy(f.revision("v1", k_appspec, site("v1", "exit 1"))).exit_code == 1);
  CHECK(f.deployment(f.latest_id())["status"] == "Failed");
}

TEST_CASE("cdeploy: empty directories of a revision are installed too", "[cdeploy][revision]") {
  CdeployFixture f;
  f.fleet(1);
  auto rev = f.revision("v1", k_appspec, site("v1"));
  std::filesystem::create_directories(rev / "site/uploads");
  REQUIRE(f.deploy(rev).exit_code == 0);
  CHECK(std::filesystem::is_directory(f.host("web1") / "srv/web/uploads"));
}

TEST_CASE("cdeploy: a destination with '..' is normalized and stays under the instance's --root", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  // Enough '..' to climb from the root prefix up to "/", then down to a place in the scratch directory.
  auto escaped = f.scratch / "escaped";
  std::string climb = "/srv";
  for (int i = 0; i < 40; ++i) climb += "/..";
  std::string appspec = "version: 0.0\nos: linux\nfiles:\n  - source: site/index.html\n    destination: " + climb +
                        escaped.string() + "\npermissions:\n  - object: " + climb + escaped.string() +
                        "\n    mode: \"600\"\n    type: [file]\n";
  auto rev = f.revision("v1", appspec, {{"site/index.html", "<h1>v1</h1>"}});
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(escaped));
  auto landed = f.host("web1") / escaped.relative_path() / "index.html";
  CHECK(unwrap(read_file(landed)) == "<h1>v1</h1>");
  struct stat st {};
  REQUIRE(::stat(landed.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the permission's object is normalized the same way
  // validate says where it really goes.
  auto v = f.cdeploy({"validate", (rev / "appspec.yml").string()});
  CHECK(contains(v.err, "warning: 'destination' in files[0] contains '..': cdeploy normalizes it and installs to '" +
                            escaped.string() + "' (never above an instance's root)"));
}

TEST_CASE("cdeploy: a dangling symlink in a revision is packed as a link", "[cdeploy][revision]") {
  CdeployFixture f;
  f.fleet(1);
  auto rev = f.revision("v1", k_appspec, site("v1"));
  std::filesystem::create_symlink("not-yet-built.html", rev / "site/latest.html");
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(std::filesystem::read_symlink(f.host("web1") / "srv/web/latest.html") == "not-yet-built.html");
}

TEST_CASE("cdeploy: a renamed group keeps its history for rollbacks", "[cdeploy][rollback]") {
  CdeployFixture f;
  f.fleet(1);
  REQUIRE(f.deploy(f.revision("v1", k_appspec, site("v1"))).exit_code == 0);
  REQUIRE(f.deploy(f.revision("v2", k_appspec, site("v2"))).exit_code == 0);
  f.ok({"update-deployment-group", "--application-name", "web", "--current-deployment-group-name", "prod",
        "--new-deployment-group-name", "production"});
  CHECK(f.cdeploy({"rollback", "--application-name", "web", "--deployment-group-name", "production"}).exit_code == 0);
  CHECK(unwrap(read_file(f.host("web1") / "srv/web/index.html")) == "<h1>v1</h1>");
  // A new group of an old name starts without that history.
  f.ok({"create-deployment-group", "--application-name", "web", "--deployment-group-name", "prod",
        "--on-premises-instance-tag-filters", "Key=Env,Value=Prod"});
  auto none = f.cdeploy({"rollback", "--application-name", "web", "--deployment-group-name", "prod"});
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "has no earlier successful deployment"));
}

TEST_CASE("cdeploy: Install hard-links only files nothing changes, and the archive's copies stay as shipped",
          "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  // The whole revision is installed, hook scripts included; conf/ gets a mode.
  constexpr const char* appspec = R"YML(version: 0.0
os: linux
files:
  - source: /
    destination: /srv/app
permissions:
  - object: /srv/app/conf
    mode: "600"
    type: [file]
hooks:
  ApplicationStop:
    - location: hooks/stop.sh
  AfterInstall:
    - location: hooks/after.sh
)YML";
  auto rev = f.revision("v1", appspec,
                        {{"site/index.html", "v1"},
                         {"conf/app.conf", "secret=1"},
                         {"hooks/stop.sh", "#!/bin/sh\nexit 0\n"},
                         {"hooks/after.sh", "#!/bin/sh\nexit 0\n"}});
  // The revision's modification times travel to the installed files, linked or copied.
  constexpr time_t want = 1700000000;
  for (auto rel : {"site/index.html", "conf/app.conf", "hooks/stop.sh"}) {
    timespec times[2] = {{want, 0}, {want, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (rev / rel).c_str(), times, 0) == 0);
  }
  auto inode = [](const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st;
  };
  auto mtime = [&](const std::filesystem::path& p) { return inode(p).st_mtim.tv_sec; };

  SECTION("by default") {
    auto r = f.deploy(rev);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto archive = f.deployment_dir("web1", f.latest_id()) / "deployment-archive";
    auto app = f.host("web1") / "srv/app";
    // Untouched by hooks and permissions: one inode for the archive's copy and the installed file.
    auto page = inode(app / "site/index.html");
    CHECK(page.st_nlink == 2);
    CHECK(page.st_ino == inode(archive / "site/index.html").st_ino);
    // A hook script and a file under permissions are copies; the archive's modes are as shipped.
    CHECK(inode(app / "hooks/stop.sh").st_nlink == 1);
    CHECK(inode(app / "conf/app.conf").st_nlink == 1);
    CHECK((inode(app / "conf/app.conf").st_mode & 0777) == 0600);
    CHECK((inode(archive / "conf/app.conf").st_mode & 0777) == 0644);
    CHECK((inode(archive / "hooks/stop.sh").st_mode & 0777) == 0755);
    for (auto rel : {"site/index.html", "conf/app.conf", "hooks/stop.sh"}) CHECK(mtime(app / rel) == want);
    auto log = unwrap(read_file(archive.parent_path() / "logs/scripts.log"));
    CHECK(contains(log, "copied 5 files (0 overwritten, 0 retained); 2 as hard links to the deployment archive"));

    // The next deployment replaces the linked file: the first one's archive keeps what it shipped.
    auto first_archive = archive;
    auto v2 = f.revision("v2", appspec,
                         {{"site/index.html", "v2"},
                          {"conf/app.conf", "secret=2"},
                          {"hooks/stop.sh", "#!/bin/sh\nexit 0\n"},
                          {"hooks/after.sh", "#!/bin/sh\nexit 0\n"}});
    unwrap(write_file_atomic(app / "site/extra.html", "hand-made"));
    REQUIRE(f.deploy(v2, {"--file-exists-behavior", "OVERWRITE"}).exit_code == 0);
    CHECK(unwrap(read_file(app / "site/index.html")) == "v2");
    CHECK(unwrap(read_file(first_archive / "site/index.html")) == "v1");
    CHECK(unwrap(read_file(app / "site/extra.html")) == "hand-made");
  }
  SECTION("--no-hard-links copies every file") {
    REQUIRE(f.deploy(rev, {"--no-hard-links"}).exit_code == 0);
    CHECK(f.deployment(f.latest_id())["hardLinks"] == false);
    auto app = f.host("web1") / "srv/app";
    for (auto rel : {"site/index.html", "conf/app.conf", "hooks/stop.sh", "appspec.yml"})
      CHECK(inode(app / rel).st_nlink == 1);
    CHECK(mtime(app / "site/index.html") == want);
  }
}

TEST_CASE("cdeploy: -v streams hook output, and a terminal gets progress colored by outcome", "[cdeploy][deploy]") {
  CdeployFixture f;
  f.fleet(1);
  auto rev = f.revision("v1", k_appspec, site("v1", "echo 'health: ok'"));
  SECTION("-v: each line of the script log as it is written, after its instance and event") {
    auto r = f.deploy(rev, {"-v"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.err, "web1 ApplicationStart| start v1\n"));
    CHECK(contains(r.err, "web1 ValidateService| health: ok\n"));
    CHECK(contains(r.err, "web1 Install| copied "));
    CHECK(contains(r.err, "web1: ValidateService Succeeded\n"));
    // Without -v, the events only.
    auto quiet = f.deploy(f.revision("v2", k_appspec, site("v2")));
    CHECK_FALSE(contains(quiet.err, "| start v2"));
    CHECK(contains(quiet.err, "web1: ApplicationStart Succeeded\n"));
  }
  SECTION("on a terminal: green for success, red for failure; --no-color and NO_COLOR turn it off") {
    auto env = f.env();
    env["NO_COLOR"] = "";
    std::vector<std::string> args = {CICD_CDEPLOY, "create-deployment", "--application-name", "web",
                                     "--deployment-group-name", "prod", "--revision", rev.string()};
    auto r = run_on_terminal(args, f.scratch.path(), env);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(contains(r.out, "\033[32mweb1: ValidateService Succeeded\033[0m"));
    auto bad = f.revision("bad", k_appspec, site("bad", "exit 3"));
    args[7] = bad.string();
    auto failed = run_on_terminal(args, f.scratch.path(), env);
    CHECK(failed.exit_code == 1);
    CHECK(contains(failed.out, "\033[31mweb1: ValidateService Failed (ScriptFailed: "));
    args.insert(args.begin() + 1, "--no-color");
    auto plain = run_on_terminal(args, f.scratch.path(), env);
    CHECK(contains(plain.out, "web1: ValidateService Failed"));
    CHECK_FALSE(contains(plain.out, "\033["));
    env["NO_COLOR"] = "1";
    args.erase(args.begin() + 1);
    CHECK_FALSE(contains(run_on_terminal(args, f.scratch.path(), env).out, "\033["));
  }
}

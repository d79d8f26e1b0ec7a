// Stored records read back: a corrupt or truncated record is an error naming the field, never an
// exception (the store adds the file; see test_store.cpp).
#include <catch2/catch.hpp>

#include "builder/record.hpp"
#include "deploy/records.hpp"
#include "util/json.hpp"

using namespace cicd;

namespace {

BuildRecord sample_build() {
  BuildRecord r;
  r.id = "web:0b1c";
  r.build_number = 7;
  r.project_name = "web";
  r.status = BuildStatus::failed;
  r.current_phase = BuildPhase::completed;
  r.start_time = std::chrono::system_clock::now();
  r.end_time = r.start_time + std::chrono::seconds(3);
  PhaseRecord p;
  p.type = BuildPhase::build;
  p.status = BuildStatus::failed;
  p.start_time = r.start_time;
  p.end_time = r.start_time + std::chrono::seconds(1);
  p.contexts.push_back({"COMMAND_EXECUTION_ERROR", "exit status 1"});
  r.phases.push_back(p);
  r.artifacts = ArtifactRecord{"", "/a/web.zip", "web.zip", "ZIP", "abc", "def", "/a/manifest.json", 3, 42};
  r.report_arns = {"arn:1"};
  r.exported_environment_variables = {{"V", "1"}};
  r.pid = 123;
  r.pid_start_time = 456;
  return r;
}

// The build record's JSON with one change made by `edit`, read back: the error it gives.
std::string build_error(const std::function<void(Json&)>& edit) {
  Json j = build_record_to_json(sample_build());
  edit(j);
  auto r = build_record_from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::invalid);
  return r.error().message;
}

DeploymentRecord sample_deployment() {
  DeploymentRecord d;
  d.id = "d-ABCDEFGHI";
  d.application = "web";
  d.deployment_group = "prod";
  d.status = DeploymentStatus::failed;
  d.overview.failed = 1;
  d.instances = {"web1"};
  d.status_messages = {"failed"};
  d.auto_rollback_events = {"DEPLOYMENT_FAILURE"};
  d.error = ErrorInformation{"HEALTH_CONSTRAINTS", "too few healthy"};
  return d;
}

std::string deployment_error(const std::function<void(Json&)>& edit) {
  Json j = deployment_to_json(sample_deployment());
  edit(j);
  auto r = deployment_from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::invalid);
  return r.error().message;
}

}  // namespace

TEST_CASE("records: a build record reads back as written", "[records]") {
  auto written = sample_build();
  auto r = build_record_from_json(build_record_to_json(written));
  REQUIRE(r);
  CHECK(r->id == written.id);
  CHECK(r->build_number == 7);
  CHECK(r->status == BuildStatus::failed);
  REQUIRE(r->phases.size() == 1);
  CHECK(r->phases[0].contexts[0].message == "exit status 1");
  REQUIRE(r->artifacts);
  CHECK(r->artifacts->size == 42);
  CHECK(r->pid_start_time == 456);
  CHECK(build_record_to_json(*r) == build_record_to_json(written));
}

TEST_CASE("records: a corrupt build record names the field, and never throws", "[records]") {
  CHECK(build_error([](Json& j) { j.erase("id"); }) == "build record: field 'id' is missing");
  CHECK(build_error([](Json& j) { j["id"] = 12; }) == "build record: field 'id' is a number, not a string");
  CHECK(build_error([](Json& j) { j["buildStatus"] = "DONE"; }) ==
        "build record: field 'buildStatus' is not a build status: 'DONE'");
  CHECK(build_error([](Json& j) { j["buildNumber"] = "7"; }) ==
        "build record: field 'buildNumber' is a string, not an integer");
  CHECK(build_error([](Json& j) { j["startTime"] = "yesterday"; }) ==
        "build record: field 'startTime' is not an ISO-8601 time: 'yesterday'");
  CHECK(build_error([](Json& j) { j["phases"] = Json::object(); }) ==
        "build record: field 'phases' is an object, not an array");
  CHECK(build_error([](Json& j) { j["phases"][0] = "BUILD"; }) ==
        "build record: field 'phases[0]' is a string, not an object");
  CHECK(build_error([](Json& j) { j["phases"][0]["endTime"] = 5; }) ==
        "build record: field 'phases[0].endTime' is a number, not a string");
  CHECK(build_error([](Json& j) { j["phases"][0]["contexts"][0]["message"] = Json::array(); }) ==
        "build record: field 'phases[0].contexts[0].message' is an array, not a string");
  CHECK(build_error([](Json& j) { j["artifacts"]["size"] = -3; }) ==
        "build record: field 'artifacts.size' is out of range (-3)");
  CHECK(build_error([](Json& j) { j["source"] = "here"; }) == "build record: field 'source' is a string, not an object");
  CHECK(build_error([](Json& j) { j["reportArns"][0] = true; }) ==
        "build record: field 'reportArns[0]' is a boolean, not a string");
  CHECK(build_error([](Json& j) { j["process"]["pid"] = 1e12; }) ==
        "build record: field 'process.pid' is a number, not an integer");
  CHECK(build_error([](Json& j) { j["buildComplete"] = "yes"; }) ==
        "build record: field 'buildComplete' is a string, not true or false");
  CHECK(build_error([](Json& j) { j = Json::array(); }) == "build record is an array, not an object");
  // A record cut short by hand (what parse_json could still read) is the same.
  CHECK(build_error([](Json& j) { j = Json{{"id", "web:1"}}; }) == "build record: field 'buildStatus' is missing");
}

TEST_CASE("records: a deployment record reads back as written", "[records]") {
  auto written = sample_deployment();
  auto d = deployment_from_json(deployment_to_json(written));
  REQUIRE(d);
  CHECK(d->id == written.id);
  CHECK(d->status == DeploymentStatus::failed);
  CHECK(d->instances == written.instances);
  CHECK(d->auto_rollback_events == written.auto_rollback_events);
  REQUIRE(d->error);
  CHECK(d->error->code == "HEALTH_CONSTRAINTS");
  CHECK(deployment_to_json(*d) == deployment_to_json(written));
}

TEST_CASE("records: a corrupt deployment record names the field, and never throws", "[records]") {
  CHECK(deployment_error([](Json& j) { j.erase("deploymentId"); }) == "deployment record: field 'deploymentId' is missing");
  CHECK(deployment_error([](Json& j) { j["applicationName"] = Json::object(); }) ==
        "deployment record: field 'applicationName' is an object, not a string");
  CHECK(deployment_error([](Json& j) { j["status"] = "Done"; }) ==
        "deployment record: field 'status' is not a deployment status: 'Done'");
  CHECK(deployment_error([](Json& j) { j["deploymentOverview"]["Failed"] = "1"; }) ==
        "deployment record: field 'deploymentOverview.Failed' is a string, not an integer");
  CHECK(deployment_error([](Json& j) { j["targetInstances"] = "web1"; }) ==
        "deployment record: field 'targetInstances' is a string, not an array");
  CHECK(deployment_error([](Json& j) { j["autoRollbackConfiguration"]["events"][0] = 1; }) ==
        "deployment record: field 'autoRollbackConfiguration.events[0]' is a number, not a string");
  CHECK(deployment_error([](Json& j) { j["errorInformation"] = "boom"; }) ==
        "deployment record: field 'errorInformation' is a string, not an object");
  CHECK(deployment_error([](Json& j) { j["process"]["startTime"] = -1; }) ==
        "deployment record: field 'process.startTime' is out of range (-1)");
  CHECK(deployment_error([](Json& j) { j = "d-ABCDEFGHI"; }) == "deployment record is a string, not an object");
}

TEST_CASE("records: a corrupt deployment target record names the field", "[records]") {
  InstanceRecord i;
  i.deployment_id = "d-ABCDEFGHI";
  i.instance_name = "web1";
  i.lifecycle_events.push_back({"BeforeInstall", TargetStatus::failed, "t0", "t1",
                                LifecycleDiagnostics{"ScriptFailed", "a.sh", "failed", "tail"}});
  auto back = instance_record_from_json(instance_record_to_json(i));
  REQUIRE(back);
  CHECK(instance_record_to_json(*back) == instance_record_to_json(i));

  Json j = instance_record_to_json(i);
  j["lifecycleEvents"][0]["diagnostics"]["logTail"] = 3;
  auto r = instance_record_from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "deployment target record: field 'lifecycleEvents[0].diagnostics.logTail' is a number, not a string");
  j.erase("targetId");
  r = instance_record_from_json(j);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "deployment target record: field 'targetId' is missing");
}

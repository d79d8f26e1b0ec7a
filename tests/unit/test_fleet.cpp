#include <catch2/catch.hpp>

#include "deploy/fleet.hpp"

using namespace cicd;

namespace {
std::vector<FleetInstance> fleet(int n, PriorHealth prior = PriorHealth::healthy) {
  std::vector<FleetInstance> out;
  for (int i = 1; i <= n; ++i) out.push_back({"i" + std::to_string(i), prior});
  return out;
}
DeploymentConfig config(MinimumHealthyType type, int value) { return {"Custom", type, value, false}; }
}  // namespace

TEST_CASE("fleet: batch sizes as CodeDeploy documents them", "[fleet]") {
  // Nine instances, HOST_COUNT 6: three at a time.
  auto host = FleetPlan::create(config(MinimumHealthyType::host_count, 6), fleet(9));
  REQUIRE(host);
  CHECK(host->batch_size() == 3);
  CHECK(host->minimum_healthy() == 6);
  // FLEET_PERCENT 40: 40% of 9 rounds up to 4 healthy, five at a time.
  auto pct = FleetPlan::create(config(MinimumHealthyType::fleet_percent, 40), fleet(9));
  CHECK(pct->minimum_healthy() == 4);
  CHECK(pct->batch_size() == 5);
  auto half = FleetPlan::create(*find_builtin_deployment_config("CodeDeployDefault.HalfAtATime"), fleet(5));
  CHECK(half->minimum_healthy() == 3);
  CHECK(half->batch_size() == 2);
  auto all = FleetPlan::create(*find_builtin_deployment_config("CodeDeployDefault.AllAtOnce"), fleet(4));
  CHECK(all->next().size() == 4);
}

TEST_CASE("fleet: a minimum that cannot be met fails at once", "[fleet]") {
  auto r = FleetPlan::create(config(MinimumHealthyType::host_count, 3), fleet(3));
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "deployment config Custom requires 3 healthy instances (HOST_COUNT 3), but the deployment group has 3 "
        "instances: no instance could ever be taken down to deploy to");
  auto empty = FleetPlan::create(config(MinimumHealthyType::host_count, 0), {});
  REQUIRE_FALSE(empty);
}

TEST_CASE("fleet: failed and unknown instances go first", "[fleet]") {
  std::vector<FleetInstance> f = {{"a", PriorHealth::healthy}, {"b", PriorHealth::failed_or_unknown},
                                  {"c", PriorHealth::healthy}, {"d", PriorHealth::failed_or_unknown}};
  auto plan = FleetPlan::create(*find_builtin_deployment_config("CodeDeployDefault.OneAtATime"), f);
  CHECK(plan->order() == std::vector<std::string>{"b", "d", "a", "c"});
}

TEST_CASE("fleet: OneAtATime stops at the first failure but forgives the last instance", "[fleet]") {
  auto one = *find_builtin_deployment_config("CodeDeployDefault.OneAtATime");
  SECTION("a failure before the last stops the deployment") {
    auto plan = *FleetPlan::create(one, fleet(3));
    CHECK(plan.next() == std::vector<std::string>{"i1"});
    CHECK(plan.next().empty());  // one at a time
    plan.finished("i1", true);
    CHECK(plan.next() == std::vector<std::string>{"i2"});
    plan.finished("i2", false);
    CHECK(plan.next().empty());
    CHECK(plan.done());
    CHECK_FALSE(plan.succeeded());
    CHECK(plan.skipped() == std::vector<std::string>{"i3"});
  }
  SECTION("the last instance failing still succeeds") {
    auto plan = *FleetPlan::create(one, fleet(3));
    for (auto n : {"i1", "i2"}) {
      CHECK(plan.next() == std::vector<std::string>{n});
      plan.finished(n, true);
    }
    CHECK(plan.next() == std::vector<std::string>{"i3"});
    plan.finished("i3", false);
    CHECK(plan.done());
    CHECK(plan.succeeded());
  }
}

TEST_CASE("fleet: HOST_COUNT keeps the minimum healthy and decides on successes", "[fleet]") {
  auto plan = *FleetPlan::create(config(MinimumHealthyType::host_count, 2), fleet(4));
  auto first = plan.next();
  CHECK(first == std::vector<std::string>{"i1", "i2"});
  plan.finished("i1", false);
  // One failed: only one more may be down now.
  plan.finished("i2", true);
  CHECK(plan.next() == std::vector<std::string>{"i3"});
  plan.finished("i3", true);
  CHECK(plan.next() == std::vector<std::string>{"i4"});
  plan.finished("i4", true);
  CHECK(plan.done());
  CHECK(plan.succeeded());
}

TEST_CASE("fleet: too many failures end the deployment early", "[fleet]") {
  auto plan = *FleetPlan::create(config(MinimumHealthyType::fleet_percent, 50), fleet(4));
  CHECK(plan.next().size() == 2);
  plan.finished("i1", false);
  plan.finished("i2", false);
  CHECK(plan.next().empty());
  CHECK(plan.done());
  CHECK_FALSE(plan.succeeded());
  CHECK(plan.skipped() == std::vector<std::string>{"i3", "i4"});
  CHECK(plan.failure_reason() ==
        "2 of 4 instances failed; Custom keeps 2 instances healthy (FLEET_PERCENT 50), which can no longer be met");
}

TEST_CASE("fleet: AllAtOnce needs one success", "[fleet]") {
  auto all = *find_builtin_deployment_config("CodeDeployDefault.AllAtOnce");
  auto plan = *FleetPlan::create(all, fleet(3));
  CHECK(plan.next().size() == 3);
  plan.finished("i1", false);
  plan.finished("i2", false);
  plan.finished("i3", true);
  CHECK(plan.succeeded());
  auto none = *FleetPlan::create(all, fleet(2));
  none.next();
  none.finished("i1", false);
  none.finished("i2", false);
  CHECK_FALSE(none.succeeded());
  CHECK(none.failure_reason() == "all 2 instances failed; CodeDeployDefault.AllAtOnce needs at least one to succeed");
}

// Deployment configurations and how they pace a fleet: which instances go next, and when the
// deployment has succeeded or can no longer succeed (CodeDeploy's minimum healthy hosts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace cicd {

enum class MinimumHealthyType { host_count, fleet_percent, most_concurrency };
std::string_view minimum_healthy_type_name(MinimumHealthyType type);  // "HOST_COUNT"

struct DeploymentConfig {
  std::string name;
  MinimumHealthyType type = MinimumHealthyType::host_count;
  int value = 0;
  bool builtin = false;
};

// CodeDeployDefault.OneAtATime (MOST_CONCURRENCY 1), .HalfAtATime (FLEET_PERCENT 50),
// .AllAtOnce (HOST_COUNT 0).
const std::vector<DeploymentConfig>& builtin_deployment_configs();
std::optional<DeploymentConfig> find_builtin_deployment_config(std::string_view name);

// What an instance's health was before this deployment: instances whose last deployment failed
// or whose health is unknown go first, since taking them down costs no healthy host.
enum class PriorHealth { failed_or_unknown, healthy };

struct FleetInstance {
  std::string name;
  PriorHealth prior = PriorHealth::failed_or_unknown;
};

// Paces one deployment over a fleet.
class FleetPlan {
 public:
  // Fails at once when the configuration's minimum cannot be met by this fleet.
  static Result<FleetPlan> create(const DeploymentConfig& config, std::vector<FleetInstance> instances);

  // Instances to start now (may be empty while others are in flight).
  std::vector<std::string> next();
  void finished(const std::string& instance, bool succeeded);
  // No more instances will start: the deployment is decided.
  bool done() const;
  bool succeeded() const;
  // Instances never started because the deployment stopped early.
  std::vector<std::string> skipped() const;
  // Why it failed, when it did ("2 of 4 instances failed; the minimum of 3 healthy hosts cannot be met").
  std::string failure_reason() const;

  int total() const { return static_cast<int>(m_order.size()); }
  int minimum_healthy() const { return m_min_healthy; }
  int batch_size() const { return m_batch; }
  const std::vector<std::string>& order() const { return m_order; }

 private:
  int required_successes() const;
  bool can_still_succeed() const;
  DeploymentConfig m_config;
  std::vector<std::string> m_order;
  size_t m_next = 0;
  int m_min_healthy = 0;
  int m_batch = 1;
  int m_in_flight = 0;
  int m_succeeded = 0;
  int m_failed = 0;
  bool m_last_failed_is_last_instance = false;
};

}  // namespace cicd

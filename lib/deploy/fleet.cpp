#include "deploy/fleet.hpp"

#include <algorithm>

namespace cicd {

std::string_view minimum_healthy_type_name(MinimumHealthyType type) {
  switch (type) {
    case MinimumHealthyType::host_count: return "HOST_COUNT";
    case MinimumHealthyType::fleet_percent: return "FLEET_PERCENT";
    case MinimumHealthyType::most_concurrency: return "MOST_CONCURRENCY";
  }
  return "HOST_COUNT";
}

const std::vector<DeploymentConfig>& builtin_deployment_configs() {
  static const std::vector<DeploymentConfig> k_builtins = {
      {"CodeDeployDefault.OneAtATime", MinimumHealthyType::most_concurrency, 1, true},
      {"CodeDeployDefault.HalfAtATime", MinimumHealthyType::fleet_percent, 50, true},
      {"CodeDeployDefault.AllAtOnce", MinimumHealthyType::host_count, 0, true},
  };
  return k_builtins;
}

std::optional<DeploymentConfig> find_builtin_deployment_config(std::string_view name) {
  for (auto& c : builtin_deployment_configs())
    if (c.name == name) return c;
  return std::nullopt;
}

Result<FleetPlan> FleetPlan::create(const DeploymentConfig& config, std::vector<FleetInstance> instances) {
  FleetPlan plan;
  plan.m_config = config;
  int total = static_cast<int>(instances.size());
  if (total == 0) return fail(ErrorKind::failed, "the deployment group has no instances: no instance matches its tags");
  // 1. Failed and unknown instances first, then healthy ones; by name within each.
  std::stable_sort(instances.begin(), instances.end(), [](const FleetInstance& a, const FleetInstance& b) {
    if (a.prior != b.prior) return a.prior == PriorHealth::failed_or_unknown;
    return a.name < b.name;
  });
  for (auto& i : instances) plan.m_order.push_back(i.name);

  // 2. The minimum, and so how many may be down at once.
  switch (config.type) {
    case MinimumHealthyType::most_concurrency:
      plan.m_min_healthy = total - 1;
      plan.m_batch = 1;
      break;
    case MinimumHealthyType::host_count:
      plan.m_min_healthy = config.value;
      plan.m_batch = total - config.value;
      break;
    case MinimumHealthyType::fleet_percent:
      // A percentage is rounded up to whole hosts: 40% of 9 is 4 hosts.
      plan.m_min_healthy = (total * config.value + 99) / 100;
      plan.m_batch = total - plan.m_min_healthy;
      break;
  }
  if (config.type != MinimumHealthyType::most_concurrency && plan.m_batch < 1) {
    return fail(ErrorKind::failed,
                "deployment config {} requires {} healthy instance{} ({} {}), but the deployment group has {} "
                "instance{}: no instance could ever be taken down to deploy to",
                config.name, plan.m_min_healthy, plan.m_min_healthy == 1 ? "" : "s",
                minimum_healthy_type_name(config.type), config.value, total, total == 1 ? "" : "s");
  }
  return plan;
}

int FleetPlan::required_successes() const {
  if (m_config.type == MinimumHealthyType::most_concurrency) {
    // All of them, but a failure on the very last instance is forgiven.
    return m_last_failed_is_last_instance ? total() - 1 : total();
  }
  return std::max(1, m_min_healthy);  // AllAtOnce still needs one success
}

bool FleetPlan::can_still_succeed() const {
  int not_started = static_cast<int>(m_order.size() - m_next);
  return m_succeeded + m_in_flight + not_started >= required_successes();
}

std::vector<std::string> FleetPlan::next() {
  std::vector<std::string> out;
  if (!can_still_succeed()) return out;
  // Failed instances count as down: they shrink how many more may be taken down.
  int allowed = m_batch - m_failed;
  if (m_config.type == MinimumHealthyType::most_concurrency) allowed = m_failed > 0 ? 0 : 1;
  while (m_next < m_order.size() && m_in_flight < allowed) {
    out.push_back(m_order[m_next++]);
    ++m_in_flight;
  }
  return out;
}

void FleetPlan::finished(const std::string& instance, bool succeeded) {
  --m_in_flight;
  if (succeeded) {
    ++m_succeeded;
    return;
  }
  ++m_failed;
  // Forgiving the last instance keeps all but one healthy; a group of one has no "all but one".
  if (m_config.type == MinimumHealthyType::most_concurrency && m_order.size() > 1 && instance == m_order.back() &&
      m_failed == 1)
    m_last_failed_is_last_instance = true;
}

bool FleetPlan::done() const {
  if (m_in_flight > 0) return false;
  if (m_next >= m_order.size()) return true;
  if (!can_still_succeed()) return true;
  // Nothing more may start (too many failures to keep the minimum healthy).
  int allowed = m_config.type == MinimumHealthyType::most_concurrency ? (m_failed > 0 ? 0 : 1) : m_batch - m_failed;
  return allowed <= 0;
}

bool FleetPlan::succeeded() const {
  if (!done()) return false;
  if (m_config.type == MinimumHealthyType::most_concurrency)
    return m_next >= m_order.size() && m_succeeded >= required_successes();
  return m_succeeded >= required_successes();
}

std::vector<std::string> FleetPlan::skipped() const {
  return {m_order.begin() + static_cast<long>(m_next), m_order.end()};
}

std::string FleetPlan::failure_reason() const {
  if (succeeded()) return {};
  int required = required_successes();
  if (m_config.type == MinimumHealthyType::most_concurrency)
    return fmt::format("{} of {} instances failed; {} deploys one instance at a time and stops at the first failure "
                       "(only a failure on the last instance is forgiven)",
                       m_failed, total(), m_config.name);
  if (m_config.type == MinimumHealthyType::host_count && m_config.value == 0)
    return fmt::format("all {} instances failed; {} needs at least one to succeed", total(), m_config.name);
  return fmt::format("{} of {} instances failed; {} keeps {} instance{} healthy ({} {}), which can no longer be met",
                     m_failed, total(), m_config.name, required, required == 1 ? "" : "s",
                     minimum_healthy_type_name(m_config.type), m_config.value);
}

}  // namespace cicd

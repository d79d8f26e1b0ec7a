// Delivery: each target tried with retries and backoff; what still fails goes to the dead letter.
#include <thread>

#include "notify/sinks.hpp"
#include "util/time.hpp"

namespace cicd::notify {

namespace {

std::string now_text() { return format_iso8601(std::chrono::system_clock::now()); }

Status attempt(const Target& target, const NotifyEvent& event, const Json& json, const std::string& body,
               const DeliveryOptions& options) {
  // An exception here (bad_alloc, a library's) is one failed attempt, not the caller's problem.
  try {
    switch (target.type) {
      case TargetType::command: return detail::send_command(target, event, body);
      case TargetType::file: return detail::send_file(target, options.home, json);
      case TargetType::webhook: return detail::send_webhook(target, event, body);
    }
    return fail(ErrorKind::internal, "unknown target type");
  } catch (const std::exception& e) {
    return fail(ErrorKind::internal, "{}", e.what());
  }
}

Json dead_letter_line(const Json& event, const TargetReport& report, const DeliveryOptions& options) {
  Json attempts = Json::array();
  for (auto& a : report.attempts) attempts.push_back({{"time", a.time}, {"error", a.error}});
  Json line = Json::object();
  line["time"] = now_text();
  if (!options.rule.empty()) line["rule"] = options.rule;
  line["target"] = report.target;
  line["attempts"] = std::move(attempts);
  line["event"] = event;
  return line;
}

TargetReport deliver_one(const Target& target, const NotifyEvent& event, const Json& json,
                         const std::string& body, const DeliveryOptions& options) {
  TargetReport report;
  report.target = target_json(target);
  auto delay = options.initial_delay;
  int attempts = std::max(1, options.attempts);
  for (int i = 0; i < attempts; ++i) {
    // 1. Wait before a retry, twice as long each time: a receiver that is restarting gets time.
    if (i > 0) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    // 2. One attempt, its outcome kept for the report and the dead letter.
    auto st = attempt(target, event, json, body, options);
    report.attempts.push_back({now_text(), st ? std::string() : st.error().message});
    if (st) {
      report.delivered = true;
      return report;
    }
  }
  // 3. Every attempt failed: leave it where someone will find it. If even that fails there is
  // nowhere left to say so (we may be a detached process): the report says it.
  if (!options.dead_letter.empty())
    report.dead_lettered = bool(append_json_line(options.dead_letter, dead_letter_line(json, report, options)));
  return report;
}

}  // namespace

std::vector<TargetReport> deliver(const NotifyEvent& event, const std::vector<Target>& targets,
                                  const DeliveryOptions& options) {
  std::vector<TargetReport> reports;
  try {
    // One rendering for every target and attempt: the same id lets a receiver drop duplicates.
    NotifyEvent fixed = stamped(event);
    Json json = event_json(fixed, options.detail, options.rule);
    std::string body = to_json_text(json, JsonStyle::compact);
    for (auto& target : targets) reports.push_back(deliver_one(target, fixed, json, body, options));
  } catch (const std::exception&) {
    // Only an allocation can fail here; the reports so far are what we have.
  }
  return reports;
}

}  // namespace cicd::notify

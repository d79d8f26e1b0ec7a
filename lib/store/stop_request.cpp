#include "store/stop_request.hpp"

#include <sys/stat.h>

#include "util/time.hpp"

namespace cicd {

Status request_stop(Store& store, const std::string& key, const StopRequest& request) {
  Json j{{"requestedBy", request.requested_by}, {"requestTime", request.request_time}, {"via", request.via}};
  auto put = store.put_json(key, j, PutCondition::if_absent());
  if (!put && put.error().kind != ErrorKind::conflict) return std::unexpected(put.error());
  return {};
}

Result<std::optional<StopRequest>> read_stop_request(Store& store, const std::string& key) {
  auto j = store.get_json(key);
  if (!j) return std::unexpected(j.error());
  if (!*j) return std::optional<StopRequest>{};
  const Json& o = **j;
  if (!o.is_object()) return fail(ErrorKind::invalid, "stop request '{}' is not a JSON object", key);
  StopRequest r;
  auto text = [&](const char* field) {
    auto it = o.find(field);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  r.requested_by = text("requestedBy");
  r.request_time = text("requestTime");
  r.via = text("via");
  return std::optional<StopRequest>{std::move(r)};
}

std::string describe_stop_request(const StopRequest& request) {
  std::string out = "stopped";
  if (!request.requested_by.empty()) out += " by " + request.requested_by;
  if (!request.via.empty()) out += " (" + request.via + ")";
  return out;
}

StopRequestWatcher::StopRequestWatcher(Store& store, std::string key, Run& run, std::chrono::milliseconds interval)
    : m_store(store), m_key(std::move(key)), m_run(run) {
  m_thread = std::thread([this, interval] {
    while (!m_run.token().cancelled()) {
      if (check()) return;
      if (m_quit.wait_for(interval)) return;
    }
  });
}

StopRequestWatcher::~StopRequestWatcher() {
  m_quit.cancel(CancelReason::stopped);
  if (m_thread.joinable()) m_thread.join();
}

bool StopRequestWatcher::check() {
  // A local store answers with a stat, the common case, rather than a read.
  if (auto path = m_store.local_path(m_key)) {
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) return false;
  }
  auto request = read_stop_request(m_store, m_key);
  if (!request || !*request) return false;
  m_run.cancel(CancelReason::stopped, describe_stop_request(**request));
  return true;
}

}  // namespace cicd

// Stop requests: `stop-build`, `stop-deployment` (and cpipeline's stops) write a small record beside
// the run's own record; the run watches for it, wherever it runs (cbuild, cdeploy, or an action
// inside cpipeline; on this machine or another sharing the store). No signal is sent to anyone, so
// a request can never reach an unrelated process that took over a recorded pid.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "store/store.hpp"
#include "util/error.hpp"
#include "util/run.hpp"

namespace cicd {

struct StopRequest {
  std::string requested_by;  // the user who asked
  std::string request_time;  // ISO-8601
  std::string via;           // "stop-build", "stop-deployment", ...
};

// Records the request (the first one stays: asking twice changes nothing).
Status request_stop(Store& store, const std::string& key, const StopRequest& request);
Result<std::optional<StopRequest>> read_stop_request(Store& store, const std::string& key);
// "stopped by alice (stop-build)"
std::string describe_stop_request(const StopRequest& request);

// Looks for the request every `interval` on a thread of its own, and cancels `run` (reason
// stopped) when it appears. The thread ends with the watcher, or once the run is cancelled.
class StopRequestWatcher {
 public:
  StopRequestWatcher(Store& store, std::string key, Run& run,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  ~StopRequestWatcher();
  StopRequestWatcher(const StopRequestWatcher&) = delete;
  StopRequestWatcher& operator=(const StopRequestWatcher&) = delete;

 private:
  bool check();

  Store& m_store;
  std::string m_key;
  Run& m_run;
  CancelToken m_quit;
  std::thread m_thread;
};

}  // namespace cicd

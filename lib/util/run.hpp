// Runs (DESIGN.md section 4): one build, one deployment, one pipeline action owns its processes
// and a cancellation token. Stopping a run stops exactly its process groups; a run never touches
// another run's processes, so several runs can share one process (cpipeline runs actions in
// parallel). Signals are the front end's business: its `main` turns SIGINT/SIGTERM into a cancel
// of the process's root token (util/signals.hpp), which every run descends from.
//
// Nothing survives a killed tool: the first process group a run starts also starts the run's
// guard, a small child process forked from ours that holds one end of a socket. The run tells it
// each group it starts and ends; when the socket closes without a goodbye (our process died, by
// any signal, SIGKILL included), the guard sends the remembered groups SIGTERM, then SIGKILL to
// what is left half a second later, and exits. The guard does only system calls (no allocation),
// as a child forked from a threaded process must.
//
// Process-group ids are only safe to signal while the group is known to exist: a run forgets a
// group before its leader is reaped, and a group whose other processes must live on until the
// run ends (a build's background processes) keeps its leader unreaped (a zombie pins the id)
// until `end()` kills the group.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.hpp"

namespace cicd {

enum class CancelReason {
  none,
  stopped,           // a stop request (stop-build, stop-deployment, cpipeline stop)
  timed_out,         // the run's own deadline
  interrupted,       // a signal to the front end (Ctrl-C, kill)
  parent_cancelled,  // the run it belongs to was cancelled (a pipeline stopped, say)
};
std::string_view cancel_reason_name(CancelReason reason);

// Shared state: copies of a token are the same token. Cancelled once (the first reason wins), and
// seen as cancelled when any ancestor is. Thread-safe.
class CancelToken {
 public:
  // A new root token: cancelled by nobody until someone calls cancel().
  CancelToken();
  // A token cancelled when this one is, and cancellable on its own without affecting this one.
  CancelToken child() const;

  // Returns false when it was cancelled already (the earlier reason stays). `message` completes
  // "the build was ...": a participle phrase ("stopped by alice (stop-build)", "stopped with its
  // pipeline"); empty: the reason's name.
  bool cancel(CancelReason reason, std::string message = {}) const;
  bool cancelled() const;
  // Its own reason; parent_cancelled when only an ancestor was cancelled; none otherwise.
  CancelReason reason() const;
  // Why, in words ("stopped by alice", "interrupted by SIGINT"): its own, else the nearest
  // cancelled ancestor's.
  std::string message() const;
  // Descriptors that become readable once this token or an ancestor is cancelled (for poll).
  std::vector<int> poll_fds() const;
  // Sleeps up to `timeout`; true as soon as it is cancelled.
  bool wait_for(std::chrono::milliseconds timeout) const;

  // Async-signal-safe: cancels with `interrupted` and the signal (for util/signals only).
  void cancel_from_signal(int signal_number) const;

 private:
  struct State;
  explicit CancelToken(std::shared_ptr<State> state);
  std::shared_ptr<State> m_state;
};

// A process group a run started: its id and its leader's start time (/proc/PID/stat field 22),
// so that a later look can tell the same processes from an unrelated reuse of the id.
struct ProcessGroupRef {
  int pgid = 0;
  uint64_t start_time = 0;
  bool operator==(const ProcessGroupRef&) const = default;
};

// As records keep them: [{"pgid": 4242, "startTime": 123456}].
Json process_groups_to_json(const std::vector<ProcessGroupRef>& groups);

// What happens to a group's other processes when its leader exits.
enum class Leftovers {
  keep,            // they live on, untracked (a hook's daemon)
  kill,            // killed at once
  until_run_ends,  // killed when the run ends (a build's background processes)
};

class Run {
 public:
  explicit Run(CancelToken parent = CancelToken());
  ~Run();  // end()
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  const CancelToken& token() const { return m_token; }
  bool cancel(CancelReason reason, std::string message = {}) { return m_token.cancel(reason, std::move(message)); }

  // Process groups, as the process runner and the build shell start and end them. `pgid` is the
  // leader's pid (children are spawned as leaders of a new group).
  void track(int pgid);
  // The leader exited (not yet reaped): apply `leftovers`, then reap it unless the run keeps it.
  void leader_exited(int pgid, Leftovers leftovers);
  // The groups alive now, oldest first.
  std::vector<ProcessGroupRef> groups() const;
  // Called (outside the run's lock) whenever the set of groups changes, so that an engine can
  // keep them in its record for the repair of a run whose process died (kill_recorded_groups).
  void on_groups_changed(std::function<void(const std::vector<ProcessGroupRef>&)> callback);

  // Ends the run: every group still tracked gets SIGTERM, then SIGKILL after `grace`; kept
  // leaders are reaped; the guard leaves. Idempotent.
  void end(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

  // The guard's pid (0 before the first group); for tests.
  int guard_pid() const;

 private:
  void notify_guard(int32_t message);
  void changed();

  CancelToken m_token;
  mutable std::mutex m_mutex;
  std::vector<ProcessGroupRef> m_groups;
  std::vector<int> m_kept;  // leaders left unreaped until end()
  std::function<void(const std::vector<ProcessGroupRef>&)> m_on_change;
  int m_guard_pid = 0;
  int m_guard_fd = -1;
  bool m_ended = false;
};

// For a run whose process died: kills (SIGKILL) what is left of its recorded groups, but only
// processes that are provably the run's: a leader with the recorded start time, or a member of
// the group that started no earlier than the leader did. Returns how many processes it signalled.
int kill_recorded_groups(const std::vector<ProcessGroupRef>& groups);

// Whether any process of these groups is still alive (see kill_recorded_groups for "of").
bool recorded_groups_alive(const std::vector<ProcessGroupRef>& groups);

}  // namespace cicd

// Running child processes: argv-based posix_spawn, each child in its own process group, output
// streamed line by line to a sink, a timeout that kills the whole group (TERM, then KILL), and
// the cancellation of the run the process belongs to honoured the same way (util/run.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/run.hpp"

namespace cicd {

enum class OutputStream { out, err };

// Receives a child's output, one line at a time (without the newline). May be called from a
// background thread for output that arrives after the child itself has exited (a daemon it
// left behind), so implementations must be thread-safe.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void on_line(OutputStream stream, std::string_view line) = 0;
};

class CallbackSink final : public OutputSink {
 public:
  explicit CallbackSink(std::function<void(OutputStream, std::string_view)> fn) : m_fn(std::move(fn)) {}
  void on_line(OutputStream stream, std::string_view line) override { m_fn(stream, line); }

 private:
  std::function<void(OutputStream, std::string_view)> m_fn;
};

// Collects output into strings (thread-safe).
class CaptureSink final : public OutputSink {
 public:
  void on_line(OutputStream stream, std::string_view line) override;
  std::string out() const;
  std::string err() const;

 private:
  mutable std::mutex m_mutex;
  std::string m_out, m_err;
};

using Environment = std::map<std::string, std::string>;

// The environment of this process as a map.
Environment current_environment();

// hold: a pipe we keep open and write nothing to, until the child exits or is stopped: the child
// reads EOF only then (the far side of an ssh command learns so that we are gone).
enum class StdinMode { null, inherit, data, hold };
enum class OutputMode { sink, inherit, null };

struct ProcessSpec {
  std::vector<std::string> argv;
  // The child's whole environment; when empty and inherit_environment, ours.
  Environment environment;
  bool inherit_environment = true;
  std::string cwd;  // empty: ours
  std::optional<std::chrono::milliseconds> timeout;
  // After a timeout or stop, how long between SIGTERM and SIGKILL of the group.
  std::chrono::milliseconds kill_grace{3000};
  // How long to keep reading after the child exited while a process it left behind still holds
  // the pipe open. After that, the pipe is drained in the background and the call returns.
  std::chrono::milliseconds drain_after_exit{200};
  StdinMode stdin_mode = StdinMode::null;
  std::string stdin_data;
  OutputMode output_mode = OutputMode::sink;
  bool merge_stderr = false;  // stderr lines reported as OutputStream::out, in order
  std::shared_ptr<OutputSink> sink;
  // Run as this user (needs root): setpriv sets uid, gid and groups; HOME/USER/LOGNAME follow.
  std::optional<std::string> run_as_user;
  // The run the process belongs to: its group is the run's (killed if our process dies), and the
  // run's cancellation stops it (TERM, then KILL of the group after kill_grace). Without one the
  // process is stopped only by its timeout.
  Run* run = nullptr;
  // What happens to processes the child leaves in its group when it exits.
  Leftovers leftovers = Leftovers::keep;
};

struct ProcessResult {
  int pid = 0;
  int exit_code = -1;   // valid when term_signal == 0
  int term_signal = 0;  // the signal that ended the child, if any
  bool timed_out = false;
  bool stopped = false;  // its run was cancelled
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return term_signal == 0 && exit_code == 0 && !timed_out && !stopped; }
  // "exit status 2", "signal 9 (Killed)", "timed out", "stopped".
  std::string describe() const;
};

// Stateless but for the background reading of output that outlives a child: one runner can serve
// many runs at once, from several threads.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  virtual Result<ProcessResult> run(const ProcessSpec& spec) = 0;
};

class PosixProcessRunner final : public ProcessRunner {
 public:
  PosixProcessRunner();
  ~PosixProcessRunner() override;
  Result<ProcessResult> run(const ProcessSpec& spec) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// A child started by spawn_process: the caller owns its descriptors and must reap it.
struct SpawnedProcess {
  int pid = 0;
  int stdout_fd = -1;  // non-blocking read ends (OutputMode::sink)
  int stderr_fd = -1;  // -1 when merged into stdout
  int stdin_fd = -1;   // write end (StdinMode::data)
  int pidfd = -1;      // readable when the child exits (-1 on old kernels)
};

// The spawning half of ProcessRunner::run, for callers that talk to a long-lived child:
// same argv resolution, run-as, process group, signal reset, and the group tracked by spec.run.
// `extra_fds` are (parent descriptor, child descriptor) pairs handed to the child. The caller
// reaps it with finish_process.
Result<SpawnedProcess> spawn_process(const ProcessSpec& spec,
                                     const std::vector<std::pair<int, int>>& extra_fds = {});

// The child's exit as waitid(WNOWAIT) saw it, without reaping: exit code or signal.
struct ExitStatus {
  int exit_code = -1;
  int term_signal = 0;
};
// Whether the child has exited (not reaped); with `block`, waits for it.
std::optional<ExitStatus> peek_exit(int pid, bool block = false);
// Reaps a child that has exited (see peek_exit), after dealing with what it left in its group as
// `leftovers` says; through `run` when it belongs to one.
void finish_process(int pid, Run* run, Leftovers leftovers);

// One-shot convenience with a private runner.
Result<ProcessResult> run_process(const ProcessSpec& spec);

// /proc/<pid>/stat start time, 0 if the process does not exist (or is a zombie).
uint64_t process_start_time(int pid);
std::string host_name();
// The name of the user this process runs as (its uid when it has no name).
std::string current_user_name();
// The process recorded as (pid, start time, host) still runs. A process on another host cannot
// be checked from here and counts as alive.
bool process_alive(int pid, uint64_t start_time, const std::string& host);

// A run's record names the process that runs it, so that the next look at a record whose process
// is gone repairs it. But one process may hold many runs (cpipeline), and a run may end without
// recording its end (a store write failed): for a record naming this very process, what counts is
// whether its run is still here. A LiveRun says so for the run of one record (a build id, a
// deployment id) from its construction to its destruction.
class LiveRun {
 public:
  explicit LiveRun(std::string record_id);
  ~LiveRun();
  LiveRun(const LiveRun&) = delete;
  LiveRun& operator=(const LiveRun&) = delete;

 private:
  std::string m_id;
};
// process_alive, except that a record naming this process is alive only while a LiveRun holds it.
bool run_alive(std::string_view record_id, int pid, uint64_t start_time, const std::string& host);

// Runs `body` in a process detached from this one (double fork, a session of its own, stdio on
// /dev/null): it outlives the caller and is nobody's child. `body` calls `ready` once it is under
// way (its record names it); run_detached returns then, with its pid, or an Error when it ended
// without calling `ready`. The process ends with `body`'s return as its exit code, without
// running this program's exit handlers. Call it from a thread of a process that runs no other
// threads holding locks (only the calling thread lives on in the child).
Result<int> run_detached(const std::function<int(const std::function<void()>& ready)>& body);

// Resolves a program name against PATH (of `env`, or ours); empty if not found.
std::string find_program(std::string_view name, const Environment* env = nullptr);

}  // namespace cicd

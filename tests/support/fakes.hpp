// Fakes for the engines' narrow interfaces (DESIGN.md section 7.6): a clock the test moves, a store
// that fails the operations it is told to, a process runner that answers from a script, and an
// instance host that lives in memory. Each records what the engine asked of it, so engine tests
// assert exact outcomes of failure paths no real component produces on demand (a full disk in the
// middle of a deployment, a clock that jumps) and of pacing without processes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/host.hpp"
#include "store/store.hpp"
#include "util/process.hpp"
#include "util/time.hpp"

namespace cicd::test {

// '*' matches any run of characters ('/' included), '?' one character (fnmatch without flags).
bool pattern_matches(std::string_view pattern, std::string_view text);

// ---- Clock ----

// Time stands still until the test moves it, forward or backward. Thread-safe.
class FakeClock final : public Clock {
 public:
  // 2026-03-01T12:00:00.000Z
  static SystemTime default_start();
  explicit FakeClock(SystemTime start = default_start());

  SystemTime now() const override;
  void set(SystemTime t);
  // Negative: the clock jumps backward.
  void advance(std::chrono::milliseconds by);
  // Every now() first moves the clock by `step` (0: it stands still): time passes as the engine
  // looks, so each recorded time differs from the one before.
  void set_step(std::chrono::milliseconds step);
  // How many times now() was called.
  int reads() const;

 private:
  mutable std::mutex m_mutex;
  mutable SystemTime m_now;
  std::chrono::milliseconds m_step{0};
  mutable int m_reads = 0;
};

// ---- Store ----

enum class StoreOp { get, put, list, remove, remove_prefix, put_file, get_file };
std::string_view store_op_name(StoreOp op);  // "get", "put", ...

// A real store (a LocalStore of its own, or one given) whose chosen operations fail. Every call
// is logged; `describe()` and `local_path()` are the inner store's, so engines that write beside
// the store (the build's folder, the deployment's bundle) do so as with the real one.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::filesystem::path root);  // over a LocalStore at `root`
  explicit FaultyStore(Store& inner);

  struct Fault {
    StoreOp op = StoreOp::put;
    std::string key_pattern = "*";  // pattern_matches() against the key (the prefix, for list)
    int skip = 0;                   // matching calls that pass before the first failure
    int times = -1;                 // failures, then it passes again (-1: forever)
    // Only puts whose data this accepts (a record saying "Succeeded", say); unset: every call.
    std::function<bool(std::string_view data)> when;
    std::optional<Error> error;     // default: disk_full() for writes, io_error() otherwise
    std::function<void()> on_fail;  // runs when it fails (outside the store's lock)
  };
  // Faults are checked in the order added; the first that applies to a call fails it.
  void add_fault(Fault fault);
  // The common case: puts of keys matching `pattern` fail from the `nth` such put on (1-based),
  // `times` times (-1: every one).
  void fail_puts(std::string pattern, int nth = 1, int times = -1);
  // Removes every fault: the disk has room again.
  void heal();

  // Error{io} "cannot write '<where(key)>': disk full" / "cannot read '<where(key)>': I/O error".
  Error disk_full(std::string_view key) const;
  Error io_error(std::string_view key) const;

  // "put builds/p/u/build.json", with " FAILED" appended to the ones that failed.
  std::vector<std::string> log() const;
  int failures() const;
  // The number of calls of `op` on keys matching `pattern` (failed ones included).
  int count(StoreOp op, std::string_view pattern = "*") const;

  Store& inner() { return *m_inner; }

  Result<std::optional<StoredObject>> get(std::string_view key) override;
  Result<std::string> put(std::string_view key, std::string_view data, PutCondition condition = {},
                          Durability durability = Durability::sync) override;
  Result<std::vector<std::string>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;
  Status remove_prefix(std::string_view prefix) override;
  Status put_file(std::string_view key, const std::filesystem::path& source) override;
  Status get_file(std::string_view key, const std::filesystem::path& destination) override;
  std::optional<std::filesystem::path> local_path(std::string_view key) const override;
  std::string describe() const override;

 private:
  // The error this call gets, if any; logs the call either way.
  std::optional<Error> check(StoreOp op, std::string_view key, std::string_view data = {});

  std::unique_ptr<Store> m_owned;
  Store* m_inner = nullptr;
  mutable std::mutex m_mutex;
  struct Rule {
    Fault fault;
    int seen = 0;
    int failed = 0;
  };
  std::vector<Rule> m_rules;
  std::vector<std::pair<StoreOp, std::string>> m_calls;
  std::vector<bool> m_call_failed;
  int m_failures = 0;
};

// ---- ProcessRunner ----

// What a scripted process "does": output lines, then an exit (or a failure to start at all).
struct ScriptedProcess {
  int exit_code = 0;
  int term_signal = 0;
  bool timed_out = false;
  bool stopped = false;
  std::vector<std::string> out;  // lines to the spec's sink, as stdout
  std::vector<std::string> err;  // as stderr (stdout when the spec merges them)
  std::optional<Error> error;    // run() itself fails (the program cannot be started)
  // Runs as the process "runs", before its output: moves a clock, breaks a store...
  std::function<void(const ProcessSpec&)> action;

  static ScriptedProcess exits(int code) {
    ScriptedProcess p;
    p.exit_code = code;
    return p;
  }
};

// Starts nothing: each run() is answered by the first rule whose pattern matches the argv (its
// words joined by single spaces), or by `fallback` (exit 0, no output). Every call is recorded.
// Thread-safe.
class ScriptedProcessRunner final : public ProcessRunner {
 public:
  // `times`: how many calls the rule answers before it is used up (-1: every one).
  void on(std::string argv_pattern, ScriptedProcess process, int times = -1);
  void set_fallback(ScriptedProcess process);

  Result<ProcessResult> run(const ProcessSpec& spec) override;

  // The specs of every call, in order.
  std::vector<ProcessSpec> calls() const;
  // Their argv, joined by spaces.
  std::vector<std::string> commands() const;
  int count(std::string_view argv_pattern) const;

 private:
  struct Rule {
    std::string pattern;
    ScriptedProcess process;
    int remaining = -1;
  };
  mutable std::mutex m_mutex;
  std::vector<Rule> m_rules;
  ScriptedProcess m_fallback;
  std::vector<ProcessSpec> m_calls;
};

// ---- InstanceHost ----

// A hook run's scripted outcome: which runs it answers, and what they "do".
struct FakeHook {
  std::string event;         // LIFECYCLE_EVENT ("BeforeInstall"); empty: any
  std::string script;        // pattern_matches() against the script's path; empty: any
  ScriptedProcess process;   // its exit and output (`action` gets a ProcessSpec with argv = {script})
  int times = -1;            // how many runs it answers (-1: every one)
};

// One call the engine made to a host, for assertions.
struct FakeHostCall {
  std::string op;      // "unpack_bundle", "read_text", "write_text", "append_text", "remove_tree",
                       // "list_directories", "install", "check_script", "run_hook"
  std::string path;    // the instance path it was about (run_hook: the script)
  std::string event;   // run_hook: its LIFECYCLE_EVENT
  bool failed = false;
};

// An instance that lives in memory: files (text, with a mode) under instance paths, a bundle
// "unpacked" by reading its entries into memory, an Install step that only counts, hooks that
// answer from a script (FakeHook; a script with no rule exits 0). Copies share one state, as
// connections to one machine see one disk: FakeFleet hands the engine a copy per deployment while
// the test keeps its own. Thread-safe.
class FakeInstanceHost final : public InstanceHost {
 public:
  explicit FakeInstanceHost(std::string name);

  // ---- the script ----
  // Rules are tried in the order added; the first that matches answers.
  void on_hook(FakeHook hook);
  // Calls of `op` (see FakeHostCall) on paths matching `path_pattern` fail with `error`
  // (Error{io} "<op> '<path>': injected failure" by default), `times` times (-1: every one).
  void fail(std::string op, std::string path_pattern = "*", std::optional<Error> error = {}, int times = -1);

  // ---- what happened ----
  std::vector<FakeHostCall> calls() const;
  // The hooks run, in order: "<event> <script path>".
  std::vector<std::string> hooks_run() const;
  std::optional<std::string> file(const std::string& path) const;
  // Deletes every file: the instance was wiped (ApplicationStop then has no previous revision).
  void wipe();

  // ---- InstanceHost ----
  std::string describe() const override;
  std::string deployment_root() const override;
  Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) override;
  Result<std::optional<std::string>> read_text(const std::string& path) override;
  Status write_text(const std::string& path, const std::string& content) override;
  Status append_text(const std::string& path, const std::string& content) override;
  Status remove_tree(const std::string& path) override;
  Result<std::vector<std::string>> list_directories(const std::string& path) override;
  Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir, const std::string& cleanup_file,
                                 FileExistsBehavior behavior, bool hard_links) override;
  ScriptState check_script(const std::string& path) override;
  Result<ProcessResult> run_hook(const HookRun& run) override;
  std::string hook_user() override { return "fake"; }

 private:
  struct File {
    std::string content;
    unsigned mode = 0644;
  };
  struct Failure {
    std::string op, pattern;
    Error error;
    int remaining = -1;
  };
  struct State {
    std::string name;
    std::mutex mutex;
    std::map<std::string, File> files;             // instance path -> file
    std::map<std::string, uint64_t> dir_created;   // directory -> when it appeared (a sequence)
    uint64_t sequence = 0;
    std::vector<FakeHook> hooks;
    std::vector<Failure> failures;
    std::vector<FakeHostCall> calls;
  };
  // Records the call; the injected failure for it, if any.
  std::optional<Error> enter(std::string op, const std::string& path, std::string event = {});
  void add_dirs_locked(const std::string& file_path);
  std::shared_ptr<State> m_state;
};

// The fake hosts of a fleet, one per instance name (made on first use), and the opener that
// gives them to DeployEngine in place of open_host.
class FakeFleet {
 public:
  FakeInstanceHost& operator[](const std::string& name);
  // Opens `instance.name`'s fake host; instances named in `unreachable` fail to open, as an ssh
  // host that cannot be reached: Error{io} "instance '<name>': ssh failed: <why>".
  HostOpener opener();
  void make_unreachable(const std::string& name, std::string why);
  // How many times each instance's host was opened.
  int opened(const std::string& name) const;

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::unique_ptr<FakeInstanceHost>> m_hosts;
  std::map<std::string, std::string> m_unreachable;
  std::map<std::string, int> m_opened;
};

}  // namespace cicd::test

// An instance over ssh. Design, so that it behaves exactly as LocalHost does:
// - One ControlMaster connection per host object (socket in a private temp dir), closed in the
//   destructor; ControlPersist=60 also ends it if we die without closing it.
// - Nothing is ever concatenated into a remote shell command: each command is `sh -c SCRIPT sh
//   ARG...` where SCRIPT is one of the constants below and every word goes through shell_quote.
//   Data (files to write, the bundle, the Install step's change list) travels on stdin.
// - The Install step runs install_revision() here, against a RemoteInstallTarget: one round trip
//   removes the previous deployment's files and answers every question the step will ask about
//   the destinations (from a local copy of the bundle, we know the sources), the step decides
//   locally exactly as it does for LocalHost, and its changes go over in one batch that stops at
//   the first failure. Same outcomes, same messages.
// - Hooks run under a remote wrapper that gives them their own session (setsid), the hook
//   variables, the directory, runas, and a watchdog that kills the session TERM-then-KILL on
//   timeout; the hook's output goes to files streamed back by `tail --pid`, so a daemon left
//   holding stdout cannot keep the ssh session (and so the deployment) open.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "artifact/archive.hpp"
#include "deploy/host.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace fs = std::filesystem;

namespace {

// How long an unused master connection outlives us if we die without closing it.
constexpr std::string_view k_control_persist = "ControlPersist=60";
// Between the TERM and the KILL of a timed-out hook's group, as ProcessSpec::kill_grace.
constexpr int k_kill_grace_seconds = 3;
// Extra time the local ssh client gets beyond a hook's timeout before we give up on the wrapper.
constexpr std::chrono::seconds k_hook_slack{30};

// ---- the fixed scripts run on the instance ----

constexpr std::string_view k_check_script = R"SH(
if [ ! -f "$1" ]; then echo missing; elif [ -x "$1" ]; then echo ok; else echo noexec; fi
)SH";

constexpr std::string_view k_read_script = R"SH(
[ -e "$1" ] || exit 3
exec cat -- "$1"
)SH";

// Atomic, as write_file_atomic: a temp file renamed over the target, mode 0644. The temp file's
// name is mktemp's, never one another user could guess and plant first.
constexpr std::string_view k_write_script = R"SH(
mkdir -p -- "$(dirname -- "$1")" || exit 1
t=$(mktemp -- "$1.tmp.XXXXXX") || exit 1
if cat >"$t" && chmod 644 "$t" && mv -f -- "$t" "$1"; then exit 0; fi
rm -f -- "$t"
exit 1
)SH";

constexpr std::string_view k_append_script = R"SH(
mkdir -p -- "$(dirname -- "$1")" && cat >>"$1"
)SH";

constexpr std::string_view k_remove_script = R"SH(
rm -rf -- "$1"
)SH";

// Subdirectories with their modification times (seconds.nanoseconds), as LocalHost sees them
// (through symlinks).
constexpr std::string_view k_list_script = R"SH(
[ -d "$1" ] || exit 0
exec find -L "$1" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n'
)SH";

// The bundle arrives on stdin. tar's defaults refuse member names with '..' and strip a leading
// '/'; no -P. Owned by us rather than by the archive's uids, with the archive's permission bits
// (-p) but, as the local unpackers, never its set-user-ID, set-group-ID or sticky bits: tar cannot
// leave them out, so they are taken off while the tree is still inside a private directory of
// mktemp's (mode 0700) where no one else can reach it, and only then is it moved into place.
constexpr std::string_view k_unpack_script = R"SH(
rm -rf -- "$1" && mkdir -p -- "$(dirname -- "$1")" || exit 1
s=$(mktemp -d -- "$(dirname -- "$1")/.cdeploy-unpack.XXXXXX") || exit 1
mkdir -- "$s/a" &&
  tar -x -p --no-same-owner -f - -C "$s/a" &&
  find "$s/a" ! -type l -perm /7000 -exec chmod ug-s,o-t -- {} + &&
  mv -- "$s/a" "$1"
rc=$?
rm -rf -- "$s"
exit "$rc"
)SH";

constexpr std::string_view k_kill_script = R"SH(
kill -s TERM -- "-$1" 2>/dev/null || exit 0
kill -s CONT -- "-$1" 2>/dev/null
sleep "$2"
kill -s KILL -- "-$1" 2>/dev/null
exit 0
)SH";

// Install, first round trip. stdin: the previous cleanup list's path; a count and that many user
// names; the same for groups; the same for paths. Removes the listed files (newest first, empty
// directories only) and prints: "removed N" or "removed none"; "user 0|1" per user; "group 0|1"
// per group; "setfacl 0|1"; "selinux 0|1"; then per path three flags: symlink, exists, directory
// (the last two through symlinks).
constexpr std::string_view k_probe_script = R"SH(
export LC_ALL=C
IFS= read -r cleanup
if [ -f "$cleanup" ] && [ -r "$cleanup" ]; then
  # Files go in batches (one rm per hundred); a directory's files are gone before it is reached.
  sed -n '1!G;h;$p' "$cleanup" | {
    n=0
    set --
    while IFS= read -r p; do
      [ -n "$p" ] || continue
      if [ -d "$p" ] && [ ! -L "$p" ]; then
        [ $# -eq 0 ] || rm -f -- "$@" </dev/null 2>/dev/null
        set --
        rmdir -- "$p" </dev/null 2>/dev/null
      elif [ -e "$p" ] || [ -L "$p" ]; then
        set -- "$@" "$p"
        n=$((n + 1))
        if [ $# -ge 100 ]; then rm -f -- "$@" </dev/null 2>/dev/null; set --; fi
      fi
    done
    [ $# -eq 0 ] || rm -f -- "$@" </dev/null 2>/dev/null
    echo "removed $n"
  }
else
  echo "removed none"
fi
IFS= read -r k
while [ "$k" -gt 0 ]; do
  IFS= read -r u
  if id -u -- "$u" </dev/null >/dev/null 2>&1; then echo "user 1"; else echo "user 0"; fi
  k=$((k - 1))
done
IFS= read -r k
while [ "$k" -gt 0 ]; do
  IFS= read -r g
  if getent group -- "$g" </dev/null >/dev/null 2>&1; then echo "group 1"; else echo "group 0"; fi
  k=$((k - 1))
done
if command -v setfacl >/dev/null 2>&1; then echo "setfacl 1"; else echo "setfacl 0"; fi
if command -v chcon >/dev/null 2>&1 && [ -e /sys/fs/selinux/enforce ]; then echo "selinux 1"; else echo "selinux 0"; fi
IFS= read -r k
while [ "$k" -gt 0 ]; do
  IFS= read -r p
  l=0; e=0; d=0
  [ -L "$p" ] && l=1
  [ -e "$p" ] && e=1
  [ -d "$p" ] && d=1
  echo "path $l$e$d"
  k=$((k - 1))
done
)SH";

// Install, second round trip: the changes, in order, one field per line (an operation letter,
// then its fields). Stops at the first that fails: prints "fail INDEX" and what the tool said;
// else "ok".
constexpr std::string_view k_apply_script = R"SH(
export LC_ALL=C
d=$(mktemp -d "${TMPDIR:-/tmp}/cdeploy-install.XXXXXX") || exit 1
trap 'rm -rf -- "$d"' EXIT
cat >"$d/ops" || exit 1
i=0
failed() { printf 'fail %s\n' "$i"; cat -- "$d/err"; exit 0; }
while IFS= read -r op; do
  case $op in
  D) IFS= read -r p
     [ -d "$p" ] || mkdir -- "$p" </dev/null 2>"$d/err" || failed ;;
  R) IFS= read -r p
     if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir -- "$p" </dev/null 2>"$d/err" || failed
     elif [ -e "$p" ] || [ -L "$p" ]; then rm -f -- "$p" </dev/null 2>"$d/err" || failed; fi ;;
  F) IFS= read -r s; IFS= read -r p; IFS= read -r m
     install -p -m "$m" -- "$s" "$p" </dev/null 2>"$d/err" || failed ;;
  L) IFS= read -r s; IFS= read -r p
     ln -s -- "$s" "$p" </dev/null 2>"$d/err" || failed ;;
  W) IFS= read -r p; IFS= read -r n
     k=0
     while [ "$k" -lt "$n" ]; do IFS= read -r l; printf '%s\n' "$l"; k=$((k + 1)); done >"$d/list"
     t=
     { mkdir -p -- "$(dirname -- "$p")" && t=$(mktemp -- "$p.tmp.XXXXXX") && cp -- "$d/list" "$t" &&
       chmod 644 "$t" && mv -f -- "$t" "$p"; } </dev/null 2>"$d/err" || { [ -z "$t" ] || rm -f -- "$t"; failed; } ;;
  O) IFS= read -r o; IFS= read -r p
     chown -h -- "$o" "$p" </dev/null 2>"$d/err" || failed ;;
  M) IFS= read -r m; IFS= read -r p
     chmod -- "$m" "$p" </dev/null 2>"$d/err" || failed ;;
  A) IFS= read -r e; IFS= read -r p
     setfacl -m "$e" "$p" </dev/null >"$d/err" 2>&1 || failed ;;
  X) IFS= read -r n
     set --
     while [ "$n" -gt 0 ]; do IFS= read -r a; set -- "$@" "$a"; n=$((n - 1)); done
     chcon "$@" </dev/null >"$d/err" 2>&1 || failed ;;
  *) echo "unknown operation '$op'" >"$d/err"; failed ;;
  esac
  i=$((i + 1))
done <"$d/ops"
echo ok
)SH";

// One hook. Arguments: MARKER TIMEOUT GRACE CWD RUNAS SUDO(0|1) SCRIPT [NAME=VALUE]...
// Status lines for cdeploy go to stderr, starting with MARKER: "pid N" once the hook runs,
// "exit RC TIMEDOUT" at the end, or "error MESSAGE" when it could not start.
// runas: as root, setpriv (as LocalHost does, HOME/USER/LOGNAME of the user); otherwise
// `sudo -n` (never prompts: a password it would need is an error). The agent's `sudo: true`: through
// `sudo -n` when not root. Under sudo the hook variables are passed with env(1), sudo would drop them.
constexpr std::string_view k_hook_script = R"SH(
exec 3<&0 0</dev/null
m=$1 t=$2 g=$3 cwd=$4 runas=$5 viasudo=$6 script=$7
shift 7
say() { printf '%s %s\n' "$m" "$*" >&2; }
for kv in "$@"; do export "$kv"; done
for tool in setsid tail; do
  command -v "$tool" >/dev/null 2>&1 || { say error "cannot run hooks on this instance: $tool is not installed"; exit 0; }
done
tail -c +1 --pid=$$ /dev/null >/dev/null 2>&1 ||
  { say error "cannot run hooks on this instance: its tail lacks --pid (install GNU coreutils)"; exit 0; }
how=plain
if [ -n "$runas" ]; then
  if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null 2>&1 ||
      { say error "cannot run as '$runas': setpriv (util-linux) is not installed on this instance"; exit 0; }
    uid=$(id -u -- "$runas" 2>/dev/null) && gid=$(id -g -- "$runas" 2>/dev/null) &&
      home=$(getent passwd -- "$runas" | cut -d: -f6) || { say error "cannot run as '$runas': no such user"; exit 0; }
    how=setpriv
  else
    command -v sudo >/dev/null 2>&1 ||
      { say error "cannot run as '$runas': only root can switch users, and sudo is not installed on this instance"; exit 0; }
    how=sudo
  fi
elif [ "$viasudo" = 1 ] && [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { say error "cannot run 'sudo': command not found"; exit 0; }
  how=sudoroot
fi
cd -- "$cwd" 2>/dev/null || { say error "cannot run '$script': directory '$cwd' does not exist"; exit 0; }
d=$(mktemp -d "${TMPDIR:-/tmp}/cdeploy-hook.XXXXXX") || { say error "cannot create a temporary directory on this instance"; exit 0; }
trap 'rm -rf -- "$d"' EXIT
: >"$d/out"; : >"$d/err"
case $how in
plain) setsid "$script" </dev/null >"$d/out" 2>"$d/err" 3<&- & ;;
setpriv) HOME=$home USER=$runas LOGNAME=$runas \
  setsid setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$script" </dev/null >"$d/out" 2>"$d/err" 3<&- & ;;
sudo) setsid sudo -n -u "$runas" -- env "$@" sh -c 'exec "$0"' "$script" </dev/null >"$d/out" 2>"$d/err" 3<&- & ;;
sudoroot) setsid sudo -n -- env "$@" sh -c 'exec "$0"' "$script" </dev/null >"$d/out" 2>"$d/err" 3<&- & ;;
esac
pid=$!
say pid "$pid"
# cdeploy keeps our stdin (now 3) open while it waits: EOF there means it is gone (killed, stopped,
# or the connection dropped), and the hook goes too, TERM then KILL, as on a timeout.
setsid sh -c 'cat >/dev/null; kill -s TERM -- "-$1"; kill -s CONT -- "-$1"; sleep "$2"; kill -s KILL -- "-$1"' \
  sh "$pid" "$g" <&3 >/dev/null 2>&1 &
l=$!
exec 3<&-
tail -c +1 -s 0.1 -f --pid="$pid" "$d/out" &
o=$!
tail -c +1 -s 0.1 -f --pid="$pid" "$d/err" >&2 &
e=$!
setsid sh -c 'sleep "$1"; : >"$2/timedout"; kill -s TERM -- "-$3"; kill -s CONT -- "-$3"; sleep "$4"; kill -s KILL -- "-$3"' \
  sh "$t" "$d" "$pid" "$g" </dev/null >/dev/null 2>&1 &
w=$!
# (The shell reports jobs killed by a signal on stderr while waiting: not the hook's output.)
wait "$pid" 2>/dev/null
rc=$?
# The watchdogs' pids first: they may not have made their sessions yet (no children then).
kill -s KILL -- "$w" "$l" 2>/dev/null
kill -s KILL -- "-$w" "-$l" 2>/dev/null
timed=0
if [ -e "$d/timedout" ]; then
  timed=1
  kill -s KILL -- "-$pid" 2>/dev/null
fi
wait "$o" 2>/dev/null
wait "$e" 2>/dev/null
say exit "$rc" "$timed"
)SH";

std::string last_line(std::string_view text) {
  auto lines = split_lines(text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (!trim(*it).empty()) return std::string(trim(*it));
  return {};
}

// "cp: cannot create regular file 'x': Permission denied" -> "Permission denied": what strerror
// would have said here. A tool the shell could not find is named: "sh: 1: chown: not found" ->
// "chown is not installed on this instance".
std::string tool_reason(std::string_view text) {
  std::string line = last_line(text);
  for (std::string_view tail : {": command not found", ": not found"}) {
    if (!line.ends_with(tail)) continue;
    std::string head = line.substr(0, line.size() - tail.size());
    auto colon = head.rfind(": ");
    return head.substr(colon == std::string::npos ? 0 : colon + 2) + " is not installed on this instance";
  }
  auto colon = line.rfind(": ");
  return colon == std::string::npos ? line : line.substr(colon + 2);
}

std::string random_marker() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  return fmt::format("cdeploy-hook-{:016x}", rng());
}

bool has_newline(std::string_view s) { return s.find('\n') != std::string_view::npos; }

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// The hook's output for the lifecycle's sink, minus the wrapper's status lines (read here).
class HookOutput final : public OutputSink {
 public:
  HookOutput(std::shared_ptr<OutputSink> inner, std::string marker)
      : m_inner(std::move(inner)), m_marker(std::move(marker)) {}

  void on_line(OutputStream stream, std::string_view line) override {
    if (stream == OutputStream::err) {
      auto at = line.find(m_marker);
      if (at != std::string_view::npos) {
        // The hook's last stderr line may lack its newline: what precedes the marker is its.
        if (at > 0) forward(stream, line.substr(0, at));
        status(line.substr(at + m_marker.size()));
        return;
      }
      std::lock_guard lock(m_mutex);
      m_last_err = std::string(line);
    }
    forward(stream, line);
  }

  struct Status {
    std::optional<int> pid;
    std::optional<int> exit_code;
    bool timed_out = false;
    std::optional<std::string> error;
    std::string last_err;
  };
  Status result() const {
    std::lock_guard lock(m_mutex);
    auto s = m_status;
    s.last_err = m_last_err;
    return s;
  }

 private:
  void forward(OutputStream stream, std::string_view line) {
    if (m_inner) m_inner->on_line(stream, line);
  }
  void status(std::string_view text) {
    std::lock_guard lock(m_mutex);
    text = trim(text);
    auto words = split(text, ' ');
    if (words.size() >= 2 && words[0] == "pid") {
      if (auto v = parse_uint(words[1])) m_status.pid = static_cast<int>(*v);
    } else if (words.size() >= 3 && words[0] == "exit") {
      if (auto v = parse_uint(words[1])) m_status.exit_code = static_cast<int>(*v);
      m_status.timed_out = words[2] == "1";
    } else if (words.size() >= 2 && words[0] == "error") {
      m_status.error = std::string(trim(text.substr(5)));
    }
  }

  std::shared_ptr<OutputSink> m_inner;
  std::string m_marker;
  mutable std::mutex m_mutex;
  Status m_status;
  std::string m_last_err;
};

}  // namespace

// ---- the Install step's destination on the instance ----

namespace {

class RemoteInstallTarget final : public InstallTarget {
 public:
  // `mirror`: the local copy of the revision install_revision reads; `archive`: the same
  // revision on the instance, where the copies come from.
  RemoteInstallTarget(SshHost& host, fs::path mirror, std::string archive)
      : m_host(host), m_mirror(std::move(mirror)), m_archive(std::move(archive)) {}

  Result<std::optional<size_t>> begin(const InstallQuery& query) override {
    // 1. The question, one field per line; a name with a newline cannot be said this way.
    if (auto s = check_name(query.previous_cleanup.string()); !s) return std::unexpected(s.error());
    std::string text = query.previous_cleanup.string() + "\n";
    auto section = [&](const auto& items) -> Status {
      text += std::to_string(items.size()) + "\n";
      for (auto& item : items) {
        std::string name = fs::path(item).string();
        if (auto s = check_name(name); !s) return s;
        text += name + "\n";
      }
      return {};
    };
    for (auto* items : {&query.users, &query.groups})
      if (auto s = section(*items); !s) return std::unexpected(s.error());
    if (auto s = section(query.paths); !s) return std::unexpected(s.error());

    // 2. One round trip: the previous files go, the answers come back.
    auto input = m_host.stage(text);
    if (!input) return std::unexpected(input.error());
    auto r = m_host.run_script(k_probe_script, {}, *input);
    if (!r) return std::unexpected(r.error());
    if (r->exit_code != 0) return std::unexpected(m_host.failure("cannot inspect the instance for the Install step", *r));
    auto lines = split_lines(r->out);
    size_t at = 0;
    auto next = [&](std::string_view key) -> std::optional<std::string> {
      if (at >= lines.size() || !lines[at].starts_with(std::string(key) + " ")) return std::nullopt;
      return lines[at++].substr(key.size() + 1);
    };
    auto malformed = [&] {
      return fail(ErrorKind::io, "unexpected answer from the instance while preparing the Install step: '{}'",
                  at < lines.size() ? lines[at] : std::string("(nothing)"));
    };
    auto removed = next("removed");
    if (!removed) return malformed();
    std::optional<size_t> count;
    if (*removed != "none") {
      auto v = parse_uint(*removed);
      if (!v) return malformed();
      count = static_cast<size_t>(*v);
    }
    for (auto& u : query.users) {
      auto v = next("user");
      if (!v) return malformed();
      if (*v == "1") m_users.insert(u);
    }
    for (auto& g : query.groups) {
      auto v = next("group");
      if (!v) return malformed();
      if (*v == "1") m_groups.insert(g);
    }
    auto setfacl = next("setfacl");
    auto selinux = next("selinux");
    if (!setfacl || !selinux) return malformed();
    m_setfacl = *setfacl == "1";
    m_selinux = *selinux == "1";
    for (auto& p : query.paths) {
      auto v = next("path");
      if (!v || v->size() != 3) return malformed();
      DestinationState s;
      bool link = (*v)[0] == '1', exists = (*v)[1] == '1', dir = (*v)[2] == '1';
      s.is_symlink = link;
      s.present = link || exists;
      s.resolves = exists;
      s.resolves_to_directory = dir;
      s.is_directory = dir && !link;
      m_states[p] = s;
    }
    return count;
  }

  // Answers from the probe, updated by the changes queued since.
  DestinationState state(const fs::path& path) override {
    auto it = m_states.find(path);
    return it == m_states.end() ? DestinationState{} : it->second;
  }

  Status create_directory(const fs::path& path) override {
    if (auto s = check_name(path.string()); !s) return s;
    queue({"D", path.string()}, fmt::format("cannot create directory '{}'", path.string()));
    m_states[path] = DestinationState{true, false, true, true, true};
    return {};
  }

  // Always copies (install -p: mode and modification time kept): hard links are for local
  // instances, where the archive's copy is at hand.
  Result<size_t> copy_files(const std::vector<FileWrite>& files) override {
    for (auto& w : files)
      if (auto s = copy(w.from, w.to); !s) return std::unexpected(s.error());
    return size_t{0};
  }

  Status write_cleanup(const fs::path& path, const std::string& content) override {
    auto lines = split_lines(content);
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::vector<std::string> fields = {"W", path.string(), std::to_string(lines.size())};
    fields.insert(fields.end(), lines.begin(), lines.end());
    queue(fields, fmt::format("cannot write '{}'", path.string()));
    return {};
  }

  bool user_exists(const std::string& name) override { return m_users.contains(name); }
  bool group_exists(const std::string& name) override { return m_groups.contains(name); }
  bool has_setfacl() override { return m_setfacl; }
  bool selinux_enabled() override { return m_selinux; }

  Status change_owner(const fs::path& path, const std::optional<std::string>& owner,
                      const std::optional<std::string>& group) override {
    std::string spec = owner.value_or("") + (group ? ":" + *group : "");
    queue({"O", spec, path.string()}, fmt::format("cannot change the owner of '{}'", path.string()));
    return {};
  }

  Status change_mode(const fs::path& path, unsigned mode) override {
    queue({"M", fmt::format("{:o}", mode), path.string()}, fmt::format("cannot change the mode of '{}'", path.string()));
    return {};
  }

  Status set_acl(const fs::path& path, const std::string& entries) override {
    if (auto s = check_name(entries); !s) return s;
    queue({"A", entries, path.string()}, fmt::format("setfacl on '{}' failed", path.string()), true);
    return {};
  }

  Status set_context(const fs::path& path, const std::vector<std::string>& chcon_options) override {
    std::vector<std::string> fields = {"X", std::to_string(chcon_options.size() + 1)};
    for (auto& o : chcon_options) {
      if (auto s = check_name(o); !s) return s;
      fields.push_back(o);
    }
    fields.push_back(path.string());
    queue(fields, fmt::format("chcon on '{}' failed", path.string()), true);
    return {};
  }

  // Carries out the queued changes; the first that fails is the step's error (it happened before
  // anything install_revision decided after it).
  Status flush() {
    if (m_ops.empty()) return {};
    auto input = m_host.stage(m_ops);
    if (!input) return std::unexpected(input.error());
    auto r = m_host.run_script(k_apply_script, {}, *input);
    if (!r) return std::unexpected(r.error());
    if (r->exit_code != 0) return std::unexpected(m_host.failure("cannot install on the instance", *r));
    if (r->out.starts_with("ok")) return {};
    auto newline = r->out.find('\n');
    std::string head = r->out.substr(0, newline);
    std::string said = newline == std::string::npos ? "" : r->out.substr(newline + 1);
    auto index = head.starts_with("fail ") ? parse_uint(head.substr(5)) : std::nullopt;
    if (!index || *index >= static_cast<long long>(m_messages.size()))
      return fail(ErrorKind::io, "unexpected answer from the instance while installing: '{}'", head);
    auto& [what, whole_output] = m_messages[static_cast<size_t>(*index)];
    if (whole_output) return fail(ErrorKind::failed, "{}: {}", what, trim(said));
    return fail(ErrorKind::io, "{}: {}", what, tool_reason(said));
  }

 private:
  // One file or symlink: whatever is at `to` goes, then the copy (with the mode LocalHost gives it).
  Status copy(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    auto st = fs::symlink_status(from, ec);
    if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", from.string(), ec.message());
    std::string remote_from = m_archive + "/" + from.lexically_relative(m_mirror).generic_string();
    if (auto s = check_name(to.string()); !s) return s;
    if (auto s = check_name(remote_from); !s) return s;
    queue({"R", to.string()}, fmt::format("cannot replace '{}'", to.string()));
    if (fs::is_symlink(st)) {
      auto target = fs::read_symlink(from, ec);
      if (ec) return fail(ErrorKind::io, "cannot read '{}': {}", from.string(), ec.message());
      if (auto s = check_name(target.string()); !s) return s;
      queue({"L", target.string(), to.string()}, fmt::format("cannot copy '{}' to '{}'", remote_from, to.string()));
      m_states[to] = DestinationState{true, true, false, false, false};
    } else {
      auto mode = static_cast<unsigned>(st.permissions()) & 07777;
      queue({"F", remote_from, to.string(), fmt::format("{:o}", mode)},
            fmt::format("cannot copy '{}' to '{}'", remote_from, to.string()));
      m_states[to] = DestinationState{true, false, false, true, false};
    }
    return {};
  }

  static Status check_name(const std::string& s) {
    if (has_newline(s)) return fail(ErrorKind::invalid, "cannot install over ssh: the name '{}' contains a newline", s);
    return {};
  }
  void queue(const std::vector<std::string>& fields, std::string what, bool whole_output = false) {
    for (auto& f : fields) {
      m_ops += f;
      m_ops += '\n';
    }
    m_messages.emplace_back(std::move(what), whole_output);
  }

  SshHost& m_host;
  fs::path m_mirror;
  std::string m_archive;
  std::map<fs::path, DestinationState> m_states;
  std::set<std::string> m_users, m_groups;
  bool m_setfacl = false, m_selinux = false;
  std::string m_ops;
  std::vector<std::pair<std::string, bool>> m_messages;  // per queued change: its error, tool output whole?
};

}  // namespace

// ---- SshHost ----

SshHost::SshHost(std::string name, InstanceTarget target, fs::path root, std::vector<std::string> ssh_command,
                 ProcessRunner& runner, Run* run)
    : m_name(std::move(name)),
      m_target(std::move(target)),
      m_root(std::move(root)),
      m_ssh(std::move(ssh_command)),
      m_runner(runner),
      m_run(run) {
  if (m_ssh.empty()) m_ssh = {"ssh"};
}

SshHost::~SshHost() {
  if (!m_master) return;
  // Close the shared connection; ControlPersist ends it anyway if this fails.
  ProcessSpec spec;
  spec.argv = ssh_argv({"-O", "exit"}, "");
  spec.output_mode = OutputMode::null;
  spec.timeout = std::chrono::seconds(10);
  // Best effort: ControlPersist ends the master anyway; there is no one left to tell.
  (void)m_runner.run(spec);
}

std::string SshHost::destination() const {
  return m_target.user.empty() ? m_target.host : m_target.user + "@" + m_target.host;
}

std::string SshHost::hook_user() {
  if (m_login_user.empty()) {
    auto r = run_script("id -un", {});
    if (r && r->exit_code == 0) m_login_user = std::string(trim(r->out));
    if (m_login_user.empty()) return m_target.user.empty() ? "(the ssh login user)" : m_target.user;
  }
  return m_login_user;
}

std::string SshHost::describe() const {
  std::string where = fmt::format("ssh {}:{}", destination(), m_target.port);
  return m_root == "/" ? fmt::format("{} ({})", m_name, where)
                       : fmt::format("{} ({}, root {})", m_name, where, m_root.string());
}

std::string SshHost::deployment_root() const {
  return (m_root / "opt/cdeploy/deployment-root").lexically_normal().string();
}

std::vector<std::string> SshHost::ssh_argv(std::vector<std::string> options, const std::string& remote_command) const {
  std::vector<std::string> argv = m_ssh;
  // The user's options (CDEPLOY_SSH) come first: ssh keeps the first value it is given.
  // -T: no terminal, whatever a config says: hooks see pipes, as LocalHost gives them.
  std::vector<std::string> ours = {"-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=15",
                                   "-o", "ServerAliveCountMax=4", "-p", std::to_string(m_target.port)};
  if (m_private) ours.insert(ours.end(), {"-o", "ControlPath=" + (m_private->path() / "control").string()});
  argv.insert(argv.end(), ours.begin(), ours.end());
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.push_back(destination());
  if (!remote_command.empty()) argv.push_back(remote_command);
  return argv;
}

Error SshHost::ssh_error(std::string_view ssh_stderr) const {
  std::string said = last_line(ssh_stderr);
  if (said.empty()) said = "it exited with status 255 and said nothing";
  return Error{ErrorKind::io, fmt::format("instance '{}' (ssh {}:{}): ssh failed: {}", m_name, destination(),
                                          m_target.port, said)};
}

Error SshHost::failure(std::string_view what, const Output& output) const {
  if (output.exit_code == 255) return ssh_error(output.err);
  std::string said = last_line(output.err);
  if (said.empty()) said = fmt::format("exit status {}", output.exit_code);
  return Error{ErrorKind::io, fmt::format("{}: {}", what, said)};
}

Status SshHost::connect() {
  // 1. A private directory for the control socket. A socket path must stay short, and ssh reads
  //    '%' and blanks in ControlPath: a TMPDIR that is long or unusual is not used for it.
  fs::path base = "/tmp";
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) {
    std::string_view t(tmp);
    if (t.size() < 60 && t.starts_with("/") && std::all_of(t.begin(), t.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-';
        }))
      base = tmp;
  }
  auto dir = TempDir::create(base, "cdeploy-ssh-");
  if (!dir) return std::unexpected(dir.error());
  m_private = std::move(*dir);

  // 2. The master: authenticates, then waits in the background for our commands.
  ProcessSpec spec;
  spec.argv = ssh_argv({"-o", "ControlMaster=yes", "-o", std::string(k_control_persist), "-f", "-N"}, "");
  auto capture = std::make_shared<CaptureSink>();
  spec.sink = capture;
  spec.timeout = std::chrono::seconds(60);
  spec.run = m_run;  // the master itself leaves the group (-f) and lives on until closed
  auto r = m_runner.run(spec);
  if (!r) return std::unexpected(r.error());
  if (r->stopped)
    return fail(ErrorKind::stopped, "instance '{}' (ssh {}:{}): connecting was stopped", m_name, destination(),
                m_target.port);
  if (r->timed_out)
    return fail(ErrorKind::io, "instance '{}' (ssh {}:{}): ssh failed: no connection after 60 seconds", m_name,
                destination(), m_target.port);
  if (!r->succeeded()) return std::unexpected(ssh_error(capture->err()));
  m_master = true;
  return {};
}

Result<fs::path> SshHost::stage(std::string_view content) {
  if (!m_private) return fail(ErrorKind::internal, "instance '{}': not connected", m_name);
  fs::path file = m_private->path() / "stdin";
  if (auto s = write_file_atomic(file, content, {.mode = 0600, .sync = false}); !s) return std::unexpected(s.error());
  return file;
}

Result<SshHost::Output> SshHost::run_script(std::string_view script, const std::vector<std::string>& args,
                                             const fs::path& input, ScriptLimits limits) {
  // 1. `sh -c SCRIPT sh ARGS...`, each word quoted: the remote side hands it to a shell.
  std::string command = "sh -c " + shell_quote(script) + " sh";
  for (auto& a : args) command += " " + shell_quote(a);
  ProcessSpec spec;
  spec.argv = ssh_argv({"-o", "ControlMaster=no"}, command);
  Run* run = limits.stoppable ? m_run : nullptr;
  spec.run = run;
  std::vector<std::pair<int, int>> fds;
  int in = -1;
  if (!input.empty()) {
    in = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return fail_errno(fmt::format("cannot read '{}'", input.string()), errno);
    spec.stdin_mode = StdinMode::inherit;
    fds.emplace_back(in, 0);
  }
  auto child = spawn_process(spec, fds);
  if (in >= 0) ::close(in);
  if (!child) return std::unexpected(child.error());

  // 2. Both streams to their end, byte for byte, then the exit status; unless the deadline or a
  // stop comes first: then the ssh client's group goes (the connection with it).
  Output out;
  int fd_out = child->stdout_fd, fd_err = child->stderr_fd;
  auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  std::vector<int> cancel_fds;
  if (run) cancel_fds = run->token().poll_fds();
  std::optional<ErrorKind> ended;
  while (fd_out >= 0 || fd_err >= 0) {
    if (run && run->token().cancelled()) ended = ErrorKind::stopped;
    else if (std::chrono::steady_clock::now() >= deadline) ended = ErrorKind::timed_out;
    if (ended) {
      ::kill(-child->pid, SIGKILL);
      break;
    }
    std::vector<pollfd> polls;
    if (fd_out >= 0) polls.push_back({fd_out, POLLIN, 0});
    if (fd_err >= 0) polls.push_back({fd_err, POLLIN, 0});
    for (int fd : cancel_fds) polls.push_back({fd, POLLIN, 0});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(polls.data(), polls.size(), static_cast<int>(std::max<long long>(0, left.count()) + 1)) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (auto& p : polls) {
      if (!p.revents || (p.fd != fd_out && p.fd != fd_err)) continue;
      int& fd = p.fd == fd_out ? fd_out : fd_err;
      std::string& text = p.fd == fd_out ? out.out : out.err;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          text.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        ::close(fd);
        fd = -1;
        break;
      }
    }
  }
  for (int fd : {fd_out, fd_err})
    if (fd >= 0) ::close(fd);
  auto status = peek_exit(child->pid, true);
  finish_process(child->pid, run, ended ? Leftovers::kill : Leftovers::keep);
  if (child->pidfd >= 0) ::close(child->pidfd);
  if (ended == ErrorKind::stopped)
    return fail(ErrorKind::stopped, "instance '{}': the deployment was {}", m_name, run->token().message());
  if (ended == ErrorKind::timed_out)
    return fail(ErrorKind::timed_out, "instance '{}' (ssh {}:{}): no answer within {} s", m_name, destination(),
                m_target.port, limits.timeout.count());
  out.exit_code = !status ? 255 : status->term_signal ? 128 + status->term_signal : status->exit_code;
  return out;
}

Status SshHost::unpack_bundle(const fs::path& bundle, const std::string& dir) {
  // 1. Here first: the safe unpacker vets the archive before anything is sent, and the Install
  //    step plans from this copy.
  m_mirror.reset();
  m_mirror_of.clear();
  auto mirror = TempDir::create({}, "cdeploy-mirror-");
  if (!mirror) return std::unexpected(mirror.error());
  if (auto extracted = extract_archive(bundle, mirror->path() / "r", {.keep_permissions = true, .hash_contents = false});
      !extracted)
    return std::unexpected(extracted.error());
  // 2. Then there, as a tar stream.
  // A large bundle over a slow link takes its time: an hour at most.
  auto r = run_script(k_unpack_script, {dir}, bundle, {.timeout = std::chrono::seconds(3600)});
  if (!r) return std::unexpected(r.error());
  if (r->exit_code != 0) return std::unexpected(failure(fmt::format("cannot unpack the bundle into '{}'", dir), *r));
  m_mirror = std::move(*mirror);
  m_mirror_of = dir;
  return {};
}

Result<std::optional<std::string>> SshHost::read_text(const std::string& path) {
  auto r = run_script(k_read_script, {path});
  if (!r) return std::unexpected(r.error());
  if (r->exit_code == 3) return std::optional<std::string>{};
  if (r->exit_code != 0) return std::unexpected(failure(fmt::format("cannot read '{}'", path), *r));
  return std::optional<std::string>{std::move(r->out)};
}

Status SshHost::send_text(std::string_view script, const std::string& path, const std::string& content,
                          std::string_view what) {
  auto input = stage(content);
  if (!input) return std::unexpected(input.error());
  auto r = run_script(script, {path}, *input);
  if (!r) return std::unexpected(r.error());
  if (r->exit_code != 0) return std::unexpected(failure(fmt::format("{} '{}'", what, path), *r));
  return {};
}

Status SshHost::write_text(const std::string& path, const std::string& content) {
  return send_text(k_write_script, path, content, "cannot write");
}

Status SshHost::append_text(const std::string& path, const std::string& content) {
  return send_text(k_append_script, path, content, "cannot open");
}

Status SshHost::remove_tree(const std::string& path) {
  auto r = run_script(k_remove_script, {path});
  if (!r) return std::unexpected(r.error());
  if (r->exit_code != 0) return std::unexpected(failure(fmt::format("cannot remove '{}'", path), *r));
  return {};
}

Result<std::vector<std::string>> SshHost::list_directories(const std::string& path) {
  auto r = run_script(k_list_script, {path});
  if (!r) return std::unexpected(r.error());
  if (r->exit_code != 0) return std::unexpected(failure(fmt::format("cannot list '{}'", path), *r));
  // "SECONDS.FRACTION PATH": oldest first, as LocalHost orders them (then by path).
  std::vector<std::tuple<long long, std::string, std::string>> dirs;
  for (auto& line : split_lines(r->out)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    std::string stamp = line.substr(0, space);
    auto dot = stamp.find('.');
    auto seconds = parse_uint(stamp.substr(0, dot));
    std::string fraction = dot == std::string::npos ? "" : stamp.substr(dot + 1);
    fraction.resize(10, '0');
    dirs.emplace_back(seconds.value_or(0), fraction, line.substr(space + 1));
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<std::string> out;
  for (auto& d : dirs) out.push_back(std::get<2>(d));
  return out;
}

Result<InstallOutcome> SshHost::install(const Appspec& spec, const std::string& archive_dir,
                                        const std::string& cleanup_file, FileExistsBehavior behavior, bool) {
  if (!m_mirror || m_mirror_of != archive_dir)
    return fail(ErrorKind::internal, "instance '{}': the revision at '{}' was not unpacked by this deployment", m_name,
                archive_dir);
  RemoteInstallTarget target(*this, m_mirror->path() / "r", archive_dir);
  InstallRequest request;
  request.spec = &spec;
  request.archive_dir = m_mirror->path() / "r";
  request.root = m_root;
  request.previous_cleanup = cleanup_file;
  request.new_cleanup = cleanup_file;
  request.file_exists_behavior = behavior;
  auto outcome = install_revision(request, target);
  if (auto flushed = target.flush(); !flushed) return std::unexpected(flushed.error());
  return outcome;
}

ScriptState SshHost::check_script(const std::string& path) {
  auto r = run_script(k_check_script, {path});
  // A connection failure is not the script's: let run_hook meet it and report it as such.
  if (!r || r->exit_code != 0) return ScriptState::ok;
  std::string answer(trim(r->out));
  if (answer == "missing") return ScriptState::missing;
  if (answer == "noexec") return ScriptState::not_executable;
  return ScriptState::ok;
}

Result<ProcessResult> SshHost::run_hook(const HookRun& run) {
  // 1. The wrapper's command line: marker, timeout, grace, directory, runas, sudo, script, variables.
  std::string marker = random_marker();
  std::vector<std::string> args = {marker,
                                   std::to_string(std::max<long long>(1, run.timeout.count())),
                                   std::to_string(k_kill_grace_seconds),
                                   run.cwd,
                                   run.runas.value_or(""),
                                   run.sudo ? "1" : "0",
                                   run.script};
  for (auto& [k, v] : run.env) {
    if (!is_env_name(k)) return fail(ErrorKind::internal, "invalid environment variable name '{}'", k);
    args.push_back(k + "=" + v);
  }
  std::string command = "sh -c " + shell_quote(k_hook_script) + " sh";
  for (auto& a : args) command += " " + shell_quote(a);

  // 2. Run it; the remote watchdog enforces the timeout, ours is only a backstop.
  auto output = std::make_shared<HookOutput>(run.sink, marker);
  ProcessSpec spec;
  spec.argv = ssh_argv({"-o", "ControlMaster=no"}, command);
  spec.sink = output;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(run.timeout + std::chrono::seconds(k_kill_grace_seconds) +
                                                                       k_hook_slack);
  spec.drain_after_exit = std::chrono::milliseconds(300);
  // Our end of its stdin stays open while we wait: the wrapper takes EOF there for our death
  // (or a stop) and ends the hook.
  spec.stdin_mode = StdinMode::hold;
  spec.run = run.run ? run.run : m_run;
  auto r = m_runner.run(spec);
  if (!r) return std::unexpected(r.error());
  auto status = output->result();

  // 3. What happened, in LocalHost's terms.
  if (status.error) return fail(ErrorKind::io, "{}", *status.error);
  ProcessResult result = *r;
  if (status.exit_code) {
    result.timed_out = status.timed_out || r->timed_out;
    int rc = *status.exit_code;
    // The remote shell reports death by signal N as 128+N.
    if (rc > 128 && rc < 128 + 65) {
      result.term_signal = rc - 128;
      result.exit_code = -1;
    } else {
      result.term_signal = 0;
      result.exit_code = rc;
    }
    return result;
  }
  if (r->timed_out || r->stopped) {
    // Our ssh client was ended (stop request, or the wrapper never answered): end the hook's
    // group over there too, since losing the session does not.
    // Best effort, beside the wrapper's own watch of its stdin: the outcome is decided already.
    if (status.pid)
      (void)run_script(k_kill_script, {std::to_string(*status.pid), std::to_string(k_kill_grace_seconds)}, {},
                       {.timeout = std::chrono::seconds(30), .stoppable = false});
    return result;
  }
  if (r->exit_code == 255) return std::unexpected(ssh_error(status.last_err));
  return fail(ErrorKind::io, "instance '{}': the hook wrapper ended without a status ({}){}", m_name, r->describe(),
              status.last_err.empty() ? "" : ": " + status.last_err);
}

// ---- CDEPLOY_SSH ----

Result<std::vector<std::string>> split_ssh_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return fail(ErrorKind::usage, "CDEPLOY_SSH: unterminated ' quote");
      word.append(text.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() && (text[j + 1] == '"' || text[j + 1] == '\\')) ++j;
        word.push_back(text[j]);
      }
      if (j >= text.size()) return fail(ErrorKind::usage, "CDEPLOY_SSH: unterminated \" quote");
      i = j;
    } else if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

}  // namespace cicd

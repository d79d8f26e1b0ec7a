#include "support/test_support.hpp"

#include <fmt/format.h>

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "util/strings.hpp"

namespace cicd::test {

Scratch::Scratch() : m_dir(unwrap(TempDir::create({}, "cicd-test-"))) {}

std::filesystem::path Scratch::write(const std::string& rel, std::string_view content, unsigned mode) const {
  auto p = path() / rel;
  unwrap(write_file_atomic(p, content, {.mode = mode, .sync = false}));
  return p;
}

std::string Scratch::read(const std::string& rel) const { return unwrap(read_file(path() / rel)); }

RunOutput run(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
              const Environment& extra_env, const std::string& stdin_data) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.environment = current_environment();
  for (auto& [k, v] : extra_env) spec.environment[k] = v;
  spec.cwd = cwd.string();
  spec.timeout = std::chrono::minutes(5);
  if (!stdin_data.empty()) {
    spec.stdin_mode = StdinMode::data;
    spec.stdin_data = stdin_data;
  }
  auto sink = std::make_shared<CaptureSink>();
  spec.sink = sink;
  auto result = unwrap(run_process(spec));
  RunOutput out;
  out.exit_code = result.term_signal ? 128 + result.term_signal : result.exit_code;
  out.out = sink->out();
  out.err = sink->err();
  return out;
}

void craft_tar(const std::string& script, const std::filesystem::path& out) {
  static constexpr const char* k_prelude = R"(
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
def file(name, data=b"x"):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
def link(name, target):
    info = tarfile.TarInfo(name); info.type = tarfile.SYMTYPE; info.linkname = target; t.addfile(info)
)";
  auto r = run({"python3", "-c", std::string(k_prelude) + script + "\nt.close()\n", out.string()});
  if (r.exit_code != 0) throw std::runtime_error("cannot craft " + out.string() + ": " + r.err);
}

RunOutput run_on_terminal(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                          const Environment& extra_env) {
  auto environment = current_environment();
  for (auto& [k, v] : extra_env) environment[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : environment) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) throw std::runtime_error("forkpty failed");
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  RunOutput out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) out.out.append(buf, static_cast<size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;  // EIO once the terminal's last writer has gone
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string fixture(const std::string& rel) { return std::string(CICD_FIXTURES_DIR) + "/" + rel; }
std::string fixture_text(const std::string& rel) { return unwrap(read_file(fixture(rel))); }

std::filesystem::path corpus_dir() {
  const char* named = std::getenv("CICD_CORPUS_DIR");
  std::filesystem::path dir = named && *named
                                  ? std::filesystem::path(named)
                                  : (std::filesystem::path(CICD_SOURCE_DIR) / ".." / "shared" / "corpus").lexically_normal();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "SOURCES.tsv", ec)) {
    if (named && *named)
      skip("the real-world corpus is not in '" + dir.string() + "' (named by CICD_CORPUS_DIR): no SOURCES.tsv there");
    skip("the real-world corpus is not in '" + dir.string() +
         "' (../shared/corpus from the project's root): put it there, or set CICD_CORPUS_DIR to its directory");
  }
  return dir;
}

std::vector<CorpusFile> corpus_files(std::string_view kind) {
  auto tsv = corpus_dir() / "SOURCES.tsv";
  std::vector<CorpusFile> rows;
  for (const auto& line : split_lines(unwrap(read_file(tsv)))) {
    if (line.empty() || line.starts_with("file\t")) continue;  // the header
    auto cols = split(line, '\t');
    if (cols.size() < 3) throw std::runtime_error("'" + tsv.string() + "': a row with fewer than 3 columns: " + line);
    if (cols[1] != kind) continue;
    rows.push_back({cols[0], cols[1], cols[2], cols.size() > 6 ? cols[6] : ""});
  }
  return rows;
}

CorpusFile corpus_file(std::string_view kind, std::string_view name) {
  for (auto& row : corpus_files(kind))
    if (row.name() == name) return row;
  throw std::runtime_error(fmt::format("no {} named '{}' in the corpus's SOURCES.tsv", kind, name));
}

bool alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close != std::string::npos && stat->size() > close + 2 && (*stat)[close + 2] != 'Z';
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
  return wait_until([pid] { return !alive(pid); }, limit);
}

void skip(const std::string& why) {
  const char* no_skip = std::getenv("CICD_NO_SKIP");
  if (no_skip && *no_skip && std::string_view(no_skip) != "0") {
    std::fprintf(stderr,
                 "FAILED: this test cannot run here: %s\n"
                 "(CICD_NO_SKIP is set, as in CI, where every prerequisite is installed: a test "
                 "that cannot run fails instead of being skipped)\n",
                 why.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(77);
}

void require_programs(const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (find_program(name).empty()) skip("'" + name + "' is not installed (scripts/setup.sh installs it)");
}

void craft_archive(const std::string& script, const std::filesystem::path& out) {
  static constexpr std::string_view k_prelude = R"(
import io, sys, tarfile, zipfile
out = sys.argv[1]
def tar_file(t, name, data=b"x"):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
def tar_link(t, name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name); info.type = kind; info.linkname = target; t.addfile(info)
def zip_link(z, name, target):
    info = zipfile.ZipInfo(name); info.create_system = 3; info.external_attr = 0o120777 << 16
    z.writestr(info, target)
)";
  require_programs({"python3"});
  auto r = run({"python3", "-c", std::string(k_prelude) + script + "\n", out.string()});
  if (r.exit_code != 0) throw std::runtime_error("python3 could not craft '" + out.string() + "':\n" + r.err);
}

void race_threads(int count, const std::function<void(int index)>& body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < count; ++t) {
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      body(t);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
}

std::vector<int> race_processes(int count, const std::function<int(int index)>& body) {
  // The children wait for this pipe to close so they start together.
  int gate[2];
  if (::pipe(gate) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> children;
  for (int p = 0; p < count; ++p) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) > 0) {
      }
      ::_exit(body(p));
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  std::vector<int> codes;
  for (pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

}  // namespace cicd::test

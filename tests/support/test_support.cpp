#include "support/test_support.hpp"

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

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

bool alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close != std::string::npos && (*stat)[close + 2] != 'Z';
}

void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(77);
}

}  // namespace cicd::test

// Helpers shared by unit and CLI tests: temp dirs, files, running binaries.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/fs.hpp"
#include "util/process.hpp"

namespace cicd::test {

// A fresh directory per test, removed afterwards.
class Scratch {
 public:
  Scratch();
  const std::filesystem::path& path() const { return m_dir.path(); }
  std::filesystem::path operator/(const std::string& rel) const { return path() / rel; }
  // Writes a file (creating directories) relative to the scratch dir and returns its path.
  std::filesystem::path write(const std::string& rel, std::string_view content, unsigned mode = 0644) const;
  std::string read(const std::string& rel) const;

 private:
  TempDir m_dir;
};

struct RunOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command (argv) with extra environment, captures both streams.
RunOutput run(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
              const Environment& extra_env = {}, const std::string& stdin_data = {});

// The same on a pseudo-terminal (stdin, stdout and stderr all on it, as in an interactive shell):
// `out` is everything the terminal showed, `err` is empty.
RunOutput run_on_terminal(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
                          const Environment& extra_env = {});

// Writes a tar archive at `out` with python's tarfile, for archives our writers refuse to make:
// `script` is python run with `t` (the open tarfile) and two helpers, file(name, data=b"x") and
// link(name, target) (a symlink).
void craft_tar(const std::string& script, const std::filesystem::path& out);

std::string fixture(const std::string& rel);  // path under tests/fixtures
std::string fixture_text(const std::string& rel);

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether the process exists and is not a zombie.
bool alive(pid_t pid);

// Exit code Catch2 and ctest treat as "skipped" (SKIP_RETURN_CODE).
[[noreturn]] void skip(const std::string& why);

}  // namespace cicd::test

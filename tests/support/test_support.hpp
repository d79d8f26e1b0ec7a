// Helpers shared by unit and CLI tests: temp dirs, files, running binaries.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
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

// The real-world corpus: other people's files, read where they are and never copied into the
// project (see its README.md). It is the directory named by CICD_CORPUS_DIR, or else
// ../shared/corpus from the project's root. When it is absent the test skips (see skip()) with a
// message naming both.
std::filesystem::path corpus_dir();

// One row of the corpus's SOURCES.tsv.
struct CorpusFile {
  std::string file;    // relative to corpus_dir(): buildspec/..., appspec/..., agent-fixtures/...
  std::string kind;    // buildspec, appspec or pipeline
  std::string expect;  // valid, invalid or any
  std::string note;    // for the agent's fixtures, the agent's own verdict
  std::filesystem::path path() const { return corpus_dir() / file; }
  std::string name() const { return std::filesystem::path(file).filename().string(); }
};

// Every row of one kind, in the order of SOURCES.tsv.
std::vector<CorpusFile> corpus_files(std::string_view kind);

// The corpus file of that kind whose name (the last path component) is `name`.
CorpusFile corpus_file(std::string_view kind, std::string_view name);

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether the process exists and is not a zombie (a killed orphan may wait for a reaper that
// never comes here).
bool alive(pid_t pid);

// How long a test waits for something another process or thread does. Generous on purpose: it
// is never reached when things work (a slow machine or a sanitizer build only waits longer), and
// reaching it means the awaited thing never happened. Timings are not asserted (bench/ measures).
inline constexpr std::chrono::seconds k_wait_limit{60};

// Polls `done` until it holds or `limit` has passed; returns its last answer. Tests wait on a
// condition (a file written, a process gone, a record updated), never for a fixed time.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = k_wait_limit);

// Whether the process is gone (or a zombie) within `limit`.
bool wait_gone(pid_t pid, std::chrono::milliseconds limit = k_wait_limit);

// A test that cannot run here says why and ends the test process: with ctest's skip code 77
// (SKIP_RETURN_CODE), or, when CICD_NO_SKIP is set (CI sets it: CI has every prerequisite), with
// a failure, so that a missing prerequisite cannot turn CI green.
[[noreturn]] void skip(const std::string& why);

// Skips (see skip()) unless every program is on PATH.
void require_programs(const std::vector<std::string>& names);

// Runs a Python 3 script that crafts an archive at `out` (sys.argv[1] in the script), for the
// hostile archives our own writers refuse to make. The script may use, besides io, sys, tarfile
// and zipfile:
//   out                                  the path to write
//   tar_file(t, name, data=b"x")         a regular file entry, the name taken as it is
//   tar_link(t, name, target, kind=tarfile.SYMTYPE)   a symlink (or hard link) entry
//   zip_link(z, name, target)            a symlink entry in a zip
void craft_archive(const std::string& script, const std::filesystem::path& out);

// Races: `body` run on `count` threads, or in `count` forked processes, that all start at once,
// as concurrent invocations of a tool would. race_processes returns the children's exit codes in
// order: `body`'s return value, or 128 + the signal that killed a child.
void race_threads(int count, const std::function<void(int index)>& body);
std::vector<int> race_processes(int count, const std::function<int(int index)>& body);

}  // namespace cicd::test

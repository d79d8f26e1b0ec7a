// The build's log: CodeBuild-style system lines and command output, secrets masked, written to
// the log file line by line (so `cbuild logs --follow` sees it live) and echoed for progress.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/process.hpp"
#include "util/time.hpp"

namespace cicd {

enum class LogLineKind { system, output, warning };

class BuildLog final : public OutputSink {
 public:
  using Echo = std::function<void(LogLineKind, std::string_view)>;
  BuildLog(const Clock& clock, Echo echo);
  ~BuildLog() override;

  Status open(const std::filesystem::path& file);
  void add_secret(std::string value);
  // "[Container] 2026/11/26 05:03:27.123 Entering phase BUILD"
  void system(std::string_view message);
  void warning(std::string_view message);
  void on_line(OutputStream stream, std::string_view line) override;
  std::string mask(std::string_view text) const;
  // The last lines of command output, for RETRY-regex and failure contexts.
  std::vector<std::string> recent_output() const;
  void clear_recent_output();

 private:
  void write(LogLineKind kind, std::string_view line);
  const Clock& m_clock;
  Echo m_echo;
  mutable std::mutex m_mutex;
  int m_fd = -1;
  std::vector<std::string> m_secrets;
  std::vector<std::string> m_recent;
};

}  // namespace cicd

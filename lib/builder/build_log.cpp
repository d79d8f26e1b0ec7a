#include "builder/build_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {
constexpr size_t k_recent_lines = 50;

std::string log_timestamp(SystemTime t) {
  // CodeBuild's own format: 2026/11/26 05:03:27.123
  auto iso = format_iso8601(t);  // 2026-11-26T05:03:27.123Z
  std::string out = iso.substr(0, 10) + " " + iso.substr(11, 12);
  for (size_t i = 0; i < 10; ++i)
    if (out[i] == '-') out[i] = '/';
  return out;
}
}  // namespace

BuildLog::BuildLog(const Clock& clock, Echo echo) : m_clock(clock), m_echo(std::move(echo)) {}

BuildLog::~BuildLog() {
  if (m_fd >= 0) ::close(m_fd);
}

Status BuildLog::open(const std::filesystem::path& file) {
  if (auto st = make_dirs(file.parent_path()); !st) return st;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return fail_errno(fmt::format("cannot create the build log '{}'", file.string()), errno);
  std::lock_guard lock(m_mutex);
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
  return {};
}

void BuildLog::add_secret(std::string value) {
  if (value.empty()) return;
  std::lock_guard lock(m_mutex);
  // The log is masked line by line, so a multi-line secret (a PEM key) is masked line by line
  // too; lines too short to be telling would mask ordinary output and are left alone.
  if (value.find('\n') != std::string::npos) {
    for (auto& line : split_lines(value)) {
      std::string_view l = trim(line);
      if (l.size() >= 4) m_secrets.emplace_back(l);
    }
  }
  m_secrets.push_back(std::move(value));
}

std::string BuildLog::mask(std::string_view text) const {
  std::lock_guard lock(m_mutex);
  return mask_secrets(text, m_secrets);
}

void BuildLog::system(std::string_view message) {
  write(LogLineKind::system, fmt::format("[Container] {} {}", log_timestamp(m_clock.now()), message));
}

void BuildLog::warning(std::string_view message) {
  write(LogLineKind::warning, fmt::format("[Container] {} Warning: {}", log_timestamp(m_clock.now()), message));
}

void BuildLog::on_line(OutputStream, std::string_view line) {
  {
    std::lock_guard lock(m_mutex);
    m_recent.emplace_back(mask_secrets(line, m_secrets));
    if (m_recent.size() > k_recent_lines) m_recent.erase(m_recent.begin());
  }
  write(LogLineKind::output, line);
}

std::vector<std::string> BuildLog::recent_output() const {
  std::lock_guard lock(m_mutex);
  return m_recent;
}

void BuildLog::clear_recent_output() {
  std::lock_guard lock(m_mutex);
  m_recent.clear();
}

void BuildLog::write(LogLineKind kind, std::string_view line) {
  std::lock_guard lock(m_mutex);
  std::string masked = mask_secrets(line, m_secrets);
  if (m_fd >= 0) {
    masked.push_back('\n');
    std::string_view rest = masked;
    while (!rest.empty()) {
      ssize_t n = ::write(m_fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk must not stop the build: the record says what happened
      rest.remove_prefix(static_cast<size_t>(n));
    }
    masked.pop_back();
  }
  if (m_echo) m_echo(kind, masked);
}

}  // namespace cicd

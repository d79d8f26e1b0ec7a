#include "util/error.hpp"

#include <algorithm>
#include <cstring>

namespace cicd {

std::unexpected<Error> fail_errno(std::string_view what, int err) {
  return std::unexpected(Error{ErrorKind::io, fmt::format("{}: {}", what, std::strerror(err)), {}});
}

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::failed: return 1;
    case ErrorKind::usage:
    case ErrorKind::invalid:
    case ErrorKind::not_found:
    case ErrorKind::conflict: return 2;
    case ErrorKind::timed_out: return 3;
    case ErrorKind::stopped: return 4;
    case ErrorKind::io:
    case ErrorKind::internal: return 5;
  }
  return 5;
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(m_items.begin(), m_items.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  }));
}

size_t Diagnostics::warning_count() const {
  return static_cast<size_t>(std::count_if(m_items.begin(), m_items.end(), [](const Diagnostic& d) {
    return d.severity == Severity::warning;
  }));
}

void Diagnostics::sort() {
  std::stable_sort(m_items.begin(), m_items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.position.line != b.position.line) return a.position.line < b.position.line;
    return a.position.column < b.position.column;
  });
}

std::string format_diagnostic(std::string_view file, const Diagnostic& d) {
  const char* sev = d.severity == Severity::error     ? "error"
                    : d.severity == Severity::warning ? "warning"
                                                      : "note";
  if (d.position.line > 0 && d.position.column > 0)
    return fmt::format("{}:{}:{}: {}: {}", file, d.position.line, d.position.column, sev, d.message);
  if (d.position.line > 0) return fmt::format("{}:{}: {}: {}", file, d.position.line, sev, d.message);
  return fmt::format("{}: {}: {}", file, sev, d.message);
}

FormattedDiagnostics format_diagnostics(std::string_view file, const Diagnostics& diagnostics) {
  FormattedDiagnostics out;
  for (auto& d : diagnostics.items())
    (d.severity == Severity::error ? out.errors : out.warnings).push_back(format_diagnostic(file, d));
  return out;
}

}  // namespace cicd

// Errors as values: every expected failure is an Error carried in a Result<T>.
#pragma once

#include <fmt/format.h>

#include <expected>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cicd {

// What kind of failure; each maps to one of the exit codes of DESIGN.md section 6.
enum class ErrorKind {
  usage,      // bad flag or argument (exit 2)
  invalid,    // invalid input: spec, record, archive (exit 2)
  not_found,  // a named thing does not exist (exit 2)
  conflict,   // a precondition failed: already exists, changed underneath (exit 2)
  failed,     // the build/deployment ran and failed (exit 1)
  timed_out,  // exit 3
  stopped,    // stopped or interrupted (exit 4)
  io,         // file system or environment failure (exit 5)
  internal,   // a bug or an unexpected state (exit 5)
};

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string m, std::vector<std::string> d = {})
      : kind(k), message(std::move(m)), details(std::move(d)) {}
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  // Lines printed before the message: positioned spec diagnostics ("FILE:LINE:COL: error: ...").
  std::vector<std::string> details;
};

// A value or an Error. [[nodiscard]]: a dropped result is a dropped error, so the compiler
// refuses it (-Werror); a call whose failure truly does not matter says so with `(void)`.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) : Base(std::move(other)) {}
};

using Status = Result<void>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error{kind, std::move(message), {}});
}

template <class... Args>
std::unexpected<Error> fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected(Error{kind, fmt::format(format, std::forward<Args>(args)...), {}});
}

// An errno failure: "<what>: <strerror>".
std::unexpected<Error> fail_errno(std::string_view what, int err);

int exit_code_for(ErrorKind kind);

// Thrown only to carry an Error to the single catch in each tool's main.
class Failure : public std::runtime_error {
 public:
  explicit Failure(Error error) : std::runtime_error(error.message), m_error(std::move(error)) {}
  const Error& error() const { return m_error; }

 private:
  Error m_error;
};

// Unwraps a Result or throws its Error as a Failure (for front ends).
template <class T>
T unwrap(Result<T> result) {
  if (!result) throw Failure(std::move(result.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// ---- positioned diagnostics for specs ----

struct Position {
  int line = 0;    // 1-based; 0 means unknown
  int column = 0;  // 1-based
};

enum class Severity { error, warning, note };

struct Diagnostic {
  Severity severity = Severity::error;
  Position position;
  std::string message;
};

class Diagnostics {
 public:
  void error(Position pos, std::string message) {
    m_items.push_back({Severity::error, pos, std::move(message)});
  }
  void warning(Position pos, std::string message) {
    m_items.push_back({Severity::warning, pos, std::move(message)});
  }
  void note(Position pos, std::string message) {
    m_items.push_back({Severity::note, pos, std::move(message)});
  }
  bool has_errors() const;
  size_t error_count() const;
  size_t warning_count() const;
  const std::vector<Diagnostic>& items() const { return m_items; }
  // Stable sort by position so the output reads top to bottom.
  void sort();

 private:
  std::vector<Diagnostic> m_items;
};

// "FILE:LINE:COL: error: message" (FILE:LINE: or FILE: when the position is unknown).
std::string format_diagnostic(std::string_view file, const Diagnostic& diagnostic);

// A spec's diagnostics as printed lines, errors apart from warnings (notes go with warnings).
struct FormattedDiagnostics {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};
FormattedDiagnostics format_diagnostics(std::string_view file, const Diagnostics& diagnostics);

// The verdict on one spec file, for `validate`: whether it could be read, and its diagnostics.
struct SpecFileCheck {
  std::string file;
  std::string unreadable;  // why the file could not be read, if it could not
  FormattedDiagnostics diagnostics;
  bool valid() const { return unreadable.empty() && diagnostics.errors.empty(); }
};

}  // namespace cicd

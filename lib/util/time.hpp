// Wall-clock time, ids, and the ISO-8601 timestamps records use.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace cicd {

using SystemTime = std::chrono::system_clock::time_point;

// Injectable clock for engines (tests use a fake).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
};

// "2026-11-26T05:03:27.123Z"
std::string format_iso8601(SystemTime t);
std::optional<SystemTime> parse_iso8601(const std::string& s);

// Random RFC 4122 version 4 UUID.
std::string make_uuid();
// n random characters from [0-9A-Z] (deployment ids).
std::string random_alnum(size_t n);

}  // namespace cicd

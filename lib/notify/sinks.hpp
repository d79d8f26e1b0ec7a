// The three sinks, one attempt each: the delivery loop (deliver.cpp) retries them.
#pragma once

#include <string_view>

#include "notify/notify.hpp"

namespace cicd::notify::detail {

// Each returns the attempt's failure as an Error whose message says why ("HTTP 500", "exit
// status 2: <last line of stderr>", "timed out after 5 s").
Status send_command(const Target& target, const NotifyEvent& event, std::string_view body);
Status send_file(const Target& target, const std::filesystem::path& home, const Json& event);
Status send_webhook(const Target& target, const NotifyEvent& event, std::string_view body);

inline constexpr std::chrono::milliseconds k_command_timeout{60'000};
inline constexpr std::chrono::milliseconds k_webhook_timeout{10'000};

}  // namespace cicd::notify::detail

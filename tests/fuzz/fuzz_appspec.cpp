// libFuzzer target: parse_appspec must never crash, hang or throw, and must keep the promises
// its callers rely on (see tests/fuzz/CMakeLists.txt for how to build and run it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/appspec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = cicd::parse_appspec(std::string_view(reinterpret_cast<const char*>(data), size));
  const auto& items = result.diagnostics.items();
  // A model exactly when there is no error.
  if (result.spec.has_value() == result.diagnostics.has_errors()) std::abort();
  // A Lambda or ECS appspec is refused with exactly one error.
  if (result.kind != cicd::AppspecKind::server && result.diagnostics.error_count() != 1)
    std::abort();
  for (size_t i = 0; i < items.size(); ++i) {
    // Every error says where (DESIGN.md section 6: FILE:LINE:COL).
    if (items[i].severity == cicd::Severity::error && items[i].position.line <= 0) std::abort();
    if (items[i].message.empty()) std::abort();
    // Sorted top to bottom.
    if (i > 0) {
      const auto& a = items[i - 1].position;
      const auto& b = items[i].position;
      if (a.line > b.line || (a.line == b.line && a.column > b.column)) std::abort();
    }
  }
  if (result.spec) {
    const auto& spec = *result.spec;
    // What the deployment engine relies on in a valid model.
    if (spec.version != "0.0" || (spec.os != "linux" && spec.os != "windows")) std::abort();
    for (size_t i = 0; i < spec.hooks.size(); ++i) {
      const auto& hook = spec.hooks[i];
      if (!cicd::is_scriptable(hook.event) || hook.scripts.empty()) std::abort();
      if (i > 0 && !(spec.hooks[i - 1].event < hook.event)) std::abort();
      for (const auto& script : hook.scripts) {
        if (script.location.empty()) std::abort();
        if (script.timeout_seconds < 1 || script.timeout_seconds > 3600) std::abort();
      }
    }
    for (const auto& file : spec.files)
      if (file.source.empty() || file.destination.empty()) std::abort();
    for (const auto& permission : spec.permissions) {
      if (permission.object.empty()) std::abort();
      if (permission.mode && *permission.mode > 07777) std::abort();
      for (const auto& ace : permission.acls)
        if (ace.permissions.size() != 3 || ace.type.empty()) std::abort();
      if (permission.context && permission.context->type.empty()) std::abort();
    }
  }
  return 0;
}

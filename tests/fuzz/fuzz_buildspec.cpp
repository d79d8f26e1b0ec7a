// libFuzzer target: parse_buildspec must never crash, hang or throw, and must keep the promises
// its callers rely on (see tests/fuzz/CMakeLists.txt for how to build and run it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/buildspec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = cicd::parse_buildspec(std::string_view(reinterpret_cast<const char*>(data), size));
  const auto& items = result.diagnostics.items();
  // A model exactly when there is no error.
  if (result.spec.has_value() == result.diagnostics.has_errors()) std::abort();
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
  return 0;
}

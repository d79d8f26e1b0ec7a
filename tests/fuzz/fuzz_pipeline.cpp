// libFuzzer target: read_pipeline_document (pipeline JSON or YAML, CloudFormation templates with
// their intrinsic functions) must never crash, hang or throw, and must keep the promises its
// callers rely on (see tests/fuzz/CMakeLists.txt for how to build and run it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/pipeline_document.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cicd::PipelineReadOptions options;
  options.parameters_required = (size % 2) == 0;  // both ways of reading templates
  auto doc = cicd::read_pipeline_document(std::string_view(reinterpret_cast<const char*>(data), size), options);
  auto all = doc.all_diagnostics();
  // Valid exactly when there is no error and at least one pipeline.
  if (doc.valid() != (!all.has_errors() && !doc.pipelines.empty())) std::abort();
  // Every error says where (DESIGN.md section 6: FILE:LINE:COL), and says something.
  for (const auto& d : all.items()) {
    if (d.severity == cicd::Severity::error && d.position.line <= 0) std::abort();
    if (d.message.empty()) std::abort();
  }
  for (const auto& entry : doc.pipelines) {
    if (!entry.parse.pipeline) continue;
    const auto& p = *entry.parse.pipeline;
    // What the pipeline engine relies on in a valid model.
    if (p.stages.size() < 2 || p.name.empty()) std::abort();
    for (const auto& stage : p.stages) {
      if (stage.actions.empty()) std::abort();
      for (const auto& action : stage.actions) {
        if (action.run_order < 1 || action.run_order > 999) std::abort();
        for (const auto& in : action.inputs)
          if (!p.producer(in.name)) std::abort();
      }
    }
    if (!p.declaration.is_object()) std::abort();
  }
  return 0;
}

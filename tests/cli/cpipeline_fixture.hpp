// Drives the real cpipeline binary against a scratch home.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "util/json.hpp"

namespace cicd::test {

struct CpipelineFixture {
  Scratch scratch;
  std::filesystem::path home = scratch / "home";

  Environment env() const { return {{"CICD_HOME", home.string()}, {"NO_COLOR", "1"}}; }

  RunOutput cpipeline(std::vector<std::string> args, const std::string& stdin_data = {}) const {
    args.insert(args.begin(), CICD_CPIPELINE);
    return run(args, scratch.path(), env(), stdin_data);
  }
  // Writes a file in the scratch directory and returns its path as text.
  std::string file(const std::string& rel, std::string_view text) const { return scratch.write(rel, text).string(); }
  static Json json_of(const RunOutput& r) { return unwrap(parse_json(r.out, "cpipeline output")); }
};

}  // namespace cicd::test

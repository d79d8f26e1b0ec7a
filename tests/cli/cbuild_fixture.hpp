// Drives the real cbuild binary against a scratch source directory and home.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "util/json.hpp"

namespace cicd::test {

struct CbuildFixture {
  Scratch scratch;
  std::filesystem::path src = scratch / "src";
  std::filesystem::path home = scratch / "home";
  std::filesystem::path out = scratch / "out";

  CbuildFixture() { std::filesystem::create_directories(src); }

  void buildspec(std::string_view text, const std::string& name = "buildspec.yml") {
    scratch.write("src/" + name, text);
  }
  void file(const std::string& rel, std::string_view text) { scratch.write("src/" + rel, text); }

  Environment env() const { return {{"CICD_HOME", home.string()}, {"NO_COLOR", "1"}}; }

  RunOutput cbuild(std::vector<std::string> args, const std::string& stdin_data = {}) const {
    args.insert(args.begin(), CICD_CBUILD);
    return run(args, src, env(), stdin_data);
  }
  // `cbuild run -a out` plus extra arguments.
  RunOutput build(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"run", "-a", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cbuild(args);
  }
  Json record() const { return unwrap(parse_json(unwrap(read_file(out / "build.json")), "build.json")); }
  std::string log() const { return unwrap(read_file(out / "build.log")); }

  // Status of a phase in the record ("" if the phase did not happen).
  static std::string phase_status(const Json& record, const std::string& type) {
    for (auto& p : record["phases"])
      if (p["phaseType"] == type) return p.value("phaseStatus", "");
    return "";
  }
  static std::string phase_message(const Json& record, const std::string& type) {
    for (auto& p : record["phases"])
      if (p["phaseType"] == type && p.contains("contexts") && !p["contexts"].empty())
        return p["contexts"].back().value("message", "");
    return "";
  }
  static std::vector<std::string> phase_types(const Json& record) {
    std::vector<std::string> out;
    for (auto& p : record["phases"]) out.push_back(p["phaseType"]);
    return out;
  }
};

}  // namespace cicd::test

#include "builder/runtimes.hpp"

#include <cctype>
#include <map>

#include "util/strings.hpp"

namespace cicd {

namespace {

struct Probe {
  std::vector<std::string> argv;
};

// CodeBuild's runtime names and how to ask each for its version here.
const std::map<std::string, Probe>& probes() {
  static const std::map<std::string, Probe> k_probes = {
      {"nodejs", {{"node", "--version"}}},       {"python", {{"python3", "--version"}}},
      {"java", {{"java", "-version"}}},          {"golang", {{"go", "version"}}},
      {"ruby", {{"ruby", "--version"}}},         {"php", {{"php", "--version"}}},
      {"dotnet", {{"dotnet", "--version"}}},     {"docker", {{"docker", "--version"}}},
      {"android", {{"sdkmanager", "--version"}}}, {"rust", {{"rustc", "--version"}}},
      {"perl", {{"perl", "-e", "print $^V"}}},   {"gradle", {{"gradle", "--version"}}},
      {"maven", {{"mvn", "--version"}}},
  };
  return k_probes;
}

}  // namespace

std::string extract_version(const std::string& output) {
  // The first dotted number ("go1.21.5" -> 1.21.5, "v18.19.0" -> 18.19.0), else the first number.
  std::string first_plain;
  for (size_t i = 0; i < output.size();) {
    if (!std::isdigit(static_cast<unsigned char>(output[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < output.size() && (std::isdigit(static_cast<unsigned char>(output[j])) || output[j] == '.')) ++j;
    std::string v = output.substr(i, j - i);
    while (!v.empty() && v.back() == '.') v.pop_back();
    if (v.find('.') != std::string::npos) return v;
    if (first_plain.empty()) first_plain = v;
    i = j;
  }
  return first_plain;
}

bool version_matches(const std::string& requested, const std::string& found) {
  if (found.empty()) return false;
  std::string want = to_lower(requested);
  if (want == "latest" || want.empty()) return true;
  // Vendor-prefixed Java versions: corretto17, openjdk11 -> 17, 11.
  size_t first_digit = want.find_first_of("0123456789");
  if (first_digit == std::string::npos) return false;
  std::string digits = want.substr(first_digit);
  if (digits.empty()) return false;
  auto w = split(digits, '.');
  auto f = split(found, '.');
  // Java 8 reports itself as 1.8.
  if (f.size() >= 2 && f[0] == "1" && w[0] != "1") f.erase(f.begin());
  // "x" as a component means any: 3.x
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == "x" || w[i] == "*") continue;
    if (i >= f.size() || w[i] != f[i]) return false;
  }
  return true;
}

RuntimeCheck check_runtime(ProcessRunner& runner, const Environment& env, const std::string& runtime,
                           const std::string& requested) {
  RuntimeCheck check;
  check.runtime = runtime;
  check.requested = requested;
  auto it = probes().find(runtime);
  if (it == probes().end()) {
    check.known = false;
    check.message = fmt::format("runtime '{}' {}: cannot check it on this machine (no known version command)",
                                runtime, requested);
    return check;
  }
  check.program = it->second.argv[0];
  if (find_program(check.program, &env).empty()) {
    check.message = fmt::format("runtime {} {} requested, but '{}' is not installed", runtime, requested, check.program);
    return check;
  }
  ProcessSpec spec;
  spec.argv = it->second.argv;
  spec.environment = env;
  spec.inherit_environment = false;
  spec.merge_stderr = true;
  spec.timeout = std::chrono::seconds(30);
  auto capture = std::make_shared<CaptureSink>();
  spec.sink = capture;
  auto result = runner.run(spec);
  if (result) check.found = extract_version(capture->out());
  check.satisfied = version_matches(requested, check.found);
  if (check.satisfied)
    check.message = fmt::format("runtime {} {}: found {} ({})", runtime, requested, check.found, check.program);
  else if (check.found.empty())
    check.message = fmt::format("runtime {} {} requested, but '{}' did not report a version", runtime, requested,
                                check.program);
  else
    check.message = fmt::format("runtime {} {} requested, but this machine has {} {}", runtime, requested,
                                check.program, check.found);
  return check;
}

}  // namespace cicd

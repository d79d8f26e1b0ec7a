// Cucumber JSON (cucumber-js's and cucumber-ruby's `--format json`): an array of features, each
// with `elements` (scenarios and, in cucumber-ruby, backgrounds), each with `steps` whose
// `result` has `status` and `duration` (nanoseconds). Every scenario is one test case: prefix
// and suite are the feature's name, the name is the scenario's.
//
// A scenario's status, from all its results (hooks, background steps, steps):
//   - any `failed`                       -> FAILED, message = that result's error_message;
//   - else any `ambiguous`               -> ERROR (the suite itself is broken, not the code);
//   - else any `undefined` or `pending`  -> SKIPPED, message names the first such step
//     (the scenario did not really run; strict mode failing the run is the runner's business);
//   - else any `skipped`                 -> SKIPPED (e.g. a Before hook that returned 'skipped');
//   - else all `passed`                  -> SUCCEEDED;
//   - no results, or a status we do not know -> UNKNOWN.
// cucumber-ruby writes a background as its own element before each scenario: its steps are
// folded into the scenario that follows, so a failing background fails that scenario.
#include <algorithm>
#include <cmath>
#include <limits>

#include "builder/report_parse_internal.hpp"
#include "util/strings.hpp"

namespace cicd::report_detail {

namespace {

struct StepOutcome {
  std::string status;
  std::string label;          // "Given a calculator", for messages
  std::string error_message;  // as written by cucumber
  int64_t duration_ns = 0;
};

class CucumberParser {
 public:
  Status parse(const Json& root) {
    if (!root.is_array())
      return fail(ErrorKind::invalid,
                  "not a Cucumber JSON report: expected an array of features, found {}",
                  kind_of(root));
    for (size_t i = 0; i < root.size(); ++i)
      if (auto st = parse_feature(root[i], fmt::format("[{}]", i)); !st) return st;
    return {};
  }

  ParsedReport take() { return std::move(m_out); }

 private:
  static std::string_view kind_of(const Json& value) {
    if (value.is_object()) return "an object";
    if (value.is_array()) return "an array";
    if (value.is_string()) return "a string";
    if (value.is_number()) return "a number";
    if (value.is_boolean()) return "a boolean";
    return "null";
  }

  static std::unexpected<Error> wrong_type(const std::string& path, std::string_view expected,
                                           const Json& found) {
    return fail(ErrorKind::invalid, "{}: expected {}, found {}", path, expected, kind_of(found));
  }

  // An optional string member ("" when absent).
  static Result<std::string> string_member(const Json& object, const char* key,
                                           const std::string& path) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string();
    if (!it->is_string()) return wrong_type(path + "." + key, "a string", *it);
    return it->get<std::string>();
  }

  // An optional array member (nullptr when absent).
  static Result<const Json*> array_member(const Json& object, const char* key,
                                          const std::string& path) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return static_cast<const Json*>(nullptr);
    if (!it->is_array()) return wrong_type(path + "." + key, "an array", *it);
    return &*it;
  }

  Status parse_feature(const Json& feature, const std::string& path) {
    if (!feature.is_object()) return wrong_type(path, "a feature object", feature);
    auto feature_name = string_member(feature, "name", path);
    if (!feature_name) return std::unexpected(feature_name.error());
    auto elements = array_member(feature, "elements", path);
    if (!elements) return std::unexpected(elements.error());
    if (!*elements) return {};

    std::vector<StepOutcome> background;
    for (size_t i = 0; i < (*elements)->size(); ++i) {
      const Json& element = (**elements)[i];
      const std::string element_path = fmt::format("{}.elements[{}]", path, i);
      if (!element.is_object()) return wrong_type(element_path, "a scenario object", element);
      auto type = string_member(element, "type", element_path);
      if (!type) return std::unexpected(type.error());
      std::vector<StepOutcome> outcomes;
      if (auto st = collect(element, element_path, outcomes); !st) return st;
      if (*type == "background") {
        background = std::move(outcomes);
        continue;
      }
      outcomes.insert(outcomes.begin(), std::make_move_iterator(background.begin()),
                      std::make_move_iterator(background.end()));
      background.clear();

      auto name = string_member(element, "name", element_path);
      if (!name) return std::unexpected(name.error());
      TestCaseResult result;
      result.prefix = *feature_name;
      result.name = *name;
      result.test_suite_name = *feature_name;
      decide(outcomes, result);
      m_out.test_cases.push_back(std::move(result));
    }
    return {};
  }

  // All results of one element in run order: before hooks, steps (each with its own hooks),
  // after hooks.
  Status collect(const Json& element, const std::string& path, std::vector<StepOutcome>& out) {
    if (auto st = collect_hooks(element, "before", path, out); !st) return st;
    auto steps = array_member(element, "steps", path);
    if (!steps) return std::unexpected(steps.error());
    if (*steps) {
      for (size_t i = 0; i < (*steps)->size(); ++i) {
        const Json& step = (**steps)[i];
        const std::string step_path = fmt::format("{}.steps[{}]", path, i);
        if (!step.is_object()) return wrong_type(step_path, "a step object", step);
        if (auto st = collect_hooks(step, "before", step_path, out); !st) return st;
        auto keyword = string_member(step, "keyword", step_path);
        if (!keyword) return std::unexpected(keyword.error());
        auto name = string_member(step, "name", step_path);
        if (!name) return std::unexpected(name.error());
        std::string label = std::string(trim(*keyword));
        if (!name->empty()) label += (label.empty() ? "" : " ") + *name;
        if (auto st = add_result(step, step_path, std::move(label), out); !st) return st;
        if (auto st = collect_hooks(step, "after", step_path, out); !st) return st;
      }
    }
    return collect_hooks(element, "after", path, out);
  }

  Status collect_hooks(const Json& object, const char* key, const std::string& path,
                       std::vector<StepOutcome>& out) {
    auto hooks = array_member(object, key, path);
    if (!hooks) return std::unexpected(hooks.error());
    if (!*hooks) return {};
    for (size_t i = 0; i < (*hooks)->size(); ++i) {
      const Json& hook = (**hooks)[i];
      const std::string hook_path = fmt::format("{}.{}[{}]", path, key, i);
      if (!hook.is_object()) return wrong_type(hook_path, "a hook object", hook);
      if (auto st = add_result(hook, hook_path, std::string(key) + " hook", out); !st) return st;
    }
    return {};
  }

  static Status add_result(const Json& step, const std::string& path, std::string label,
                           std::vector<StepOutcome>& out) {
    auto it = step.find("result");
    if (it == step.end() || it->is_null()) return {};  // not run at all: says nothing
    const std::string result_path = path + ".result";
    if (!it->is_object()) return wrong_type(result_path, "a result object", *it);
    StepOutcome outcome;
    outcome.label = std::move(label);
    auto status = string_member(*it, "status", result_path);
    if (!status) return std::unexpected(status.error());
    outcome.status = to_lower(trim(*status));
    auto message = string_member(*it, "error_message", result_path);
    if (!message) return std::unexpected(message.error());
    outcome.error_message = std::move(*message);
    if (auto d = it->find("duration"); d != it->end() && !d->is_null()) {
      if (!d->is_number()) return wrong_type(result_path + ".duration", "a number", *d);
      const double ns = d->get<double>();
      if (!std::isfinite(ns) || ns < 0)
        return fail(ErrorKind::invalid, "{}.duration: expected a non-negative number", result_path);
      outcome.duration_ns = ns >= 9.0e18 ? int64_t{9'000'000'000'000'000'000} : std::llround(ns);
    }
    out.push_back(std::move(outcome));
    return {};
  }

  static void decide(const std::vector<StepOutcome>& outcomes, TestCaseResult& result) {
    for (const StepOutcome& o : outcomes)
      if (result.duration_ns <= std::numeric_limits<int64_t>::max() - o.duration_ns)
        result.duration_ns += o.duration_ns;

    auto first = [&](std::initializer_list<std::string_view> statuses) -> const StepOutcome* {
      for (const StepOutcome& o : outcomes)
        for (std::string_view s : statuses)
          if (o.status == s) return &o;
      return nullptr;
    };
    if (const StepOutcome* f = first({"failed"})) {
      result.status = TestStatus::failed;
      result.message =
          clip_message(f->error_message.empty() ? "failed step: " + f->label : f->error_message);
    } else if (const StepOutcome* a = first({"ambiguous"})) {
      result.status = TestStatus::error;
      result.message =
          clip_message(a->error_message.empty() ? "ambiguous step: " + a->label : a->error_message);
    } else if (const StepOutcome* u = first({"undefined", "pending"})) {
      result.status = TestStatus::skipped;
      result.message = clip_message(u->status + " step: " + u->label);
    } else if (first({"skipped"})) {
      result.status = TestStatus::skipped;
    } else if (!outcomes.empty() &&
               std::all_of(outcomes.begin(), outcomes.end(),
                           [](const StepOutcome& each) { return each.status == "passed"; })) {
      result.status = TestStatus::succeeded;
    } else {
      result.status = TestStatus::unknown;
    }
  }

  ParsedReport m_out;
};

}  // namespace

// nlohmann's messages start with "[json.exception.parse_error.101] "; the id helps nobody.
std::string json_error_text(const std::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    if (const size_t end = what.find("] "); end != std::string_view::npos)
      what.remove_prefix(end + 2);
  }
  return clip_message(what);
}

Result<Json> load_json_report(std::string_view text, std::string_view what) {
  if (trim(text).empty())
    return fail(ErrorKind::invalid, "not {} report: the file is empty", with_article(what));
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "not well-formed JSON: {}", json_error_text(e));
  }
}

Result<ParsedReport> parse_cucumber_json(std::string_view text) {
  auto json = load_json_report(text, "Cucumber JSON");
  if (!json) return std::unexpected(json.error());
  CucumberParser parser;
  try {
    if (auto st = parser.parse(*json); !st) return std::unexpected(st.error());
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "not a Cucumber JSON report: {}", json_error_text(e));
  }
  return parser.take();
}

}  // namespace cicd::report_detail

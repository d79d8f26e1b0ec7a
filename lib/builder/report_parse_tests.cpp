// Test report formats in XML: JUnit, TestNG, NUnit 2, NUnit 3 and Visual Studio TRX.
//
// Element names are matched without namespace prefixes, so a TRX file's xmlns (or a prefixed
// variant) does not matter. Durations missing from a file count as 0.
#include <algorithm>
#include <map>

#include "builder/report_parse_internal.hpp"
#include "util/strings.hpp"

namespace cicd::report_detail {

namespace {

std::unexpected<Error> too_deep(const XmlReport& report, pugi::xml_node node) {
  return fail(ErrorKind::invalid, "{}suites nested more than {} levels deep", report.where(node),
              k_max_nesting);
}

// "Acme.Tests.CalcTests.Add(1,2)" -> {"Acme.Tests.CalcTests", "Add(1,2)"}: the last dot before
// any parameter list separates the class from the method.
std::pair<std::string, std::string> split_qualified_name(std::string_view full) {
  const size_t paren = full.find('(');
  const std::string_view head = full.substr(0, paren);
  const size_t dot = head.rfind('.');
  if (dot == std::string_view::npos) return {std::string(), std::string(full)};
  return {std::string(full.substr(0, dot)), std::string(full.substr(dot + 1))};
}

// ---- JUnit XML -----------------------------------------------------------------------------
//
// <testsuites> or <testsuite> at the root, suites may nest; each <testcase> is one result:
// <error> makes it ERROR, <failure> FAILED, <skipped> SKIPPED (in that priority), else SUCCEEDED.
// Surefire's <flakyFailure>/<rerunFailure> mean the test passed on a rerun: SUCCEEDED.

class JUnitParser {
 public:
  explicit JUnitParser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node suite, const std::string& suite_name, int depth) {
    if (depth > k_max_nesting) return too_deep(m_report, suite);
    for (pugi::xml_node node = suite.first_child(); node; node = node.next_sibling()) {
      if (node.type() != pugi::node_element) continue;
      const std::string_view name = local_name(node);
      if (name == "testsuite" || name == "testsuites") {
        // An unnamed inner suite still belongs to the outer one.
        std::string inner = attribute(node, "name").value();
        if (auto st = walk(node, inner.empty() ? suite_name : inner, depth + 1); !st) return st;
      } else if (name == "testcase") {
        if (auto st = add_case(node, suite_name); !st) return st;
      }
    }
    return {};
  }

  ParsedReport take() { return std::move(m_out); }

 private:
  Status add_case(pugi::xml_node node, const std::string& suite_name) {
    pugi::xml_attribute name = attribute(node, "name");
    if (!name)
      return fail(ErrorKind::invalid, "{}<testcase> has no 'name' attribute", m_report.where(node));
    TestCaseResult result;
    result.name = name.value();
    result.prefix = attribute(node, "classname").value();
    if (result.prefix.empty()) result.prefix = suite_name;
    result.test_suite_name = suite_name;
    auto duration = duration_attribute(m_report, node, "time", seconds_to_ns);
    if (!duration) return std::unexpected(duration.error());
    result.duration_ns = *duration;

    pugi::xml_node error = child(node, "error");
    pugi::xml_node failure = child(node, "failure");
    pugi::xml_node skipped = child(node, "skipped");
    pugi::xml_node outcome;
    if (error) {
      result.status = TestStatus::error;
      outcome = error;
    } else if (failure) {
      result.status = TestStatus::failed;
      outcome = failure;
    } else if (skipped) {
      result.status = TestStatus::skipped;
      outcome = skipped;
    } else {
      result.status = TestStatus::succeeded;
    }
    if (outcome) {
      result.message =
          combine_message(attribute(outcome, "message").value(), element_text(outcome));
      // A bare <failure type="AssertionError"/> still says something.
      if (result.message.empty()) result.message = clip_message(attribute(outcome, "type").value());
    }
    m_out.test_cases.push_back(std::move(result));
    return {};
  }

  const XmlReport& m_report;
  ParsedReport m_out;
};

// ---- TestNG XML ----------------------------------------------------------------------------
//
// <testng-results> <suite> <test> <class> <test-method status="PASS|FAIL|SKIP">. Configuration
// methods (@BeforeMethod & co, is-config="true") are not tests and are left out. Data-provider
// runs get their parameters appended to the name ("add(1, 2)") so each run is distinct.

class TestNgParser {
 public:
  explicit TestNgParser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node root) {
    Status status;
    for_each_child(root, "suite", [&](pugi::xml_node suite) {
      const std::string suite_name = attribute(suite, "name").value();
      for_each_child(suite, "test", [&](pugi::xml_node test) {
        for_each_child(test, "class", [&](pugi::xml_node klass) {
          for_each_child(klass, "test-method", [&](pugi::xml_node method) {
            if (status) status = add_method(method, suite_name, attribute(klass, "name").value());
          });
        });
      });
    });
    return status;
  }

  ParsedReport take() { return std::move(m_out); }

 private:
  Status add_method(pugi::xml_node method, const std::string& suite_name, std::string_view klass) {
    if (iequals(trim(attribute(method, "is-config").value()), "true")) return {};
    auto name = required_attribute(m_report, method, "name");
    if (!name) return std::unexpected(name.error());
    auto status = required_attribute(m_report, method, "status");
    if (!status) return std::unexpected(status.error());

    TestCaseResult result;
    result.prefix = std::string(klass);
    result.name = *name + parameter_list(method);
    result.test_suite_name = suite_name;
    const std::string value = to_upper(trim(*status));
    if (value == "PASS")
      result.status = TestStatus::succeeded;
    else if (value == "FAIL")
      result.status = TestStatus::failed;
    else if (value == "SKIP")
      result.status = TestStatus::skipped;
    else
      result.status = TestStatus::unknown;
    auto duration = duration_attribute(m_report, method, "duration-ms", millis_to_ns);
    if (!duration) return std::unexpected(duration.error());
    result.duration_ns = *duration;
    if (pugi::xml_node exception = child(method, "exception")) {
      result.message = combine_message(element_text(child(exception, "message")),
                                       element_text(child(exception, "full-stacktrace")));
      if (result.message.empty())
        result.message = clip_message(attribute(exception, "class").value());
    }
    m_out.test_cases.push_back(std::move(result));
    return {};
  }

  static std::string parameter_list(pugi::xml_node method) {
    pugi::xml_node params = child(method, "params");
    if (!params) return {};
    std::vector<std::string> values;
    for_each_child(params, "param", [&](pugi::xml_node param) {
      pugi::xml_node value = child(param, "value");
      if (iequals(attribute(value, "is-null").value(), "true"))
        values.emplace_back("null");
      else
        values.emplace_back(trim(element_text(value)));
    });
    if (values.empty()) return {};
    return "(" + join(values, ", ") + ")";
  }

  const XmlReport& m_report;
  ParsedReport m_out;
};

// Suites that only group the runs of one parameterized method: a test case's suite is the
// fixture around them.
bool is_method_group(std::string_view suite_type) {
  return suite_type == "ParameterizedTest" || suite_type == "ParameterizedMethod" ||
         suite_type == "Theory" || suite_type == "GenericMethod";
}

// ---- NUnit 2 XML ---------------------------------------------------------------------------
//
// <test-results> <test-suite> <results> ... <test-case name="Ns.Class.Method" result="...">,
// with test suites nested to any depth. The case's name is fully qualified, so the prefix is
// taken from it. result: Success, Failure, Error, Ignored, Skipped, NotRunnable, Inconclusive,
// Cancelled (older files only have executed/success).

class NUnit2Parser {
 public:
  explicit NUnit2Parser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node node, const std::string& fixture, int depth) {
    if (depth > k_max_nesting) return too_deep(m_report, node);
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view name = local_name(c);
      if (name == "test-suite") {
        std::string inner = fixture;
        if (!is_method_group(attribute(c, "type").value())) inner = attribute(c, "name").value();
        if (auto st = walk(c, inner, depth + 1); !st) return st;
      } else if (name == "results") {
        if (auto st = walk(c, fixture, depth + 1); !st) return st;
      } else if (name == "test-case") {
        if (auto st = add_case(c, fixture); !st) return st;
      }
    }
    return {};
  }

  ParsedReport take() { return std::move(m_out); }

 private:
  Status add_case(pugi::xml_node node, const std::string& fixture) {
    auto full_name = required_attribute(m_report, node, "name");
    if (!full_name) return std::unexpected(full_name.error());
    TestCaseResult result;
    std::tie(result.prefix, result.name) = split_qualified_name(*full_name);
    if (result.prefix.empty()) result.prefix = fixture;
    result.test_suite_name = fixture;
    result.status = status_of(node);
    auto duration = duration_attribute(m_report, node, "time", seconds_to_ns);
    if (!duration) return std::unexpected(duration.error());
    result.duration_ns = *duration;
    if (pugi::xml_node failure = child(node, "failure"))
      result.message = combine_message(element_text(child(failure, "message")),
                                       element_text(child(failure, "stack-trace")));
    else if (pugi::xml_node reason = child(node, "reason"))
      result.message = clip_message(element_text(child(reason, "message")));
    m_out.test_cases.push_back(std::move(result));
    return {};
  }

  static TestStatus status_of(pugi::xml_node node) {
    const std::string_view result = trim(attribute(node, "result").value());
    if (result == "Success") return TestStatus::succeeded;
    if (result == "Failure") return TestStatus::failed;
    if (result == "Error" || result == "NotRunnable" || result == "Cancelled")
      return TestStatus::error;
    if (result == "Ignored" || result == "Skipped") return TestStatus::skipped;
    if (result == "Inconclusive") return TestStatus::unknown;
    if (!result.empty()) return TestStatus::unknown;
    if (iequals(attribute(node, "executed").value(), "false")) return TestStatus::skipped;
    pugi::xml_attribute success = attribute(node, "success");
    if (!success) return TestStatus::unknown;
    return iequals(success.value(), "true") ? TestStatus::succeeded : TestStatus::failed;
  }

  const XmlReport& m_report;
  ParsedReport m_out;
};

// ---- NUnit 3 XML ---------------------------------------------------------------------------
//
// <test-run> <test-suite type="Assembly"> ... <test-suite type="TestFixture"> <test-case
// name classname fullname result="Passed|Failed|Skipped|Inconclusive|Warning" label duration>.
// Failed with label Error/Invalid/Cancelled is ERROR (an exception or a broken test, not a
// failed assertion); Warning passed (NUnit does not fail the run for it); Inconclusive is UNKNOWN.

class NUnit3Parser {
 public:
  explicit NUnit3Parser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node node, const std::string& fixture, int depth) {
    if (depth > k_max_nesting) return too_deep(m_report, node);
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view name = local_name(c);
      if (name == "test-suite") {
        std::string inner = fixture;
        if (!is_method_group(attribute(c, "type").value())) inner = attribute(c, "name").value();
        if (auto st = walk(c, inner, depth + 1); !st) return st;
      } else if (name == "test-case") {
        if (auto st = add_case(c, fixture); !st) return st;
      }
    }
    return {};
  }

  ParsedReport take() { return std::move(m_out); }

 private:
  Status add_case(pugi::xml_node node, const std::string& fixture) {
    auto name = required_attribute(m_report, node, "name");
    if (!name) return std::unexpected(name.error());
    auto result_attr = required_attribute(m_report, node, "result");
    if (!result_attr) return std::unexpected(result_attr.error());
    TestCaseResult result;
    result.name = *name;
    result.prefix = attribute(node, "classname").value();
    if (result.prefix.empty()) {
      // fullname is "<class>.<name>"; without it the fixture is the best guess.
      const std::string_view full = attribute(node, "fullname").value();
      if (full.size() > name->size() + 1 && full.ends_with("." + *name))
        result.prefix = std::string(full.substr(0, full.size() - name->size() - 1));
      else
        result.prefix = fixture;
    }
    result.test_suite_name = fixture;
    const std::string_view outcome = trim(*result_attr);
    const std::string_view label = trim(attribute(node, "label").value());
    if (outcome == "Passed" || outcome == "Warning")
      result.status = TestStatus::succeeded;
    else if (outcome == "Failed")
      result.status = (label == "Error" || label == "Invalid" || label == "Cancelled")
                          ? TestStatus::error
                          : TestStatus::failed;
    else if (outcome == "Skipped")
      result.status = TestStatus::skipped;
    else
      result.status = TestStatus::unknown;
    auto duration = duration_attribute(m_report, node, "duration", seconds_to_ns);
    if (!duration) return std::unexpected(duration.error());
    result.duration_ns = *duration;
    if (pugi::xml_node failure = child(node, "failure"))
      result.message = combine_message(element_text(child(failure, "message")),
                                       element_text(child(failure, "stack-trace")));
    else if (pugi::xml_node reason = child(node, "reason"))
      result.message = clip_message(element_text(child(reason, "message")));
    m_out.test_cases.push_back(std::move(result));
    return {};
  }

  const XmlReport& m_report;
  ParsedReport m_out;
};

// ---- Visual Studio TRX ---------------------------------------------------------------------
//
// <TestRun> <TestDefinitions> <UnitTest id storage> <TestMethod className name/> and
// <Results> <UnitTestResult testId testName outcome duration="hh:mm:ss.fffffff">, joined on
// testId. Only the direct children of <Results> count: the <InnerResults> of a data-driven
// MSTest are runs of the one test already counted. The suite is the test assembly's file name.

struct TrxDefinition {
  std::string class_name;
  std::string storage;
};

// MSTest v1 writes assembly-qualified names: "Ns.Class, Ns.Tests, Version=1.0.0.0, ...".
std::string strip_assembly(std::string_view class_name) {
  int depth = 0;
  for (size_t i = 0; i < class_name.size(); ++i) {
    if (class_name[i] == '[') ++depth;
    if (class_name[i] == ']') --depth;
    if (class_name[i] == ',' && depth == 0) return std::string(trim(class_name.substr(0, i)));
  }
  return std::string(trim(class_name));
}

std::string base_name(std::string_view path) {
  const size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

TestStatus trx_status(std::string_view outcome) {
  if (outcome == "Passed" || outcome == "PassedButRunAborted" || outcome == "Completed" ||
      outcome == "Warning")
    return TestStatus::succeeded;
  if (outcome == "Failed") return TestStatus::failed;
  if (outcome == "Error" || outcome == "Timeout" || outcome == "Aborted" ||
      outcome == "NotRunnable" || outcome == "Disconnected")
    return TestStatus::error;
  if (outcome == "NotExecuted") return TestStatus::skipped;
  return TestStatus::unknown;  // Inconclusive, InProgress, Pending, anything new
}

Result<ParsedReport> parse_trx_document(const XmlReport& report) {
  const pugi::xml_node root = report.root();
  std::map<std::string, TrxDefinition, std::less<>> definitions;
  for (pugi::xml_node def = child(root, "TestDefinitions").first_child(); def;
       def = def.next_sibling()) {
    if (def.type() != pugi::node_element) continue;
    TrxDefinition d;
    d.class_name = strip_assembly(attribute(child(def, "TestMethod"), "className").value());
    d.storage = base_name(attribute(def, "storage").value());
    definitions[attribute(def, "id").value()] = std::move(d);
  }

  ParsedReport out;
  for (pugi::xml_node node = child(root, "Results").first_child(); node;
       node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    auto name = required_attribute(report, node, "testName");
    if (!name) return std::unexpected(name.error());
    auto outcome = required_attribute(report, node, "outcome");
    if (!outcome) return std::unexpected(outcome.error());
    TestCaseResult result;
    result.name = *name;
    if (auto def = definitions.find(std::string_view(attribute(node, "testId").value()));
        def != definitions.end()) {
      result.prefix = def->second.class_name;
      result.test_suite_name = def->second.storage;
    }
    if (result.prefix.empty()) result.prefix = split_qualified_name(*name).first;
    result.status = trx_status(trim(*outcome));
    auto duration = duration_attribute(report, node, "duration", timespan_to_ns);
    if (!duration) return std::unexpected(duration.error());
    result.duration_ns = *duration;
    pugi::xml_node error_info = child(child(node, "Output"), "ErrorInfo");
    result.message = combine_message(element_text(child(error_info, "Message")),
                                     element_text(child(error_info, "StackTrace")));
    out.test_cases.push_back(std::move(result));
  }
  return out;
}

}  // namespace

Result<ParsedReport> parse_junit_xml(std::string_view text) {
  auto report = XmlReport::load(text, "JUnit XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"testsuites", "testsuite"}); !st)
    return std::unexpected(st.error());
  JUnitParser parser(*report);
  const pugi::xml_node root = report->root();
  const std::string suite = local_name(root) == "testsuite" ? attribute(root, "name").value() : "";
  if (auto st = parser.walk(root, suite, 0); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_testng_xml(std::string_view text) {
  auto report = XmlReport::load(text, "TestNG XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"testng-results"}); !st) return std::unexpected(st.error());
  TestNgParser parser(*report);
  if (auto st = parser.walk(report->root()); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_nunit2_xml(std::string_view text) {
  auto report = XmlReport::load(text, "NUnit XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"test-results"}); !st) return std::unexpected(st.error());
  NUnit2Parser parser(*report);
  if (auto st = parser.walk(report->root(), "", 0); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_nunit3_xml(std::string_view text) {
  auto report = XmlReport::load(text, "NUnit3 XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"test-run"}); !st) return std::unexpected(st.error());
  NUnit3Parser parser(*report);
  if (auto st = parser.walk(report->root(), "", 0); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_trx(std::string_view text) {
  auto report = XmlReport::load(text, "Visual Studio TRX");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"TestRun"}); !st) return std::unexpected(st.error());
  return parse_trx_document(*report);
}

}  // namespace cicd::report_detail

// The report parsers' entry point, summaries and shared helpers. The formats themselves live in
// report_parse_tests.cpp (JUnit, TestNG, NUnit 2/3, TRX), report_parse_cucumber.cpp and
// report_parse_coverage.cpp (Cobertura, JaCoCo, Clover, SimpleCov).
#include "builder/report_parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "builder/report_parse_internal.hpp"
#include "util/strings.hpp"

namespace cicd {

std::string_view test_status_name(TestStatus status) {
  switch (status) {
    case TestStatus::succeeded:
      return "SUCCEEDED";
    case TestStatus::failed:
      return "FAILED";
    case TestStatus::error:
      return "ERROR";
    case TestStatus::skipped:
      return "SKIPPED";
    case TestStatus::unknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

namespace {

double percentage(int64_t covered, int64_t missed) {
  const int64_t total = covered + missed;
  // Nothing to cover reads as 0%, not 100%: CodeBuild shows an empty report as uncovered.
  if (total <= 0) return 0.0;
  return 100.0 * static_cast<double>(covered) / static_cast<double>(total);
}

double round2(double value) { return std::round(value * 100.0) / 100.0; }

}  // namespace

double FileCoverage::line_coverage_percentage() const {
  return percentage(lines_covered, lines_missed);
}

double FileCoverage::branch_coverage_percentage() const {
  return percentage(branches_covered, branches_missed);
}

Result<ParsedReport> parse_report(ReportFormat format, std::string_view text) {
  using namespace report_detail;
  try {
    switch (format) {
      case ReportFormat::junit_xml:
        return parse_junit_xml(text);
      case ReportFormat::cucumber_json:
        return parse_cucumber_json(text);
      case ReportFormat::testng_xml:
        return parse_testng_xml(text);
      case ReportFormat::nunit_xml:
        return parse_nunit2_xml(text);
      case ReportFormat::nunit3_xml:
        return parse_nunit3_xml(text);
      case ReportFormat::visual_studio_trx:
        return parse_trx(text);
      case ReportFormat::cobertura_xml:
        return parse_cobertura_xml(text);
      case ReportFormat::jacoco_xml:
        return parse_jacoco_xml(text);
      case ReportFormat::clover_xml:
        return parse_clover_xml(text);
      case ReportFormat::simplecov_json:
        return parse_simplecov_json(text);
    }
    return fail(ErrorKind::internal, "unknown report format");
  } catch (const std::bad_alloc&) {
    return fail(ErrorKind::invalid, "report is too large to parse");
  } catch (const std::exception& e) {
    // The parsers report problems as values; this only keeps a library surprise from escaping.
    return fail(ErrorKind::invalid, "cannot parse report: {}", e.what());
  }
}

Json test_summary_json(const std::vector<TestCaseResult>& cases) {
  // All five statuses, zeros included, so consumers see one stable shape.
  int64_t counts[5] = {0, 0, 0, 0, 0};
  int64_t duration = 0;
  for (const TestCaseResult& c : cases) {
    ++counts[static_cast<int>(c.status)];
    if (c.duration_ns > 0 && duration <= std::numeric_limits<int64_t>::max() - c.duration_ns)
      duration += c.duration_ns;
  }
  Json status_counts = Json::object();
  for (TestStatus s : {TestStatus::succeeded, TestStatus::failed, TestStatus::error,
                       TestStatus::skipped, TestStatus::unknown})
    status_counts[std::string(test_status_name(s))] = counts[static_cast<int>(s)];
  Json out = Json::object();
  out["total"] = static_cast<int64_t>(cases.size());
  out["statusCounts"] = std::move(status_counts);
  out["durationInNanoSeconds"] = duration;
  return out;
}

Json coverage_summary_json(const std::vector<FileCoverage>& files) {
  FileCoverage total;
  for (const FileCoverage& f : files) {
    total.lines_covered += f.lines_covered;
    total.lines_missed += f.lines_missed;
    total.branches_covered += f.branches_covered;
    total.branches_missed += f.branches_missed;
  }
  Json out = Json::object();
  out["lineCoveragePercentage"] = round2(total.line_coverage_percentage());
  out["linesCovered"] = total.lines_covered;
  out["linesMissed"] = total.lines_missed;
  out["branchCoveragePercentage"] = round2(total.branch_coverage_percentage());
  out["branchesCovered"] = total.branches_covered;
  out["branchesMissed"] = total.branches_missed;
  return out;
}

// ---------------------------------------------------------------------------------------------
namespace report_detail {

std::string clip_message(std::string_view text) {
  text = trim(text);
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte belongs to the previous char
    if (chars == k_max_message_chars) return std::string(text.substr(0, i));
    ++chars;
  }
  return std::string(text);
}

std::string combine_message(std::string_view message, std::string_view detail) {
  message = trim(message);
  detail = trim(detail);
  if (detail.empty()) return clip_message(message);
  if (message.empty() || detail.find(message) != std::string_view::npos)
    return clip_message(detail);
  std::string out(message);
  out += '\n';
  out += detail;
  return clip_message(out);
}

namespace {

int line_at(std::string_view text, ptrdiff_t offset) {
  if (offset < 0) return 0;
  const auto end = std::min(static_cast<size_t>(offset), text.size());
  int line = 1;
  for (size_t i = 0; i < end; ++i)
    if (text[i] == '\n') ++line;
  return line;
}

int column_at(std::string_view text, ptrdiff_t offset) {
  if (offset < 0) return 0;
  const auto end = std::min(static_cast<size_t>(offset), text.size());
  if (end == 0) return 1;
  const size_t newline = text.rfind('\n', end - 1);
  return static_cast<int>(newline == std::string_view::npos ? end + 1 : end - newline);
}

// pugixml's descriptions start with a capital; our messages are lowercase.
std::string lowercase_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Which format a root element belongs to, to turn "wrong root" into advice.
std::string_view format_for_root(pugi::xml_node root) {
  const std::string_view name = local_name(root);
  if (name == "testsuites" || name == "testsuite") return "JUNITXML";
  if (name == "testng-results") return "TESTNGXML";
  if (name == "test-results") return "NUNITXML";
  if (name == "test-run") return "NUNIT3XML";
  if (name == "TestRun") return "VISUALSTUDIOTRX";
  if (name == "report") return "JACOCOXML";
  if (name == "coverage") return child(root, "project") ? "CLOVERXML" : "COBERTURAXML";
  return {};
}

}  // namespace

std::string with_article(std::string_view what) {
  // Format names are read out letter by letter where it matters: "an NUnit", "a JUnit".
  return fmt::format("{} {}", what.starts_with("NUnit") ? "an" : "a", what);
}

std::string quote_value(std::string_view value) {
  constexpr size_t k_max = 80;
  std::string clipped = clip_message(value);
  if (clipped.size() <= k_max) return clipped;
  size_t cut = k_max;
  while (cut > 0 && (static_cast<unsigned char>(clipped[cut]) & 0xC0) == 0x80) --cut;
  return clipped.substr(0, cut) + "...";
}

Result<XmlReport> XmlReport::load(std::string_view text, std::string_view what) {
  XmlReport report;
  report.m_text = text;
  report.m_what = std::string(what);
  report.m_doc = std::make_unique<pugi::xml_document>();
  if (trim(text).empty())
    return fail(ErrorKind::invalid, "not {} report: the file is empty", with_article(what));
  const pugi::xml_parse_result parsed =
      report.m_doc->load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_auto);
  if (!parsed) {
    const int line = line_at(text, parsed.offset);
    return fail(ErrorKind::invalid, "not well-formed XML: line {}, column {}: {}", line,
                column_at(text, parsed.offset), lowercase_first(parsed.description()));
  }
  if (!report.root())
    return fail(ErrorKind::invalid, "not {} report: no root element", with_article(what));
  return report;
}

int XmlReport::line_of(pugi::xml_node node) const { return line_at(m_text, node.offset_debug()); }

std::string XmlReport::where(pugi::xml_node node) const {
  const int line = line_of(node);
  return line > 0 ? fmt::format("line {}: ", line) : std::string();
}

Status XmlReport::expect_root(std::initializer_list<std::string_view> names) const {
  const pugi::xml_node element = root();
  for (std::string_view name : names)
    if (local_name(element) == name) return {};
  std::string message = fmt::format("not {} report: root element is '{}'", with_article(m_what),
                                    quote_value(local_name(element)));
  if (std::string_view other = format_for_root(element); !other.empty())
    message += fmt::format(" (this looks like file-format {})", other);
  return fail(ErrorKind::invalid, std::move(message));
}

std::string_view local_name(pugi::xml_node node) {
  std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  return {};
}

std::string element_text(pugi::xml_node node) {
  std::string out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  return out;
}

pugi::xml_attribute attribute(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    std::string_view attr_name = a.name();
    if (attr_name == name) return a;
    const size_t colon = attr_name.find(':');
    if (colon != std::string_view::npos && attr_name.substr(0, colon) != "xmlns" &&
        attr_name.substr(colon + 1) == name)
      return a;
  }
  return {};
}

namespace {

constexpr double k_max_ns = 9.0e18;  // below INT64_MAX, so the conversion cannot overflow

// A non-negative decimal in `text` scaled by `ns_per_unit`.
std::optional<int64_t> decimal_to_ns(std::string_view text, double ns_per_unit) {
  text = trim(text);
  if (text.empty()) return 0;
  // Separators: "1,234.5" has thousands commas; a lone comma is a decimal comma ("0,25" from a
  // German locale); several commas without a dot are thousands separators again.
  std::string number(text);
  const size_t commas = static_cast<size_t>(std::count(number.begin(), number.end(), ','));
  if (commas > 0) {
    if (number.find('.') == std::string::npos && commas == 1)
      number[number.find(',')] = '.';
    else
      std::erase(number, ',');
  }
  if (!number.empty() && number[0] == '+') number.erase(0, 1);
  if (number.empty() || number[0] == '-') return std::nullopt;
  double value = 0;
  const char* end = number.data() + number.size();
  auto [ptr, ec] = std::from_chars(number.data(), end, value, std::chars_format::general);
  if (ec != std::errc() || ptr != end || !std::isfinite(value) || value < 0) return std::nullopt;
  const double ns = value * ns_per_unit;
  if (ns > k_max_ns) return std::nullopt;
  return static_cast<int64_t>(std::llround(ns));
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<int64_t> seconds_to_ns(std::string_view text) { return decimal_to_ns(text, 1e9); }

std::optional<int64_t> millis_to_ns(std::string_view text) { return decimal_to_ns(text, 1e6); }

std::optional<int64_t> timespan_to_ns(std::string_view text) {
  text = trim(text);
  if (text.empty()) return 0;
  const std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 3) return std::nullopt;
  // Hours may carry days: "1.02" is one day and two hours.
  std::string_view hours_part = parts[0];
  long long days = 0;
  if (const size_t dot = hours_part.find('.'); dot != std::string_view::npos) {
    std::optional<long long> d = parse_uint(hours_part.substr(0, dot));
    if (!d || *d > 100000) return std::nullopt;
    days = *d;
    hours_part = hours_part.substr(dot + 1);
  }
  std::optional<long long> hours = parse_uint(hours_part);
  std::optional<long long> minutes = parse_uint(parts[1]);
  std::string_view seconds_part = parts[2];
  std::string_view fraction;
  if (const size_t dot = seconds_part.find('.'); dot != std::string_view::npos) {
    fraction = seconds_part.substr(dot + 1);
    seconds_part = seconds_part.substr(0, dot);
    if (!all_digits(fraction)) return std::nullopt;
  }
  std::optional<long long> seconds = parse_uint(seconds_part);
  if (!hours || !minutes || !seconds || *hours > 1000000 || *minutes > 59 || *seconds > 59)
    return std::nullopt;
  int64_t ns = (((days * 24 + *hours) * 60 + *minutes) * 60 + *seconds) * 1'000'000'000LL;
  int64_t scale = 100'000'000;  // the first fraction digit is tenths of a second
  for (char c : fraction) {
    if (scale == 0) break;  // digits past nanoseconds
    ns += (c - '0') * scale;
    scale /= 10;
  }
  return ns;
}

std::optional<int64_t> parse_count(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (!all_digits(text)) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    const int digit = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
      return std::numeric_limits<int64_t>::max();
    value = value * 10 + digit;
  }
  return value;
}

Result<int64_t> count_attribute(const XmlReport& report, pugi::xml_node node,
                                std::string_view name) {
  pugi::xml_attribute attr = attribute(node, name);
  if (!attr)
    return fail(ErrorKind::invalid, "{}<{}> has no '{}' attribute", report.where(node),
                local_name(node), name);
  std::optional<int64_t> value = parse_count(attr.value());
  if (!value)
    return fail(ErrorKind::invalid, "{}<{}> has an invalid '{}': '{}' is not a count",
                report.where(node), local_name(node), name, quote_value(attr.value()));
  return *value;
}

Result<std::string> required_attribute(const XmlReport& report, pugi::xml_node node,
                                       std::string_view name) {
  pugi::xml_attribute attr = attribute(node, name);
  if (!attr || trim(attr.value()).empty())
    return fail(ErrorKind::invalid, "{}<{}> has no '{}' attribute", report.where(node),
                local_name(node), name);
  return std::string(attr.value());
}

}  // namespace report_detail
}  // namespace cicd

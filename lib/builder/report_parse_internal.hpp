// Shared helpers of the report parsers (lib/builder/report_parse*.cpp); not part of the public API.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "builder/report_parse.hpp"

namespace cicd::report_detail {

// CodeBuild keeps at most this many characters of a test case's message.
inline constexpr size_t k_max_message_chars = 5000;
// Bound on how deep we follow nested suites/groups, so hostile input cannot exhaust the stack.
inline constexpr int k_max_nesting = 200;

// Trims surrounding whitespace and cuts to k_max_message_chars code points (never inside a
// UTF-8 sequence).
std::string clip_message(std::string_view text);

// "message" then "detail" (typically a stack trace) on the following lines; either may be empty.
// When the detail already contains the message (as most stack traces start with it), only the
// detail is kept.
std::string combine_message(std::string_view message, std::string_view detail);

// "a JUnit XML", "an NUnit XML": the format's name for messages.
std::string with_article(std::string_view what);
// A value from the input quoted in an error message: trimmed, at most 80 bytes (then "...").
std::string quote_value(std::string_view value);

// A parsed XML document plus the text it came from (for line numbers in errors).
class XmlReport {
 public:
  // `what` names the format in errors: "JUnit XML".
  static Result<XmlReport> load(std::string_view text, std::string_view what);

  pugi::xml_node root() const { return m_doc->document_element(); }
  std::string_view what() const { return m_what; }
  // The 1-based line of a node in the original text, 0 when unknown.
  int line_of(pugi::xml_node node) const;
  // "line 12: " (or "" when unknown), to prefix messages about a node.
  std::string where(pugi::xml_node node) const;

  // Error unless the root element's local name is one of `names`; the message names the root
  // found and, when it is another format's, which one.
  Status expect_root(std::initializer_list<std::string_view> names) const;

 private:
  std::string_view m_text;
  std::string m_what;
  // On the heap: node handles (the root's included) must stay valid when the report moves.
  std::unique_ptr<pugi::xml_document> m_doc;
};

// An element's name without a namespace prefix ("t:TestRun" -> "TestRun").
std::string_view local_name(pugi::xml_node node);
// The first child element with this local name.
pugi::xml_node child(pugi::xml_node node, std::string_view name);
// The concatenated text (PCDATA and CDATA) directly inside an element.
std::string element_text(pugi::xml_node node);
// Calls fn(child) for each child element with this local name.
template <class Fn>
void for_each_child(pugi::xml_node node, std::string_view name, Fn&& fn) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && local_name(c) == name) fn(c);
}
// An attribute by local name (xmlns prefixes on attributes are rare but legal).
pugi::xml_attribute attribute(pugi::xml_node node, std::string_view name);

// Seconds as written by test tools ("1.25", "0,003", "1,234.5", "1e-05") to nanoseconds.
// Empty means 0. A value that is not a non-negative number is nullopt.
std::optional<int64_t> seconds_to_ns(std::string_view text);
// Milliseconds (TestNG's duration-ms) to nanoseconds; same rules.
std::optional<int64_t> millis_to_ns(std::string_view text);
// A .NET TimeSpan "[d.]hh:mm:ss[.fffffff]" to nanoseconds.
std::optional<int64_t> timespan_to_ns(std::string_view text);
// A non-negative integer count; saturates instead of overflowing (hit counts can be huge).
std::optional<int64_t> parse_count(std::string_view text);

// Reads a duration attribute with `convert`; a missing or empty attribute is 0 ns.
template <class Convert>
Result<int64_t> duration_attribute(const XmlReport& report, pugi::xml_node node,
                                   std::string_view name, Convert convert) {
  pugi::xml_attribute attr = attribute(node, name);
  if (!attr) return int64_t{0};
  std::optional<int64_t> ns = convert(std::string_view(attr.value()));
  if (!ns)
    return fail(ErrorKind::invalid, "{}<{}> has an invalid '{}': '{}'", report.where(node),
                local_name(node), name, quote_value(attr.value()));
  return *ns;
}

// A required count attribute.
Result<int64_t> count_attribute(const XmlReport& report, pugi::xml_node node,
                                std::string_view name);
// A required, non-empty attribute's value.
Result<std::string> required_attribute(const XmlReport& report, pugi::xml_node node,
                                       std::string_view name);

// Parses a JSON report: "not a <what> report: the file is empty" or "not well-formed JSON: ...".
Result<Json> load_json_report(std::string_view text, std::string_view what);
// An nlohmann exception's message without its "[json.exception.*] " id.
std::string json_error_text(const std::exception& e);

// ---- one parser per format ----
Result<ParsedReport> parse_junit_xml(std::string_view text);
Result<ParsedReport> parse_testng_xml(std::string_view text);
Result<ParsedReport> parse_nunit2_xml(std::string_view text);
Result<ParsedReport> parse_nunit3_xml(std::string_view text);
Result<ParsedReport> parse_trx(std::string_view text);
Result<ParsedReport> parse_cucumber_json(std::string_view text);
Result<ParsedReport> parse_cobertura_xml(std::string_view text);
Result<ParsedReport> parse_jacoco_xml(std::string_view text);
Result<ParsedReport> parse_clover_xml(std::string_view text);
Result<ParsedReport> parse_simplecov_json(std::string_view text);

}  // namespace cicd::report_detail

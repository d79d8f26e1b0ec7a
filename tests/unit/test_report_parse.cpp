#include <catch2/catch.hpp>

#include "builder/report_parse.hpp"
#include "support/test_support.hpp"

using namespace cicd;

namespace {

ParsedReport parse_ok(ReportFormat format, std::string_view text) {
  auto parsed = parse_report(format, text);
  if (!parsed) FAIL("parse failed: " << parsed.error().message);
  return std::move(*parsed);
}

ParsedReport parse_fixture(ReportFormat format, const std::string& name) {
  return parse_ok(format, test::fixture_text("reports/" + name));
}

std::string parse_error(ReportFormat format, std::string_view text) {
  auto parsed = parse_report(format, text);
  if (parsed) FAIL("expected an error, parsed " << parsed->test_cases.size() << " cases");
  CHECK(parsed.error().kind == ErrorKind::invalid);
  return parsed.error().message;
}

const TestCaseResult& find_case(const ParsedReport& report, std::string_view name) {
  for (const TestCaseResult& c : report.test_cases)
    if (c.name == name) return c;
  FAIL("no test case named " << name);
  throw std::logic_error("unreachable");
}

const FileCoverage& find_file(const ParsedReport& report, std::string_view path) {
  for (const FileCoverage& f : report.files)
    if (f.file_path == path) return f;
  FAIL("no file " << path);
  throw std::logic_error("unreachable");
}

std::string compact(const Json& json) { return json.dump(); }

}  // namespace

// ---- JUnit --------------------------------------------------------------------------------

TEST_CASE("report: Maven Surefire JUnit XML", "[report]") {
  auto report = parse_fixture(ReportFormat::junit_xml, "surefire-TEST-com.acme.CalculatorTest.xml");
  REQUIRE(report.test_cases.size() == 5);
  CHECK(report.files.empty());
  for (const auto& c : report.test_cases) {
    CHECK(c.prefix == "com.acme.CalculatorTest");
    CHECK(c.test_suite_name == "com.acme.CalculatorTest");
    CHECK(c.raw_data_path.empty());
  }

  const auto& add = report.test_cases[0];
  CHECK(add.name == "addsTwoNumbers");
  CHECK(add.status == TestStatus::succeeded);
  CHECK(add.duration_ns == 12'000'000);
  CHECK(add.message.empty());

  const auto& divide = find_case(report, "dividesByZero");
  CHECK(divide.status == TestStatus::error);
  CHECK(divide.duration_ns == 21'000'000);
  // The stack trace repeats the message, so it alone is kept.
  CHECK(divide.message ==
        "java.lang.ArithmeticException: / by zero\n"
        "\tat com.acme.Calculator.divide(Calculator.java:14)\n"
        "\tat com.acme.CalculatorTest.dividesByZero(CalculatorTest.java:27)");

  const auto& subtract = find_case(report, "subtracts");
  CHECK(subtract.status == TestStatus::failed);
  CHECK(subtract.message.starts_with(
      "org.opentest4j.AssertionFailedError: expected: <1> but was: <-1>\n"));

  const auto& multiply = find_case(report, "multipliesLargeNumbers");
  CHECK(multiply.status == TestStatus::skipped);
  CHECK(multiply.message == "not implemented yet");
  CHECK(multiply.duration_ns == 0);

  // Passed on a rerun.
  const auto& flaky = find_case(report, "retriesFlakyClock");
  CHECK(flaky.status == TestStatus::succeeded);
  CHECK(flaky.message.empty());

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":5,"statusCounts":{"SUCCEEDED":2,"FAILED":1,"ERROR":1,"SKIPPED":1,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":52000000})");
}

TEST_CASE("report: pytest JUnit XML with skips, xfail and errors", "[report]") {
  auto report = parse_fixture(ReportFormat::junit_xml, "pytest-junit.xml");
  REQUIRE(report.test_cases.size() == 6);
  for (const auto& c : report.test_cases) CHECK(c.test_suite_name == "pytest");

  const auto& create = find_case(report, "test_create_order");
  CHECK(create.prefix == "tests.test_orders");
  CHECK(create.status == TestStatus::succeeded);
  CHECK(create.duration_ns == 105'000'000);

  // The message attribute (with its character-reference newlines) comes first, then the
  // traceback that does not repeat it verbatim.
  const auto& cancel = find_case(report, "test_cancel_order");
  CHECK(cancel.status == TestStatus::failed);
  CHECK(cancel.message.starts_with(
      "AssertionError: assert 'open' == 'cancelled'\n  - cancelled\n  + open\n"
      "def test_cancel_order():\n"));
  CHECK(cancel.message.ends_with("tests/test_orders.py:18: AssertionError"));

  const auto& eur = find_case(report, "test_refund[eur]");
  CHECK(eur.status == TestStatus::skipped);
  CHECK(eur.message == "tests/test_orders.py:24: refunds disabled in CI");
  const auto& usd = find_case(report, "test_refund[usd]");
  CHECK(usd.status == TestStatus::skipped);
  CHECK(usd.message == "currency rounding bug #41");

  const auto& migrations = find_case(report, "test_migrations");
  CHECK(migrations.prefix == "tests.test_db");
  CHECK(migrations.status == TestStatus::error);
  CHECK(
      migrations.message.starts_with("failed on setup with \"ConnectionRefusedError: [Errno 111] "
                                     "Connection refused\"\n@pytest.fixture"));

  // A collection error has an empty classname: the suite stands in as prefix.
  const auto& collection = find_case(report, "tests.test_util");
  CHECK(collection.prefix == "pytest");
  CHECK(collection.status == TestStatus::error);

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":6,"statusCounts":{"SUCCEEDED":1,"FAILED":1,"ERROR":2,"SKIPPED":2,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":131000000})");
}

TEST_CASE("report: JUnit nested suites, missing times and odd number formats", "[report]") {
  auto report = parse_ok(ReportFormat::junit_xml, R"xml(<?xml version="1.0"?>
<testsuites name="jest tests" tests="5">
  <testsuite name="outer">
    <testsuite name="inner">
      <testcase classname="Cart adds" name="adds an item" time="1,234.5"/>
    </testsuite>
    <testsuite>
      <testcase name="belongs to outer" time="0,25"/>
    </testsuite>
    <testcase classname="Cart" name="no time"/>
    <testcase classname="Cart" name="empty time" time=""/>
    <testcase classname="Cart" name="exponent" time="1e-05"><failure type="AssertionError"/></testcase>
  </testsuite>
</testsuites>)xml");
  REQUIRE(report.test_cases.size() == 5);
  CHECK(report.test_cases[0].test_suite_name == "inner");
  CHECK(report.test_cases[0].duration_ns == 1'234'500'000'000);
  CHECK(report.test_cases[1].test_suite_name == "outer");
  CHECK(report.test_cases[1].prefix == "outer");
  CHECK(report.test_cases[1].duration_ns == 250'000'000);
  CHECK(report.test_cases[2].duration_ns == 0);
  CHECK(report.test_cases[3].duration_ns == 0);
  CHECK(report.test_cases[4].duration_ns == 10'000);
  CHECK(report.test_cases[4].status == TestStatus::failed);
  CHECK(report.test_cases[4].message == "AssertionError");
}

TEST_CASE("report: JUnit error beats failure beats skipped", "[report]") {
  auto report = parse_ok(ReportFormat::junit_xml, R"xml(<testsuite name="s">
    <testcase name="a"><skipped/><failure message="f"/></testcase>
    <testcase name="b"><failure message="f"/><error message="e"/></testcase>
  </testsuite>)xml");
  REQUIRE(report.test_cases.size() == 2);
  CHECK(report.test_cases[0].status == TestStatus::failed);
  CHECK(report.test_cases[0].message == "f");
  CHECK(report.test_cases[1].status == TestStatus::error);
  CHECK(report.test_cases[1].message == "e");
}

TEST_CASE("report: an empty JUnit suite is an empty report", "[report]") {
  auto report = parse_ok(ReportFormat::junit_xml, "<testsuites/>");
  CHECK(report.test_cases.empty());
  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":0,"statusCounts":{"SUCCEEDED":0,"FAILED":0,"ERROR":0,"SKIPPED":0,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":0})");
}

TEST_CASE("report: malformed JUnit input is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::junit_xml, "") == "not a JUnit XML report: the file is empty");
  CHECK(parse_error(ReportFormat::junit_xml, "  \n") ==
        "not a JUnit XML report: the file is empty");
  CHECK(parse_error(ReportFormat::junit_xml, "<html><body>502 Bad Gateway</body></html>") ==
        "not a JUnit XML report: root element is 'html'");
  CHECK(
      parse_error(ReportFormat::junit_xml, "<testsuite>\n  <testcase name=\"a\">\n</testsuite>") ==
      "not well-formed XML: line 3, column 3: start-end tags mismatch");
  CHECK(parse_error(ReportFormat::junit_xml, "just some text") ==
        "not well-formed XML: line 1, column 15: no document element found");
  CHECK(parse_error(ReportFormat::junit_xml,
                    "<testsuite>\n<testcase classname=\"x\"/>\n</testsuite>") ==
        "line 2: <testcase> has no 'name' attribute");
  CHECK(parse_error(ReportFormat::junit_xml,
                    "<testsuite>\n\n<testcase name=\"x\" time=\"fast\"/></testsuite>") ==
        "line 3: <testcase> has an invalid 'time': 'fast'");
  CHECK(parse_error(ReportFormat::junit_xml,
                    "<testsuite><testcase name=\"x\" time=\"-1\"/></testsuite>") ==
        "line 1: <testcase> has an invalid 'time': '-1'");
  // Long values are cut short in messages.
  CHECK(parse_error(ReportFormat::junit_xml, "<testsuite><testcase name=\"x\" time=\"" +
                                                 std::string(200, '9') + "s\"/></testsuite>") ==
        "line 1: <testcase> has an invalid 'time': '" + std::string(80, '9') + "...'");
  // Another format's file: say which one it looks like.
  CHECK(parse_error(ReportFormat::junit_xml, test::fixture_text("reports/dotnet-xunit.trx")) ==
        "not a JUnit XML report: root element is 'TestRun' (this looks like file-format "
        "VISUALSTUDIOTRX)");
  CHECK(parse_error(ReportFormat::junit_xml,
                    test::fixture_text("reports/coverage-py-cobertura.xml")) ==
        "not a JUnit XML report: root element is 'coverage' (this looks like file-format "
        "COBERTURAXML)");
}

// ---- Cucumber ----------------------------------------------------------------------------

TEST_CASE("report: cucumber-js JSON", "[report]") {
  auto report = parse_fixture(ReportFormat::cucumber_json, "cucumber-js.json");
  REQUIRE(report.test_cases.size() == 7);

  const auto& add = report.test_cases[0];
  CHECK(add.prefix == "Shopping cart");
  CHECK(add.test_suite_name == "Shopping cart");
  CHECK(add.name == "Adding an item");
  CHECK(add.status == TestStatus::succeeded);
  CHECK(add.duration_ns == 512'000 + 1'204'000 + 803'000 + 402'000);  // hooks count too
  CHECK(add.message.empty());

  const auto& remove = find_case(report, "Removing the last item");
  CHECK(remove.status == TestStatus::failed);
  CHECK(remove.duration_ns == 6'100'000);
  CHECK(remove.message ==
        "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n\n1 !== 0\n\n"
        "    at World.<anonymous> (features/step_definitions/cart_steps.js:22:10)");

  const auto& coupon = find_case(report, "Applying a coupon");
  CHECK(coupon.status == TestStatus::skipped);
  CHECK(coupon.message == "undefined step: When I apply coupon \"SPRING10\"");
  CHECK(coupon.duration_ns == 700'000);

  const auto& card = find_case(report, "Paying by card");
  CHECK(card.prefix == "Checkout");
  CHECK(card.status == TestStatus::succeeded);
  CHECK(card.duration_ns == 6'000'000);

  const auto& invoice = find_case(report, "Paying by invoice");
  CHECK(invoice.status == TestStatus::skipped);
  CHECK(invoice.message == "pending step: When I choose to pay by invoice");

  const auto& guest = find_case(report, "Guest checkout");
  CHECK(guest.status == TestStatus::skipped);
  CHECK(guest.message.empty());

  const auto& total = find_case(report, "Showing the total");
  CHECK(total.status == TestStatus::error);
  CHECK(total.message.starts_with("Multiple step definitions match:\n"));

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":7,"statusCounts":{"SUCCEEDED":2,"FAILED":1,"ERROR":1,"SKIPPED":3,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":16371000})");
}

TEST_CASE("report: cucumber-ruby JSON with backgrounds and hooks", "[report]") {
  auto report = parse_ok(ReportFormat::cucumber_json, R"json([
    {"uri": "features/login.feature", "keyword": "Feature", "name": "Login", "elements": [
      {"keyword": "Background", "name": "", "type": "background", "steps": [
        {"keyword": "Given ", "name": "the user exists",
         "result": {"status": "failed", "duration": 10, "error_message": "db down (RuntimeError)"}}]},
      {"keyword": "Scenario", "name": "Good password", "type": "scenario",
       "before": [{"match": {"location": "features/support/env.rb:3"}, "result": {"status": "passed", "duration": 5}}],
       "steps": [{"keyword": "When ", "name": "I log in", "result": {"status": "skipped"}}],
       "after": [{"match": {"location": "features/support/env.rb:9"}, "result": {"status": "passed", "duration": 7}}]},
      {"keyword": "Background", "name": "", "type": "background", "steps": [
        {"keyword": "Given ", "name": "the user exists", "result": {"status": "passed", "duration": 10}}]},
      {"keyword": "Scenario", "name": "Bad password", "type": "scenario",
       "steps": [{"keyword": "When ", "name": "I log in wrongly", "result": {"status": "passed", "duration": 20}},
                 {"keyword": "Then ", "name": "I am refused", "result": {"status": "passed", "duration": 1.6e1}}],
       "after": [{"result": {"status": "failed", "error_message": "screenshot failed"}}]},
      {"keyword": "Scenario", "name": "Empty", "type": "scenario", "steps": []}
    ]},
    {"uri": "features/empty.feature", "keyword": "Feature", "name": "Nothing yet"}
  ])json");
  REQUIRE(report.test_cases.size() == 3);
  // The failing background fails the scenario that follows it.
  CHECK(report.test_cases[0].name == "Good password");
  CHECK(report.test_cases[0].status == TestStatus::failed);
  CHECK(report.test_cases[0].message == "db down (RuntimeError)");
  CHECK(report.test_cases[0].duration_ns == 22);
  // An After hook's failure fails the scenario.
  CHECK(report.test_cases[1].status == TestStatus::failed);
  CHECK(report.test_cases[1].message == "screenshot failed");
  CHECK(report.test_cases[1].duration_ns == 46);
  CHECK(report.test_cases[2].status == TestStatus::unknown);
}

TEST_CASE("report: malformed Cucumber JSON is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::cucumber_json, "") ==
        "not a Cucumber JSON report: the file is empty");
  CHECK(parse_error(ReportFormat::cucumber_json, R"({"features": []})") ==
        "not a Cucumber JSON report: expected an array of features, found an object");
  CHECK(parse_error(ReportFormat::cucumber_json, "[{\"name\": \"x\",\n") ==
        "not well-formed JSON: parse error at line 2, column 1: syntax error while parsing object "
        "key - "
        "unexpected end of input; expected string literal");
  CHECK(parse_error(ReportFormat::cucumber_json, R"([{"name": "x", "elements": {}}])") ==
        "[0].elements: expected an array, found an object");
  CHECK(parse_error(ReportFormat::cucumber_json, R"([{"name": 7}])") ==
        "[0].name: expected a string, found a number");
  CHECK(
      parse_error(
          ReportFormat::cucumber_json,
          R"([{"name": "f", "elements": [{"name": "s", "steps": [{"result": {"status": "passed", "duration": "1s"}}]}]}])") ==
      "[0].elements[0].steps[0].result.duration: expected a number, found a string");
  CHECK(
      parse_error(
          ReportFormat::cucumber_json,
          R"([{"name": "f", "elements": [{"name": "s", "steps": [{"result": {"status": "passed", "duration": -5}}]}]}])") ==
      "[0].elements[0].steps[0].result.duration: expected a non-negative number");
  CHECK(parse_error(ReportFormat::cucumber_json, R"([3])") ==
        "[0]: expected a feature object, found a number");
}

// ---- TestNG ------------------------------------------------------------------------------

TEST_CASE("report: TestNG results", "[report]") {
  auto report = parse_fixture(ReportFormat::testng_xml, "testng-results.xml");
  REQUIRE(report.test_cases.size() == 6);  // setUp/tearDown are configuration methods
  for (const auto& c : report.test_cases) CHECK(c.test_suite_name == "Surefire suite");

  const auto& reserve = report.test_cases[0];
  CHECK(reserve.prefix == "com.acme.InventoryTest");
  CHECK(reserve.name == "reservesStock");
  CHECK(reserve.status == TestStatus::succeeded);
  CHECK(reserve.duration_ns == 25'000'000);

  const auto& release = find_case(report, "releasesStock");
  CHECK(release.status == TestStatus::failed);
  CHECK(release.message.starts_with(
      "java.lang.AssertionError: expected [5] but found [4]\n\tat org.testng.Assert.fail"));

  CHECK(find_case(report, "restocks(10, 15)").status == TestStatus::succeeded);
  CHECK(find_case(report, "restocks(0, null)").duration_ns == 3'000'000);

  const auto& audit = find_case(report, "auditsMovements");
  CHECK(audit.status == TestStatus::skipped);
  CHECK(audit.message.starts_with("org.testng.SkipException: audit service unavailable"));

  CHECK(find_case(report, "appliesDiscount").prefix == "com.acme.PricingTest");
  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":6,"statusCounts":{"SUCCEEDED":4,"FAILED":1,"ERROR":0,"SKIPPED":1,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":70000000})");
}

TEST_CASE("report: malformed TestNG input is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::testng_xml, "<testsuite/>") ==
        "not a TestNG XML report: root element is 'testsuite' (this looks like file-format "
        "JUNITXML)");
  CHECK(parse_error(ReportFormat::testng_xml,
                    "<testng-results><suite><test><class name=\"A\">\n<test-method name=\"m\"/>"
                    "</class></test></suite></testng-results>") ==
        "line 2: <test-method> has no 'status' attribute");
  CHECK(
      parse_error(
          ReportFormat::testng_xml,
          "<testng-results><suite><test><class name=\"A\"><test-method name=\"m\" status=\"PASS\" "
          "duration-ms=\"soon\"/></class></test></suite></testng-results>") ==
      "line 1: <test-method> has an invalid 'duration-ms': 'soon'");
}

// ---- NUnit -------------------------------------------------------------------------------

TEST_CASE("report: NUnit 2 XML", "[report]") {
  auto report = parse_fixture(ReportFormat::nunit_xml, "nunit2-TestResult.xml");
  REQUIRE(report.test_cases.size() == 6);
  for (const auto& c : report.test_cases) {
    CHECK(c.prefix == "Acme.Tests.InvoiceTests");
    CHECK(c.test_suite_name == "InvoiceTests");
  }
  CHECK(report.test_cases[0].name == "CalculatesTotal");
  CHECK(report.test_cases[0].status == TestStatus::succeeded);
  CHECK(report.test_cases[0].duration_ns == 52'000'000);

  const auto& negative = find_case(report, "RejectsNegativeQuantity");
  CHECK(negative.status == TestStatus::failed);
  CHECK(negative.message ==
        "Expected: <System.ArgumentException>\n  But was:  null\n"
        "at Acme.Tests.InvoiceTests.RejectsNegativeQuantity() in "
        "C:\\build\\Acme.Tests\\InvoiceTests.cs:line 31");

  CHECK(find_case(report, "LoadsFromDatabase").status == TestStatus::error);
  const auto& pdf = find_case(report, "PrintsPdf");
  CHECK(pdf.status == TestStatus::skipped);
  CHECK(pdf.message == "PDF renderer not installed on CI");
  CHECK(pdf.duration_ns == 0);

  // Parameterized cases keep their arguments; the parameterized suite is not their suite.
  CHECK(find_case(report, "AppliesTax(0.2m,120m)").status == TestStatus::succeeded);
  CHECK(find_case(report, "AppliesTax(0.07m,107m)").duration_ns == 13'000'000);

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":6,"statusCounts":{"SUCCEEDED":3,"FAILED":1,"ERROR":1,"SKIPPED":1,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":297000000})");
}

TEST_CASE("report: NUnit 2 without result attributes falls back to executed/success", "[report]") {
  auto report = parse_ok(ReportFormat::nunit_xml, R"xml(<test-results>
    <test-suite type="TestFixture" name="Fixture"><results>
      <test-case name="Plain" executed="True" success="True" time="0.5"/>
      <test-case name="Broken" executed="True" success="False"/>
      <test-case name="NotRun" executed="False"/>
      <test-case name="Odd" result="Inconclusive"/>
    </results></test-suite></test-results>)xml");
  REQUIRE(report.test_cases.size() == 4);
  CHECK(report.test_cases[0].prefix == "Fixture");
  CHECK(report.test_cases[0].status == TestStatus::succeeded);
  CHECK(report.test_cases[0].duration_ns == 500'000'000);
  CHECK(report.test_cases[1].status == TestStatus::failed);
  CHECK(report.test_cases[2].status == TestStatus::skipped);
  CHECK(report.test_cases[3].status == TestStatus::unknown);
}

TEST_CASE("report: NUnit 3 XML", "[report]") {
  auto report = parse_fixture(ReportFormat::nunit3_xml, "nunit3-TestResult.xml");
  REQUIRE(report.test_cases.size() == 6);
  for (const auto& c : report.test_cases) {
    CHECK(c.prefix == "Acme.Billing.InvoiceServiceTests");
    CHECK(c.test_suite_name == "InvoiceServiceTests");
  }
  CHECK(report.test_cases[0].name == "IssuesInvoice");
  CHECK(report.test_cases[0].status == TestStatus::succeeded);
  CHECK(report.test_cases[0].duration_ns == 35'121'000);

  const auto& voids = find_case(report, "VoidsInvoice");
  CHECK(voids.status == TestStatus::failed);
  CHECK(voids.message ==
        "Expected: Voided\n  But was:  Issued\n"
        "at Acme.Billing.InvoiceServiceTests.VoidsInvoice() in "
        "/src/tests/InvoiceServiceTests.cs:line 42");

  const auto& reminder = find_case(report, "SendsReminder");
  CHECK(reminder.status == TestStatus::error);
  CHECK(reminder.message.starts_with(
      "System.Net.Http.HttpRequestException : Connection refused (smtp.acme.test:25)\n"));

  const auto& archive = find_case(report, "ArchivesOldInvoices");
  CHECK(archive.status == TestStatus::skipped);
  CHECK(archive.message == "archive store not mocked yet");

  const auto& csv = find_case(report, "ExportsCsv");
  CHECK(csv.status == TestStatus::unknown);
  CHECK(csv.message == "no sample data");

  CHECK(find_case(report, "RoundsTotals(10.005m)").status == TestStatus::succeeded);

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":6,"statusCounts":{"SUCCEEDED":2,"FAILED":1,"ERROR":1,"SKIPPED":1,"UNKNOWN":1},)"
        R"("durationInNanoSeconds":150968000})");
}

TEST_CASE("report: NUnit 3 prefix falls back to fullname, then the fixture", "[report]") {
  auto report = parse_ok(ReportFormat::nunit3_xml, R"xml(<test-run>
    <test-suite type="TestFixture" name="Fixture">
      <test-case name="A" fullname="Ns.Fixture.A" result="Passed"/>
      <test-case name="B" result="Warning"/>
      <test-case name="C" result="Failed" label="Invalid"/>
    </test-suite></test-run>)xml");
  REQUIRE(report.test_cases.size() == 3);
  CHECK(report.test_cases[0].prefix == "Ns.Fixture");
  CHECK(report.test_cases[1].prefix == "Fixture");
  CHECK(report.test_cases[1].status == TestStatus::succeeded);
  CHECK(report.test_cases[2].status == TestStatus::error);
}

TEST_CASE("report: NUnit 2 and 3 files are told apart", "[report]") {
  CHECK(parse_error(ReportFormat::nunit_xml, test::fixture_text("reports/nunit3-TestResult.xml")) ==
        "not an NUnit XML report: root element is 'test-run' (this looks like file-format "
        "NUNIT3XML)");
  CHECK(
      parse_error(ReportFormat::nunit3_xml, test::fixture_text("reports/nunit2-TestResult.xml")) ==
      "not an NUnit3 XML report: root element is 'test-results' (this looks like file-format "
      "NUNITXML)");
  CHECK(parse_error(ReportFormat::nunit3_xml, "<test-run><test-case name=\"x\"/></test-run>") ==
        "line 1: <test-case> has no 'result' attribute");
}

// ---- TRX ---------------------------------------------------------------------------------

TEST_CASE("report: Visual Studio TRX from dotnet test (xunit, BOM, xmlns)", "[report]") {
  auto report = parse_fixture(ReportFormat::visual_studio_trx, "dotnet-xunit.trx");
  REQUIRE(report.test_cases.size() == 5);
  for (const auto& c : report.test_cases) CHECK(c.test_suite_name == "acme.shipping.tests.dll");

  const auto& ground = report.test_cases[0];
  CHECK(ground.prefix == "Acme.Shipping.Tests.RateCalculatorTests");
  CHECK(ground.name == "Acme.Shipping.Tests.RateCalculatorTests.QuotesGroundShipping");
  CHECK(ground.status == TestStatus::succeeded);
  CHECK(ground.duration_ns == 12'345'600);

  const auto& air = report.test_cases[1];
  CHECK(air.status == TestStatus::failed);
  CHECK(air.duration_ns == 1'500'000'000);
  CHECK(
      air.message.starts_with("Assert.Equal() Failure\nExpected: 42.50\nActual:   40.00\n"
                              "at Acme.Shipping.Tests.RateCalculatorTests.QuotesAirShipping()"));

  CHECK(report.test_cases[2].name ==
        "Acme.Shipping.Tests.RateCalculatorTests.QuotesSeaFreight(weightKg: 1200)");
  CHECK(report.test_cases[2].duration_ns == 400'000);

  CHECK(report.test_cases[3].status == TestStatus::skipped);
  CHECK(report.test_cases[3].message == "Drone delivery is not licensed yet");

  CHECK(report.test_cases[4].prefix == "Acme.Shipping.Tests.TrackingTests");
  CHECK(report.test_cases[4].status == TestStatus::error);  // Timeout
  CHECK(report.test_cases[4].duration_ns == 30'000'000'000);

  CHECK(compact(test_summary_json(report.test_cases)) ==
        R"({"total":5,"statusCounts":{"SUCCEEDED":2,"FAILED":1,"ERROR":1,"SKIPPED":1,"UNKNOWN":0},)"
        R"("durationInNanoSeconds":31512745600})");
}

TEST_CASE("report: TRX with prefixes, MSTest class names and data-driven results", "[report]") {
  auto report =
      parse_ok(ReportFormat::visual_studio_trx, R"xml(<?xml version="1.0" encoding="UTF-8"?>
<t:TestRun xmlns:t="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <t:TestDefinitions>
    <t:UnitTest name="Adds" storage="c:\build\tests.dll" id="1">
      <t:TestMethod className="Acme.MathTests, Acme.Tests, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null" name="Adds"/>
    </t:UnitTest>
  </t:TestDefinitions>
  <t:Results>
    <t:UnitTestResult testId="1" testName="Adds" outcome="Failed" duration="1.02:03:04.5">
      <t:InnerResults>
        <t:UnitTestResult testId="1" testName="Adds (1,2)" outcome="Passed" duration="00:00:00.1"/>
        <t:UnitTestResult testId="1" testName="Adds (2,2)" outcome="Failed" duration="00:00:00.1"/>
      </t:InnerResults>
    </t:UnitTestResult>
    <t:UnitTestResult testId="2" testName="Other.Tests.Works" outcome="Inconclusive"/>
  </t:Results>
</t:TestRun>)xml");
  REQUIRE(report.test_cases.size() == 2);
  CHECK(report.test_cases[0].prefix == "Acme.MathTests");
  CHECK(report.test_cases[0].test_suite_name == "tests.dll");
  CHECK(report.test_cases[0].duration_ns ==
        ((26LL * 60 + 3) * 60 + 4) * 1'000'000'000LL + 500'000'000);
  // Without a definition, the prefix comes from the qualified test name.
  CHECK(report.test_cases[1].prefix == "Other.Tests");
  CHECK(report.test_cases[1].status == TestStatus::unknown);
  CHECK(report.test_cases[1].duration_ns == 0);
}

TEST_CASE("report: malformed TRX is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::visual_studio_trx,
                    "<TestRun><Results>\n<UnitTestResult testName=\"a\" outcome=\"Passed\" "
                    "duration=\"1 second\"/>"
                    "</Results></TestRun>") ==
        "line 2: <UnitTestResult> has an invalid 'duration': '1 second'");
  CHECK(parse_error(ReportFormat::visual_studio_trx,
                    "<TestRun><Results><UnitTestResult outcome=\"Passed\"/></Results></TestRun>") ==
        "line 1: <UnitTestResult> has no 'testName' attribute");
  CHECK(parse_error(ReportFormat::visual_studio_trx, "<testsuites/>") ==
        "not a Visual Studio TRX report: root element is 'testsuites' (this looks like file-format "
        "JUNITXML)");
}

// ---- Cobertura ---------------------------------------------------------------------------

TEST_CASE("report: Cobertura XML from coverage.py", "[report]") {
  auto report = parse_fixture(ReportFormat::cobertura_xml, "coverage-py-cobertura.xml");
  CHECK(report.test_cases.empty());
  REQUIRE(report.files.size() == 3);
  CHECK(report.files[0].file_path == "__init__.py");
  CHECK(report.files[0].lines_covered == 1);
  CHECK(report.files[0].lines_missed == 0);

  const auto& models = report.files[1];
  CHECK(models.file_path == "orders/models.py");
  CHECK(models.lines_covered == 8);
  CHECK(models.lines_missed == 1);
  CHECK(models.branches_covered == 3);
  CHECK(models.branches_missed == 1);
  CHECK(models.line_coverage_percentage() == Approx(800.0 / 9));
  CHECK(models.branch_coverage_percentage() == Approx(75.0));

  const auto& service = find_file(report, "orders/service.py");
  CHECK(service.lines_covered == 3);
  CHECK(service.lines_missed == 3);
  CHECK(service.branches_covered == 0);
  CHECK(service.branches_missed == 2);

  CHECK(compact(coverage_summary_json(report.files)) ==
        R"({"lineCoveragePercentage":75.0,"linesCovered":12,"linesMissed":4,)"
        R"("branchCoveragePercentage":50.0,"branchesCovered":3,"branchesMissed":3})");
}

TEST_CASE("report: Cobertura merges classes of one file and ignores method lines", "[report]") {
  auto report = parse_ok(ReportFormat::cobertura_xml, R"xml(<?xml version="1.0"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.5" branch-rate="0.5" version="2.1.1" timestamp="1">
  <sources><source>/src/main/java</source></sources>
  <packages><package name="com.acme"><classes>
    <class name="com.acme.Cart" filename="com/acme/Cart.java" line-rate="0.5" branch-rate="0.5">
      <methods><method name="add" signature="(I)V"><lines>
        <line number="10" hits="3" branch="false"/>
        <line number="99" hits="0" branch="false"/>
      </lines></method></methods>
      <lines>
        <line number="10" hits="3" branch="false"/>
        <line number="11" hits="0" branch="true" condition-coverage="0% (0/2)"/>
      </lines>
    </class>
    <class name="com.acme.Cart$Item" filename="com/acme/Cart.java" line-rate="1" branch-rate="1">
      <methods/>
      <lines>
        <line number="11" hits="2" branch="true" condition-coverage="50% (1/2)"/>
        <line number="20" hits="1"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>)xml");
  REQUIRE(report.files.size() == 1);
  CHECK(report.files[0].file_path == "com/acme/Cart.java");
  CHECK(report.files[0].lines_covered == 3);
  CHECK(report.files[0].lines_missed == 0);
  CHECK(report.files[0].branches_covered == 1);
  CHECK(report.files[0].branches_missed == 1);
}

TEST_CASE("report: malformed Cobertura input is a clear error", "[report]") {
  CHECK(
      parse_error(ReportFormat::cobertura_xml, test::fixture_text("reports/phpunit-clover.xml")) ==
      "not a Cobertura XML report: <coverage> holds a <project> (this looks like file-format "
      "CLOVERXML)");
  CHECK(parse_error(
            ReportFormat::cobertura_xml,
            "<coverage><packages><package><classes><class name=\"x\">\n</class></classes></package>"
            "</packages></coverage>") == "line 1: <class> has no 'filename' attribute");
  CHECK(parse_error(ReportFormat::cobertura_xml,
                    "<coverage><packages><package><classes><class filename=\"a.py\"><lines>\n"
                    "<line number=\"1\" "
                    "hits=\"many\"/></lines></class></classes></package></packages></coverage>") ==
        "line 2: <line> has an invalid 'hits': 'many' is not a count");
  CHECK(parse_error(ReportFormat::cobertura_xml,
                    "<coverage><packages><package><classes><class filename=\"a.py\"><lines>"
                    "<line number=\"1\" hits=\"1\" branch=\"true\" "
                    "condition-coverage=\"50%\"/></lines></class>"
                    "</classes></package></packages></coverage>") ==
        "line 1: <line> has an invalid 'condition-coverage': '50%'");
  CHECK(parse_error(ReportFormat::cobertura_xml, "<coverage><packages>") ==
        "not well-formed XML: line 1, column 20: start-end tags mismatch");
}

// ---- JaCoCo ------------------------------------------------------------------------------

TEST_CASE("report: JaCoCo XML from Maven", "[report]") {
  auto report = parse_fixture(ReportFormat::jacoco_xml, "jacoco.xml");
  REQUIRE(report.files.size() == 3);
  const auto& stock = report.files[0];
  CHECK(stock.file_path == "com/acme/inventory/Stock.java");
  CHECK(stock.lines_covered == 10);
  CHECK(stock.lines_missed == 2);
  CHECK(stock.branches_covered == 5);
  CHECK(stock.branches_missed == 1);
  const auto& warehouse = report.files[1];
  CHECK(warehouse.file_path == "com/acme/inventory/Warehouse.java");
  CHECK(warehouse.lines_covered == 3);
  CHECK(warehouse.lines_missed == 5);
  CHECK(warehouse.branches_covered == 0);
  CHECK(warehouse.branches_missed == 0);
  CHECK(warehouse.branch_coverage_percentage() == 0.0);
  const auto& csv = report.files[2];
  CHECK(csv.file_path == "com/acme/inventory/io/CsvLoader.java");
  CHECK(csv.lines_covered == 6);
  CHECK(csv.branches_missed == 2);
  CHECK(compact(coverage_summary_json(report.files)) ==
        R"({"lineCoveragePercentage":63.33,"linesCovered":19,"linesMissed":11,)"
        R"("branchCoveragePercentage":70.0,"branchesCovered":7,"branchesMissed":3})");
}

TEST_CASE("report: JaCoCo groups, default package and line-only source files", "[report]") {
  auto report = parse_ok(ReportFormat::jacoco_xml, R"xml(<report name="multi">
    <group name="module-a"><group name="nested">
      <package name=""><sourcefile name="Main.java">
        <line nr="1" mi="0" ci="2" mb="1" cb="1"/>
        <line nr="2" mi="4" ci="0"/>
        <line nr="3" mi="1" ci="1" mb="2" cb="0"/>
      </sourcefile></package>
    </group></group>
    <package name="org/x"><sourcefile name="Y.java"><counter type="LINE" missed="1" covered="0"/></sourcefile></package>
  </report>)xml");
  REQUIRE(report.files.size() == 2);
  CHECK(report.files[0].file_path == "Main.java");
  CHECK(report.files[0].lines_covered == 2);
  CHECK(report.files[0].lines_missed == 1);
  CHECK(report.files[0].branches_covered == 1);
  CHECK(report.files[0].branches_missed == 3);
  CHECK(report.files[1].file_path == "org/x/Y.java");
  CHECK(report.files[1].lines_missed == 1);
}

TEST_CASE("report: malformed JaCoCo input is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::jacoco_xml,
                    test::fixture_text("reports/coverage-py-cobertura.xml")) ==
        "not a JaCoCo XML report: root element is 'coverage' (this looks like file-format "
        "COBERTURAXML)");
  CHECK(parse_error(ReportFormat::jacoco_xml,
                    "<report><package name=\"a\">\n<sourcefile name=\"B.java\">\n"
                    "<counter type=\"LINE\" covered=\"3\"/></sourcefile></package></report>") ==
        "line 3: <counter> has no 'missed' attribute");
  CHECK(
      parse_error(ReportFormat::jacoco_xml, "<report><package><sourcefile/></package></report>") ==
      "line 1: <sourcefile> has no 'name' attribute");
}

// ---- Clover ------------------------------------------------------------------------------

TEST_CASE("report: Clover XML from PHPUnit", "[report]") {
  auto report = parse_fixture(ReportFormat::clover_xml, "phpunit-clover.xml");
  REQUIRE(report.files.size() == 2);
  CHECK(report.files[0].file_path == "/src/app/Billing/Invoice.php");
  CHECK(report.files[0].lines_covered == 8);
  CHECK(report.files[0].lines_missed == 2);
  CHECK(report.files[0].branches_covered == 0);
  CHECK(report.files[0].branches_missed == 0);
  CHECK(report.files[1].file_path == "/src/app/Billing/TaxTable.php");
  CHECK(report.files[1].lines_covered == 1);
  CHECK(report.files[1].lines_missed == 3);
  CHECK(compact(coverage_summary_json(report.files)) ==
        R"({"lineCoveragePercentage":64.29,"linesCovered":9,"linesMissed":5,)"
        R"("branchCoveragePercentage":0.0,"branchesCovered":0,"branchesMissed":0})");
}

TEST_CASE("report: Clover XML from Istanbul and OpenClover", "[report]") {
  auto report = parse_ok(ReportFormat::clover_xml, R"xml(<?xml version="1.0" encoding="UTF-8"?>
<coverage generated="1709634000000" clover="3.2.0">
  <project timestamp="1709634000000" name="All files">
    <metrics statements="9" coveredstatements="6" conditionals="6" coveredconditionals="3" methods="2" coveredmethods="2" elements="17" coveredelements="11" complexity="0" loc="9" ncloc="9" packages="1" files="2" classes="2"/>
    <file name="index.js" path="/src/index.js">
      <metrics statements="3" coveredstatements="3" conditionals="0" coveredconditionals="0" methods="1" coveredmethods="1"/>
      <line num="1" count="1" type="stmt"/>
      <line num="2" count="4" type="stmt"/>
      <line num="2" count="4" type="stmt"/>
      <line num="3" count="4" type="stmt"/>
    </file>
    <package name="lib">
      <metrics statements="6" coveredstatements="3" conditionals="6" coveredconditionals="3" methods="1" coveredmethods="1"/>
      <file name="rules.js" path="/src/lib/rules.js">
        <metrics statements="6" coveredstatements="3" conditionals="6" coveredconditionals="3" methods="1" coveredmethods="1"/>
        <line num="1" count="1" type="stmt"/>
        <line num="2" count="3" type="cond" truecount="1" falsecount="0"/>
        <line num="3" count="0" type="stmt"/>
        <line num="5" count="3" type="cond" truecount="2" falsecount="1"/>
      </file>
      <file name="legacy.js" path="/src/lib/legacy.js">
        <line num="4" type="cond" truecount="0" falsecount="2"/>
        <line num="6" type="stmt" count="0"/>
      </file>
      <file name="generated.js">
        <metrics statements="5" coveredstatements="2"/>
      </file>
    </package>
  </project>
  <testproject timestamp="1709634000000"><file name="test.js" path="/src/test.js"><line num="1" count="1" type="stmt"/></file></testproject>
</coverage>)xml");
  REQUIRE(report.files.size() == 4);
  CHECK(report.files[0].file_path == "/src/index.js");
  CHECK(report.files[0].lines_covered == 3);  // line 2 is listed twice
  CHECK(report.files[0].lines_missed == 0);
  // Branches from the file's metrics: Istanbul counts all paths, not two per line.
  CHECK(report.files[1].file_path == "/src/lib/rules.js");
  CHECK(report.files[1].lines_covered == 3);
  CHECK(report.files[1].lines_missed == 1);
  CHECK(report.files[1].branches_covered == 3);
  CHECK(report.files[1].branches_missed == 3);
  // No metrics: two branches per cond line.
  CHECK(report.files[2].lines_covered == 1);
  CHECK(report.files[2].lines_missed == 1);
  CHECK(report.files[2].branches_covered == 1);
  CHECK(report.files[2].branches_missed == 1);
  // No lines: statements from the metrics; the name stands in for a missing path.
  CHECK(report.files[3].file_path == "generated.js");
  CHECK(report.files[3].lines_covered == 2);
  CHECK(report.files[3].lines_missed == 3);
}

TEST_CASE("report: malformed Clover input is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::clover_xml,
                    test::fixture_text("reports/coverage-py-cobertura.xml")) ==
        "not a Clover XML report: <coverage> has no <project> (this looks like file-format "
        "COBERTURAXML)");
  CHECK(parse_error(ReportFormat::clover_xml, "<coverage><project><file/></project></coverage>") ==
        "line 1: <file> has no 'name' attribute");
  CHECK(parse_error(ReportFormat::clover_xml,
                    "<coverage><project><file name=\"a\"><line type=\"stmt\" "
                    "count=\"1\"/></file></project></coverage>") ==
        "line 1: <line> has no 'num' attribute");
}

// ---- SimpleCov ---------------------------------------------------------------------------

TEST_CASE("report: SimpleCov .resultset.json merges commands", "[report]") {
  auto report = parse_fixture(ReportFormat::simplecov_json, "simplecov-resultset.json");
  REQUIRE(report.files.size() == 2);
  const auto& cart = report.files[0];
  CHECK(cart.file_path == "/app/lib/cart.rb");
  CHECK(cart.lines_covered == 6);
  CHECK(cart.lines_missed == 1);
  CHECK(cart.branches_covered == 2);
  CHECK(cart.branches_missed == 2);
  const auto& price = report.files[1];
  CHECK(price.file_path == "/app/lib/price.rb");
  CHECK(price.lines_covered == 2);
  CHECK(price.lines_missed == 2);
  CHECK(price.branches_covered + price.branches_missed == 0);
  CHECK(compact(coverage_summary_json(report.files)) ==
        R"({"lineCoveragePercentage":72.73,"linesCovered":8,"linesMissed":3,)"
        R"("branchCoveragePercentage":50.0,"branchesCovered":2,"branchesMissed":2})");
}

TEST_CASE("report: SimpleCov coverage.json and the legacy array shape", "[report]") {
  auto formatter = parse_ok(ReportFormat::simplecov_json, R"({
    "meta": {"simplecov_version": "0.22.0"},
    "coverage": {
      "/gem/lib/sample.rb": {
        "lines": [null, 1, 1, 0, null, "ignored", "ignored", 2],
        "branches": [
          {"type": "then", "start_line": 3, "end_line": 3, "coverage": 0},
          {"type": "else", "start_line": 4, "end_line": 4, "coverage": 1},
          {"type": "else", "start_line": 6, "end_line": 6, "coverage": "ignored"}
        ]
      }
    },
    "groups": {}
  })");
  REQUIRE(formatter.files.size() == 1);
  CHECK(formatter.files[0].lines_covered == 3);
  CHECK(formatter.files[0].lines_missed == 1);
  CHECK(formatter.files[0].branches_covered == 1);
  CHECK(formatter.files[0].branches_missed == 1);

  auto legacy =
      parse_ok(ReportFormat::simplecov_json,
               R"({"RSpec": {"coverage": {"/app/a.rb": [1, null, 0, 0]}, "timestamp": 1}})");
  REQUIRE(legacy.files.size() == 1);
  CHECK(legacy.files[0].lines_covered == 1);
  CHECK(legacy.files[0].lines_missed == 2);
}

TEST_CASE("report: malformed SimpleCov JSON is a clear error", "[report]") {
  CHECK(parse_error(ReportFormat::simplecov_json, "[]") ==
        "not a SimpleCov JSON report: expected an object, found an array");
  CHECK(parse_error(ReportFormat::simplecov_json, R"({"RSpec": {"timestamp": 1}})") ==
        "not a SimpleCov JSON report: [\"RSpec\"] is not a result set with 'coverage'");
  CHECK(
      parse_error(ReportFormat::simplecov_json, R"({"coverage": {"/a.rb": {"lines": [1, -2]}}})") ==
      "coverage[\"/a.rb\"].lines[1]: expected a hit count, null or \"ignored\"");
  CHECK(parse_error(ReportFormat::simplecov_json, R"({"coverage": {"/a.rb": {"branches": {}}}})") ==
        "coverage[\"/a.rb\"]: expected an object with 'lines'");
  CHECK(parse_error(ReportFormat::simplecov_json, "{") ==
        "not well-formed JSON: parse error at line 1, column 2: syntax error while parsing object "
        "key - "
        "unexpected end of input; expected string literal");
}

// ---- shared behaviour --------------------------------------------------------------------

TEST_CASE("report: messages are trimmed to 5000 characters on a character boundary", "[report]") {
  std::string long_message;
  for (int i = 0; i < 3000; ++i) long_message += "é";  // two bytes each
  long_message += long_message;                        // 6000 characters
  auto report =
      parse_ok(ReportFormat::junit_xml, "<testsuite><testcase name=\"t\"><failure message=\"  " +
                                            long_message + "\"/></testcase></testsuite>");
  REQUIRE(report.test_cases.size() == 1);
  CHECK(report.test_cases[0].message.size() == 10000);
  CHECK(report.test_cases[0].message == long_message.substr(0, 10000));
}

TEST_CASE("report: coverage summary of nothing is zeros", "[report]") {
  CHECK(compact(coverage_summary_json({})) ==
        R"({"lineCoveragePercentage":0.0,"linesCovered":0,"linesMissed":0,)"
        R"("branchCoveragePercentage":0.0,"branchesCovered":0,"branchesMissed":0})");
}

TEST_CASE("report: status names are CodeBuild's", "[report]") {
  CHECK(test_status_name(TestStatus::succeeded) == "SUCCEEDED");
  CHECK(test_status_name(TestStatus::failed) == "FAILED");
  CHECK(test_status_name(TestStatus::error) == "ERROR");
  CHECK(test_status_name(TestStatus::skipped) == "SKIPPED");
  CHECK(test_status_name(TestStatus::unknown) == "UNKNOWN");
}

TEST_CASE("report: truncated and garbled inputs never crash any parser", "[report]") {
  const ReportFormat formats[] = {ReportFormat::junit_xml,     ReportFormat::cucumber_json,
                                  ReportFormat::testng_xml,    ReportFormat::nunit_xml,
                                  ReportFormat::nunit3_xml,    ReportFormat::visual_studio_trx,
                                  ReportFormat::cobertura_xml, ReportFormat::jacoco_xml,
                                  ReportFormat::clover_xml,    ReportFormat::simplecov_json};
  const char* fixtures[] = {"surefire-TEST-com.acme.CalculatorTest.xml",
                            "pytest-junit.xml",
                            "cucumber-js.json",
                            "testng-results.xml",
                            "nunit2-TestResult.xml",
                            "nunit3-TestResult.xml",
                            "dotnet-xunit.trx",
                            "coverage-py-cobertura.xml",
                            "jacoco.xml",
                            "phpunit-clover.xml",
                            "simplecov-resultset.json"};
  int parsed = 0, rejected = 0;
  for (const char* name : fixtures) {
    const std::string text = test::fixture_text(std::string("reports/") + name);
    for (size_t cut = 0; cut < text.size(); cut += 97) {
      std::string garbled = text.substr(0, cut);
      std::string flipped = text;
      flipped[cut] = static_cast<char>(flipped[cut] ^ 0x5A);
      for (ReportFormat format : formats) {
        for (const std::string* input : {&garbled, &flipped}) {
          auto result = parse_report(format, *input);
          if (result) {
            ++parsed;
          } else {
            ++rejected;
            CHECK(result.error().kind == ErrorKind::invalid);
            CHECK(!result.error().message.empty());
          }
        }
      }
    }
  }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("report: deeply nested suites are refused, not a stack overflow", "[report]") {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<testsuite>";
  for (int i = 0; i < 5000; ++i) deep += "</testsuite>";
  CHECK(parse_error(ReportFormat::junit_xml, deep) ==
        "line 1: suites nested more than 200 levels deep");
  std::string deep_json(100000, '[');
  CHECK(parse_error(ReportFormat::cucumber_json, deep_json).starts_with("not well-formed JSON: "));
}

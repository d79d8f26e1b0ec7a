// Coverage report formats: Cobertura XML, JaCoCo XML, Clover XML and SimpleCov JSON. Each
// becomes one FileCoverage per source file (files met twice are merged), in the order the
// report first names them.
#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>

#include "builder/report_parse_internal.hpp"
#include "util/strings.hpp"

namespace cicd::report_detail {

namespace {

int64_t saturating_add(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

// Files in first-seen order, looked up by path.
template <class Entry>
class FileTable {
 public:
  Entry& at(const std::string& path) {
    auto [it, inserted] = m_index.try_emplace(path, m_entries.size());
    if (inserted) m_entries.emplace_back(path, Entry{});
    return m_entries[it->second].second;
  }
  std::vector<std::pair<std::string, Entry>>& entries() { return m_entries; }

 private:
  std::unordered_map<std::string, size_t> m_index;
  std::vector<std::pair<std::string, Entry>> m_entries;
};

// Per-line facts, for formats that list lines (the same line may be listed more than once).
struct LineFacts {
  int64_t hits = 0;
  int64_t branches_covered = 0;
  int64_t branches_total = 0;

  void merge(const LineFacts& other) {
    hits = std::max(hits, other.hits);
    // Two listings of one line describe the same branches: keep the better-known one.
    if (other.branches_total > branches_total ||
        (other.branches_total == branches_total && other.branches_covered > branches_covered)) {
      branches_total = other.branches_total;
      branches_covered = other.branches_covered;
    }
  }
};

using LineMap = std::map<int64_t, LineFacts>;

FileCoverage from_lines(const std::string& path, const LineMap& lines) {
  FileCoverage file;
  file.file_path = path;
  for (const auto& [number, facts] : lines) {
    (facts.hits > 0 ? file.lines_covered : file.lines_missed) += 1;
    file.branches_covered += facts.branches_covered;
    file.branches_missed += std::max<int64_t>(0, facts.branches_total - facts.branches_covered);
  }
  return file;
}

// ---- Cobertura XML -------------------------------------------------------------------------
//
// <coverage> <packages> <package> <classes> <class filename> <lines> <line number hits
// branch="true" condition-coverage="50% (1/2)">. Only a class's own <lines> count: the lines
// under <methods> repeat them. Inner classes share their outer class's file: lines are merged
// by number. Paths are the `filename` attributes as written (relative to a <source>).

Result<LineFacts> cobertura_line(const XmlReport& report, pugi::xml_node line) {
  LineFacts facts;
  auto hits = count_attribute(report, line, "hits");
  if (!hits) return std::unexpected(hits.error());
  facts.hits = *hits;
  if (!iequals(trim(attribute(line, "branch").value()), "true")) return facts;
  pugi::xml_attribute condition = attribute(line, "condition-coverage");
  if (!condition) return facts;
  // "50% (1/2)": the parenthesised counts are exact, the percentage is rounded.
  const std::string_view text = condition.value();
  const size_t open = text.find('('), slash = text.find('/', open), close = text.find(')', slash);
  std::optional<int64_t> covered, total;
  if (open != std::string_view::npos && slash != std::string_view::npos &&
      close != std::string_view::npos) {
    covered = parse_count(text.substr(open + 1, slash - open - 1));
    total = parse_count(text.substr(slash + 1, close - slash - 1));
  }
  if (!covered || !total || *covered > *total)
    return fail(ErrorKind::invalid, "{}<line> has an invalid 'condition-coverage': '{}'",
                report.where(line), quote_value(text));
  facts.branches_covered = *covered;
  facts.branches_total = *total;
  return facts;
}

Result<ParsedReport> parse_cobertura_document(const XmlReport& report) {
  FileTable<LineMap> files;
  Status status;
  auto visit_class = [&](pugi::xml_node klass) {
    if (!status) return;
    auto filename = required_attribute(report, klass, "filename");
    if (!filename) {
      status = std::unexpected(filename.error());
      return;
    }
    LineMap& lines = files.at(*filename);
    for_each_child(child(klass, "lines"), "line", [&](pugi::xml_node line) {
      if (!status) return;
      auto number = count_attribute(report, line, "number");
      if (!number) {
        status = std::unexpected(number.error());
        return;
      }
      auto facts = cobertura_line(report, line);
      if (!facts) {
        status = std::unexpected(facts.error());
        return;
      }
      auto [it, inserted] = lines.try_emplace(*number, *facts);
      if (!inserted) it->second.merge(*facts);
    });
  };
  for_each_child(child(report.root(), "packages"), "package", [&](pugi::xml_node package) {
    for_each_child(child(package, "classes"), "class", visit_class);
  });
  if (!status) return std::unexpected(status.error());

  ParsedReport out;
  for (auto& [path, lines] : files.entries()) out.files.push_back(from_lines(path, lines));
  return out;
}

// ---- JaCoCo XML ----------------------------------------------------------------------------
//
// <report> [<group>...] <package name="com/acme"> <sourcefile name="Calc.java"> with
// <counter type="LINE|BRANCH" missed covered>; the path is "com/acme/Calc.java". A source file
// without counters is counted from its <line nr mi ci mb cb> elements.

struct Counts {
  int64_t lines_covered = 0, lines_missed = 0, branches_covered = 0, branches_missed = 0;
};

class JaCoCoParser {
 public:
  explicit JaCoCoParser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node node, int depth) {
    if (depth > k_max_nesting)
      return fail(ErrorKind::invalid, "{}groups nested more than {} levels deep",
                  m_report.where(node), k_max_nesting);
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      if (local_name(c) == "group") {
        if (auto st = walk(c, depth + 1); !st) return st;
      } else if (local_name(c) == "package") {
        std::string package = attribute(c, "name").value();
        Status status;
        for_each_child(c, "sourcefile", [&](pugi::xml_node source) {
          if (status) status = add_source(package, source);
        });
        if (!status) return status;
      }
    }
    return {};
  }

  ParsedReport take() {
    ParsedReport out;
    for (auto& [path, counts] : m_files.entries()) {
      FileCoverage file;
      file.file_path = path;
      file.lines_covered = counts.lines_covered;
      file.lines_missed = counts.lines_missed;
      file.branches_covered = counts.branches_covered;
      file.branches_missed = counts.branches_missed;
      out.files.push_back(std::move(file));
    }
    return out;
  }

 private:
  Status add_source(const std::string& package, pugi::xml_node source) {
    auto name = required_attribute(m_report, source, "name");
    if (!name) return std::unexpected(name.error());
    Counts counts;
    bool have_line_counter = false;
    for (pugi::xml_node counter = source.first_child(); counter; counter = counter.next_sibling()) {
      if (counter.type() != pugi::node_element || local_name(counter) != "counter") continue;
      const std::string_view type = attribute(counter, "type").value();
      if (type != "LINE" && type != "BRANCH") continue;
      auto missed = count_attribute(m_report, counter, "missed");
      if (!missed) return std::unexpected(missed.error());
      auto covered = count_attribute(m_report, counter, "covered");
      if (!covered) return std::unexpected(covered.error());
      if (type == "LINE") {
        have_line_counter = true;
        counts.lines_missed = *missed;
        counts.lines_covered = *covered;
      } else {
        counts.branches_missed = *missed;
        counts.branches_covered = *covered;
      }
    }
    if (!have_line_counter)
      if (auto st = count_lines(source, counts); !st) return st;

    const std::string path = package.empty() ? *name : package + "/" + *name;
    Counts& total = m_files.at(path);
    total.lines_covered = saturating_add(total.lines_covered, counts.lines_covered);
    total.lines_missed = saturating_add(total.lines_missed, counts.lines_missed);
    total.branches_covered = saturating_add(total.branches_covered, counts.branches_covered);
    total.branches_missed = saturating_add(total.branches_missed, counts.branches_missed);
    return {};
  }

  Status count_lines(pugi::xml_node source, Counts& counts) {
    counts = Counts{};
    Status status;
    for_each_child(source, "line", [&](pugi::xml_node line) {
      if (!status) return;
      int64_t values[4] = {0, 0, 0, 0};
      const char* names[4] = {"mi", "ci", "mb", "cb"};
      for (int i = 0; i < 4; ++i) {
        if (!attribute(line, names[i])) continue;  // absent means none
        auto value = count_attribute(m_report, line, names[i]);
        if (!value) {
          status = std::unexpected(value.error());
          return;
        }
        values[i] = *value;
      }
      // A line is covered when any of its instructions ran.
      if (values[1] > 0)
        ++counts.lines_covered;
      else if (values[0] > 0)
        ++counts.lines_missed;
      counts.branches_missed = saturating_add(counts.branches_missed, values[2]);
      counts.branches_covered = saturating_add(counts.branches_covered, values[3]);
    });
    return status;
  }

  const XmlReport& m_report;
  FileTable<Counts> m_files;
};

// ---- Clover XML ----------------------------------------------------------------------------
//
// <coverage> <project> [<package>] <file path|name> <metrics .../> <line num type count
// truecount falsecount>. As written by OpenClover, PHPUnit and Istanbul.
//   lines:    the distinct numbers of `stmt` and `cond` lines (method signatures are not
//             statements); a line is covered when it ran (count, or either branch taken).
//             Without <line> elements: the file's metrics statements/coveredstatements.
//   branches: the file's metrics conditionals/coveredconditionals when present (Istanbul's
//             per-line true/false counts cannot express a switch); else two per `cond` line.
// <testproject> (coverage of the tests themselves) is left out.

class CloverParser {
 public:
  explicit CloverParser(const XmlReport& report) : m_report(report) {}

  Status walk(pugi::xml_node project) {
    Status status;
    auto visit_file = [&](pugi::xml_node file) {
      if (status) status = add_file(file);
    };
    for_each_child(project, "file", visit_file);
    for_each_child(project, "package",
                   [&](pugi::xml_node package) { for_each_child(package, "file", visit_file); });
    return status;
  }

  ParsedReport take() {
    ParsedReport out;
    for (auto& [path, file] : m_files.entries()) {
      file.file_path = path;
      out.files.push_back(std::move(file));
    }
    return out;
  }

 private:
  Status add_file(pugi::xml_node file) {
    std::string path = attribute(file, "path").value();
    if (trim(path).empty()) {
      auto name = required_attribute(m_report, file, "name");
      if (!name) return std::unexpected(name.error());
      path = *name;
    }
    FileCoverage counts;
    std::map<int64_t, LineFacts> lines;
    bool any_line = false;
    for (pugi::xml_node line = file.first_child(); line; line = line.next_sibling()) {
      if (line.type() != pugi::node_element || local_name(line) != "line") continue;
      any_line = true;
      const std::string_view type = attribute(line, "type").value();
      if (type == "method") continue;
      auto number = count_attribute(m_report, line, "num");
      if (!number) return std::unexpected(number.error());
      LineFacts facts;
      int64_t values[3] = {0, 0, 0};
      const char* names[3] = {"count", "truecount", "falsecount"};
      for (int i = 0; i < 3; ++i) {
        if (!attribute(line, names[i])) continue;
        auto value = count_attribute(m_report, line, names[i]);
        if (!value) return std::unexpected(value.error());
        values[i] = *value;
      }
      facts.hits = std::max({values[0], values[1], values[2]});
      if (type == "cond") {
        facts.branches_total = 2;
        facts.branches_covered = (values[1] > 0 ? 1 : 0) + (values[2] > 0 ? 1 : 0);
      }
      auto [it, inserted] = lines.try_emplace(*number, facts);
      if (!inserted) it->second.merge(facts);
    }
    counts = from_lines(path, lines);

    pugi::xml_node metrics = child(file, "metrics");
    auto metric_pair = [&](const char* total_name, const char* covered_name, int64_t& covered,
                           int64_t& missed) -> Status {
      if (!metrics || !attribute(metrics, total_name)) return {};
      auto total = count_attribute(m_report, metrics, total_name);
      if (!total) return std::unexpected(total.error());
      auto hit = count_attribute(m_report, metrics, covered_name);
      if (!hit) return std::unexpected(hit.error());
      covered = std::min(*hit, *total);
      missed = *total - covered;
      return {};
    };
    if (!any_line)
      if (auto st = metric_pair("statements", "coveredstatements", counts.lines_covered,
                                counts.lines_missed);
          !st)
        return st;
    if (auto st = metric_pair("conditionals", "coveredconditionals", counts.branches_covered,
                              counts.branches_missed);
        !st)
      return st;

    FileCoverage& total = m_files.at(path);
    total.lines_covered = saturating_add(total.lines_covered, counts.lines_covered);
    total.lines_missed = saturating_add(total.lines_missed, counts.lines_missed);
    total.branches_covered = saturating_add(total.branches_covered, counts.branches_covered);
    total.branches_missed = saturating_add(total.branches_missed, counts.branches_missed);
    return {};
  }

  const XmlReport& m_report;
  FileTable<FileCoverage> m_files;
};

// ---- SimpleCov JSON ------------------------------------------------------------------------
//
// Two shapes, both written by simplecov itself:
//   coverage/.resultset.json: {"<command>": {"coverage": {"<path>": {"lines": [...],
//       "branches": {"[:if, ...]": {"[:then, ...]": n}}}}, "timestamp": t}, ...}
//     (simplecov < 0.18 wrote the lines array directly as the file's value); several
//     commands (RSpec, Minitest) are merged: hits add up, branches are matched by their keys;
//   coverage/coverage.json (SimpleCov::Formatter::JSONFormatter): {"meta": {...},
//       "coverage": {"<path>": {"lines": [...], "branches": [{"coverage": n, ...}]}}}.
// A line entry is a hit count, null (not code) or "ignored" (:nocov:); only counts count.

struct SimpleCovFile {
  std::vector<std::optional<int64_t>> lines;
  std::vector<std::pair<std::string, int64_t>> branches;  // key (may be empty) and hits
  std::unordered_map<std::string, size_t> branch_index;   // keyed branches only
};

class SimpleCovParser {
 public:
  Status parse(const Json& root) {
    if (!root.is_object())
      return fail(ErrorKind::invalid, "not a SimpleCov JSON report: expected an object, found {}",
                  root.is_array() ? "an array" : "a scalar");
    if (root.contains("coverage")) return parse_coverage(root["coverage"], "coverage");
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string path = quoted(it.key());
      if (!it->is_object() || !it->contains("coverage"))
        return fail(ErrorKind::invalid,
                    "not a SimpleCov JSON report: {} is not a result set with 'coverage'", path);
      if (auto st = parse_coverage((*it)["coverage"], path + ".coverage"); !st) return st;
    }
    return {};
  }

  ParsedReport take() {
    ParsedReport out;
    for (auto& [path, data] : m_files.entries()) {
      FileCoverage file;
      file.file_path = path;
      for (const auto& hits : data.lines)
        if (hits) (*hits > 0 ? file.lines_covered : file.lines_missed) += 1;
      for (const auto& [key, hits] : data.branches)
        (hits > 0 ? file.branches_covered : file.branches_missed) += 1;
      out.files.push_back(std::move(file));
    }
    return out;
  }

 private:
  static std::string quoted(std::string_view key) {
    return fmt::format("[\"{}\"]", quote_value(key));
  }

  Status parse_coverage(const Json& coverage, const std::string& path) {
    if (!coverage.is_object())
      return fail(ErrorKind::invalid, "not a SimpleCov JSON report: {} is not an object", path);
    for (auto it = coverage.begin(); it != coverage.end(); ++it) {
      const std::string file_path = path + quoted(it.key());
      SimpleCovFile& file = m_files.at(it.key());
      if (it->is_array()) {
        if (auto st = merge_lines(*it, file_path, file); !st) return st;
        continue;
      }
      if (!it->is_object())
        return fail(ErrorKind::invalid, "{}: expected an object with 'lines'", file_path);
      auto lines = it->find("lines");
      if (lines == it->end() || !lines->is_array())
        return fail(ErrorKind::invalid, "{}: expected an object with 'lines'", file_path);
      if (auto st = merge_lines(*lines, file_path + ".lines", file); !st) return st;
      if (auto branches = it->find("branches"); branches != it->end() && !branches->is_null())
        if (auto st = merge_branches(*branches, file_path + ".branches", file); !st) return st;
    }
    return {};
  }

  // A hit count, or nullopt for null / "ignored".
  static Result<std::optional<int64_t>> hit_count(const Json& value, const std::string& path) {
    if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>() == "ignored"))
      return std::optional<int64_t>();
    if (value.is_number_unsigned()) {
      const auto hits = value.get<uint64_t>();
      return std::optional<int64_t>(
          hits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
              ? std::numeric_limits<int64_t>::max()
              : static_cast<int64_t>(hits));
    }
    if (value.is_number_integer() && value.get<int64_t>() >= 0)
      return std::optional<int64_t>(value.get<int64_t>());
    return fail(ErrorKind::invalid, "{}: expected a hit count, null or \"ignored\"", path);
  }

  static Status merge_lines(const Json& lines, const std::string& path, SimpleCovFile& file) {
    if (file.lines.size() < lines.size()) file.lines.resize(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      auto hits = hit_count(lines[i], fmt::format("{}[{}]", path, i));
      if (!hits) return std::unexpected(hits.error());
      if (!*hits) continue;
      file.lines[i] = saturating_add(file.lines[i].value_or(0), **hits);
    }
    return {};
  }

  static Status merge_branches(const Json& branches, const std::string& path, SimpleCovFile& file) {
    if (branches.is_array()) {  // coverage.json: a list, one entry per branch
      for (size_t i = 0; i < branches.size(); ++i) {
        const std::string entry_path = fmt::format("{}[{}]", path, i);
        const Json& branch = branches[i];
        if (!branch.is_object() || !branch.contains("coverage"))
          return fail(ErrorKind::invalid, "{}: expected an object with 'coverage'", entry_path);
        auto hits = hit_count(branch["coverage"], entry_path + ".coverage");
        if (!hits) return std::unexpected(hits.error());
        if (*hits) file.branches.emplace_back(std::string(), **hits);
      }
      return {};
    }
    if (!branches.is_object())
      return fail(ErrorKind::invalid, "{}: expected an object or an array", path);
    // .resultset.json: condition -> {branch -> hits}.
    for (auto condition = branches.begin(); condition != branches.end(); ++condition) {
      const std::string condition_path = path + quoted(condition.key());
      if (!condition->is_object())
        return fail(ErrorKind::invalid, "{}: expected an object of branches", condition_path);
      for (auto branch = condition->begin(); branch != condition->end(); ++branch) {
        auto hits = hit_count(*branch, condition_path + quoted(branch.key()));
        if (!hits) return std::unexpected(hits.error());
        if (!*hits) continue;
        const std::string key = condition.key() + " " + branch.key();
        auto [index, inserted] = file.branch_index.try_emplace(key, file.branches.size());
        if (inserted)
          file.branches.emplace_back(key, **hits);
        else
          file.branches[index->second].second =
              saturating_add(file.branches[index->second].second, **hits);
      }
    }
    return {};
  }

  FileTable<SimpleCovFile> m_files;
};

}  // namespace

Result<ParsedReport> parse_cobertura_xml(std::string_view text) {
  auto report = XmlReport::load(text, "Cobertura XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"coverage"}); !st) return std::unexpected(st.error());
  if (!child(report->root(), "packages") && child(report->root(), "project"))
    return fail(ErrorKind::invalid,
                "not a Cobertura XML report: <coverage> holds a <project> (this looks like "
                "file-format CLOVERXML)");
  return parse_cobertura_document(*report);
}

Result<ParsedReport> parse_jacoco_xml(std::string_view text) {
  auto report = XmlReport::load(text, "JaCoCo XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"report"}); !st) return std::unexpected(st.error());
  JaCoCoParser parser(*report);
  if (auto st = parser.walk(report->root(), 0); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_clover_xml(std::string_view text) {
  auto report = XmlReport::load(text, "Clover XML");
  if (!report) return std::unexpected(report.error());
  if (auto st = report->expect_root({"coverage"}); !st) return std::unexpected(st.error());
  pugi::xml_node project = child(report->root(), "project");
  if (!project) {
    std::string message = "not a Clover XML report: <coverage> has no <project>";
    if (child(report->root(), "packages")) message += " (this looks like file-format COBERTURAXML)";
    return fail(ErrorKind::invalid, std::move(message));
  }
  CloverParser parser(*report);
  if (auto st = parser.walk(project); !st) return std::unexpected(st.error());
  return parser.take();
}

Result<ParsedReport> parse_simplecov_json(std::string_view text) {
  auto json = load_json_report(text, "SimpleCov JSON");
  if (!json) return std::unexpected(json.error());
  SimpleCovParser parser;
  try {
    if (auto st = parser.parse(*json); !st) return std::unexpected(st.error());
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorKind::invalid, "not a SimpleCov JSON report: {}", json_error_text(e));
  }
  return parser.take();
}

}  // namespace cicd::report_detail

#include "formats/yaml_util.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <map>

#include "util/strings.hpp"

namespace cicd::yaml {

namespace {

// Merge keys (`<<: *defaults`) may chain; a bound keeps a hostile document from recursing forever.
constexpr int k_max_merge_depth = 16;
constexpr size_t k_max_shown = 60;

std::string shorten(std::string_view text) {
  // Show only the first line of a long or multi-line value: the position says where the rest is.
  size_t newline = text.find('\n');
  bool cut = newline != std::string_view::npos || text.size() > k_max_shown;
  std::string_view head = text.substr(0, std::min(newline, k_max_shown));
  return cut ? fmt::format("{}...", head) : std::string(head);
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a string";
    default:
      return "an empty value";
  }
}

std::string key_text(const YAML::Node& key) {
  return key.IsScalar() ? key.Scalar() : std::string();
}

void collect_merged(const YAML::Node& value, int depth, std::vector<MapEntry>& out,
                    Diagnostics& diagnostics);

// The entries a merge key brings in, in order; later ones never override earlier ones.
void collect_map(const YAML::Node& map, int depth, std::vector<MapEntry>& out,
                 Diagnostics& diagnostics) {
  std::vector<YAML::Node> nested;
  // yaml-cpp's iterator hands out a temporary pair: copy it (`const auto&` binds to a value here),
  // never keep a reference to `it->first`, which dies with the full expression.
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) continue;
    std::string key = kv.first.Scalar();
    if (key == "<<" && is_plain_scalar(kv.first)) {
      nested.push_back(kv.second);
      continue;
    }
    out.push_back({key, position_of(kv.first), kv.second});
  }
  for (auto& n : nested) collect_merged(n, depth + 1, out, diagnostics);
}

void collect_merged(const YAML::Node& value, int depth, std::vector<MapEntry>& out,
                    Diagnostics& diagnostics) {
  if (depth > k_max_merge_depth) {
    diagnostics.error(position_of(value), "merge keys ('<<') nested too deeply");
    return;
  }
  if (value.IsMap()) {
    collect_map(value, depth, out, diagnostics);
  } else if (value.IsSequence()) {
    for (auto item : value) {
      if (item.IsMap())
        collect_map(item, depth, out, diagnostics);
      else
        diagnostics.error(
            position_of(item),
            fmt::format("a merge key ('<<') needs mappings; got {}", node_kind(item)));
    }
  } else {
    diagnostics.error(position_of(value),
                      fmt::format("a merge key ('<<') needs a mapping; got {}", describe(value)));
  }
}

std::optional<std::string> scalar_at(const YAML::Node& node, Position where, std::string_view what,
                                     Diagnostics& diagnostics) {
  if (node.IsScalar()) return node.Scalar();
  diagnostics.error(where, fmt::format("'{}' must be a string; got {}", what, describe(node)));
  return std::nullopt;
}

std::optional<bool> boolean_at(const YAML::Node& node, Position where, std::string_view what,
                               Diagnostics& diagnostics) {
  if (node.IsScalar()) {
    if (auto b = parse_bool(node.Scalar())) return b;
  }
  diagnostics.error(where, fmt::format("'{}' must be true or false (or yes/no, on/off); got {}",
                                       what, describe(node)));
  return std::nullopt;
}

std::optional<long long> integer_at(const YAML::Node& node, Position where, std::string_view what,
                                    Diagnostics& diagnostics) {
  if (node.IsScalar()) {
    std::string_view text = node.Scalar();
    bool negative = !text.empty() && text.front() == '-';
    if (!text.empty() && (text.front() == '+' || negative)) text.remove_prefix(1);
    if (auto v = parse_uint(text)) return negative ? -*v : *v;
  }
  diagnostics.error(where, fmt::format("'{}' must be an integer; got {}", what, describe(node)));
  return std::nullopt;
}

std::vector<std::pair<std::string, Position>> string_list_at(const YAML::Node& node, Position where,
                                                             std::string_view what,
                                                             Diagnostics& diagnostics,
                                                             bool allow_single) {
  std::vector<std::pair<std::string, Position>> out;
  if (node.IsNull() || !node.IsDefined()) return out;
  if (node.IsScalar()) {
    if (allow_single) {
      out.emplace_back(node.Scalar(), where);
    } else {
      diagnostics.error(where, fmt::format("'{}' must be a list; got {}", what, describe(node)));
    }
    return out;
  }
  if (!node.IsSequence()) {
    diagnostics.error(where, fmt::format("'{}' must be a list{}; got {}", what,
                                         allow_single ? " of strings" : "", describe(node)));
    return out;
  }
  for (auto item : node) {
    if (item.IsScalar()) {
      out.emplace_back(item.Scalar(), position_of(item));
    } else if (item.IsNull()) {
      // An empty `- ` item is most likely a leftover; it carries nothing to act on.
      diagnostics.warning(position_of(item).line > 0 ? position_of(item) : where,
                          fmt::format("empty item in '{}' is ignored", what));
    } else {
      diagnostics.error(position_of(item),
                        fmt::format("items of '{}' must be strings; got {}", what, describe(item)));
    }
  }
  return out;
}

// True when the 0-based line's indentation contains a tab.
bool indented_with_tab(std::string_view text, int line) {
  if (line < 0) return false;
  size_t start = 0;
  for (int i = 0; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return false;
    ++start;
  }
  for (size_t i = start; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i)
    if (text[i] == '\t') return true;
  return false;
}

}  // namespace

Position position_of(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::optional<YAML::Node> load(std::string_view text, Diagnostics& diagnostics) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp words this one "bad file"; say what it is.
    Position pos = e.mark.line >= 0 ? Position{e.mark.line + 1, e.mark.column + 1} : Position{1, 1};
    diagnostics.error(pos, "invalid YAML: nested too deeply");
  } catch (const YAML::ParserException& e) {
    Position pos = e.mark.line >= 0 ? Position{e.mark.line + 1, e.mark.column + 1} : Position{1, 1};
    std::string message = fmt::format("invalid YAML: {}", e.msg);
    // Tabs are the most common cause and yaml-cpp's wording (often "illegal map value") does
    // not say so.
    if (e.msg.find("tab") != std::string::npos || indented_with_tab(text, e.mark.line))
      message += " (indent with spaces, not tabs)";
    diagnostics.error(pos, std::move(message));
  } catch (const YAML::Exception& e) {
    diagnostics.error({1, 1}, fmt::format("invalid YAML: {}", e.msg));
  } catch (const std::exception& e) {
    diagnostics.error({1, 1}, fmt::format("invalid YAML: {}", e.what()));
  }
  return std::nullopt;
}

std::vector<MapEntry> entries(const YAML::Node& node, std::string_view where,
                              std::span<const std::string_view> known, Diagnostics& diagnostics,
                              UnknownKeys unknown) {
  std::vector<MapEntry> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsMap()) {
    diagnostics.error(position_of(node),
                      fmt::format("'{}' must be a mapping; got {}", where, describe(node)));
    return out;
  }

  // 1. The keys written here, checking each once.
  std::map<std::string, Position> seen;
  std::vector<YAML::Node> merges;
  for (const auto& kv : node) {
    const YAML::Node& key = kv.first;
    Position key_pos = position_of(key);
    if (!key.IsScalar()) {
      diagnostics.error(key_pos,
                        fmt::format("keys in '{}' must be strings; got {}", where, node_kind(key)));
      continue;
    }
    std::string name = key_text(key);
    if (name == "<<" && is_plain_scalar(key)) {
      merges.push_back(kv.second);
      continue;
    }
    auto [first, inserted] = seen.emplace(name, key_pos);
    if (!inserted) {
      diagnostics.error(key_pos, fmt::format("duplicate key '{}' in {} (first at {}:{})", name,
                                             where, first->second.line, first->second.column));
      continue;
    }
    out.push_back({name, key_pos, kv.second});
  }

  // 2. Merge keys fill in what is not written explicitly (YAML 1.1 merge semantics).
  for (auto& merge : merges) {
    std::vector<MapEntry> merged;
    collect_merged(merge, 0, merged, diagnostics);
    for (auto& entry : merged) {
      if (seen.emplace(entry.key, entry.key_position).second) out.push_back(std::move(entry));
    }
  }

  // 3. Unknown keys, with a suggestion when one is close.
  if (unknown != UnknownKeys::allow) {
    for (auto& entry : out) {
      if (std::find(known.begin(), known.end(), entry.key) != known.end()) continue;
      std::string message = fmt::format("unknown key '{}' in {}{}", entry.key, where, did_you_mean(entry.key, known));
      if (unknown == UnknownKeys::error)
        diagnostics.error(entry.key_position, std::move(message));
      else
        diagnostics.warning(entry.key_position, std::move(message));
    }
  }
  return out;
}

bool is_plain_scalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "?"; }

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return fmt::format("'{}'", shorten(node.Scalar()));
  return node_kind(node);
}

std::optional<bool> parse_bool(std::string_view text) {
  for (std::string_view yes : {"true", "yes", "on"})
    if (iequals(text, yes)) return true;
  for (std::string_view no : {"false", "no", "off"})
    if (iequals(text, no)) return false;
  return std::nullopt;
}

std::optional<std::string> scalar(const YAML::Node& node, std::string_view what,
                                  Diagnostics& diagnostics) {
  return scalar_at(node, position_of(node), what, diagnostics);
}

std::optional<bool> boolean(const YAML::Node& node, std::string_view what,
                            Diagnostics& diagnostics) {
  return boolean_at(node, position_of(node), what, diagnostics);
}

std::optional<long long> integer(const YAML::Node& node, std::string_view what,
                                 Diagnostics& diagnostics) {
  return integer_at(node, position_of(node), what, diagnostics);
}

std::vector<std::pair<std::string, Position>> string_list(const YAML::Node& node,
                                                          std::string_view what,
                                                          Diagnostics& diagnostics,
                                                          bool allow_single) {
  return string_list_at(node, position_of(node), what, diagnostics, allow_single);
}

Position value_position(const MapEntry& entry) {
  if (entry.value.IsNull() || !entry.value.IsDefined()) return entry.key_position;
  Position pos = position_of(entry.value);
  return pos.line > 0 ? pos : entry.key_position;
}

std::optional<std::string> scalar(const MapEntry& entry, Diagnostics& diagnostics) {
  return scalar_at(entry.value, value_position(entry), entry.key, diagnostics);
}

std::optional<bool> boolean(const MapEntry& entry, Diagnostics& diagnostics) {
  return boolean_at(entry.value, value_position(entry), entry.key, diagnostics);
}

std::optional<long long> integer(const MapEntry& entry, Diagnostics& diagnostics) {
  return integer_at(entry.value, value_position(entry), entry.key, diagnostics);
}

std::vector<std::pair<std::string, Position>> string_list(const MapEntry& entry,
                                                          Diagnostics& diagnostics,
                                                          bool allow_single) {
  return string_list_at(entry.value, value_position(entry), entry.key, diagnostics, allow_single);
}

}  // namespace cicd::yaml

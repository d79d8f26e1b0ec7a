#include "formats/json_positions.hpp"

#include <fmt/format.h>

#include <map>

namespace cicd::yaml {

namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

// The 1-based line and column (in bytes) of `offset`; a byte order mark takes no column.
Position position_at(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  Position p{1, 1};
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  }
  size_t skipped = line_start == 0 && text.starts_with(k_bom) ? std::min(offset, k_bom.size()) : 0;
  p.column = static_cast<int>(offset - line_start - skipped) + 1;
  return p;
}

// Where the nesting first goes deeper than the limit, if it does. Brackets inside strings do not
// count. Run before nlohmann and the scanner below, so neither meets a hostile depth.
std::optional<size_t> too_deep_at(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > k_max_json_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

// nlohmann's message without its tag and its own position (ours is more precise about columns).
std::string syntax_message(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  if (what.starts_with("parse error at line ")) {
    if (auto colon = what.find(": "); colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
  }
  return fmt::format("invalid JSON: {}", what);
}

// Walks text that nlohmann has already accepted, recording where each value starts. It trusts
// the text's syntax and only has to find value boundaries.
class PositionScanner {
 public:
  PositionScanner(std::string_view text, PositionedJson& out, Diagnostics& diagnostics)
      : m_text(text), m_out(out), m_diagnostics(diagnostics) {
    if (m_text.starts_with(k_bom)) m_pos = k_bom.size();
  }

  void scan() {
    skip_space();
    value("");
  }

 private:
  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

  void advance() {
    if (m_pos >= m_text.size()) return;
    if (m_text[m_pos] == '\n') {
      ++m_line;
      m_column = 1;
    } else {
      ++m_column;
    }
    ++m_pos;
  }

  void skip_space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') advance();
  }

  Position here() const { return {m_line, m_column}; }

  // A string token, raw (with its quotes and escapes); strings never span lines in valid JSON.
  std::string_view string_token() {
    size_t start = m_pos;
    advance();  // the opening quote
    while (m_pos < m_text.size() && peek() != '"') {
      if (peek() == '\\') advance();
      advance();
    }
    advance();  // the closing quote
    return m_text.substr(start, m_pos - start);
  }

  void value(const std::string& pointer) {
    m_out.positions[pointer] = here();
    switch (peek()) {
      case '{':
        object(pointer);
        break;
      case '[':
        array(pointer);
        break;
      case '"':
        string_token();
        break;
      default:  // a number, true, false or null
        while (m_pos < m_text.size() &&
               std::string_view(",]} \t\r\n").find(peek()) == std::string_view::npos)
          advance();
    }
  }

  void object(const std::string& pointer) {
    std::map<std::string, Position> seen;
    advance();  // '{'
    skip_space();
    while (peek() == '"') {
      Position key_position = here();
      // The raw token is valid JSON: nlohmann decodes its escapes (\" \\ \u0041, surrogate pairs).
      std::string key = Json::parse(string_token()).get<std::string>();
      if (auto [first, inserted] = seen.emplace(key, key_position); !inserted)
        m_diagnostics.error(key_position, fmt::format("duplicate key '{}' (first at {}:{})", key,
                                                      first->second.line, first->second.column));
      skip_space();
      advance();  // ':'
      skip_space();
      value(pointer + "/" + escape_pointer(key));
      skip_space();
      if (peek() == ',') {
        advance();
        skip_space();
      }
    }
    advance();  // '}'
  }

  void array(const std::string& pointer) {
    advance();  // '['
    skip_space();
    for (size_t i = 0; peek() != ']' && m_pos < m_text.size(); ++i) {
      value(fmt::format("{}/{}", pointer, i));
      skip_space();
      if (peek() == ',') {
        advance();
        skip_space();
      }
    }
    advance();  // ']'
  }

  std::string_view m_text;
  PositionedJson& m_out;
  Diagnostics& m_diagnostics;
  size_t m_pos = 0;
  int m_line = 1;
  int m_column = 1;
};

}  // namespace

std::optional<PositionedJson> parse_positioned_json(std::string_view text,
                                                    Diagnostics& diagnostics) {
  // 1. Refuse hostile nesting before anything walks the text.
  if (auto at = too_deep_at(text)) {
    diagnostics.error(
        position_at(text, *at),
        fmt::format("the document nests too deeply (more than {} levels)", k_max_json_depth));
    return std::nullopt;
  }

  // 2. Strict JSON, by nlohmann.
  PositionedJson out;
  try {
    out.value = Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // `byte` is the 1-based index of the last character read: the one that did not fit.
    diagnostics.error(position_at(text, e.byte > 0 ? e.byte - 1 : 0), syntax_message(e.what()));
    return std::nullopt;
  } catch (const nlohmann::json::exception& e) {
    diagnostics.error({}, syntax_message(e.what()));
    return std::nullopt;
  }

  // 3. Positions, from a walk over the now valid text.
  PositionScanner(text, out, diagnostics).scan();
  return out;
}

}  // namespace cicd::yaml

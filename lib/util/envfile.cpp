#include "util/envfile.hpp"

#include <cctype>

#include "util/strings.hpp"

namespace cicd {

bool is_valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

Result<EnvList> parse_env_file(std::string_view text, std::string_view file_name) {
  EnvList out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    size_t next = end + 1;
    if (line.empty() || line.front() == '#') {
      pos = next;
      continue;
    }
    if (line.starts_with("export ")) line = trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return fail(ErrorKind::invalid, "{}:{}: error: expected NAME=VALUE, got '{}'", file_name, line_no, line);
    std::string name(trim(line.substr(0, eq)));
    if (!is_valid_env_name(name))
      return fail(ErrorKind::invalid, "{}:{}: error: '{}' is not a valid variable name", file_name, line_no, name);
    // The value starts right after '='; a quoted value may span lines.
    size_t value_start = static_cast<size_t>(line.data() - text.data()) + eq + 1;
    std::string value;
    if (value_start < text.size() && (text[value_start] == '"' || text[value_start] == '\'')) {
      char quote = text[value_start];
      size_t i = value_start + 1;
      bool closed = false;
      for (; i < text.size(); ++i) {
        char c = text[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (c == '\n') ++line_no;
        if (quote == '"' && c == '\\' && i + 1 < text.size()) {
          char e = text[++i];
          switch (e) {
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            case 'r': value += '\r'; break;
            case '"': case '\\': case '$': case '`': value += e; break;
            case '\n': ++line_no; break;
            default: value += '\\'; value += e;
          }
          continue;
        }
        value += c;
      }
      if (!closed)
        return fail(ErrorKind::invalid, "{}:{}: error: unterminated {} quote in the value of '{}'", file_name,
                    line_no, quote == '"' ? "double" : "single", name);
      size_t rest_end = text.find('\n', i);
      if (rest_end == std::string_view::npos) rest_end = text.size();
      auto rest = trim(text.substr(i + 1, rest_end - i - 1));
      if (!rest.empty() && rest.front() != '#')
        return fail(ErrorKind::invalid, "{}:{}: error: unexpected text after the quoted value of '{}'", file_name,
                    line_no, name);
      next = rest_end + 1;
    } else {
      value = std::string(trim(line.substr(eq + 1)));
      // An unquoted value ends at a " #" comment, as in shells and dotenv files.
      auto hash = value.find(" #");
      if (hash != std::string::npos) value = std::string(trim(value.substr(0, hash)));
    }
    out.emplace_back(std::move(name), std::move(value));
    pos = next;
  }
  return out;
}

std::string render_env_file(const EnvList& variables) {
  std::string out;
  for (auto& [name, value] : variables) {
    bool plain = !value.empty();
    for (char c : value)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("@%_-+=:,./").find(c) != std::string_view::npos))
        plain = false;
    out += name;
    out += '=';
    if (plain) {
      out += value;
    } else {
      out += '"';
      for (char c : value) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '$': out += "\\$"; break;
          case '`': out += "\\`"; break;
          default: out += c;
        }
      }
      out += '"';
    }
    out += '\n';
  }
  return out;
}

}  // namespace cicd

#include "util/shorthand.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace shorthand {

namespace {

using Keys = std::span<const std::string_view>;

bool opens_quote(char c) { return c == '"' || c == '\''; }

// Inside quotes a backslash escapes only the quote and itself (as the AWS CLI's parser).
bool escapes_in_quote(std::string_view text, size_t i, char quote) {
  return text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == quote || text[i + 1] == '\\');
}

// Outside quotes a backslash escapes only a comma.
bool escapes_comma(std::string_view text, size_t i) {
  return text[i] == '\\' && i + 1 < text.size() && text[i + 1] == ',';
}

}  // namespace

std::unexpected<Error> error(std::string_view flag, std::string_view whole, std::string_view why) {
  return fail(ErrorKind::usage, "{} '{}': {}", flag, whole, why);
}

// A quote is one only at the start of a word (so "Value=don't" keeps its apostrophe).
std::optional<std::string> split_top(std::string_view text, std::vector<std::string>& out) {
  std::string current;
  char quote = 0;
  int depth = 0;
  bool word_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      current += c;
      if (escapes_in_quote(text, i, quote))
        current += text[++i];
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (escapes_comma(text, i)) {
      current += c;
      current += text[++i];
      word_start = false;
      continue;
    }
    if (opens_quote(c) && word_start) {
      quote = c;
      current += c;
      continue;
    }
    if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth < 0) return fmt::format("unbalanced '{}'", c);
    } else if (c == ',' && depth == 0) {
      out.push_back(std::move(current));
      current.clear();
      word_start = true;
      continue;
    }
    current += c;
    word_start = c == '=' || c == ',' || c == '[' || c == '{' || c == ' ';
  }
  if (quote) return "unterminated quote";
  if (depth > 0) return "unbalanced brackets: a '[' or '{' is not closed";
  out.push_back(std::move(current));
  return std::nullopt;
}

std::string unquote(std::string_view raw) {
  raw = trim(raw);
  std::string out;
  if (raw.size() >= 2 && opens_quote(raw.front()) && raw.back() == raw.front()) {
    char quote = raw.front();
    std::string_view inner = raw.substr(1, raw.size() - 2);
    for (size_t i = 0; i < inner.size(); ++i) {
      if (escapes_in_quote(inner, i, quote)) ++i;
      out += inner[i];
    }
    return out;
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    if (escapes_comma(raw, i)) ++i;
    out += raw[i];
  }
  return out;
}

size_t find_equals(std::string_view raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') {
      ++i;
    } else if (c == '=') {
      return i;
    } else if (opens_quote(c) || c == '[' || c == '{') {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

std::optional<std::string_view> inside(std::string_view text, char open, char close) {
  text = trim(text);
  if (text.size() < 2 || text.front() != open || text.back() != close) return std::nullopt;
  return text.substr(1, text.size() - 2);
}

namespace {

// A key as messages name it: "key" at the top, "parent.key" or "list[0].key" below.
std::string key_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

using OnValue = std::function<Status(const std::string& key, std::string_view value)>;
using OnMore = std::function<Status(const std::string& key, std::string_view piece)>;

// The one walk over "a=1,b=x,y" that every structure goes through: checks each key (known when
// `known` is not empty, given once) and hands its value to `on_value`; a piece without '='
// continues the key before it, which must take a list (`on_more`). `path` places the structure
// in the argument, for messages.
Status walk_fields(std::string_view text, std::string_view flag, std::string_view whole, Keys known,
                   std::string_view path,
                   const std::function<bool(std::string_view key)>& takes_list,
                   const OnValue& on_value, const OnMore& on_more) {
  std::vector<std::string> pieces;
  if (auto why = split_top(text, pieces)) return error(flag, whole, *why);
  std::vector<std::string> seen;
  for (auto& piece : pieces) {
    if (trim(piece).empty()) return error(flag, whole, "empty field: remove the stray ','");
    size_t eq = find_equals(piece);
    if (eq == std::string_view::npos) {
      if (seen.empty())
        return error(flag, whole, fmt::format("'{}' is not of the form name=value", trim(piece)));
      if (!takes_list(seen.back()))
        return error(
            flag, whole,
            fmt::format("'{}' takes one value; got another, '{}' (quote a value that holds a ',')",
                        key_path(path, seen.back()), trim(piece)));
      if (auto st = on_more(seen.back(), piece); !st) return st;
      continue;
    }
    std::string key{trim(std::string_view(piece).substr(0, eq))};
    std::string_view value = trim(std::string_view(piece).substr(eq + 1));
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end())
      return error(
          flag, whole,
          fmt::format("unknown field '{}'{}", key_path(path, key), did_you_mean(key, known)));
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      return error(flag, whole, fmt::format("field '{}' is given twice", key_path(path, key)));
    seen.push_back(key);
    if (auto st = on_value(key, value); !st) return st;
  }
  return {};
}

// The items of "[a,b]" as written; "[]" has none.
Result<std::vector<std::string>> list_items(std::string_view list, std::string_view flag,
                                            std::string_view whole) {
  std::vector<std::string> items;
  auto inner = inside(list, '[', ']');
  if (!inner || trim(*inner).empty()) return items;
  if (auto why = split_top(*inner, items)) return error(flag, whole, *why);
  return items;
}

bool contains(Keys keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

Result<std::vector<Field>> parse_fields(std::string_view text, std::string_view flag,
                                        std::string_view whole, Keys known, Keys list_keys) {
  if (trim(text).empty())
    return error(flag, whole, fmt::format("empty; expected {}", one_of(known)));
  std::vector<Field> out;
  auto takes_list = [&](std::string_view key) { return contains(list_keys, key); };
  auto on_value = [&](const std::string& key, std::string_view value) -> Status {
    Field field{key, {}};
    if (inside(value, '[', ']')) {
      if (!takes_list(key))
        return error(flag, whole, fmt::format("'{}' takes one value, not a list", key));
      auto items = list_items(value, flag, whole);
      if (!items) return std::unexpected(items.error());
      for (auto& item : *items) field.values.push_back(unquote(item));
    } else {
      field.values.push_back(unquote(value));
    }
    out.push_back(std::move(field));
    return {};
  };
  auto on_more = [&](const std::string&, std::string_view piece) -> Status {
    out.back().values.push_back(unquote(piece));
    return {};
  };
  if (auto st = walk_fields(text, flag, whole, known, "", takes_list, on_value, on_more); !st)
    return std::unexpected(st.error());
  return out;
}

const Field* find_field(const std::vector<Field>& fields, std::string_view key) {
  for (auto& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

namespace {

// ---- structures, in either form ----

using Type = ShorthandKey::Type;

enum class Shape { value, list, structure };

std::string_view shape_name(Shape s) {
  switch (s) {
    case Shape::value:
      return "a plain value";
    case Shape::list:
      return "a list";
    case Shape::structure:
      return "a structure";
  }
  return "a plain value";
}

std::vector<std::string_view> names_of(const ShorthandSchema& keys) {
  std::vector<std::string_view> out;
  for (auto& k : keys) out.push_back(k.name);
  return out;
}

const ShorthandKey* find_key(const ShorthandSchema& keys, std::string_view name) {
  for (auto& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

// Turns one argument into Json, checking it against the schema. The shorthand and the JSON form
// share the checks of each value's shape (`value`); they differ in how a node is read: a piece of
// shorthand text (std::string_view) or a Json node.
class Converter {
 public:
  Converter(std::string_view flag, std::string_view whole) : m_flag(flag), m_whole(whole) {}

  // The body of a shorthand structure ("a=1,b=2", without braces).
  Result<Json> structure_body(std::string_view body, const ShorthandSchema& keys,
                              const std::string& path) {
    Json out = Json::object();
    if (trim(body).empty()) return out;
    auto names = names_of(keys);
    auto takes_list = [&](std::string_view key) {
      const ShorthandKey* k = find_key(keys, key);
      return !k || k->type == Type::list || k->type == Type::structures;
    };
    auto on_value = [&](const std::string& key, std::string_view value) -> Status {
      auto v = this->value(value, find_key(keys, key), key_path(path, key));
      if (!v) return std::unexpected(v.error());
      out[key] = std::move(*v);
      return {};
    };
    // "b=x,y": the piece after the first continues b's list.
    auto on_more = [&](const std::string& key, std::string_view piece) -> Status {
      const ShorthandKey* k = find_key(keys, key);
      Json& list = out[key];
      if (!list.is_array()) list = Json::array({std::move(list)});
      std::string item_path = fmt::format("{}[{}]", key_path(path, key), list.size());
      auto item = k ? this->item(piece, *k, item_path) : this->value(piece, nullptr, item_path);
      if (!item) return std::unexpected(item.error());
      list.push_back(std::move(*item));
      return {};
    };
    if (auto st = walk_fields(body, m_flag, m_whole, names, path, takes_list, on_value, on_more);
        !st)
      return std::unexpected(st.error());
    return out;
  }

  Result<Json> json_structure(const Json& node, const ShorthandSchema& keys,
                              const std::string& path) {
    Json out = Json::object();
    auto names = names_of(keys);
    for (auto& [key, v] : node.items()) {
      const ShorthandKey* k = find_key(keys, key);
      if (!k && !keys.empty())
        return fail_with(
            fmt::format("unknown field '{}'{}", key_path(path, key), did_you_mean(key, names)));
      auto converted = value(v, k, key_path(path, key));
      if (!converted) return converted;
      out[key] = std::move(*converted);
    }
    return out;
  }

  // A value of a key (`key` null: any shape), by the key's type.
  template <class Node>
  Result<Json> value(const Node& node, const ShorthandKey* key, const std::string& path) {
    Shape shape = shape_of(node);
    if (!key) return any(node, path);
    switch (key->type) {
      case Type::text:
        if (shape != Shape::value)
          return fail_with(fmt::format("'{}' takes one value, not {}", path, shape_name(shape)));
        return scalar(node, path);
      case Type::structure:
        if (shape != Shape::structure)
          return fail_with(fmt::format("'{}' takes a structure ({{key=value,...}}), not {}", path,
                                       shape_name(shape)));
        return structure(node, key->members, path);
      case Type::list:
      case Type::structures:
        // A single item is a list of one, as the AWS CLI takes it ("b=x" for a list).
        if (shape != Shape::list) {
          if (key->type == Type::list && shape == Shape::structure)
            return fail_with(fmt::format("'{}' takes a list of values, not a structure", path));
          auto one = item(node, *key, path);
          if (!one) return one;
          return Json::array({std::move(*one)});
        }
        return list(node, path, [&](const auto& element, const std::string& element_path) {
          return item(element, *key, element_path);
        });
    }
    return any(node, path);
  }

  // One item of a list or structures key: a plain value, or a structure for `structures`.
  template <class Node>
  Result<Json> item(const Node& node, const ShorthandKey& key, const std::string& path) {
    Shape shape = shape_of(node);
    if (key.type == Type::structures) {
      if (shape != Shape::structure)
        return fail_with(fmt::format("'{}' must be a structure ({{key=value,...}}), not {}", path,
                                     shape_name(shape)));
      return structure(node, key.members, path);
    }
    if (shape != Shape::value)
      return fail_with(fmt::format("'{}' must be a plain value, not {}", path, shape_name(shape)));
    return scalar(node, path);
  }

 private:
  // ---- reading shorthand text ----
  static Shape shape_of(std::string_view raw) {
    if (inside(raw, '{', '}')) return Shape::structure;
    if (inside(raw, '[', ']')) return Shape::list;
    return Shape::value;
  }
  Result<Json> scalar(std::string_view raw, const std::string&) { return Json(unquote(raw)); }
  Result<Json> structure(std::string_view raw, const ShorthandSchema& keys,
                         const std::string& path) {
    Nested nested(m_depth);
    if (m_depth > k_max_depth) return too_deep(path);
    return structure_body(*inside(raw, '{', '}'), keys, path);
  }
  template <class Each>
  Result<Json> list(std::string_view raw, const std::string& path, const Each& each) {
    Nested nested(m_depth);
    if (m_depth > k_max_depth) return too_deep(path);
    auto items = list_items(raw, m_flag, m_whole);
    if (!items) return std::unexpected(items.error());
    Json out = Json::array();
    for (size_t i = 0; i < items->size(); ++i) {
      auto v = each(std::string_view((*items)[i]), fmt::format("{}[{}]", path, i));
      if (!v) return v;
      out.push_back(std::move(*v));
    }
    return out;
  }

  // ---- reading JSON ----
  static Shape shape_of(const Json& node) {
    if (node.is_object()) return Shape::structure;
    if (node.is_array()) return Shape::list;
    return Shape::value;
  }
  // Scalars become text, as shorthand writes them.
  Result<Json> scalar(const Json& node, const std::string& path) {
    if (node.is_null()) return fail_with(fmt::format("'{}' has no value (null)", path));
    if (node.is_string()) return node;
    return Json(node.dump());
  }
  Result<Json> structure(const Json& node, const ShorthandSchema& keys, const std::string& path) {
    Nested nested(m_depth);
    if (m_depth > k_max_depth) return too_deep(path);
    return json_structure(node, keys, path);
  }
  template <class Each>
  Result<Json> list(const Json& node, const std::string& path, const Each& each) {
    Nested nested(m_depth);
    if (m_depth > k_max_depth) return too_deep(path);
    Json out = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      auto v = each(node[i], fmt::format("{}[{}]", path, i));
      if (!v) return v;
      out.push_back(std::move(*v));
    }
    return out;
  }

  // A value of a key the schema does not describe: its shape as written.
  template <class Node>
  Result<Json> any(const Node& node, const std::string& path) {
    switch (shape_of(node)) {
      case Shape::structure:
        return structure(node, {}, path);
      case Shape::list:
        return list(node, path, [&](const auto& element, const std::string& element_path) {
          return any(element, element_path);
        });
      case Shape::value:
        break;
    }
    return scalar(node, path);
  }

  std::unexpected<Error> fail_with(std::string_view why) const {
    return error(m_flag, m_whole, why);
  }

  // Arguments are typed by people: a limit on nesting keeps a pathological one from exhausting the
  // stack (each level is a few frames here).
  static constexpr int k_max_depth = 32;
  struct Nested {
    explicit Nested(int& depth) : m_level(depth) { ++m_level; }
    ~Nested() { --m_level; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;
    int& m_level;
  };
  std::unexpected<Error> too_deep(const std::string& path) const {
    return fail_with(
        fmt::format("'{}' is nested too deeply (more than {} levels)", path, k_max_depth));
  }

  std::string_view m_flag;
  std::string_view m_whole;
  int m_depth = 0;
};

Result<Json> from_json(std::string_view text, std::string_view flag,
                       const ShorthandSchema& schema) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::exception& e) {
    return error(flag, text, fmt::format("invalid JSON: {}", e.what()));
  }
  Converter convert(flag, text);
  if (doc.is_object()) return convert.json_structure(doc, schema, "");
  if (!doc.is_array()) return error(flag, text, "expected a JSON object or a list of objects");
  Json out = Json::array();
  for (size_t i = 0; i < doc.size(); ++i) {
    if (!doc[i].is_object())
      return error(flag, text, "expected a JSON object or a list of objects");
    auto item = convert.json_structure(doc[i], schema, fmt::format("[{}]", i));
    if (!item) return item;
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

}  // namespace shorthand

Result<Json> parse_cli_structure(std::string_view text, std::string_view flag,
                                 const ShorthandSchema& schema) {
  std::string_view body = trim(text);
  if (body.starts_with('{') || body.starts_with('['))
    return shorthand::from_json(body, flag, schema);
  if (body.empty()) {
    auto names = shorthand::names_of(schema);
    return shorthand::error(flag, text,
                            names.empty() ? std::string("empty; expected key=value[,key=value...]")
                                          : fmt::format("empty; expected {}", one_of(names)));
  }
  return shorthand::Converter(flag, text).structure_body(body, schema, "");
}

Result<Json> parse_cli_structures(std::span<const std::string> texts, std::string_view flag,
                                  const ShorthandSchema& schema) {
  Json out = Json::array();
  for (auto& text : texts) {
    auto one = parse_cli_structure(text, flag, schema);
    if (!one) return one;
    if (one->is_array()) {
      for (auto& item : *one) out.push_back(std::move(item));
    } else {
      out.push_back(std::move(*one));
    }
  }
  return out;
}

Result<ArgumentText> argument_text(std::string_view value, std::string_view flag) {
  if (!value.starts_with("file://")) return ArgumentText{std::string(value), std::string(flag)};
  std::string path(value.substr(7));
  auto text = read_file(path);
  if (!text) return fail(ErrorKind::usage, "{}: cannot read '{}': {}", flag, path, text.error().message);
  return ArgumentText{std::move(*text), path};
}

}  // namespace cicd

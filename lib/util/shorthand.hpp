// The AWS CLI's shorthand syntax for structure arguments, and its JSON form.
//
//   --source type=S3,location=src.zip,buildspec=buildspec.yml
//   --environment 'type=LINUX_CONTAINER,environmentVariables=[{name=A,value=1},{name=B,value=2}]'
//   --environment '{"type":"LINUX_CONTAINER","environmentVariables":[{"name":"A","value":"1"}]}'
//
// The grammar, as the AWS CLI's own parser (awscli/shorthand.py) has it:
// - a structure is `key=value` pairs separated by commas; spaces around ',' and '=' are ignored;
// - a value is a scalar, a list `[a,b]`, or a structure `{k=v,k2=v2}`; lists and structures nest
//   (`f=[{k=v},{k=w}]` is a list of structures);
// - `b=x,y` is the list [x, y]: a piece without '=' continues the list of the key before it
//   (only for keys that take a list; elsewhere it is an error that suggests quoting);
// - quoting: a value may be in single or double quotes ('a,b' or "a,b"), inside which commas,
//   brackets and braces are plain text and a backslash escapes only the quote itself and a
//   backslash (\' \\ in single quotes, \" \\ in double quotes); outside quotes `\,` is a literal
//   comma and any other backslash is itself. A quote opens only at the start of a value, so
//   `Value=don't` keeps its apostrophe (the AWS CLI refuses it);
// - text that starts with '{' or '[' is JSON.
// Errors are Error{usage} "FLAG 'TEXT': why", naming the flag and the whole argument as given.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

// ---- the general entry point ----

// What one key of a structure takes. Scalars are always strings (as the shorthand writes them;
// JSON numbers and booleans are turned into their text), so a reader handles one shape.
struct ShorthandKey {
  enum class Type {
    text,        // one value: "a=1" -> "1"
    list,        // values: "b=x,y", "b=[x,y]", "b=x" -> ["x","y"], ["x","y"], ["x"]
    structure,   // "c={d=2,e=3}" -> {"d":"2","e":"3"}
    structures,  // "f=[{k=v},{k=w}]", "f={k=v}" -> [{"k":"v"},{"k":"w"}], [{"k":"v"}]
  };
  std::string name;
  Type type = Type::text;
  // The keys of the structure (of each structure, for `structures`); empty: any key, each
  // value's shape taken from how it is written.
  std::vector<ShorthandKey> members = {};
};

// The keys of a structure argument. Empty: any key, shapes from the syntax ("b=x,y" is a list).
using ShorthandSchema = std::vector<ShorthandKey>;

// One structure argument, shorthand or JSON, as a Json value in the schema's shape: an object,
// or (for JSON text that is a list) an array of objects, each checked against the schema.
// Unknown keys are refused with a did-you-mean; a value of the wrong shape names its key by its
// path ("environmentVariables[0].value").
//   parse_cli_structure("a=1,b=[x,y],c={d=2}", "--x", {}) -> {"a":"1","b":["x","y"],"c":{"d":"2"}}
Result<Json> parse_cli_structure(std::string_view text, std::string_view flag,
                                 const ShorthandSchema& schema);

// A flag that takes a list of structures, given as several arguments (the AWS CLI's
// `--secondary-sources type=S3,location=a type=S3,location=b`), each shorthand or JSON (a JSON
// list adds its items): the structures in order, as an array.
Result<Json> parse_cli_structures(std::span<const std::string> texts, std::string_view flag,
                                  const ShorthandSchema& schema);

// ---- the pieces, for parsers of one argument's own form ----

namespace shorthand {

// Error{usage} "FLAG 'WHOLE': why".
std::unexpected<Error> error(std::string_view flag, std::string_view whole, std::string_view why);

// Splits at commas outside quotes, brackets and braces, keeping each piece's text as written
// (quotes and escapes still in). Returns why the text cannot be split ("unterminated quote",
// "unbalanced ']'", "unbalanced brackets: a '[' or '{' is not closed"), or nullopt.
std::optional<std::string> split_top(std::string_view text, std::vector<std::string>& out);

// The value a piece stands for: trimmed, surrounding quotes removed, escapes resolved.
std::string unquote(std::string_view raw);

// The first '=' of a piece that is not quoted, escaped or inside brackets, or npos.
size_t find_equals(std::string_view raw);

// The text between one pair of enclosing brackets ("[...]" or "{...}"), trimmed first; nullopt
// when `text` is not enclosed so.
std::optional<std::string_view> inside(std::string_view text, char open, char close);

// One key of a flat structure and its values: one, or several for a key that takes a list.
struct Field {
  std::string key;
  std::vector<std::string> values;
};

// A flat structure "a=1,b=x,y" (or "b=[x,y]"): its fields in order. Only keys in `known` are
// accepted (did-you-mean otherwise), each once; only keys in `list_keys` take several values.
// `whole` is the argument the errors quote (`text` may be a part of it).
Result<std::vector<Field>> parse_fields(std::string_view text, std::string_view flag,
                                        std::string_view whole,
                                        std::span<const std::string_view> known,
                                        std::span<const std::string_view> list_keys);

const Field* find_field(const std::vector<Field>& fields, std::string_view key);

}  // namespace shorthand

// The AWS CLI's `file://PATH` convention for an argument's value: the file's content, else the
// value itself; `source` names it in messages (PATH, or the flag for an inline value).
// Error{usage} "FLAG: cannot read 'PATH': why".
struct ArgumentText {
  std::string text;
  std::string source;
};
Result<ArgumentText> argument_text(std::string_view value, std::string_view flag);

}  // namespace cicd

// JSON documents with field order kept as written (records read like the AWS API's).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace cicd {

using Json = nlohmann::ordered_json;

enum class JsonStyle { pretty, compact };

std::string to_json_text(const Json& value, JsonStyle style = JsonStyle::pretty);
// Error{invalid} "cannot parse <what>: parse error at line L, column C: ...".
Result<Json> parse_json(std::string_view text, std::string_view what);

// Typed reads of a record's fields that never throw, for parsers of stored records (which may be
// corrupt, truncated by hand, or written by another version). A field of the wrong type, or a
// required one that is missing, is kept as the reader's error, Error{invalid} naming the field by
// its path ("field 'phases[2].startTime' is a number, not a string"), and the read returns the
// fallback; the parser checks status() once at the end. An absent field or a null is the fallback.
// Readers of nested objects share their parent's error. `json` must outlive the reader.
class JsonReader {
 public:
  // `what` names the document in errors ("build record").
  JsonReader(const Json& json, std::string what);

  bool has(std::string_view key) const;
  // No fields to read (an empty object, or an absent one).
  bool empty() const;
  std::string string(std::string_view key, std::string fallback = {});
  std::optional<std::string> optional_string(std::string_view key);
  std::string required_string(std::string_view key);
  bool boolean(std::string_view key, bool fallback = false);
  // An integer that fits T (a number with a fraction is the wrong type; one too big is out of range).
  template <class T>
  T integer(std::string_view key, T fallback = 0) {
    const Json* v = field(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) {
      wrong_type(path_of(key), *v, "an integer");
      return fallback;
    }
    if (v->is_number_unsigned()) {
      auto n = v->get<uint64_t>();
      if (std::in_range<T>(n)) return static_cast<T>(n);
    } else {
      auto n = v->get<int64_t>();
      if (std::in_range<T>(n)) return static_cast<T>(n);
    }
    out_of_range(path_of(key), *v);
    return fallback;
  }
  // The object at `key` (absent: a reader of nothing, every read its fallback).
  JsonReader object(std::string_view key);
  // The elements of the array at `key`, each an object.
  std::vector<JsonReader> objects(std::string_view key);
  std::vector<std::string> strings(std::string_view key);

  // A field whose value the parser cannot use: "<what>: field '<path>' <why>".
  void reject(std::string_view key, std::string_view why);

  // The first problem met by this reader or any reader of its fields.
  Status status() const;

 private:
  struct Shared {
    std::string what;
    std::optional<Error> error;
  };
  JsonReader(const Json* json, std::string path, std::shared_ptr<Shared> shared);
  // The field's value, or null when it is absent, null, or this reader is not of an object.
  const Json* field(std::string_view key);
  // The same, when it is an array (else a wrong type, and null).
  const Json* array_field(std::string_view key);
  std::string path_of(std::string_view key) const;
  void wrong_type(std::string_view path, const Json& value, std::string_view expected);
  void out_of_range(std::string_view path, const Json& value);
  void problem(std::string message);

  const Json* m_json;  // null: nothing to read (an absent object)
  std::string m_path;  // of this object, "" for the document
  std::shared_ptr<Shared> m_shared;
};

}  // namespace cicd

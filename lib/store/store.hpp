// The store (DESIGN.md section 4): records (JSON) and blobs under keys, behind a small interface
// so that an S3-compatible bucket can stand in for the local directory later.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

struct StoredObject {
  std::string data;
  std::string etag;  // changes whenever the content changes
};

// A conditional put, as S3's If-None-Match / If-Match.
struct PutCondition {
  enum class Kind { none, if_absent, if_match } kind = Kind::none;
  std::string etag;
  static PutCondition none() { return {}; }
  static PutCondition if_absent() { return {Kind::if_absent, {}}; }
  static PutCondition if_match(std::string etag) { return {Kind::if_match, std::move(etag)}; }
};

// sync: on disk before put returns (survives power loss); atomic: replaced atomically (survives
// a crash of the process), for the many intermediate writes of a record in progress.
enum class Durability { sync, atomic };

class Store {
 public:
  virtual ~Store() = default;

  // nullopt when the key does not exist.
  virtual Result<std::optional<StoredObject>> get(std::string_view key) = 0;
  // Atomic: readers see the old or the new object. A failed condition is Error{conflict}.
  // Returns the new etag.
  virtual Result<std::string> put(std::string_view key, std::string_view data,
                                  PutCondition condition = {}, Durability durability = Durability::sync) = 0;
  // Keys under a prefix ("builds/web/"), recursively, sorted.
  virtual Result<std::vector<std::string>> list(std::string_view prefix) = 0;
  // Removing a missing key is not an error.
  virtual Status remove(std::string_view key) = 0;
  // Removes every key under a prefix.
  virtual Status remove_prefix(std::string_view prefix) = 0;
  // Blobs: copy a file in or out.
  virtual Status put_file(std::string_view key, const std::filesystem::path& source) = 0;
  virtual Status get_file(std::string_view key, const std::filesystem::path& destination) = 0;
  // Where a key lives on this machine's disk, for stores that have one (the local store);
  // engines write large outputs there directly instead of copying.
  virtual std::optional<std::filesystem::path> local_path(std::string_view key) const = 0;
  // A human-readable location ("/home/u/.local/share/cicd/store").
  virtual std::string describe() const = 0;
  // Where a key's object is, for messages: "<describe()>/<key>" (the local store: its file).
  std::string where(std::string_view key) const;

  // ---- JSON records on top of the primitives ----
  // nullopt when the key does not exist; text that is not JSON (a truncated or corrupt record)
  // is Error{invalid} naming the file: "cannot parse '<where>': parse error at line 3, ...".
  Result<std::optional<Json>> get_json(std::string_view key);
  Result<std::string> put_json(std::string_view key, const Json& value, PutCondition condition = {},
                               Durability durability = Durability::sync);
  // Read-modify-write with optimistic concurrency: `change` receives the current record (or
  // nullopt) and returns the new one; retried when another writer got there first.
  Result<Json> update_json(std::string_view key,
                           const std::function<Result<Json>(std::optional<Json>)>& change,
                           Durability durability = Durability::sync);
};

// A record read from the store and parsed with `parse` (one of the *_from_json functions):
// nullopt when the key does not exist. A record that is not JSON, or that `parse` refuses, is
// Error{invalid} naming its file: "'<where>': build record: field 'phases[0]' is a string, ...".
template <class T>
Result<std::optional<T>> get_record(Store& store, std::string_view key, Result<T> (*parse)(const Json&)) {
  auto json = store.get_json(key);
  if (!json) return std::unexpected(json.error());
  if (!*json) return std::optional<T>{};
  auto record = parse(**json);
  if (!record) {
    Error e = record.error();
    e.message = fmt::format("'{}': {}", store.where(key), e.message);
    return std::unexpected(std::move(e));
  }
  return std::optional<T>{std::move(*record)};
}

// Keys are '/'-separated relative paths of safe segments (no "..", no leading '.').
bool is_valid_store_key(std::string_view key);

class LocalStore final : public Store {
 public:
  explicit LocalStore(std::filesystem::path root);
  Result<std::optional<StoredObject>> get(std::string_view key) override;
  Result<std::string> put(std::string_view key, std::string_view data, PutCondition condition = {},
                          Durability durability = Durability::sync) override;
  Result<std::vector<std::string>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;
  Status remove_prefix(std::string_view prefix) override;
  Status put_file(std::string_view key, const std::filesystem::path& source) override;
  Status get_file(std::string_view key, const std::filesystem::path& destination) override;
  std::optional<std::filesystem::path> local_path(std::string_view key) const override;
  std::string describe() const override { return m_root.string(); }
  const std::filesystem::path& root() const { return m_root; }

 private:
  std::filesystem::path lock_path(std::string_view key) const;
  std::filesystem::path m_root;
};

// Where definitions and the store live (DESIGN.md section 4).
struct HomePaths {
  std::filesystem::path home;
  std::filesystem::path store;
};

// --home / CICD_HOME / ${XDG_DATA_HOME:-~/.local/share}/cicd; --store / CICD_STORE / <home>/store.
// Error{usage} when none of them says where the home is (HOME unset): never a guess.
Result<HomePaths> resolve_home(const std::string& home_option = {}, const std::string& store_option = {});

// The store behind a location: a directory path now; s3:// later.
Result<std::unique_ptr<Store>> open_store(const std::filesystem::path& location);

}  // namespace cicd

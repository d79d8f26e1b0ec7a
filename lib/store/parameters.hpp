// The local parameter store: what buildspec `parameter-store` and `secrets-manager` entries
// resolve from. One JSON file in the home, mode 0600, changed under a lock.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/time.hpp"

namespace cicd {

struct Parameter {
  std::string name;
  std::string value;
  std::string type = "SecureString";  // String | StringList | SecureString
  int version = 1;
  std::string last_modified;  // ISO-8601
};

enum class Overwrite { no, yes };

class ParameterStore {
 public:
  explicit ParameterStore(std::filesystem::path file);
  static std::filesystem::path default_file(const std::filesystem::path& home);

  // Without Overwrite::yes an existing parameter is Error{conflict}, as AWS's put-parameter.
  Result<Parameter> put(const std::string& name, const std::string& value, const std::string& type,
                        Overwrite overwrite);
  // Error{not_found} when absent.
  Result<Parameter> get(const std::string& name) const;
  Status remove(const std::string& name);
  // Names, types and versions, never values.
  Result<std::vector<Parameter>> list() const;

 private:
  std::filesystem::path m_file;
};

// Parameter names: AWS's rules ([a-zA-Z0-9_.-/], optionally a leading '/', at most 2048).
bool is_valid_parameter_name(std::string_view name);

// Resolves a secrets-manager reference `secret-id[:json-key[:version-stage[:version-id]]]`
// (secret-id may be an ARN) against the store: the parameter named secret-id, and when a
// json-key is given, that key of its JSON value.
Result<std::string> resolve_secret_reference(const ParameterStore& store, const std::string& reference);

}  // namespace cicd

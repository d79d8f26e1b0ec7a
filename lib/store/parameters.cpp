#include "store/parameters.hpp"

#include <cctype>

#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

Result<Json> load(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return Json::object();
    return std::unexpected(text.error());
  }
  auto json = parse_json(*text, fmt::format("parameter store '{}'", file.string()));
  if (!json) return std::unexpected(json.error());
  if (!json->is_object())
    return fail(ErrorKind::invalid, "parameter store '{}' is not a JSON object", file.string());
  return *json;
}

Parameter from_json(const std::string& name, const Json& j) {
  Parameter p;
  p.name = name;
  p.value = j.value("value", "");
  p.type = j.value("type", "SecureString");
  p.version = j.value("version", 1);
  p.last_modified = j.value("lastModifiedDate", "");
  return p;
}

}  // namespace

bool is_valid_parameter_name(std::string_view name) {
  if (name.empty() || name.size() > 2048) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_.-/").find(c) != std::string_view::npos))
      return false;
  return true;
}

ParameterStore::ParameterStore(std::filesystem::path file) : m_file(std::move(file)) {}

std::filesystem::path ParameterStore::default_file(const std::filesystem::path& home) {
  return home / "parameters.json";
}

Result<Parameter> ParameterStore::put(const std::string& name, const std::string& value, const std::string& type,
                                      Overwrite overwrite) {
  if (!is_valid_parameter_name(name))
    return fail(ErrorKind::usage, "invalid parameter name '{}': use letters, digits, '_', '.', '-' and '/'", name);
  if (type != "String" && type != "StringList" && type != "SecureString")
    return fail(ErrorKind::usage, "invalid parameter type '{}': String, StringList or SecureString", type);
  auto lock = FileLock::acquire(m_file.string() + ".lock");
  if (!lock) return std::unexpected(lock.error());
  auto all = load(m_file);
  if (!all) return std::unexpected(all.error());
  int version = 1;
  if (all->contains(name)) {
    if (overwrite == Overwrite::no)
      return fail(ErrorKind::conflict, "parameter '{}' already exists (use --overwrite to replace it)", name);
    version = (*all)[name].value("version", 1) + 1;
  }
  Json entry{{"value", value}, {"type", type}, {"version", version},
             {"lastModifiedDate", format_iso8601(std::chrono::system_clock::now())}};
  (*all)[name] = entry;
  if (auto st = write_file_atomic(m_file, to_json_text(*all), {.mode = 0600}); !st)
    return std::unexpected(st.error());
  return from_json(name, entry);
}

Result<Parameter> ParameterStore::get(const std::string& name) const {
  auto all = load(m_file);
  if (!all) return std::unexpected(all.error());
  auto it = all->find(name);
  if (it == all->end()) return fail(ErrorKind::not_found, "parameter '{}' not found in '{}'", name, m_file.string());
  return from_json(name, *it);
}

Status ParameterStore::remove(const std::string& name) {
  auto lock = FileLock::acquire(m_file.string() + ".lock");
  if (!lock) return std::unexpected(lock.error());
  auto all = load(m_file);
  if (!all) return std::unexpected(all.error());
  if (!all->contains(name)) return fail(ErrorKind::not_found, "parameter '{}' not found", name);
  all->erase(name);
  return write_file_atomic(m_file, to_json_text(*all), {.mode = 0600});
}

Result<std::vector<Parameter>> ParameterStore::list() const {
  auto all = load(m_file);
  if (!all) return std::unexpected(all.error());
  std::vector<Parameter> out;
  for (auto& [name, j] : all->items()) {
    auto p = from_json(name, j);
    p.value.clear();
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::string> resolve_secret_reference(const ParameterStore& store, const std::string& reference) {
  // An ARN secret-id holds colons of its own: arn:aws:secretsmanager:region:account:secret:name
  auto parts = split(reference, ':');
  std::string secret_id;
  size_t next = 0;
  if (reference.starts_with("arn:") && parts.size() >= 7) {
    secret_id = join(std::span(parts).subspan(0, 7), ":");
    next = 7;
  } else {
    secret_id = parts[0];
    next = 1;
  }
  std::string json_key = next < parts.size() ? parts[next] : "";
  // Look the secret up by its id; an ARN also by its trailing name.
  auto secret = store.get(secret_id);
  if (!secret && reference.starts_with("arn:") && parts.size() >= 7) secret = store.get(parts[6]);
  if (!secret) return std::unexpected(secret.error());
  if (json_key.empty()) return secret->value;
  auto json = parse_json(secret->value, fmt::format("the value of secret '{}'", secret_id));
  if (!json || !json->is_object())
    return fail(ErrorKind::invalid, "secret '{}' is not a JSON object, so it has no key '{}'", secret_id, json_key);
  auto it = json->find(json_key);
  if (it == json->end()) return fail(ErrorKind::not_found, "secret '{}' has no JSON key '{}'", secret_id, json_key);
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace cicd

#include "store/definitions.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "formats/yaml_util.hpp"

namespace cicd {

namespace {

constexpr size_t k_max_name = 100;
// A holder that is alive but stuck should not hang every other command forever; a dead one
// releases the lock by itself (flock).
constexpr auto k_lock_timeout = std::chrono::seconds(30);

bool file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

Status check_name(std::string_view name) {
  if (auto p = resource_name_problem("resource", name)) return fail(ErrorKind::invalid, *p);
  return {};
}

// A definition file: a comment saying what it is, then the fields.
Result<std::string> emit_definition(const std::string& comment, const Definitions::EmitBody& body) {
  try {
    YAML::Emitter out;
    out << YAML::Comment(comment) << YAML::Newline;
    out << YAML::BeginMap;
    body(out);
    out << YAML::EndMap;
    if (!out.good()) return fail(ErrorKind::internal, "cannot write YAML: {}", out.GetLastError());
    return std::string(out.c_str()) + "\n";
  } catch (const std::exception& e) {
    return fail(ErrorKind::internal, "cannot write YAML: {}", e.what());
  }
}

}  // namespace

bool is_valid_resource_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_name) return false;
  // "." and ".." would name directories, not files.
  if (std::all_of(name.begin(), name.end(), [](char c) { return c == '.'; })) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::optional<std::string> resource_name_problem(std::string_view what, std::string_view name) {
  if (is_valid_resource_name(name)) return std::nullopt;
  if (name.empty()) return fmt::format("{} name is empty", what);
  return fmt::format(
      "invalid {} name '{}': use 1 to 100 letters, digits, '.', '_' or '-' (not only dots)", what,
      name);
}

Definitions::Definitions(fs::path home, std::string area, std::string tool)
    : m_home(std::move(home)), m_area(std::move(area)), m_tool(std::move(tool)) {}

fs::path Definitions::dir(std::string_view kind) const { return m_home / m_area / kind; }

fs::path Definitions::path(std::string_view kind, std::string_view name) const {
  return dir(kind) / (std::string(name) + std::string(k_definition_extension));
}

Result<FileLock> Definitions::lock() const {
  return FileLock::acquire(m_home / m_area / ".lock", LockMode::exclusive, LockWait::block,
                           std::chrono::duration_cast<std::chrono::milliseconds>(k_lock_timeout));
}

bool Definitions::exists(std::string_view kind, std::string_view name) const {
  return is_valid_resource_name(name) && file_exists(path(kind, name));
}

Result<std::vector<std::string>> Definitions::list(std::string_view kind) const {
  std::vector<std::string> out;
  fs::path d = dir(kind);
  std::error_code ec;
  if (!fs::is_directory(d, ec)) return out;
  for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
    std::string file = it->path().filename().string();
    if (!file.ends_with(k_definition_extension)) continue;
    std::string name = file.substr(0, file.size() - k_definition_extension.size());
    // Temporary files of atomic writes and stray files are not definitions.
    if (!is_valid_resource_name(name)) continue;
    out.push_back(std::move(name));
  }
  if (ec) return fail(ErrorKind::io, "cannot list '{}': {}", d.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Status Definitions::remove(std::string_view kind, std::string_view name) const {
  if (auto st = check_name(name); !st) return st;
  fs::path p = path(kind, name);
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) return fail(ErrorKind::io, "cannot remove '{}': {}", p.string(), ec.message());
  return sync_directory(p.parent_path());
}

Status Definitions::write(std::string_view kind, std::string_view name, std::string_view what,
                          const EmitBody& body) const {
  if (auto st = check_name(name); !st) return st;
  auto text = emit_definition(
      fmt::format("{} {}. This file may be edited by hand: {} checks it on every read.", m_tool,
                  what, m_tool),
      body);
  if (!text) return std::unexpected(text.error());
  return write_file_atomic(path(kind, name), *text);
}

Status Definitions::create(std::string_view kind, std::string_view name,
                           const std::string& exists_message, const std::function<Status()>& write,
                           const std::function<Status()>& check) const {
  auto held = lock();
  if (!held) return std::unexpected(held.error());
  if (check) {
    if (auto st = check(); !st) return st;
  }
  if (exists(kind, name)) return fail(ErrorKind::conflict, exists_message);
  return write();
}

Status Definitions::read_checked(std::string_view kind, std::string_view name,
                                 std::string_view what, const std::string& missing_message,
                                 const ParseBody& parse) const {
  if (auto st = check_name(name); !st) return st;
  fs::path file = path(kind, name);
  auto text = read_file(file);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found)
      return fail(ErrorKind::not_found, missing_message);
    return std::unexpected(text.error());
  }
  Diagnostics diagnostics;
  bool parsed = false;
  try {
    if (auto root = yaml::load(*text, diagnostics)) {
      if (!root->IsMap()) {
        diagnostics.error(root->IsNull() ? Position{1, 1} : yaml::position_of(*root),
                          fmt::format("the {} definition must be a mapping of fields; got {}", what,
                                      root->IsNull() ? "an empty file" : yaml::describe(*root)));
      } else {
        parsed = parse(*root, diagnostics);
      }
    }
  } catch (const std::exception& e) {
    // yaml-cpp throws on some malformed input even after a successful load.
    diagnostics.error({1, 1}, fmt::format("invalid YAML: {}", e.what()));
  }
  if (parsed && !diagnostics.has_errors()) return {};
  diagnostics.sort();
  std::vector<std::string> details;
  for (auto& d : diagnostics.items()) details.push_back(format_diagnostic(file.string(), d));
  return std::unexpected(Error{ErrorKind::invalid,
                               fmt::format("invalid {} definition '{}'", what, file.string()),
                               std::move(details)});
}

}  // namespace cicd

#include "store/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

std::string etag_of(std::string_view data) { return sha256_hex(data).substr(0, 32); }

Status check_key(std::string_view key) {
  if (!is_valid_store_key(key)) return fail(ErrorKind::internal, "invalid store key '{}'", key);
  return {};
}

}  // namespace

bool is_valid_store_key(std::string_view key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  for (auto& segment : split(key, '/')) {
    if (segment.empty() || segment.front() == '.') return false;
    if (segment.find('\0') != std::string::npos) return false;
  }
  return true;
}

// ---- JSON helpers ----

Result<std::optional<Json>> Store::get_json(std::string_view key) {
  auto object = get(key);
  if (!object) return std::unexpected(object.error());
  if (!*object) return std::optional<Json>{};
  auto json = parse_json((*object)->data, fmt::format("'{}'", where(key)));
  if (!json) return std::unexpected(json.error());
  return std::optional<Json>{std::move(*json)};
}

std::string Store::where(std::string_view key) const { return describe() + "/" + std::string(key); }

Result<std::string> Store::put_json(std::string_view key, const Json& value, PutCondition condition,
                                    Durability durability) {
  return put(key, to_json_text(value), std::move(condition), durability);
}

Result<Json> Store::update_json(std::string_view key,
                                const std::function<Result<Json>(std::optional<Json>)>& change,
                                Durability durability) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto object = get(key);
    if (!object) return std::unexpected(object.error());
    std::optional<Json> current;
    PutCondition condition = PutCondition::if_absent();
    if (*object) {
      auto parsed = parse_json((*object)->data, fmt::format("'{}'", where(key)));
      if (!parsed) return std::unexpected(parsed.error());
      current = std::move(*parsed);
      condition = PutCondition::if_match((*object)->etag);
    }
    auto next = change(std::move(current));
    if (!next) return std::unexpected(next.error());
    auto put_result = put_json(key, *next, condition, durability);
    if (put_result) return *next;
    if (put_result.error().kind != ErrorKind::conflict) return std::unexpected(put_result.error());
  }
  return fail(ErrorKind::conflict, "record '{}' keeps changing underneath; gave up after 100 attempts", key);
}

// ---- LocalStore ----

LocalStore::LocalStore(std::filesystem::path root) : m_root(std::move(root)) {}

std::filesystem::path LocalStore::lock_path(std::string_view key) const {
  return m_root / ".locks" / (sha256_hex(key).substr(0, 24) + ".lock");
}

std::optional<std::filesystem::path> LocalStore::local_path(std::string_view key) const {
  if (!key.empty() && !is_valid_store_key(key)) return std::nullopt;
  return key.empty() ? m_root : m_root / std::string(key);
}

Result<std::optional<StoredObject>> LocalStore::get(std::string_view key) {
  if (auto st = check_key(key); !st) return std::unexpected(st.error());
  auto data = read_file(m_root / std::string(key));
  if (!data) {
    if (data.error().kind == ErrorKind::not_found) return std::optional<StoredObject>{};
    return std::unexpected(data.error());
  }
  std::string etag = etag_of(*data);
  return std::optional<StoredObject>{StoredObject{std::move(*data), std::move(etag)}};
}

Result<std::string> LocalStore::put(std::string_view key, std::string_view data, PutCondition condition,
                                    Durability durability) {
  if (auto st = check_key(key); !st) return std::unexpected(st.error());
  auto path = m_root / std::string(key);
  std::optional<FileLock> lock;
  if (condition.kind != PutCondition::Kind::none) {
    // The compare and the swap must not interleave with another writer's.
    auto acquired = FileLock::acquire(lock_path(key));
    if (!acquired) return std::unexpected(acquired.error());
    lock = std::move(*acquired);
    auto current = read_file(path);
    bool exists = current.has_value();
    if (!current && current.error().kind != ErrorKind::not_found) return std::unexpected(current.error());
    if (condition.kind == PutCondition::Kind::if_absent && exists)
      return fail(ErrorKind::conflict, "'{}' already exists in the store", key);
    if (condition.kind == PutCondition::Kind::if_match && (!exists || etag_of(*current) != condition.etag))
      return fail(ErrorKind::conflict, "'{}' changed in the store since it was read", key);
  }
  if (auto st = write_file_atomic(path, data, {.sync = durability == Durability::sync}); !st)
    return std::unexpected(st.error());
  return etag_of(data);
}

Result<std::vector<std::string>> LocalStore::list(std::string_view prefix) {
  std::vector<std::string> keys;
  std::string p(prefix);
  // List from the deepest directory the prefix names, then filter by the full prefix.
  std::string dir_part = p.substr(0, p.rfind('/') == std::string::npos ? 0 : p.rfind('/'));
  auto start = dir_part.empty() ? m_root : m_root / dir_part;
  std::error_code ec;
  if (!std::filesystem::is_directory(start, ec)) return keys;
  std::filesystem::recursive_directory_iterator it(start, ec), end;
  if (ec) return fail(ErrorKind::io, "cannot list '{}': {}", start.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(ErrorKind::io, "cannot list '{}': {}", start.string(), ec.message());
    auto name = it->path().filename().string();
    if (name.starts_with('.') || name.find(".tmp.") != std::string::npos) {
      std::error_code type_ec;
      if (it->is_directory(type_ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto rel = std::filesystem::relative(it->path(), m_root, ec).generic_string();
    if (rel.starts_with(p)) keys.push_back(rel);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status LocalStore::remove(std::string_view key) {
  if (auto st = check_key(key); !st) return st;
  auto path = m_root / std::string(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail_errno(fmt::format("cannot remove '{}'", path.string()), errno);
  return {};
}

Status LocalStore::remove_prefix(std::string_view prefix) {
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (auto st = check_key(p); !st) return st;
  std::error_code ec;
  std::filesystem::remove_all(m_root / p, ec);
  if (ec) return fail(ErrorKind::io, "cannot remove '{}': {}", (m_root / p).string(), ec.message());
  return {};
}

Status LocalStore::put_file(std::string_view key, const std::filesystem::path& source) {
  if (auto st = check_key(key); !st) return st;
  auto dest = m_root / std::string(key);
  // A file already in place (written at local_path()) is not copied onto itself.
  std::error_code ec;
  if (std::filesystem::equivalent(dest, source, ec) && !ec) return {};
  if (auto st = make_dirs(dest.parent_path()); !st) return st;
  // A temporary name of mkstemp's: two writers of one key never share one.
  std::string tmp = dest.string() + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return fail_errno(fmt::format("cannot create a temporary file beside '{}'", dest.string()), errno);
  ::close(fd);  // nothing written through it
  std::filesystem::copy_file(source, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return fail(ErrorKind::io, "cannot copy '{}' into the store: {}", source.string(), ec.message());
  }
  std::filesystem::rename(tmp, dest, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return fail(ErrorKind::io, "cannot store '{}': {}", dest.string(), ec.message());
  }
  return {};
}

Status LocalStore::get_file(std::string_view key, const std::filesystem::path& destination) {
  if (auto st = check_key(key); !st) return st;
  auto src = m_root / std::string(key);
  std::error_code ec;
  if (!std::filesystem::exists(src, ec)) return fail(ErrorKind::not_found, "'{}' is not in the store", key);
  if (auto st = make_dirs(destination.parent_path()); !st) return st;
  std::filesystem::copy_file(src, destination, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return fail(ErrorKind::io, "cannot copy '{}' out of the store: {}", key, ec.message());
  return {};
}

Result<HomePaths> resolve_home(const std::string& home_option, const std::string& store_option) {
  HomePaths paths;
  if (!home_option.empty()) {
    paths.home = home_option;
  } else if (const char* env = std::getenv("CICD_HOME"); env && *env) {
    paths.home = env;
  } else if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    paths.home = std::filesystem::path(xdg) / "cicd";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    paths.home = std::filesystem::path(home) / ".local/share/cicd";
  } else {
    // No guess: a shared place such as /tmp would hold the parameter store's secrets where
    // anyone can reach them (or plant a home of their own).
    return fail(ErrorKind::usage,
                "cannot tell where the home is: HOME is not set; give --home DIR or set CICD_HOME (the home "
                "holds definitions, the store and secret parameters, so it is never guessed)");
  }
  if (!store_option.empty()) {
    paths.store = store_option;
  } else if (const char* env = std::getenv("CICD_STORE"); env && *env) {
    paths.store = env;
  } else {
    paths.store = paths.home / "store";
  }
  std::error_code ec;
  paths.home = std::filesystem::absolute(paths.home, ec);
  if (!ec) paths.store = std::filesystem::absolute(paths.store, ec);
  if (ec) return fail(ErrorKind::io, "cannot resolve the home '{}': {}", paths.home.string(), ec.message());
  return paths;
}

Result<std::unique_ptr<Store>> open_store(const std::filesystem::path& location) {
  auto text = location.string();
  if (text.find("://") != std::string::npos)
    return fail(ErrorKind::usage, "store '{}': only local directories are supported in this version", text);
  // Created on first write: looking at an empty store changes nothing.
  return std::unique_ptr<Store>(std::make_unique<LocalStore>(location));
}

}  // namespace cicd

#include "formats/appspec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "formats/yaml_util.hpp"
#include "util/strings.hpp"

namespace cicd {

namespace {

constexpr std::array<std::pair<LifecycleEvent, std::string_view>, 11> k_events = {{
    {LifecycleEvent::application_stop, "ApplicationStop"},
    {LifecycleEvent::download_bundle, "DownloadBundle"},
    {LifecycleEvent::before_install, "BeforeInstall"},
    {LifecycleEvent::install, "Install"},
    {LifecycleEvent::after_install, "AfterInstall"},
    {LifecycleEvent::application_start, "ApplicationStart"},
    {LifecycleEvent::validate_service, "ValidateService"},
    {LifecycleEvent::before_block_traffic, "BeforeBlockTraffic"},
    {LifecycleEvent::after_block_traffic, "AfterBlockTraffic"},
    {LifecycleEvent::before_allow_traffic, "BeforeAllowTraffic"},
    {LifecycleEvent::after_allow_traffic, "AfterAllowTraffic"},
}};

constexpr std::array<std::pair<FileExistsBehavior, std::string_view>, 3> k_behaviors = {{
    {FileExistsBehavior::disallow, "DISALLOW"},
    {FileExistsBehavior::overwrite, "OVERWRITE"},
    {FileExistsBehavior::retain, "RETAIN"},
}};

}  // namespace

std::string_view lifecycle_event_name(LifecycleEvent event) {
  for (auto& [e, name] : k_events)
    if (e == event) return name;
  return "ApplicationStop";
}

// Case-sensitive, as the agent looks events up: `afterinstall:` would never run there.
std::optional<LifecycleEvent> parse_lifecycle_event(std::string_view name) {
  for (auto& [e, n] : k_events)
    if (n == name) return e;
  return std::nullopt;
}

bool is_scriptable(LifecycleEvent event) {
  return event != LifecycleEvent::download_bundle && event != LifecycleEvent::install;
}

std::string_view file_exists_behavior_name(FileExistsBehavior b) {
  for (auto& [behavior, name] : k_behaviors)
    if (behavior == b) return name;
  return "DISALLOW";
}

std::optional<FileExistsBehavior> parse_file_exists_behavior(std::string_view text) {
  for (auto& [behavior, name] : k_behaviors)
    if (iequals(text, name)) return behavior;
  return std::nullopt;
}

const AppspecHook* Appspec::hook(LifecycleEvent e) const {
  for (auto& h : hooks)
    if (h.event == e) return &h;
  return nullptr;
}

namespace {

using yaml::MapEntry;
using Keys = std::span<const std::string_view>;

constexpr std::string_view k_top_keys[] = {"version",     "os",   "files", "file_exists_behavior",
                                           "permissions", "hooks"};
constexpr std::string_view k_file_keys[] = {"source", "destination"};
constexpr std::string_view k_permission_keys[] = {"object", "pattern", "except",  "owner", "group",
                                                  "mode",   "acls",    "context", "type"};
// `name` is the agent's key for the SELinux user; `user` and `role` are what the AWS reference's
// template and other agents write, and `range` may be {low, high} as they accept it.
constexpr std::string_view k_context_keys[] = {"name", "user", "role", "type", "range"};
constexpr std::string_view k_range_keys[] = {"low", "high"};
// `sudo` is undocumented but the agent honours it, so real appspecs carry it.
constexpr std::string_view k_script_keys[] = {"location", "timeout", "runas", "sudo"};

// The events a script may name, for did-you-mean and the list shown.
constexpr std::string_view k_scriptable_events[] = {
    "ApplicationStop",   "BeforeInstall",      "AfterInstall",
    "ApplicationStart",  "ValidateService",    "BeforeBlockTraffic",
    "AfterBlockTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"};

// CodeDeploy's limit: every script, and all the scripts of one lifecycle event together.
constexpr long long k_max_timeout = 3600;
// SELinux MLS as shipped: sensitivities s0..s15, categories c0..c1023.
constexpr long long k_max_sensitivity = 15;
constexpr long long k_max_category = 1023;

constexpr std::string_view k_acl_form = "[d[efault]:]{u[ser]|g[roup]|m[ask]|o[ther]}:[name]:perms";
constexpr std::string_view k_range_form = "s<n>[-s<n>][:c<n>[.c<n>][,...]]";

// "ApplicationStop, BeforeInstall, ... and AfterAllowTraffic"
std::string event_list() {
  std::string out;
  size_t count = std::size(k_scriptable_events);
  for (size_t i = 0; i < count; ++i) {
    if (i) out += i + 1 == count ? " and " : ", ";
    out += k_scriptable_events[i];
  }
  return out;
}

bool is_octal_digit(char c) { return c >= '0' && c <= '7'; }

// Where a node is, or `fallback` when yaml-cpp has no mark for it (some empty nodes).
Position at(const YAML::Node& node, Position fallback) {
  Position pos = yaml::position_of(node);
  return pos.line > 0 ? pos : fallback;
}

// ---- SELinux ranges, with the agent's rules (RangeInfo) ----

// "s<digits>" with the number in 0..15, else nullopt.
std::optional<long long> sensitivity_number(std::string_view text) {
  if (text.size() < 2 || text.front() != 's') return std::nullopt;
  auto n = parse_uint(text.substr(1));
  if (!n || *n > k_max_sensitivity) return std::nullopt;
  return n;
}

std::optional<long long> category_number(std::string_view text) {
  if (text.size() < 2 || text.front() != 'c') return std::nullopt;
  auto n = parse_uint(text.substr(1));
  if (!n || *n > k_max_category) return std::nullopt;
  return n;
}

// Why a range like "s0-s3:c0.c5,c7" is not valid, or nullopt when it is.
std::optional<std::string> range_problem(std::string_view range) {
  size_t colon = range.find(':');
  std::string_view levels = range.substr(0, colon);
  if (levels.empty()) return fmt::format("the sensitivity is missing; expected {}", k_range_form);
  if (colon != std::string_view::npos && colon + 1 == range.size())
    return fmt::format("the categories after ':' are missing; expected {}", k_range_form);

  // 1. Sensitivities: low, or low-high with high not below low.
  size_t dash = levels.find('-');
  std::string_view low_text = levels.substr(0, dash);
  if (low_text.empty())
    return fmt::format("the low sensitivity before '-' is missing; expected {}", k_range_form);
  auto low = sensitivity_number(low_text);
  if (!low)
    return fmt::format("'{}' is not a sensitivity (s0 to s{})", low_text, k_max_sensitivity);
  if (dash != std::string_view::npos) {
    std::string_view high_text = levels.substr(dash + 1);
    if (high_text.empty())
      return fmt::format("the high sensitivity after '-' is missing; expected {}", k_range_form);
    auto high = sensitivity_number(high_text);
    if (!high)
      return fmt::format("'{}' is not a sensitivity (s0 to s{})", high_text, k_max_sensitivity);
    if (*high < *low)
      return fmt::format("the high sensitivity {} is below the low sensitivity {}", high_text,
                         low_text);
  }
  if (colon == std::string_view::npos) return std::nullopt;

  // 2. Categories: c<n> or c<n>.c<m> items separated by commas, each category at most once.
  std::vector<long long> categories;
  for (auto& item : split(range.substr(colon + 1), ',')) {
    if (item.empty())
      return fmt::format("a category between commas is missing; expected {}", k_range_form);
    size_t dot = item.find('.');
    std::string_view first = std::string_view(item).substr(0, dot);
    auto from = category_number(first);
    if (!from) return fmt::format("'{}' is not a category (c0 to c{})", first, k_max_category);
    if (dot == std::string_view::npos) {
      categories.push_back(*from);
      continue;
    }
    std::string_view last = std::string_view(item).substr(dot + 1);
    auto to = category_number(last);
    if (!to) return fmt::format("'{}' is not a category (c0 to c{})", last, k_max_category);
    if (*to < *from) return fmt::format("the category range {} goes from high to low", item);
    for (long long c = *from; c <= *to; ++c) categories.push_back(c);
    // Many overlapping ranges could otherwise grow this without bound.
    if (categories.size() > static_cast<size_t>(k_max_category + 1))
      return "categories are listed more than once";
  }
  std::sort(categories.begin(), categories.end());
  auto twice = std::adjacent_find(categories.begin(), categories.end());
  if (twice != categories.end()) return fmt::format("category c{} is listed twice", *twice);
  return std::nullopt;
}

// How an `overwrite:` key is reported: an unknown key like any other, or (where authors write it
// meaning file_exists_behavior) a warning that says so.
enum class OverwriteKey { unknown, points_at_behavior };

class AppspecParser {
 public:
  explicit AppspecParser(Diagnostics& diagnostics) : m_diags(diagnostics) {}

  Appspec& spec() { return m_spec; }
  AppspecKind kind() const { return m_kind; }

  void parse(const YAML::Node& root) {
    // 1. The document must be a mapping.
    if (!root.IsDefined() || root.IsNull()) {
      m_diags.error({1, 1}, "empty appspec: expected a mapping with 'version: 0.0' and 'os'");
      return;
    }
    Position root_pos = at(root, {1, 1});
    if (!root.IsMap()) {
      m_diags.error(root_pos,
                    fmt::format("an appspec must be a mapping with 'version: 0.0' and 'os'; got {}",
                                yaml::describe(root)));
      return;
    }

    // 2. Lambda and ECS appspecs share the version and little else: one clear error rather
    // than a list of unknown keys. Structural errors are held back until this is known.
    Diagnostics structure;
    auto top = yaml::entries(root, "appspec", k_top_keys, structure, yaml::UnknownKeys::allow);
    if (detect_serverless(top)) return;
    for (auto& d : structure.items()) add(d);
    check_keys(top, "appspec", k_top_keys, OverwriteKey::points_at_behavior);

    // 3. version and os first: os decides whether permissions and runas apply.
    const MapEntry* version = find(top, "version");
    if (!version)
      m_diags.error(root_pos, "missing required key 'version'; expected 'version: 0.0'");
    else
      parse_version(*version);
    const MapEntry* os = find(top, "os");
    if (!os)
      m_diags.error(root_pos, "missing required key 'os'; expected 'os: linux' or 'os: windows'");
    else
      parse_os(*os);

    // 4. The sections, in the order written.
    for (auto& e : top) {
      if (e.key == "files")
        parse_files(e);
      else if (e.key == "file_exists_behavior")
        parse_file_exists(e);
      else if (e.key == "permissions")
        parse_permissions(e);
      else if (e.key == "hooks")
        parse_hooks(e);
    }
  }

 private:
  void add(const Diagnostic& d) {
    if (d.severity == Severity::error)
      m_diags.error(d.position, d.message);
    else if (d.severity == Severity::warning)
      m_diags.warning(d.position, d.message);
    else
      m_diags.note(d.position, d.message);
  }

  static const MapEntry* find(const std::vector<MapEntry>& entries, std::string_view key) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](auto& e) { return e.key == key; });
    return it == entries.end() ? nullptr : &*it;
  }

  // yaml::entries words unknown keys this way too; it is done here because one unknown key,
  // `overwrite`, is common enough in real appspecs (and harmless to the agent) to deserve a
  // warning that says what the author meant instead of an error.
  void check_keys(const std::vector<MapEntry>& entries, std::string_view where, Keys known,
                  OverwriteKey overwrite = OverwriteKey::unknown) {
    for (auto& e : entries) {
      if (std::find(known.begin(), known.end(), e.key) != known.end()) continue;
      if (overwrite == OverwriteKey::points_at_behavior && e.key == "overwrite") {
        m_diags.warning(e.key_position,
                        fmt::format("unknown key 'overwrite' in {}; CodeDeploy ignores it: to "
                                    "replace files already on the instance, set "
                                    "'file_exists_behavior: OVERWRITE' at the top level",
                                    where));
        continue;
      }
      m_diags.error(e.key_position,
                    fmt::format("unknown key '{}' in {}{}", e.key, where, did_you_mean(e.key, known)));
    }
  }

  std::vector<MapEntry> fields(const YAML::Node& node, const std::string& where, Keys known,
                               OverwriteKey overwrite = OverwriteKey::unknown) {
    auto out = yaml::entries(node, where, known, m_diags, yaml::UnknownKeys::allow);
    check_keys(out, where, known, overwrite);
    return out;
  }

  std::optional<std::string> read_string(const MapEntry& e) { return yaml::scalar(e, m_diags); }

  // A required string that must not be blank; the agent strips these values.
  std::optional<std::string> read_nonblank(const MapEntry& e, std::string_view where) {
    auto value = read_string(e);
    if (!value) return std::nullopt;
    std::string trimmed(trim(*value));
    if (trimmed.empty()) {
      m_diags.error(yaml::value_position(e),
                    fmt::format("'{}' in {} must not be empty", e.key, where));
      return std::nullopt;
    }
    return trimmed;
  }

  // ---- Lambda and ECS ----

  // True (and the one error reported) when the document is a Lambda or ECS appspec.
  bool detect_serverless(const std::vector<MapEntry>& top) {
    const MapEntry* resources = nullptr;
    const MapEntry* hooks = nullptr;
    bool has_os = false;
    for (auto& e : top) {
      if (iequals(e.key, "resources")) resources = &e;
      if (iequals(e.key, "hooks")) hooks = &e;
      if (e.key == "os") has_os = true;
    }

    // Their hooks name functions: `- BeforeAllowTraffic: MyFunction` (a list of one-entry
    // mappings) or `BeforeAllowTraffic: MyFunction`.
    std::vector<std::string> function_hooks;
    bool hooks_in_list = false;
    if (hooks) {
      auto collect = [&](const YAML::Node& map) {
        for (const auto& kv : map)
          if (kv.first.IsScalar() && kv.second.IsScalar())
            function_hooks.push_back(kv.first.Scalar());
      };
      if (hooks->value.IsSequence()) {
        hooks_in_list = true;
        for (auto item : hooks->value)
          if (item.IsMap()) collect(item);
      } else if (hooks->value.IsMap()) {
        collect(hooks->value);
      }
    }
    bool traffic_functions = std::any_of(function_hooks.begin(), function_hooks.end(), [](auto& n) {
      return n == "BeforeAllowTraffic" || n == "AfterAllowTraffic" || n == "AfterAllowTestTraffic";
    });
    bool function_style = !function_hooks.empty() && (hooks_in_list || traffic_functions);
    if (!resources && (has_os || !function_style)) return false;

    // ECS: a TargetService resource of type AWS::ECS::Service, or ECS-only hooks.
    bool ecs = std::any_of(function_hooks.begin(), function_hooks.end(), [](auto& n) {
      return n == "AfterAllowTestTraffic" || n == "BeforeInstall" || n == "AfterInstall";
    });
    if (resources) {
      auto inspect = [&](const YAML::Node& map) {
        for (const auto& kv : map) {
          if (kv.first.IsScalar() && kv.first.Scalar() == "TargetService") ecs = true;
          if (!kv.second.IsMap()) continue;
          for (const auto& field : kv.second)
            if (field.first.IsScalar() && field.first.Scalar() == "Type" &&
                field.second.IsScalar() && iequals(field.second.Scalar(), "AWS::ECS::Service"))
              ecs = true;
        }
      };
      if (resources->value.IsSequence()) {
        for (auto item : resources->value)
          if (item.IsMap()) inspect(item);
      } else if (resources->value.IsMap()) {
        inspect(resources->value);
      }
    }
    m_kind = ecs ? AppspecKind::ecs : AppspecKind::lambda;
    m_diags.error((resources ? resources : hooks)->key_position,
                  fmt::format("not supported: this tool deploys EC2/On-Premises revisions (this is "
                              "{} appspec)",
                              ecs ? "an ECS" : "a Lambda"));
    return true;
  }

  // ---- top level ----

  void parse_version(const MapEntry& e) {
    // `version: 0.0` is a float to YAML and "0.0" a string; both read back as the text written.
    if (e.value.IsScalar() && e.value.Scalar() == "0.0") {
      m_spec.version = "0.0";
      return;
    }
    m_diags.error(yaml::value_position(e),
                  fmt::format("'version' must be 0.0; got {}", yaml::describe(e.value)));
  }

  void parse_os(const MapEntry& e) {
    if (e.value.IsScalar() && (e.value.Scalar() == "linux" || e.value.Scalar() == "windows")) {
      m_spec.os = e.value.Scalar();
      return;
    }
    m_diags.error(yaml::value_position(e),
                  fmt::format("'os' must be linux or windows; got {}", yaml::describe(e.value)));
  }

  void parse_file_exists(const MapEntry& e) {
    auto text = read_string(e);
    if (!text) return;
    if (auto behavior = parse_file_exists_behavior(*text)) {
      m_spec.file_exists_behavior = *behavior;
      return;
    }
    m_diags.error(yaml::value_position(e),
                  fmt::format("'file_exists_behavior' must be DISALLOW, OVERWRITE or RETAIN; got "
                              "'{}'",
                              *text));
  }

  // The items of a list section; reports anything else. An empty section is no entries, as the
  // agent reads it.
  bool is_list(const MapEntry& e, std::string_view expected) {
    if (e.value.IsNull() || e.value.IsSequence()) return true;
    std::string message =
        fmt::format("'{}' must be a list of {}; got {}", e.key, expected, yaml::describe(e.value));
    if (e.value.IsMap()) message += " (start each entry with '- ')";
    m_diags.error(yaml::value_position(e), std::move(message));
    return false;
  }

  // ---- files ----

  void parse_files(const MapEntry& e) {
    if (!is_list(e, "mappings with 'source' and 'destination'")) return;
    size_t index = 0;
    for (auto item : e.value) {
      std::string where = fmt::format("files[{}]", index++);
      Position pos = at(item, e.key_position);
      if (!item.IsMap()) {
        m_diags.error(pos, fmt::format("each entry in 'files' must be a mapping with 'source' and "
                                       "'destination'; got {}",
                                       yaml::describe(item)));
        continue;
      }
      FileMapping mapping;
      mapping.position = pos;
      bool has_source = false, has_destination = false;
      for (auto& f : fields(item, where, k_file_keys, OverwriteKey::points_at_behavior)) {
        if (f.key == "source") {
          has_source = true;
          if (auto s = read_nonblank(f, where)) {
            mapping.source = *s;
            check_dotdot("source", *s, yaml::value_position(f), where, "reads '{}' in the revision");
          }
        } else if (f.key == "destination") {
          has_destination = true;
          if (auto d = read_nonblank(f, where)) {
            mapping.destination = *d;
            check_destination(*d, yaml::value_position(f), where);
          }
        }
      }
      if (!has_source)
        m_diags.error(pos, fmt::format("missing required key 'source' in {}", where));
      if (!has_destination)
        m_diags.error(pos, fmt::format("missing required key 'destination' in {}", where));
      if (!mapping.source.empty() && !mapping.destination.empty())
        m_spec.files.push_back(std::move(mapping));
    }
  }

  // The agent joins a relative destination to its own working directory, which is seldom what
  // the author meant; the AWS reference asks for absolute paths.
  void check_destination(const std::string& destination, Position pos, const std::string& where) {
    check_dotdot("destination", destination, pos, where, "installs to '{}' (never above an instance's root)");
    if (m_spec.os != "linux" || destination.front() == '/') return;
    m_diags.warning(pos, fmt::format("'destination' in {} should be an absolute path; got '{}'",
                                     where, destination));
  }

  // A path with ".." is normalized before use, as the agent normalizes it, so it cannot climb
  // out of the revision or above an instance's root; say where it really points. `what_happens`
  // has one {} for the normalized path.
  void check_dotdot(std::string_view key, const std::string& path, Position pos, const std::string& where,
                    std::string_view what_happens) {
    if (m_spec.os != "linux" || !has_dotdot_component(path)) return;
    std::string normalized = normalize_absolute_path(path);
    if (key == "source") normalized = normalized == "/" ? "/" : normalized.substr(1);
    m_diags.warning(pos, fmt::format("'{}' in {} contains '..': cdeploy normalizes it and {}", key, where,
                                     fmt::format(fmt::runtime(what_happens), normalized)));
  }

  // ---- permissions ----

  void parse_permissions(const MapEntry& e) {
    if (!is_list(e, "mappings with 'object'")) return;
    if (m_spec.os == "windows" && e.value.IsSequence() && e.value.size() > 0) {
      // The agent refuses these for Windows Server instances.
      m_diags.error(e.key_position,
                    "'permissions' apply only to linux instances; this appspec is for windows");
    }
    size_t index = 0;
    for (auto item : e.value) {
      std::string where = fmt::format("permissions[{}]", index++);
      Position pos = at(item, e.key_position);
      if (!item.IsMap()) {
        m_diags.error(pos, fmt::format("each entry in 'permissions' must be a mapping with "
                                       "'object'; got {}",
                                       yaml::describe(item)));
        continue;
      }
      parse_permission(item, pos, where);
    }
  }

  void parse_permission(const YAML::Node& item, Position pos, const std::string& where) {
    Permission perm;
    perm.position = pos;
    bool has_object = false;
    bool valid = true;
    std::vector<std::pair<std::string, Position>> default_aces;
    for (auto& f : fields(item, where, k_permission_keys)) {
      if (f.key == "object") {
        has_object = true;
        if (auto object = read_nonblank(f, where)) {
          perm.object = *object;
          check_dotdot("object", *object, yaml::value_position(f), where, "applies to '{}'");
        } else
          valid = false;
      } else if (f.key == "pattern") {
        // An empty pattern means the default, as the agent reads it.
        if (f.value.IsNull()) continue;
        if (auto pattern = read_string(f)) perm.pattern = *pattern;
      } else if (f.key == "except") {
        for (auto& [glob, _] : yaml::string_list(f, m_diags, false)) perm.except.push_back(glob);
      } else if (f.key == "owner") {
        if (auto owner = read_string(f)) perm.owner = *owner;
      } else if (f.key == "group") {
        if (auto group = read_string(f)) perm.group = *group;
      } else if (f.key == "mode") {
        perm.mode = parse_mode(f, where);
      } else if (f.key == "acls") {
        for (auto& [text, text_pos] : yaml::string_list(f, m_diags, false)) {
          AclEntry ace;
          if (!parse_ace(text, text_pos, ace)) continue;
          if (ace.is_default) default_aces.emplace_back(text, text_pos);
          perm.acls.push_back(std::move(ace));
        }
      } else if (f.key == "context") {
        perm.context = parse_context(f, where + ".context");
      } else if (f.key == "type") {
        perm.types = parse_types(f, where);
      }
    }
    if (!has_object) m_diags.error(pos, fmt::format("missing required key 'object' in {}", where));

    // The agent fails a default ACL entry only at install time, and only on files
    // (validate_file_acl): a permission on both files and directories may legitimately carry
    // them for its directories, so nothing is said here. A permission on files alone can never
    // apply them: that is worth a warning, not an error, since the agent accepts the appspec.
    bool files_only = !perm.types.empty() &&
                      std::all_of(perm.types.begin(), perm.types.end(),
                                  [](PermissionType t) { return t == PermissionType::file; });
    if (files_only) {
      for (auto& [text, text_pos] : default_aces)
        m_diags.warning(text_pos,
                        fmt::format("default ACL entry '{}' applies only to directories, but {} "
                                    "applies to files only (type: file)",
                                    text, where));
    }
    if (valid && has_object) m_spec.permissions.push_back(std::move(perm));
  }

  std::vector<PermissionType> parse_types(const MapEntry& f, const std::string& where) {
    std::vector<PermissionType> types;
    auto list = yaml::string_list(f, m_diags, false);
    for (auto& [name, name_pos] : list) {
      if (name == "file")
        types.push_back(PermissionType::file);
      else if (name == "directory")
        types.push_back(PermissionType::directory);
      else
        m_diags.error(name_pos,
                      fmt::format("'type' in {} must be file or directory; got '{}'", where, name));
    }
    if (list.empty() && (f.value.IsNull() || f.value.IsSequence()))
      m_diags.warning(yaml::value_position(f),
                      fmt::format("'type' in {} is empty: the permission applies to nothing; "
                                  "leave it out for both files and directories",
                                  where));
    return types;
  }

  // 1 to 4 octal digits, padded on the left as the agent does ("44" is 0044).
  std::optional<unsigned> parse_mode(const MapEntry& f, const std::string& where) {
    Position pos = yaml::value_position(f);
    if (!f.value.IsScalar()) {
      m_diags.error(pos, fmt::format("'mode' in {} must be 1 to 4 octal digits; got {}", where,
                                     yaml::describe(f.value)));
      return std::nullopt;
    }
    const std::string& text = f.value.Scalar();
    auto bad = std::find_if_not(text.begin(), text.end(), is_octal_digit);
    if (text.empty() || text.size() > 4 || bad != text.end()) {
      std::string detail;
      if (bad != text.end())
        detail = fmt::format(" ('{}' is not an octal digit)", *bad);
      else if (text.size() > 4)
        detail = fmt::format(" ({} digits)", text.size());
      m_diags.error(pos, fmt::format("'mode' in {} must be 1 to 4 octal digits; got {}{}", where,
                                     yaml::describe(f.value), detail));
      return std::nullopt;
    }
    unsigned mode = 0;
    for (char c : text) mode = mode * 8 + static_cast<unsigned>(c - '0');

    // YAML 1.1 (the agent's Ruby parser) reads an unquoted leading zero as an octal number and
    // the agent then reads that number's decimal digits as the mode: 0644 becomes 420, mode
    // 0420. We take the digits as written; say what the agent would do.
    if (yaml::is_plain_scalar(f.value) && text.size() > 1 && text.front() == '0') {
      std::string decimal = std::to_string(mode);
      std::string agent;
      if (decimal.size() <= 4 && std::all_of(decimal.begin(), decimal.end(), is_octal_digit)) {
        unsigned agent_mode = 0;
        for (char c : decimal) agent_mode = agent_mode * 8 + static_cast<unsigned>(c - '0');
        agent = fmt::format("sets mode {:04o}", agent_mode);
      } else {
        agent = "rejects it";
      }
      m_diags.warning(pos, fmt::format("unquoted 'mode' {} starts with 0: cdeploy uses {:04o}, but "
                                       "YAML 1.1 reads it as the number {} and the CodeDeploy "
                                       "agent {}; quote it: mode: '{}'",
                                       text, mode, decimal, agent, text));
    }
    return mode;
  }

  // [d[efault]:]{u[ser]|g[roup]|m[ask]|o[ther]}:[name]:perms, read as the agent reads it
  // (AceInfo): from the right, with the entry type defaulting to user.
  bool parse_ace(const std::string& text, Position pos, AclEntry& out) {
    auto invalid = [&](std::string_view why) {
      m_diags.error(pos, fmt::format("invalid ACL entry '{}': {}", text, why));
      return false;
    };
    auto parts = split(text, ':');
    size_t n = parts.size();
    if (n < 2 || n > 4)
      return invalid(fmt::format("{} ({}); expected {}", n < 2 ? "too few parts" : "too many parts",
                                 n, k_acl_form));
    auto is = [](const std::string& s, std::string_view one, std::string_view word) {
      return s == one || s == word;
    };

    AclEntry ace;
    ace.text = text;
    // 1. The optional default marker and the entry type.
    if (n == 4) {
      if (!is(parts[0], "d", "default"))
        return invalid(fmt::format("'{}' must be d or default; expected {}", parts[0], k_acl_form));
      ace.is_default = true;
    }
    if (n >= 3) {
      const std::string& kind = parts[n - 3];
      if (is(kind, "d", "default")) {
        if (ace.is_default) return invalid("'default' is given twice");
        ace.is_default = true;
      } else if (is(kind, "u", "user")) {
        ace.type = "user";
      } else if (is(kind, "g", "group")) {
        ace.type = "group";
      } else if (is(kind, "m", "mask")) {
        ace.type = "mask";
      } else if (is(kind, "o", "other")) {
        ace.type = "other";
      } else {
        return invalid(
            fmt::format("'{}' is not an entry type; expected u[ser], g[roup], m[ask] "
                        "or o[ther]",
                        kind));
      }
    }

    // 2. The name, or the type itself when none was given before it ("m:rw", "bob:rw").
    const std::string& name = parts[n - 2];
    bool names_mask = is(name, "m", "mask"), names_other = is(name, "o", "other");
    if ((names_mask || names_other) && ace.type.empty())
      ace.type = names_mask ? "mask" : "other";
    else if (names_mask || names_other)
      ace.name = names_mask ? "mask" : "other";
    else {
      if (ace.type.empty()) ace.type = "user";
      ace.name = name;
    }
    if ((ace.type == "mask" || ace.type == "other") && !ace.name.empty())
      return invalid(fmt::format("{} entries take no name", ace.type == "mask" ? "mask" : "other"));
    if (!ace.is_default && ace.type != "mask" && ace.name.empty())
      return invalid(
          "the owner's, owning group's and others' entries are set with 'mode', not "
          "'acls'");

    // 3. Permissions: one octal digit, or r, w, x and - in any order.
    const std::string& perms = parts[n - 1];
    bool read = false, write = false, execute = false;
    if (perms.size() == 1 && is_octal_digit(perms[0])) {
      int bits = perms[0] - '0';
      read = bits & 4;
      write = bits & 2;
      execute = bits & 1;
    } else {
      for (char c : perms) {
        if (c == 'r')
          read = true;
        else if (c == 'w')
          write = true;
        else if (c == 'x')
          execute = true;
        else if (c != '-')
          return invalid(
              fmt::format("'{}' is not a permission; use r, w, x and - (or one octal "
                          "digit)",
                          c));
      }
    }
    ace.permissions = {read ? 'r' : '-', write ? 'w' : '-', execute ? 'x' : '-'};
    out = std::move(ace);
    return true;
  }

  std::optional<SeLinuxContext> parse_context(const MapEntry& e, const std::string& where) {
    if (!e.value.IsMap()) {
      m_diags.error(yaml::value_position(e),
                    fmt::format("'context' must be a mapping with 'type' (and 'name', 'range'); "
                                "got {}",
                                yaml::describe(e.value)));
      return std::nullopt;
    }
    SeLinuxContext context;
    bool has_type = false, valid = true;
    const MapEntry* user = nullptr;
    for (auto& f : fields(e.value, where, k_context_keys)) {
      if (f.key == "name" || f.key == "user") {
        if (user) {
          m_diags.error(f.key_position,
                        fmt::format("'{}' and '{}' both give the SELinux user in {}; keep one",
                                    user->key, f.key, where));
          valid = false;
          continue;
        }
        user = &f;
        if (auto name = read_nonblank(f, where))
          context.name = *name;
        else
          valid = false;
      } else if (f.key == "role") {
        if (auto role = read_nonblank(f, where))
          context.role = *role;
        else
          valid = false;
      } else if (f.key == "type") {
        has_type = true;
        if (auto type = read_nonblank(f, where))
          context.type = *type;
        else
          valid = false;
      } else if (f.key == "range") {
        if (auto range = parse_range(f, where))
          context.range = *range;
        else
          valid = false;
      }
    }
    if (!has_type)
      m_diags.error(e.key_position, fmt::format("missing required key 'type' in {}", where));
    if (!has_type || !valid) return std::nullopt;
    return context;
  }

  // A range as the agent takes it ("s0-s3:c0.c5"), or as {low, high} as others write it.
  std::optional<std::string> parse_range(const MapEntry& f, const std::string& where) {
    std::string range;
    Position pos = yaml::value_position(f);
    if (f.value.IsMap()) {
      std::string range_where = where + ".range";
      std::optional<std::string> low, high;
      for (auto& g : fields(f.value, range_where, k_range_keys)) {
        if (g.key == "low")
          low = read_nonblank(g, range_where);
        else if (g.key == "high")
          high = read_nonblank(g, range_where);
      }
      if (!low) {
        if (!find_key(f.value, "low"))
          m_diags.error(f.key_position,
                        fmt::format("missing required key 'low' in {}", range_where));
        return std::nullopt;
      }
      range = high ? *low + "-" + *high : *low;
    } else {
      auto text = read_string(f);
      if (!text) return std::nullopt;
      range = *text;
    }
    if (auto problem = range_problem(range)) {
      m_diags.error(pos, fmt::format("invalid SELinux range '{}': {}", range, *problem));
      return std::nullopt;
    }
    return range;
  }

  static bool find_key(const YAML::Node& map, std::string_view key) {
    for (const auto& kv : map)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
    return false;
  }

  // ---- hooks ----

  void parse_hooks(const MapEntry& e) {
    if (e.value.IsNull()) return;
    if (!e.value.IsMap()) {
      m_diags.error(yaml::value_position(e),
                    fmt::format("'hooks' must be a mapping of lifecycle events to lists of "
                                "scripts; got {}",
                                yaml::describe(e.value)));
      return;
    }
    std::map<LifecycleEvent, AppspecHook> found;
    for (auto& h : yaml::entries(e.value, "hooks", {}, m_diags, yaml::UnknownKeys::allow)) {
      // 1. The event: a near miss is a mistake; a name like no event at all is a custom event,
      // which only codedeploy-local runs: the agent accepts and ignores it, so we warn.
      auto event = parse_lifecycle_event(h.key);
      if (!event) {
        if (auto suggestion = closest_match(h.key, k_scriptable_events))
          m_diags.error(
              h.key_position,
              fmt::format("'{}' is not a lifecycle event; did you mean '{}'?", h.key, *suggestion));
        else
          m_diags.warning(h.key_position,
                          fmt::format("'{}' is not a lifecycle event, so its scripts never run; "
                                      "the events that run scripts are {}",
                                      h.key, event_list()));
      } else if (!is_scriptable(*event)) {
        m_diags.error(h.key_position,
                      fmt::format("{} is run by cdeploy itself; it takes no scripts", h.key));
      } else if (*event >= LifecycleEvent::before_block_traffic) {
        // Traffic events belong to deployments behind a load balancer, which cdeploy does not do.
        m_diags.warning(h.key_position,
                        fmt::format("{} runs only in deployments behind a load balancer; cdeploy's in-place "
                                    "deployments do not run its scripts",
                                    h.key));
      }

      // 2. Its scripts, checked whatever the event; an empty event is ignored, as the agent does.
      if (h.value.IsNull()) continue;
      AppspecHook hook;
      hook.position = h.key_position;
      parse_scripts(h, hook.scripts);
      if (event && is_scriptable(*event) && !hook.scripts.empty()) {
        hook.event = *event;
        found.emplace(*event, std::move(hook));
      }
    }
    // 3. In lifecycle order, whatever order they were written in.
    for (auto& [_, hook] : found) m_spec.hooks.push_back(std::move(hook));
  }

  void parse_scripts(const MapEntry& h, std::vector<HookScript>& out) {
    std::string where = fmt::format("hooks.{}", h.key);
    if (!h.value.IsSequence()) {
      std::string message = fmt::format("'{}' in hooks must be a list of scripts; got {}", h.key,
                                        yaml::describe(h.value));
      if (h.value.IsScalar())
        message += fmt::format(" (write '- location: {}')", h.value.Scalar());
      else
        message += " (start each script with '- location:')";
      m_diags.error(yaml::value_position(h), std::move(message));
      return;
    }
    long long explicit_total = 0;
    size_t index = 0;
    for (auto item : h.value) {
      std::string item_where = fmt::format("{}[{}]", where, index++);
      Position pos = at(item, h.key_position);
      if (!item.IsMap()) {
        std::string message =
            fmt::format("each script in {} must be a mapping with 'location'; got {}", where,
                        yaml::describe(item));
        if (item.IsScalar()) message += fmt::format(" (write '- location: {}')", item.Scalar());
        m_diags.error(pos, std::move(message));
        continue;
      }
      HookScript script;
      script.position = pos;
      bool has_location = false, valid = true;
      for (auto& f : fields(item, item_where, k_script_keys)) {
        if (f.key == "location") {
          has_location = true;
          if (auto location = read_nonblank(f, item_where))
            script.location = *location;
          else
            valid = false;
        } else if (f.key == "timeout") {
          auto seconds = parse_timeout(f, item_where);
          if (!seconds) {
            valid = valid && f.value.IsNull();
            continue;
          }
          script.timeout_seconds = static_cast<int>(*seconds);
          explicit_total += *seconds;
        } else if (f.key == "runas") {
          // An empty runas is no runas, as the agent reads it.
          if (f.value.IsNull()) continue;
          if (auto runas = read_nonblank(f, item_where)) {
            script.runas = *runas;
            if (m_spec.os == "windows")
              m_diags.warning(yaml::value_position(f),
                              "'runas' is not supported on windows instances; it is ignored there");
          } else {
            valid = false;
          }
        } else if (f.key == "sudo") {
          if (auto sudo = yaml::boolean(f, m_diags))
            script.sudo = *sudo;
          else
            valid = false;
        }
      }
      if (!has_location)
        m_diags.error(pos, fmt::format("missing required key 'location' in {}", item_where));
      if (has_location && valid) out.push_back(std::move(script));
    }
    // Scripts without a timeout are left out of the sum: they default to the whole hour, and
    // counting them would refuse the AWS samples that mix both.
    if (explicit_total > k_max_timeout)
      m_diags.error(h.key_position,
                    fmt::format("the timeouts of the scripts in '{}' add up to {} seconds; a "
                                "lifecycle event may take at most {}",
                                h.key, explicit_total, k_max_timeout));
  }

  // Seconds, 1 to 3600; nullopt when invalid (reported) or empty (warned, the default applies).
  std::optional<long long> parse_timeout(const MapEntry& f, const std::string& where) {
    Position pos = yaml::value_position(f);
    if (f.value.IsNull()) {
      m_diags.warning(pos, fmt::format("'timeout' in {} is empty; the default, {} seconds, applies",
                                       where, k_max_timeout));
      return std::nullopt;
    }
    Diagnostics quiet;
    auto seconds = yaml::integer(f, quiet);
    if (!seconds || *seconds < 1) {
      m_diags.error(pos, fmt::format("'timeout' in {} must be a whole number of seconds from 1 to "
                                     "{}; got {}",
                                     where, k_max_timeout, yaml::describe(f.value)));
      return std::nullopt;
    }
    if (*seconds > k_max_timeout) {
      m_diags.error(pos, fmt::format("'timeout' in {} must be at most {} seconds (CodeDeploy's "
                                     "limit for a lifecycle event); got {}",
                                     where, k_max_timeout, *seconds));
      return std::nullopt;
    }
    return seconds;
  }

  Diagnostics& m_diags;
  Appspec m_spec;
  AppspecKind m_kind = AppspecKind::server;
};

}  // namespace

AppspecParse parse_appspec(std::string_view text) {
  AppspecParse result;
  // Nothing may escape a parser: a surprise from yaml-cpp or the standard library is still a
  // diagnostic, never a crash of the tool that asked.
  try {
    auto root = yaml::load(text, result.diagnostics);
    if (root) {
      AppspecParser parser(result.diagnostics);
      parser.parse(*root);
      result.kind = parser.kind();
      if (!result.diagnostics.has_errors()) result.spec = std::move(parser.spec());
    }
  } catch (const std::exception& e) {
    result.diagnostics.error({1, 1}, fmt::format("cannot read the appspec: {}", e.what()));
  }
  result.diagnostics.sort();
  if (result.diagnostics.has_errors()) result.spec.reset();
  return result;
}

}  // namespace cicd

#include "util/glob.hpp"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "util/strings.hpp"

namespace cicd {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  for (auto& seg : split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    out.push_back(seg);
  }
  return out;
}

bool match_segments(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string_view>& path, size_t si) {
  while (pi < pat.size()) {
    if (pat[pi] == "**") {
      // Collapse runs of '**'.
      while (pi + 1 < pat.size() && pat[pi + 1] == "**") ++pi;
      if (pi + 1 == pat.size()) return true;  // trailing '**' takes the rest
      for (size_t k = si; k <= path.size(); ++k)
        if (match_segments(pat, pi + 1, path, k)) return true;
      return false;
    }
    if (si >= path.size()) return false;
    std::string name(path[si]);
    if (::fnmatch(pat[pi].c_str(), name.c_str(), 0) != 0) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

std::vector<std::string_view> view_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

bool glob_has_magic(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

GlobPattern::GlobPattern(std::string_view pattern) : m_text(pattern) {
  m_absolute = !pattern.empty() && pattern.front() == '/';
  m_segments = split_path(pattern);
}

bool GlobPattern::matches(std::string_view path) const {
  auto segs = view_segments(path);
  return match_segments(m_segments, 0, segs, 0);
}

std::string GlobPattern::literal_prefix() const {
  std::string out;
  for (size_t i = 0; i < m_segments.size(); ++i) {
    if (glob_has_magic(m_segments[i])) break;
    if (i + 1 == m_segments.size()) break;  // the last segment is what we match, not a directory
    if (!out.empty()) out += '/';
    out += m_segments[i];
  }
  return out;
}

namespace {

struct Walker {
  const std::filesystem::path& root;  // base for relative names
  SymlinkMode symlinks;
  std::vector<GlobEntry>& out;
  std::set<std::string>& seen;

  // Collects every file under `rel` (a directory relative to root) for which `accept` holds.
  template <class Accept>
  void walk(const std::string& rel, Accept&& accept, int depth = 0) {
    if (depth > 256) return;
    std::filesystem::path dir = rel.empty() ? root : root / rel;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    if (ec) return;
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      std::string name = it->path().filename().string();
      std::string child = rel.empty() ? name : rel + "/" + name;
      bool is_link = it->is_symlink(ec);
      bool is_dir = false;
      if (is_link) {
        if (symlinks == SymlinkMode::follow) is_dir = std::filesystem::is_directory(it->path(), ec);
      } else {
        is_dir = it->is_directory(ec);
      }
      if (is_dir) {
        walk(child, accept, depth + 1);
        continue;
      }
      if (is_link && symlinks == SymlinkMode::follow && !std::filesystem::exists(it->path(), ec))
        continue;  // a dangling link has nothing to follow
      if (!is_link && !it->is_regular_file(ec)) continue;
      if (accept(child) && seen.insert(child).second)
        out.push_back({child, it->path(), is_link && symlinks == SymlinkMode::keep});
    }
  }
};

}  // namespace

Result<std::vector<GlobEntry>> glob_files(const std::filesystem::path& base,
                                          const std::vector<std::string>& patterns,
                                          const std::vector<std::string>& excludes,
                                          GlobOptions options) {
  std::vector<GlobEntry> out;
  std::set<std::string> seen;
  std::vector<GlobPattern> exclude_patterns;
  for (auto& e : excludes) {
    exclude_patterns.emplace_back(e);
    // "dir/" or "dir" excludes what is under it too.
    std::string under = std::string(trim(e));
    while (!under.empty() && under.back() == '/') under.pop_back();
    if (!under.empty()) exclude_patterns.emplace_back(under + "/**");
  }
  auto excluded = [&](const std::string& rel) {
    return std::any_of(exclude_patterns.begin(), exclude_patterns.end(),
                       [&](const GlobPattern& p) { return p.matches(rel); });
  };

  for (const auto& raw : patterns) {
    std::string text(trim(raw));
    while (text.starts_with("./")) text.erase(0, 2);
    if (text.empty()) continue;
    GlobPattern pattern(text);
    std::filesystem::path root = pattern.is_absolute() ? std::filesystem::path("/") : base;
    Walker walker{root, options.symlinks, out, seen};
    std::string rel_text = pattern.is_absolute() ? text.substr(text.find_first_not_of('/')) : text;
    while (!rel_text.empty() && rel_text.back() == '/') rel_text.pop_back();

    // A literal path: a file is itself, a directory is all it holds.
    if (!glob_has_magic(rel_text)) {
      std::error_code ec;
      std::filesystem::path target = root / rel_text;
      auto st = std::filesystem::symlink_status(target, ec);
      if (ec) continue;
      bool is_link = std::filesystem::is_symlink(st);
      bool is_dir = std::filesystem::is_directory(st) ||
                    (is_link && options.symlinks == SymlinkMode::follow &&
                     std::filesystem::is_directory(target, ec));
      std::string rel = GlobPattern(rel_text).literal_prefix();
      rel = rel.empty() ? split_path(rel_text).back() : rel + "/" + split_path(rel_text).back();
      if (is_dir) {
        walker.walk(rel, [&](const std::string& child) { return !excluded(child); });
      } else if (!excluded(rel) && seen.insert(rel).second) {
        out.push_back({rel, target, is_link && options.symlinks == SymlinkMode::keep});
      }
      continue;
    }
    GlobPattern rel_pattern(rel_text);
    walker.walk(rel_pattern.literal_prefix(), [&](const std::string& child) {
      return rel_pattern.matches(child) && !excluded(child);
    });
  }
  std::sort(out.begin(), out.end(), [](const GlobEntry& a, const GlobEntry& b) { return a.relative < b.relative; });
  return out;
}

}  // namespace cicd

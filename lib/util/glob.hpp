// CodeBuild-style path patterns: '**' spans any number of directories (including none), '*', '?'
// and '[...]' match within one path segment, and a pattern naming a directory takes the whole
// directory. Patterns are relative to a base directory; an absolute pattern is taken from '/'.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace cicd {

class GlobPattern {
 public:
  explicit GlobPattern(std::string_view pattern);
  // `path` is relative, '/'-separated, without a leading "./".
  bool matches(std::string_view path) const;
  // Leading segments without wildcards: where a directory walk can start.
  std::string literal_prefix() const;
  bool is_absolute() const { return m_absolute; }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
  bool m_absolute = false;
  std::vector<std::string> m_segments;
};

bool glob_has_magic(std::string_view s);

enum class SymlinkMode { keep, follow };

struct GlobEntry {
  std::string relative;  // relative to the base ('/'-separated); absolute patterns: from '/'
  std::filesystem::path absolute;
  bool is_symlink = false;
};

struct GlobOptions {
  SymlinkMode symlinks = SymlinkMode::keep;  // keep: a symlink is an entry, never descended
};

// Every regular file (and symlink, when kept) under `base` matched by one of `patterns` and by
// none of `excludes`, sorted by relative path, without duplicates.
Result<std::vector<GlobEntry>> glob_files(const std::filesystem::path& base,
                                          const std::vector<std::string>& patterns,
                                          const std::vector<std::string>& excludes = {},
                                          GlobOptions options = {});

}  // namespace cicd

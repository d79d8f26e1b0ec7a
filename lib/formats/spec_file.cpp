// Reading and checking spec files for `validate`. Apart from the parsers: it reads files
// (util/fs, std::expected), which the fuzz targets, built with clang from the parsers' sources,
// leave out.
#include "formats/appspec.hpp"
#include "formats/buildspec.hpp"
#include "util/fs.hpp"

namespace cicd {

BuildspecFileCheck check_buildspec_file(const std::string& file) {
  BuildspecFileCheck check;
  check.file = file;
  auto text = read_file(file);
  if (!text) {
    check.unreadable = text.error().message;
    return check;
  }
  auto parsed = parse_buildspec(*text);
  check.diagnostics = format_diagnostics(file, parsed.diagnostics);
  if (parsed.spec) check.version = parsed.spec->version;
  return check;
}

AppspecFileCheck check_appspec_file(const std::string& file) {
  AppspecFileCheck check;
  check.file = file;
  auto text = read_file(file);
  if (!text) {
    check.unreadable = text.error().message;
    return check;
  }
  auto parsed = parse_appspec(*text);
  check.diagnostics = format_diagnostics(file, parsed.diagnostics);
  check.kind = parsed.kind;
  return check;
}

}  // namespace cicd

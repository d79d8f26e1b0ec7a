#include <algorithm>
#include <charconv>

#include "artifact/archive.hpp"

namespace cicd {

uint64_t Manifest::total_size() const {
  uint64_t total = 0;
  for (const auto& entry : entries) total += entry.size;
  return total;
}

Json manifest_to_json(const Manifest& manifest) {
  std::vector<const ManifestEntry*> sorted;
  sorted.reserve(manifest.entries.size());
  for (const auto& entry : manifest.entries) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->path < b->path; });
  Json out = Json::array();
  for (const auto* entry : sorted) {
    Json item = Json::object();
    item["path"] = entry->path;
    item["size"] = entry->size;
    item["sha256"] = entry->sha256;
    // Octal text, as chmod and ls users read modes; a JSON number would print 420.
    item["mode"] = fmt::format("{:04o}", entry->mode);
    if (entry->symlink) item["symlink"] = true;
    out.push_back(std::move(item));
  }
  return out;
}

namespace {

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<Manifest> manifest_from_json(const Json& json) {
  if (!json.is_array()) return fail(ErrorKind::invalid, "invalid manifest: expected an array of entries");
  Manifest manifest;
  manifest.entries.reserve(json.size());
  size_t index = 0;
  for (const auto& item : json) {
    auto bad = [&](std::string_view why) {
      return fail(ErrorKind::invalid, "invalid manifest: entry {}: {}", index, why);
    };
    if (!item.is_object()) return bad("expected an object");
    ManifestEntry entry;
    auto path = item.find("path");
    if (path == item.end() || !path->is_string() || path->get<std::string>().empty())
      return bad("'path' must be a non-empty string");
    entry.path = path->get<std::string>();
    auto size = item.find("size");
    if (size == item.end() || !size->is_number_unsigned()) return bad("'size' must be a non-negative integer");
    entry.size = size->get<uint64_t>();
    auto sha = item.find("sha256");
    if (sha == item.end() || !sha->is_string() || !is_sha256_hex(sha->get<std::string>()))
      return bad("'sha256' must be 64 lowercase hex digits");
    entry.sha256 = sha->get<std::string>();
    auto mode = item.find("mode");
    if (mode != item.end()) {
      if (!mode->is_string()) return bad("'mode' must be an octal string such as \"0644\"");
      auto text = mode->get<std::string>();
      unsigned value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 07777)
        return bad("'mode' must be an octal string such as \"0644\"");
      entry.mode = value;
    }
    auto symlink = item.find("symlink");
    if (symlink != item.end()) {
      if (!symlink->is_boolean()) return bad("'symlink' must be true or false");
      entry.symlink = symlink->get<bool>();
    }
    manifest.entries.push_back(std::move(entry));
    ++index;
  }
  return manifest;
}

}  // namespace cicd

// Walking YAML (yaml-cpp) with positions: shared by the buildspec, appspec and pipeline parsers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace cicd::yaml {

// 1-based position of a node (yaml-cpp marks are 0-based).
Position position_of(const YAML::Node& node);

// Parses the first document; a syntax error becomes a positioned diagnostic and nullopt.
std::optional<YAML::Node> load(std::string_view text, Diagnostics& diagnostics);

struct MapEntry {
  std::string key;
  Position key_position;
  YAML::Node value;
};

enum class UnknownKeys { warn, error, allow };

// The entries of a mapping, in order. Reports (as errors) a node that is not a mapping and
// duplicate keys; unknown keys as warnings or errors with a did-you-mean, `where` naming the
// mapping ("phases", "env").
std::vector<MapEntry> entries(const YAML::Node& node, std::string_view where,
                              std::span<const std::string_view> known, Diagnostics& diagnostics,
                              UnknownKeys unknown = UnknownKeys::warn);

// True for a plain (unquoted) scalar: '!' is the tag of quoted scalars in yaml-cpp.
bool is_plain_scalar(const YAML::Node& node);

// Scalar readers: report a type error at the node and return nullopt on mismatch.
std::optional<std::string> scalar(const YAML::Node& node, std::string_view what, Diagnostics& diagnostics);
// YAML 1.1 booleans as CodeBuild and the agent accept them: true/false/yes/no/on/off (any case).
std::optional<bool> boolean(const YAML::Node& node, std::string_view what, Diagnostics& diagnostics);
std::optional<long long> integer(const YAML::Node& node, std::string_view what, Diagnostics& diagnostics);
// A sequence of scalars, or (when allow_single) one scalar taken as a one-element list.
std::vector<std::pair<std::string, Position>> string_list(const YAML::Node& node, std::string_view what,
                                                          Diagnostics& diagnostics, bool allow_single = true);

// ---- additions used by the spec parsers ----

// Where to point at a mapping value: its own mark, or its key's when the value is empty
// (yaml-cpp marks an empty value at the start of the following line, which misleads).
Position value_position(const MapEntry& entry);

// "a list", "a mapping", "an empty value", or the scalar quoted (shortened): for "got ..." texts.
std::string describe(const YAML::Node& node);

// The readers above for a mapping value: `what` is the entry's key and an empty value is
// reported at the key.
std::optional<std::string> scalar(const MapEntry& entry, Diagnostics& diagnostics);
std::optional<bool> boolean(const MapEntry& entry, Diagnostics& diagnostics);
std::optional<long long> integer(const MapEntry& entry, Diagnostics& diagnostics);
std::vector<std::pair<std::string, Position>> string_list(const MapEntry& entry,
                                                          Diagnostics& diagnostics,
                                                          bool allow_single = true);

// The YAML 1.1 boolean spellings, without diagnostics.
std::optional<bool> parse_bool(std::string_view text);

}  // namespace cicd::yaml

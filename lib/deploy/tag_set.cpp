// --on-premises-tag-set as the AWS CLI takes it: JSON, from the argument or a file://.
#include "deploy/resources.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace cicd {

Result<TagSet> parse_on_premises_tag_set(std::string_view text) {
  std::string json_text(text);
  if (json_text.starts_with("file://")) {
    auto content = read_file(json_text.substr(7));
    if (!content) return std::unexpected(content.error());
    json_text = *content;
  }
  auto json = parse_json(json_text, "--on-premises-tag-set");
  if (!json) return std::unexpected(json.error());
  const Json* list = json->is_object() && json->contains("onPremisesTagSetList") ? &(*json)["onPremisesTagSetList"]
                                                                                 : &*json;
  if (!list->is_array())
    return fail(ErrorKind::usage, "--on-premises-tag-set: expected {{\"onPremisesTagSetList\": [[{{\"Key\": ..., "
                                  "\"Value\": ..., \"Type\": ...}}]]}}");
  TagSet set;
  for (auto& group : *list) {
    if (!group.is_array()) return fail(ErrorKind::usage, "--on-premises-tag-set: each tag set is a list of filters");
    std::vector<TagFilter> filters;
    for (auto& f : group) {
      if (!f.is_object()) return fail(ErrorKind::usage, "--on-premises-tag-set: each filter is an object with Key, Value, Type");
      std::string shorthand;
      for (auto& [k, v] : f.items()) {
        if (!v.is_string()) return fail(ErrorKind::usage, "--on-premises-tag-set: '{}' must be a string", k);
        if (!shorthand.empty()) shorthand += ",";
        shorthand += k + "=" + v.get<std::string>();
      }
      auto parsed = parse_tag_filter_shorthand(shorthand);
      if (!parsed) return std::unexpected(parsed.error());
      filters.push_back(*parsed);
    }
    set.push_back(std::move(filters));
  }
  if (set.size() > 3) return fail(ErrorKind::usage, "--on-premises-tag-set: at most 3 tag sets (got {})", set.size());
  return set;
}

}  // namespace cicd

// group_by: groups the items of `array` by the value at `key` (a dotted
// path such as "user.country"; a numeric segment indexes an array) and
// emits {context, groups: [{key, items}]} on `out`, groups in order of
// first appearance, items in their original order. Items without the key
// fall in the group whose key is null.
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

// The path's segments, or nullopt when a segment is empty.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view seg = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (seg.empty()) return std::nullopt;
    segments.emplace_back(seg);
    if (dot == std::string_view::npos) return segments;
    start = dot + 1;
  }
}

const tiny::Json* lookup(const tiny::Json& item, const std::vector<std::string>& path) {
  const tiny::Json* cur = &item;
  for (const auto& seg : path) {
    if (cur->is_object()) {
      auto it = cur->find(seg);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t i = 0;
      if (seg.size() > 9 || seg.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      i = std::stoul(seg);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
  }
  return cur;
}

class GroupBy final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    key_ = in.string("key");
    if (in.ok() && !key_.empty() && !split_path(key_)) in.fail("key", "\"" + key_ + "\" has an empty path segment");
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    // An owned parse, not msg.json(): the items move into the groups.
    tiny::Json body = tiny::Json::parse(msg.data(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return tiny::Reply::error("in expects an object {context, array, key}");
    auto array = body.find("array");
    if (array == body.end() || !array->is_array()) return tiny::Reply::error("array must be an array");
    std::string key = key_;
    if (auto k = body.find("key"); k != body.end() && !k->is_null()) {
      if (!k->is_string()) return tiny::Reply::error("key must be a string (a dotted field path)");
      key = k->get<std::string>();
    }
    if (key.empty()) return tiny::Reply::error("no key: set the key setting or send one with the message");
    auto path = split_path(key);
    if (!path) return tiny::Reply::error("key \"" + key + "\" has an empty path segment");

    tiny::Json groups = tiny::Json::array();
    std::unordered_map<std::string, size_t> slot;  // key as JSON text -> index in groups
    for (auto& item : *array) {
      const tiny::Json* found = lookup(item, *path);
      tiny::Json group_key = found ? *found : tiny::Json();
      auto [it, inserted] = slot.emplace(group_key.dump(), groups.size());
      if (inserted) groups.push_back({{"key", std::move(group_key)}, {"items", tiny::Json::array()}});
      groups[it->second]["items"].push_back(std::move(item));
    }
    return tiny::Reply::forward("out", {{"context", body.value("context", tiny::Json())}, {"groups", std::move(groups)}});
  }

 private:
  std::string key_;  // a setting: fixed before the first message
};

}  // namespace

tiny::ComponentSpec group_by_spec() {
  return tiny::ComponentSpec::of<GroupBy>("group_by")
      .describe("Groups array items by the value at a key path")
      .settings({{"key", ""}})
      .in("in", "{context, array, key (optional, overrides the setting)}")
      .out("out", "{context, groups: [{key, items}]}");
}

}  // namespace common_module

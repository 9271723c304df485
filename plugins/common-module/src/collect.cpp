// collect: reassembles items split by array_split. Items of one groupKey
// are kept until all `total` have arrived; then {context, items} (ordered
// by index) leaves on `response` and the answer to the last item is the
// downstream answer. Earlier items are answered empty at once. A group not
// complete `timeout` ms after its first item is dropped and reported on
// `error`.
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

constexpr int64_t kMaxTimeoutMs = 86'400'000;  // one day
constexpr int64_t kMaxGroupsLimit = 1'000'000;
constexpr int64_t kMaxTotal = int64_t{1} << 40;

struct Group {
  tiny::Json group_key;
  tiny::Json context;  // of the first item that arrived
  uint64_t total = 0;
  std::map<uint64_t, tiny::Json> items;  // by index
  uint64_t id = 0;                       // tells this group from a later one with the same key
  tiny::TimerId timer = 0;
};

class Collect final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    timeout_ms_ = static_cast<uint64_t>(in.integer("timeout", 0, kMaxTimeoutMs, "milliseconds"));
    max_groups_ = static_cast<size_t>(in.integer("maxGroups", 1, kMaxGroupsLimit));
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    const tiny::Json* body = msg.try_json();
    if (!body || !body->is_object())
      return tiny::Reply::error("item expects an object {context, groupKey, index, total, item}");
    auto key = body->find("groupKey");
    if (key == body->end() || key->is_null() || key->is_structured())
      return tiny::Reply::error("groupKey must be a string, number or boolean");
    tiny::Json given_total = body->value("total", tiny::Json());
    auto total = tiny::integer_in(given_total, 1, kMaxTotal);
    if (!total) return tiny::Reply::error("total " + tiny::integer_rule(1, kMaxTotal, given_total));
    tiny::Json given_index = body->value("index", tiny::Json());
    auto index = tiny::integer_in(given_index, 0, *total - 1);
    if (!index) return tiny::Reply::error("index " + tiny::integer_rule(0, *total - 1, given_index));

    std::string map_key = key->dump();
    tiny::Json response;
    tiny::TimerId finished_timer = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = groups_.find(map_key);
      if (it == groups_.end()) {
        if (groups_.size() >= max_groups_)
          return tiny::Reply::error("collect holds " + std::to_string(groups_.size()) +
                                    " open groups already (maxGroups)");
        Group g;
        g.group_key = *key;
        g.context = body->value("context", tiny::Json());
        g.total = static_cast<uint64_t>(*total);
        g.id = ++next_group_id_;
        if (g.total > 1 && timeout_ms_ > 0) {
          uint64_t id = g.id;
          g.timer = start_timer(timeout_ms_, [this, map_key, id] { expire(map_key, id); });
          if (g.timer == 0) return tiny::Reply::error("node is shutting down");
        }
        it = groups_.emplace(map_key, std::move(g)).first;
      }
      Group& g = it->second;
      if (g.total != static_cast<uint64_t>(*total))
        return tiny::Reply::error("total " + std::to_string(*total) + " differs from the group's total " +
                                  std::to_string(g.total));
      if (!g.items.emplace(static_cast<uint64_t>(*index), body->value("item", tiny::Json())).second)
        return tiny::Reply::error("index " + std::to_string(*index) + " of group " + g.group_key.dump() +
                                  " arrived twice");
      if (g.items.size() < g.total) return tiny::Reply::empty();
      tiny::Json items = tiny::Json::array();
      for (auto& [i, item] : g.items) items.push_back(std::move(item));
      response = {{"context", std::move(g.context)}, {"items", std::move(items)}};
      finished_timer = g.timer;
      groups_.erase(it);
    }
    cancel_timer(finished_timer);
    return tiny::Reply::forward("response", response);
  }

  void on_destroy() override {
    std::lock_guard<std::mutex> lock(mu_);
    groups_.clear();  // the host cancelled the timers; nothing holds a call
  }

 private:
  void expire(const std::string& map_key, uint64_t id) {
    tiny::Json report;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = groups_.find(map_key);
      if (it == groups_.end() || it->second.id != id) return;  // completed meanwhile
      Group& g = it->second;
      tiny::Json items = tiny::Json::array();
      tiny::Json indexes = tiny::Json::array();
      for (auto& [i, item] : g.items) {
        indexes.push_back(i);
        items.push_back(std::move(item));
      }
      report = {{"context", std::move(g.context)},
                {"groupKey", std::move(g.group_key)},
                {"error", "collect timed out after " + std::to_string(timeout_ms_) + " ms with " +
                              std::to_string(g.items.size()) + " of " + std::to_string(g.total) + " items"},
                {"total", g.total},
                {"received", g.items.size()},
                {"indexes", std::move(indexes)},
                {"items", std::move(items)}};
      groups_.erase(it);
    }
    emit("error", report);
  }

  // Settings: fixed before the first message.
  uint64_t timeout_ms_ = 10000;
  size_t max_groups_ = 1000;

  std::mutex mu_;  // guards everything below
  uint64_t next_group_id_ = 0;
  std::unordered_map<std::string, Group> groups_;  // by groupKey as JSON text
};

}  // namespace

tiny::ComponentSpec collect_spec() {
  return tiny::ComponentSpec::of<Collect>("collect")
      .describe("Reassembles split items into one response per groupKey")
      .settings({{"timeout", 10000}, {"maxGroups", 1000}})
      .in("item", "{context, groupKey, index, total, item}")
      .out("response", "{context, items} once all total items arrived, ordered by index")
      .out("error", "{context, groupKey, error, total, received, indexes, items} on timeout");
}

}  // namespace common_module

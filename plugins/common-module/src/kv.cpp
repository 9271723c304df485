// kv: an in-memory key-value store of at most maxRecords records, shared by
// the node's ports: store, get, delete, query. Each operation emits its
// result on `result` and answers with the downstream answer, or with the
// result itself when that answer is empty (e.g. `result` is not wired), so
// `tinyhost send` shows it. Records live as long as the node.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

constexpr int64_t kMaxRecordsLimit = 10'000'000;
constexpr int64_t kMaxQueryLimit = 10'000;

class Kv final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    max_records_ = static_cast<size_t>(in.integer("maxRecords", 1, kMaxRecordsLimit));
    return in.reply();
  }

  // The host delivers only the four declared ports.
  tiny::Reply on_message(tiny::Message& msg) override {
    std::string port(msg.port());
    const tiny::Json* body = msg.try_json();
    if (!body || !body->is_object()) return tiny::Reply::error(port + " expects an object with a context and a key");
    tiny::Json result;
    std::string error;
    if (port == "store")
      error = store(*body, result);
    else if (port == "get")
      error = get(*body, result);
    else if (port == "delete")
      error = erase(*body, result);
    else  // query
      error = query(*body, result);
    if (!error.empty()) return tiny::Reply::error(error);
    result["op"] = port;
    result["context"] = body->value("context", tiny::Json());

    auto call = std::make_shared<tiny::Call>(msg.defer());
    std::string text = result.dump();
    emit_raw("result", text, [call, text](tiny::Result r) {
      call->complete(r.empty() ? tiny::Reply::raw(text) : tiny::Reply(r));
    }, call->handle());
    return tiny::Reply::deferred();
  }

 private:
  // The key field as a non-empty string, or an error message.
  static std::string read_key(const tiny::Json& body, std::string& key) {
    auto k = body.find("key");
    if (k == body.end() || !k->is_string() || k->get_ref<const std::string&>().empty())
      return "key must be a non-empty string";
    key = k->get<std::string>();
    return {};
  }

  std::string store(const tiny::Json& body, tiny::Json& result) {
    std::string key;
    if (auto e = read_key(body, key); !e.empty()) return e;
    auto value = body.find("value");
    if (value == body.end()) return "store needs a value";
    std::lock_guard<std::mutex> lock(mu_);
    auto it = records_.find(key);
    bool created = it == records_.end();
    if (created && records_.size() >= max_records_)
      return "kv is full: " + std::to_string(records_.size()) + " records (maxRecords); delete some first";
    if (created)
      records_.emplace(key, *value);
    else
      it->second = *value;
    result = {{"key", key}, {"created", created}};
    return {};
  }

  std::string get(const tiny::Json& body, tiny::Json& result) {
    std::string key;
    if (auto e = read_key(body, key); !e.empty()) return e;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = records_.find(key);
    result = {{"key", key}, {"found", it != records_.end()}, {"value", it != records_.end() ? it->second : tiny::Json()}};
    return {};
  }

  std::string erase(const tiny::Json& body, tiny::Json& result) {
    std::string key;
    if (auto e = read_key(body, key); !e.empty()) return e;
    std::lock_guard<std::mutex> lock(mu_);
    result = {{"key", key}, {"deleted", records_.erase(key) == 1}};
    return {};
  }

  // {prefix, after, limit}: records whose key starts with prefix, in key
  // order, starting after the key `after` (the `next` of a previous page).
  std::string query(const tiny::Json& body, tiny::Json& result) {
    std::string prefix, after;
    if (auto p = body.find("prefix"); p != body.end() && !p->is_null()) {
      if (!p->is_string()) return "prefix must be a string";
      prefix = p->get<std::string>();
    }
    if (auto a = body.find("after"); a != body.end() && !a->is_null()) {
      if (!a->is_string()) return "after must be a string (the next of a previous page)";
      after = a->get<std::string>();
    }
    int64_t limit = 100;
    if (auto l = body.find("limit"); l != body.end() && !l->is_null()) {
      auto v = tiny::integer_in(*l, 1, kMaxQueryLimit);
      if (!v) return "limit " + tiny::integer_rule(1, kMaxQueryLimit, *l);
      limit = *v;
    }
    tiny::Json records = tiny::Json::array();
    tiny::Json next;  // null: no more
    std::lock_guard<std::mutex> lock(mu_);
    auto it = after.empty() || after < prefix ? records_.lower_bound(prefix) : records_.upper_bound(after);
    for (; it != records_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (static_cast<int64_t>(records.size()) == limit) {
        next = records.back()["key"];
        break;
      }
      records.push_back({{"key", it->first}, {"value", it->second}});
    }
    result = {{"records", std::move(records)}, {"next", std::move(next)}};
    return {};
  }

  size_t max_records_ = 1000;  // a setting: fixed before the first message

  std::mutex mu_;  // guards records_
  std::map<std::string, tiny::Json> records_;  // ordered, for prefix queries
};

}  // namespace

tiny::ComponentSpec kv_spec() {
  return tiny::ComponentSpec::of<Kv>("kv")
      .describe("In-memory key-value store with store, get, delete and prefix query")
      .settings({{"maxRecords", 1000}})
      .in("store", "{context, key, value}")
      .in("get", "{context, key}")
      .in("delete", "{context, key}")
      .in("query", "{context, prefix, after, limit}")
      .out("result", "{op, context, ...}: the operation's result");
}

}  // namespace common_module

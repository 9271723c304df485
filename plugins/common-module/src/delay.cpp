// delay: holds each message for `delay` ms (a host timer), then emits it
// unchanged on `out` and answers with the downstream answer.
#include <map>
#include <mutex>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

constexpr int64_t kMaxDelayMs = 86'400'000;  // one day
constexpr int64_t kMaxPendingLimit = 1'000'000;

class Delay final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    delay_ms_ = static_cast<uint64_t>(in.integer("delay", 0, kMaxDelayMs, "milliseconds"));
    max_pending_ = static_cast<size_t>(in.integer("maxPending", 1, kMaxPendingLimit));
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (!msg.is_json()) return tiny::Reply::error("in expects JSON");
    if (delay_ms_ == 0) return tiny::Reply::forward("out", msg);
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= max_pending_)
      return tiny::Reply::error("delay holds " + std::to_string(pending_.size()) +
                                " messages already (maxPending)");
    uint64_t key = ++next_key_;
    tiny::TimerId timer = start_timer(delay_ms_, [this, key] { release(key); });
    if (timer == 0) return tiny::Reply::error("node is shutting down");
    pending_.emplace(key, Pending{msg.defer(), std::string(msg.data())});
    return tiny::Reply::deferred();
  }

  void on_destroy() override {
    std::map<uint64_t, Pending> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending.swap(pending_);
    }
    for (auto& [key, p] : pending) p.call.complete(tiny::Reply::error("node destroyed before the delay elapsed"));
  }

 private:
  struct Pending {
    tiny::Call call;
    std::string data;
  };

  void release(uint64_t key) {
    Pending p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(key);
      if (it == pending_.end()) return;  // answered by on_destroy
      p = std::move(it->second);
      pending_.erase(it);
    }
    p.call.complete(tiny::Reply::forward_raw("out", p.data));
  }

  // Settings: fixed before the first message.
  uint64_t delay_ms_ = 1000;
  size_t max_pending_ = 1000;

  std::mutex mu_;  // guards everything below
  uint64_t next_key_ = 0;
  std::map<uint64_t, Pending> pending_;  // held messages by arrival key
};

}  // namespace

tiny::ComponentSpec delay_spec() {
  return tiny::ComponentSpec::of<Delay>("delay")
      .describe("Emits each message on out after delay ms; answers with the downstream answer")
      .settings({{"delay", 1000}, {"maxPending", 1000}})
      .in("in", "any JSON")
      .out("out", "the same JSON, delay ms later");
}

}  // namespace common_module

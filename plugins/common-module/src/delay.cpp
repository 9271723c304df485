// delay: holds each message for `delay` ms (a host timer), then emits it
// unchanged on `out` and answers with the downstream answer.
#include <map>
#include <memory>
#include <mutex>

#include "components.h"
#include "json_input.h"

namespace common_module {
namespace {

constexpr int64_t kMaxDelayMs = 86'400'000;  // one day
constexpr int64_t kMaxPendingLimit = 1'000'000;

class Delay final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    auto delay = integer_in(s.at("delay"), 0, kMaxDelayMs);
    if (!delay) return tiny::Reply::error(integer_error("delay", 0, kMaxDelayMs, s.at("delay"), "milliseconds"));
    auto max_pending = integer_in(s.at("maxPending"), 1, kMaxPendingLimit);
    if (!max_pending) return tiny::Reply::error(integer_error("maxPending", 1, kMaxPendingLimit, s.at("maxPending")));
    std::lock_guard<std::mutex> lock(mu_);
    delay_ms_ = static_cast<uint64_t>(*delay);
    max_pending_ = static_cast<size_t>(*max_pending);
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (msg.port() != "in") return tiny::Reply::error("delay has no input port " + std::string(msg.port()));
    if (!is_json(msg.data())) return tiny::Reply::error("in expects JSON");
    std::lock_guard<std::mutex> lock(mu_);
    if (delay_ms_ == 0) return tiny::Reply::forward("out", msg);
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
    for (auto& [key, p] : pending) p.call.fail("node destroyed before the delay elapsed");
  }

 private:
  struct Pending {
    tiny::Call call;
    std::string data;
  };

  void release(uint64_t key) {
    auto call = std::make_shared<tiny::Call>();
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(key);
      if (it == pending_.end()) return;  // answered by on_destroy
      *call = std::move(it->second.call);
      data = std::move(it->second.data);
      pending_.erase(it);
    }
    emit_raw("out", data, [call](tiny::Result r) { call->complete(r); }, call->handle());
  }

  std::mutex mu_;  // guards everything below
  uint64_t delay_ms_ = 1000;
  size_t max_pending_ = 1000;
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

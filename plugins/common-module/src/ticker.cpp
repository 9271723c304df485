// ticker: emits its configured context on `out` every `period` ms while
// running. Runs on host timers (tiny.timer/1), so it owns no thread.
#include <mutex>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

constexpr int64_t kMaxPeriodMs = 31'536'000'000;  // one year

class Ticker final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    period_ms_ = static_cast<uint64_t>(in.integer("period", 1, kMaxPeriodMs, "milliseconds"));
    context_ = in.value("context").dump();
    bool autostart = in.boolean("autostart");
    if (!in.ok()) return in.reply();
    if (autostart) {
      std::lock_guard<std::mutex> lock(mu_);  // the first tick may fire before start_locked returns
      start_locked();
    }
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    // _control: {"start": true} or {"stop": true}; answers {"running": bool}.
    const tiny::Json* control = msg.try_json();
    if (!control || !control->is_object())
      return tiny::Reply::error("_control expects an object like {\"start\": true}");
    for (const char* key : {"start", "stop"})
      if (control->contains(key) && !control->at(key).is_boolean())
        return tiny::Reply::error(std::string(key) + " must be true or false");
    std::lock_guard<std::mutex> lock(mu_);
    if (control->value("start", false)) start_locked();
    if (control->value("stop", false)) stop_locked();
    return tiny::Json{{"running", running_}};
  }

  void on_destroy() override {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;  // the host already cancelled the pending timer
  }

 private:
  void start_locked() {
    if (running_) return;
    running_ = true;
    schedule_locked();
  }
  void stop_locked() {
    running_ = false;
    ++generation_;  // a tick already firing must not re-arm
    cancel_timer(timer_);
    timer_ = 0;
  }
  void schedule_locked() {
    uint64_t generation = ++generation_;
    timer_ = start_timer(period_ms_, [this, generation] { tick(generation); });
    if (timer_ == 0) running_ = false;  // node is shutting down
  }
  void tick(uint64_t generation) {
    std::string context;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A stop (and maybe a start) since this timer was armed: the chain
      // it belonged to is gone; without this check stop+start racing a
      // firing tick would leave two timer chains running.
      if (!running_ || generation != generation_) return;
      context = context_;
      schedule_locked();
    }
    emit_raw("out", context);
  }

  // Settings: fixed before the first message.
  uint64_t period_ms_ = 1000;
  std::string context_ = "null";

  std::mutex mu_;  // guards everything below
  bool running_ = false;
  uint64_t generation_ = 0;  // identifies the live timer chain
  tiny::TimerId timer_ = 0;
};

}  // namespace

tiny::ComponentSpec ticker_spec() {
  return tiny::ComponentSpec::of<Ticker>("ticker")
      .describe("Emits its context every period ms while running")
      .settings({{"period", 1000}, {"context", nullptr}, {"autostart", true}})
      .in("_control", "{\"start\": true} or {\"stop\": true}")
      .out("out", "the configured context");
}

}  // namespace common_module

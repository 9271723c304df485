// cron: emits its configured context on `out` at every minute that matches
// a 5-field schedule (UTC). Sleeps on host timers: one timer to the next
// matching minute, at most an hour at a time, so a wall-clock step (NTP)
// is noticed within the hour.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include <tiny/settings.hpp>

#include "components.h"
#include "cron_schedule.h"

namespace common_module {

namespace {

constexpr int64_t kMaxSleepMs = 3'600'000;

std::atomic<WallClockMs> g_clock{nullptr};

int64_t now_ms() {
  if (WallClockMs clock = g_clock.load()) return clock();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t floor_seconds(int64_t ms) { return ms / 1000 - (ms % 1000 < 0 ? 1 : 0); }

class Cron final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    const tiny::Json& text = in.value("schedule");
    context_ = in.value("context").dump();
    if (!in.ok()) return in.reply();
    if (!text.is_string()) return tiny::Reply::error("setting 'schedule': must be a string such as \"*/5 * * * *\"");
    try {
      schedule_ = CronSchedule::Parse(text.get_ref<const std::string&>());
    } catch (const std::invalid_argument& e) {
      return tiny::Reply::error(std::string("setting 'schedule': ") + e.what());
    }
    int64_t now = now_ms();
    std::optional<int64_t> due = schedule_->NextAfter(floor_seconds(now));
    if (!due) return tiny::Reply::error("setting 'schedule': " + text.dump() + " never matches a date");
    std::lock_guard<std::mutex> lock(mu_);  // the timer may fire before arm_locked returns
    arm_locked(*due, now);
    return tiny::Reply::empty();
  }

  // cron declares no input port: the host delivers nothing here.
  tiny::Reply on_message(tiny::Message&) override { return tiny::Reply::empty(); }

 private:
  // Sleeps toward `due_s` (epoch seconds); the timer of an older arm is
  // ignored when it fires, whatever happened to its cancel.
  void arm_locked(int64_t due_s, int64_t now) {
    due_s_ = due_s;
    uint64_t generation = ++generation_;
    int64_t wait = std::clamp<int64_t>(due_s * 1000 - now, 0, kMaxSleepMs);
    timer_ = start_timer(static_cast<uint64_t>(wait), [this, generation] { wake(generation); });
  }

  void wake(uint64_t generation) {
    std::string context;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (generation != generation_) return;
      int64_t now = now_ms();
      if (now < due_s_ * 1000) {  // an hour hop, or woken early
        arm_locked(due_s_, now);
        return;
      }
      // After a long stall (suspend, clock step), skip the missed minutes.
      std::optional<int64_t> next = schedule_->NextAfter(std::max(due_s_, floor_seconds(now)));
      if (next) {
        arm_locked(*next, now);
      } else {
        timer_ = 0;
      }
      context = context_;
    }
    emit_raw("out", context);
  }

  // Settings: fixed before the first timer is armed.
  std::optional<CronSchedule> schedule_;
  std::string context_ = "null";

  std::mutex mu_;  // guards everything below
  int64_t due_s_ = 0;         // the minute the live timer leads to
  uint64_t generation_ = 0;   // identifies the live timer
  tiny::TimerId timer_ = 0;
};

}  // namespace

void set_cron_clock_for_testing(WallClockMs clock) { g_clock.store(clock); }

tiny::ComponentSpec cron_spec() {
  return tiny::ComponentSpec::of<Cron>("cron")
      .describe("Emits its context at every minute matching a 5-field cron schedule (UTC)")
      .settings({{"schedule", "* * * * *"}, {"context", nullptr}})
      .out("out", "the configured context");
}

}  // namespace common_module

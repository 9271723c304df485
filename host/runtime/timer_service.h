// Host timers (the tiny.timer/1 extension): one thread, a deadline-ordered
// map, per-owner cancellation for node teardown.
#pragma once

#include <tiny/plugin.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace tiny::host {

// The longest delay a timer takes: ten years. A plugin's delay is a
// uint64_t of milliseconds; one near UINT64_MAX would wrap to a negative
// duration (and fire at once) or overflow the clock, so it is clamped.
inline constexpr uint64_t kMaxTimerDelayMs = 10ull * 365 * 24 * 3600 * 1000;
inline std::chrono::milliseconds TimerDelay(uint64_t delay_ms) {
  return std::chrono::milliseconds(static_cast<int64_t>(delay_ms < kMaxTimerDelayMs ? delay_ms : kMaxTimerDelayMs));
}

class TimerService {
 public:
  using Owner = const void*;  // the node a timer belongs to

  TimerService();
  ~TimerService();  // cancels every timer (CANCELLED callbacks), joins
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Calls fn(user, FIRED) on the timer thread after `delay`. Returns an id
  // > 0, or 0 when `owner` is closed (fn is then never called). [thread: any]
  uint64_t Start(Owner owner, std::chrono::milliseconds delay, tiny_timer_fn fn, void* user);
  // Returns true after calling fn(user, CANCELLED); false if the timer
  // fired, is firing or is unknown. [thread: any]
  bool Cancel(Owner owner, uint64_t id);
  // Refuses new timers for `owner`, cancels its pending ones, and waits
  // until none of its callbacks runs. Not from a timer callback. [thread: any]
  void CloseOwner(Owner owner);
  // Lets `owner` start timers again (a new node at a reused address).
  void OpenOwner(Owner owner);

 private:
  struct Timer {
    Owner owner;
    tiny_timer_fn fn;
    void* user;
  };
  using Key = std::pair<std::chrono::steady_clock::time_point, uint64_t>;

  void Run();

  std::mutex mu_;
  std::condition_variable wake_;   // the timer thread waits on it
  std::condition_variable idle_;   // CloseOwner waits on it
  std::map<Key, Timer> timers_;    // guarded by mu_
  std::unordered_map<uint64_t, Key> by_id_;  // guarded by mu_
  std::unordered_map<Owner, int> closed_;    // guarded by mu_
  Owner firing_ = nullptr;         // guarded by mu_
  uint64_t next_id_ = 0;           // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace tiny::host

// EmitGate: lets code that runs outside a handler (emit callbacks) emit or
// start timers only while the node is live.
//
// plugin.h allows emit/start only between create and the return of
// destroy, but an emit's `done` may arrive after destroy. A component that
// emits or starts a timer from a `done` callback brackets the call with
// enter()/leave(); on_destroy calls close(), which refuses new entries and
// waits until the current ones have left, so nothing emits once destroy
// returns. Entries nest (a `done` that runs inside emit may enter again).
// [thread: any]
#pragma once

#include <condition_variable>
#include <mutex>

namespace common_module {

class EmitGate {
 public:
  // True iff the node is live; the caller must then call leave().
  bool enter() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    ++active_;
    return true;
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) cv_.notify_all();
  }
  // Refuses new entries; returns once every entered caller has left. Must
  // not be called from inside an entry.
  void close() {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    cv_.wait(lock, [&] { return active_ == 0; });
  }

 private:
  std::mutex mu_;  // guards closed_, active_
  std::condition_variable cv_;
  bool closed_ = false;
  int active_ = 0;
};

}  // namespace common_module

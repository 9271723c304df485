#include "host/runtime/timer_service.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

using namespace tiny::host;
using namespace std::chrono_literals;

namespace {
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, int32_t>> seen;  // (tag, event)
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return seen.size() >= n; });
  }
};
struct Tag {
  Events* events;
  int id;
};
void Record(void* user, int32_t event) {
  auto* tag = static_cast<Tag*>(user);
  std::lock_guard<std::mutex> lock(tag->events->mu);
  tag->events->seen.emplace_back(tag->id, event);
  tag->events->cv.notify_all();
}
}  // namespace

TEST_CASE("timers fire in deadline order, once each") {
  TimerService timers;
  Events ev;
  int owner = 0;
  Tag a{&ev, 1}, b{&ev, 2}, c{&ev, 3};
  CHECK(timers.Start(&owner, 30ms, &Record, &c) > 0);
  CHECK(timers.Start(&owner, 1ms, &Record, &a) > 0);
  CHECK(timers.Start(&owner, 15ms, &Record, &b) > 0);
  REQUIRE(ev.WaitFor(3));
  CHECK(ev.seen == std::vector<std::pair<int, int32_t>>{{1, TINY_TIMER_FIRED}, {2, TINY_TIMER_FIRED}, {3, TINY_TIMER_FIRED}});
}

TEST_CASE("cancel calls back with CANCELLED exactly once; a fired timer cannot be cancelled") {
  TimerService timers;
  Events ev;
  int owner = 0;
  Tag a{&ev, 1};
  uint64_t id = timers.Start(&owner, std::chrono::hours(1), &Record, &a);
  CHECK(timers.Cancel(&owner, id));
  CHECK_FALSE(timers.Cancel(&owner, id));
  REQUIRE(ev.seen.size() == 1);
  CHECK(ev.seen[0] == std::make_pair(1, int32_t{TINY_TIMER_CANCELLED}));
  CHECK_FALSE(timers.Cancel(&owner, 9999));
}

TEST_CASE("closing an owner cancels its timers and refuses new ones; others are untouched") {
  TimerService timers;
  Events ev;
  int owner = 0, other = 0;
  Tag a{&ev, 1}, b{&ev, 2}, c{&ev, 3};
  timers.Start(&owner, std::chrono::hours(1), &Record, &a);
  timers.Start(&other, 1ms, &Record, &b);
  timers.CloseOwner(&owner);
  CHECK(timers.Start(&owner, 1ms, &Record, &c) == 0);
  REQUIRE(ev.WaitFor(2));
  std::lock_guard<std::mutex> lock(ev.mu);
  CHECK(std::count(ev.seen.begin(), ev.seen.end(), std::make_pair(1, int32_t{TINY_TIMER_CANCELLED})) == 1);
  CHECK(std::count(ev.seen.begin(), ev.seen.end(), std::make_pair(2, int32_t{TINY_TIMER_FIRED})) == 1);
}

TEST_CASE("destroying the service cancels what is pending") {
  Events ev;
  int owner = 0;
  Tag a{&ev, 1};
  {
    TimerService timers;
    timers.Start(&owner, std::chrono::hours(1), &Record, &a);
  }
  REQUIRE(ev.seen.size() == 1);
  CHECK(ev.seen[0].second == TINY_TIMER_CANCELLED);
}

TEST_CASE("a delay near UINT64_MAX is clamped: it waits, it does not fire at once") {
  CHECK(TimerDelay(UINT64_MAX) == std::chrono::milliseconds(kMaxTimerDelayMs));
  CHECK(TimerDelay(250) == 250ms);
  TimerService timers;
  Events ev;
  int owner = 0;
  Tag forever{&ev, 1}, soon{&ev, 2};
  REQUIRE(timers.Start(&owner, TimerDelay(UINT64_MAX), &Record, &forever) > 0);
  REQUIRE(timers.Start(&owner, TimerDelay(UINT64_MAX - 1000), &Record, &forever) > 0);
  REQUIRE(timers.Start(&owner, 5ms, &Record, &soon) > 0);
  REQUIRE(ev.WaitFor(1));
  // Timers fire in deadline order: had either wrapped, it would be first.
  {
    std::lock_guard<std::mutex> lock(ev.mu);
    CHECK(ev.seen.front() == std::pair<int, int32_t>{2, TINY_TIMER_FIRED});
  }
  timers.CloseOwner(&owner);  // cancels the two long ones
  REQUIRE(ev.WaitFor(3));
  std::lock_guard<std::mutex> lock(ev.mu);
  CHECK(ev.seen[1] == std::pair<int, int32_t>{1, TINY_TIMER_CANCELLED});
  CHECK(ev.seen[2] == std::pair<int, int32_t>{1, TINY_TIMER_CANCELLED});
}

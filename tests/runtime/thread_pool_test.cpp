// ThreadPool: every posted task runs, never on more threads than asked
// for, and Stop (or the destructor) runs what is still queued and joins; a
// queued task past its deadline expires even while every thread is busy;
// the queue is bounded; Close ends what is queued.
#include "host/runtime/thread_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using tiny::host::ThreadPool;
using Fate = ThreadPool::Fate;
using Posted = ThreadPool::Posted;

namespace {

// Holds tasks until Open(); counts how many wait at once.
class Gate {
 public:
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  // True once `n` tasks wait; bounded so that a broken pool fails, not hangs.
  bool AwaitWaiting(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return waiting_ >= n; });
  }
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

}  // namespace

TEST_CASE("every posted task runs once") {
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test-pool", 4);
    for (int i = 0; i < 1000; ++i) REQUIRE(pool.Post([&](Fate) { ran.fetch_add(1); }) == Posted::kQueued);
    pool.Stop();
    CHECK(ran.load() == 1000);
  }
  CHECK(ran.load() == 1000);
}

TEST_CASE("tasks run on at most the pool's threads") {
  ThreadPool pool("test-pool", 3);
  CHECK(pool.size() == 3);
  Gate gate;
  for (int i = 0; i < 3; ++i) pool.Post([&](Fate) { gate.Pass(); });
  std::atomic<int> fourth_ran{0};
  pool.Post([&](Fate) { fourth_ran.fetch_add(1); });
  // All three threads are held, so the fourth task must still be queued.
  REQUIRE(gate.AwaitWaiting(3));
  CHECK(pool.Queued() == 1);
  CHECK(fourth_ran.load() == 0);
  CHECK(gate.waiting() == 3);
  gate.Open();
  pool.Stop();
  CHECK(fourth_ran.load() == 1);
}

TEST_CASE("a pool asked for no threads gets one") {
  ThreadPool pool("test-pool", 0);
  CHECK(pool.size() == 1);
  std::atomic<bool> ran{false};
  pool.Post([&](Fate) { ran = true; });
  pool.Stop();
  CHECK(ran.load());
}

TEST_CASE("tasks queued when Stop is called still run; later posts are refused") {
  ThreadPool pool("test-pool", 1);
  Gate gate;
  pool.Post([&](Fate) { gate.Pass(); });
  REQUIRE(gate.AwaitWaiting(1));
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) pool.Post([&](Fate) { ran.fetch_add(1); });

  std::thread stopper([&] { pool.Stop(); });
  // Stop refuses new work before it waits for the queue; keep posting until
  // it does (each accepted post is one more task that must run).
  int extra = 0;
  while (pool.Post([&](Fate) { ran.fetch_add(1); }) == Posted::kQueued) ++extra;
  CHECK(pool.Queued() == static_cast<size_t>(5 + extra));  // the only thread is still held
  gate.Open();
  stopper.join();
  CHECK(ran.load() == 5 + extra);
  CHECK(pool.Post([](Fate) {}) == Posted::kStopping);
  pool.Stop();  // idempotent
}

TEST_CASE("the destructor runs what is queued and joins") {
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test-pool", 2);
    for (int i = 0; i < 50; ++i) pool.Post([&](Fate) { ran.fetch_add(1); });
  }
  CHECK(ran.load() == 50);
}

namespace {

// Records how each task ended, and on which thread; waits are bounded.
class Fates {
 public:
  ThreadPool::Task Record(int id) {
    return [this, id](Fate fate) {
      std::lock_guard<std::mutex> lock(mu_);
      ended_[id] = fate;
      cv_.notify_all();
    };
  }
  std::optional<Fate> Await(int id) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return ended_.count(id) > 0; });
    if (!ended_.count(id)) return std::nullopt;
    return ended_[id];
  }
  bool Ended(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_.count(id) > 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Fate> ended_;
};

ThreadPool::Clock::time_point In(std::chrono::milliseconds ms) { return ThreadPool::Clock::now() + ms; }

}  // namespace

TEST_CASE("a queued task whose deadline passes expires while every thread is busy") {
  ThreadPool pool("test-pool", 1);
  Gate gate;
  pool.Post([&](Fate) { gate.Pass(); });
  REQUIRE(gate.AwaitWaiting(1));
  Fates fates;
  REQUIRE(pool.Post(fates.Record(1), In(std::chrono::milliseconds(20))) == Posted::kQueued);
  REQUIRE(pool.Post(fates.Record(2)) == Posted::kQueued);  // no deadline: waits for the thread
  CHECK(fates.Await(1) == Fate::kExpired);
  CHECK(gate.waiting() == 1);  // the only thread is still held
  CHECK(pool.Queued() == 1);
  CHECK_FALSE(fates.Ended(2));
  gate.Open();
  CHECK(fates.Await(2) == Fate::kRun);
}

TEST_CASE("an earlier deadline posted after a later one expires first") {
  // The reaper sleeps until the earliest deadline it knows; a new earlier
  // one must wake it.
  ThreadPool pool("test-pool", 1);
  Gate gate;
  pool.Post([&](Fate) { gate.Pass(); });
  REQUIRE(gate.AwaitWaiting(1));
  Fates fates;
  pool.Post(fates.Record(1), In(std::chrono::hours(1)));
  pool.Post(fates.Record(2), In(std::chrono::milliseconds(20)));
  CHECK(fates.Await(2) == Fate::kExpired);
  CHECK_FALSE(fates.Ended(1));
  gate.Open();
  CHECK(fates.Await(1) == Fate::kRun);
}

TEST_CASE("a task taken by a thread after its deadline is told it expired") {
  ThreadPool pool("test-pool", 1);
  Fates fates;
  pool.Post(fates.Record(1), In(-std::chrono::milliseconds(1)));
  CHECK(fates.Await(1) == Fate::kExpired);
}

TEST_CASE("a full queue refuses a task at once; the queued ones still run") {
  ThreadPool pool("test-pool", 1, /*max_queued=*/2);
  CHECK(pool.max_queued() == 2);
  Gate gate;
  pool.Post([&](Fate) { gate.Pass(); });
  REQUIRE(gate.AwaitWaiting(1));
  Fates fates;
  CHECK(pool.Post(fates.Record(1)) == Posted::kQueued);
  CHECK(pool.Post(fates.Record(2), In(std::chrono::hours(1))) == Posted::kQueued);
  CHECK(pool.Post(fates.Record(3)) == Posted::kFull);
  CHECK(pool.Queued() == 2);
  gate.Open();
  CHECK(fates.Await(1) == Fate::kRun);
  CHECK(fates.Await(2) == Fate::kRun);
  pool.Stop();
  CHECK_FALSE(fates.Ended(3));  // refused tasks are dropped uncalled
}

TEST_CASE("Close ends every queued task now and refuses later ones; running tasks go on") {
  ThreadPool pool("test-pool", 1);
  Gate gate;
  std::atomic<bool> held_returned{false};
  pool.Post([&](Fate) {
    gate.Pass();
    held_returned = true;
  });
  REQUIRE(gate.AwaitWaiting(1));
  Fates fates;
  pool.Post(fates.Record(1));
  pool.Post(fates.Record(2), In(std::chrono::hours(1)));
  pool.Close();
  CHECK(fates.Await(1) == Fate::kClosed);
  CHECK(fates.Await(2) == Fate::kClosed);
  CHECK(pool.Queued() == 0);
  CHECK(pool.Post(fates.Record(3)) == Posted::kStopping);
  CHECK_FALSE(held_returned.load());
  gate.Open();
  pool.Stop();
  CHECK(held_returned.load());
  CHECK_FALSE(fates.Ended(3));
}

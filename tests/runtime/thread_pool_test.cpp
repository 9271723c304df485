// ThreadPool: every posted task runs, never on more threads than asked
// for, and Stop (or the destructor) runs what is still queued and joins.
#include "host/runtime/thread_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using tiny::host::ThreadPool;

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
    for (int i = 0; i < 1000; ++i) REQUIRE(pool.Post([&] { ran.fetch_add(1); }));
    pool.Stop();
    CHECK(ran.load() == 1000);
  }
  CHECK(ran.load() == 1000);
}

TEST_CASE("tasks run on at most the pool's threads") {
  ThreadPool pool("test-pool", 3);
  CHECK(pool.size() == 3);
  Gate gate;
  for (int i = 0; i < 3; ++i) pool.Post([&] { gate.Pass(); });
  std::atomic<int> fourth_ran{0};
  pool.Post([&] { fourth_ran.fetch_add(1); });
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
  pool.Post([&] { ran = true; });
  pool.Stop();
  CHECK(ran.load());
}

TEST_CASE("tasks queued when Stop is called still run; later posts are refused") {
  ThreadPool pool("test-pool", 1);
  Gate gate;
  pool.Post([&] { gate.Pass(); });
  REQUIRE(gate.AwaitWaiting(1));
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) pool.Post([&] { ran.fetch_add(1); });

  std::thread stopper([&] { pool.Stop(); });
  // Stop refuses new work before it waits for the queue; keep posting until
  // it does (each accepted post is one more task that must run).
  int extra = 0;
  while (pool.Post([&] { ran.fetch_add(1); })) ++extra;
  CHECK(pool.Queued() == static_cast<size_t>(5 + extra));  // the only thread is still held
  gate.Open();
  stopper.join();
  CHECK(ran.load() == 5 + extra);
  CHECK_FALSE(pool.Post([] {}));
  pool.Stop();  // idempotent
}

TEST_CASE("the destructor runs what is queued and joins") {
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test-pool", 2);
    for (int i = 0; i < 50; ++i) pool.Post([&] { ran.fetch_add(1); });
  }
  CHECK(ran.load() == 50);
}

// A fixed set of threads running posted tasks in FIFO order, with a bound
// on what may wait and a deadline per task that is kept even while every
// thread is busy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tiny::host {

class ThreadPool {
 public:
  using Clock = std::chrono::steady_clock;
  // How a task ends: it runs on a pool thread (kRun), or, still queued, its
  // deadline passed (kExpired, on the pool's reaper thread) or the pool was
  // closed (kClosed, on the thread that closed it). A task is called once.
  enum class Fate { kRun, kExpired, kClosed };
  using Task = std::function<void(Fate)>;
  enum class Posted { kQueued, kFull, kStopping };

  // Starts `threads` threads named `name` (for top/gdb), and one reaper
  // that sleeps until the earliest deadline of a queued task (and not at
  // all while none is queued). At most `max_queued` tasks wait at once.
  ThreadPool(std::string name, size_t threads, size_t max_queued = std::numeric_limits<size_t>::max());
  ~ThreadPool();  // runs what is queued, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. If `deadline` passes before a thread takes it, it is
  // taken off the queue and called with kExpired: a caller waiting for it
  // is answered even when every thread waits on something queued behind.
  // Refuses it (and drops it uncalled) when `max_queued` tasks wait
  // (kFull) or once the pool is stopping (kStopping). [thread: any]
  Posted Post(Task task, Clock::time_point deadline = Clock::time_point::max());
  // Tasks queued and not yet started. [thread: any]
  size_t Queued() const;
  size_t size() const { return threads_.size(); }
  size_t max_queued() const { return max_queued_; }
  // Refuses new tasks and ends every queued one with kClosed, here and
  // now; tasks already running go on. Stop still joins. [thread: any]
  void Close();
  // Finishes queued tasks and joins the threads. Idempotent.
  void Stop();

 private:
  struct Entry {
    Task task;
    Clock::time_point deadline;
  };
  using Seq = uint64_t;

  void Run();
  void Reap();
  // Takes `it` off the queue (and its deadline off the index). Under mu_.
  Entry Take(std::map<Seq, Entry>::iterator it);

  std::string name_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // threads wait for a task
  std::condition_variable reaper_cv_;  // the reaper waits for an earlier deadline
  // The queue in arrival order, and the queued tasks that have a deadline,
  // earliest first: both guarded by mu_.
  std::map<Seq, Entry> queue_;
  std::set<std::pair<Clock::time_point, Seq>> deadlines_;
  Seq next_seq_ = 0;         // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  bool reaper_done_ = false;  // guarded by mu_; set once the threads are joined
  std::vector<std::thread> threads_;
  std::thread reaper_;
};

}  // namespace tiny::host

// A fixed set of threads running posted tasks in FIFO order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tiny::host {

class ThreadPool {
 public:
  // Starts `threads` threads named `name` (for top/gdb).
  ThreadPool(std::string name, size_t threads);
  ~ThreadPool();  // runs what is queued, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Returns false (and drops it) once the pool is stopping.
  // [thread: any]
  bool Post(std::function<void()> task);
  // Tasks queued and not yet started. [thread: any]
  size_t Queued() const;
  size_t size() const { return threads_.size(); }
  // Finishes queued tasks and joins the threads. Idempotent.
  void Stop();

 private:
  void Run();

  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace tiny::host

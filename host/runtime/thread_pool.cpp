#include "host/runtime/thread_pool.h"

#include <pthread.h>

namespace tiny::host {

ThreadPool::ThreadPool(std::string name, size_t threads, size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  if (threads == 0) threads = 1;
  const std::string thread_name = name_.substr(0, 15);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), thread_name.c_str());
  }
  reaper_ = std::thread([this] { Reap(); });
  pthread_setname_np(reaper_.native_handle(), thread_name.c_str());
}

ThreadPool::~ThreadPool() { Stop(); }

ThreadPool::Posted ThreadPool::Post(Task task, Clock::time_point deadline) {
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Posted::kStopping;
    if (queue_.size() >= max_queued_) return Posted::kFull;
    Seq seq = next_seq_++;
    auto queued = queue_.emplace_hint(queue_.end(), seq, Entry{std::move(task), deadline});
    if (deadline != Clock::time_point::max()) {
      try {
        auto at = deadlines_.emplace(deadline, seq).first;
        earliest = at == deadlines_.begin();
      } catch (...) {  // out of memory: the task is not queued
        queue_.erase(queued);
        throw;
      }
    }
  }
  cv_.notify_one();
  // The reaper sleeps until the earliest deadline; only a new earliest one
  // needs to wake it.
  if (earliest) reaper_cv_.notify_one();
  return Posted::kQueued;
}

size_t ThreadPool::Queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

ThreadPool::Entry ThreadPool::Take(std::map<Seq, Entry>::iterator it) {
  Entry entry = std::move(it->second);
  if (entry.deadline != Clock::time_point::max()) deadlines_.erase({entry.deadline, it->first});
  queue_.erase(it);
  return entry;
}

void ThreadPool::Close() {
  std::map<Seq, Entry> closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    closed.swap(queue_);
    deadlines_.clear();
  }
  cv_.notify_all();
  for (auto& [seq, entry] : closed) entry.task(Fate::kClosed);
}

void ThreadPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  threads_.clear();
  // The queue is empty now: the threads leave only then.
  {
    std::lock_guard<std::mutex> lock(mu_);
    reaper_done_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable() && reaper_.get_id() != std::this_thread::get_id()) reaper_.join();
}

void ThreadPool::Run() {
  while (true) {
    Entry entry;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      entry = Take(queue_.begin());
    }
    // The reaper may not have come to it yet.
    bool late = entry.deadline != Clock::time_point::max() && entry.deadline <= Clock::now();
    entry.task(late ? Fate::kExpired : Fate::kRun);
  }
}

void ThreadPool::Reap() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!reaper_done_) {
    if (deadlines_.empty()) {
      reaper_cv_.wait(lock, [&] { return reaper_done_ || !deadlines_.empty(); });
      continue;
    }
    auto now = Clock::now();
    const Clock::time_point next = deadlines_.begin()->first;  // a copy: the set changes while this waits
    if (next > now) {
      reaper_cv_.wait_until(lock, next);
      continue;
    }
    std::vector<Task> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now)
      expired.push_back(Take(queue_.find(deadlines_.begin()->second)).task);
    lock.unlock();
    for (auto& task : expired) task(Fate::kExpired);
    lock.lock();
  }
}

}  // namespace tiny::host

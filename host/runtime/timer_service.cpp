#include "host/runtime/timer_service.h"

#include <pthread.h>

#include <vector>

namespace tiny::host {

TimerService::TimerService() {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "tiny-timers");
}

TimerService::~TimerService() {
  std::map<Key, Timer> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    left.swap(timers_);
    by_id_.clear();
  }
  wake_.notify_all();
  thread_.join();
  for (auto& [key, t] : left) t.fn(t.user, TINY_TIMER_CANCELLED);
}

uint64_t TimerService::Start(Owner owner, std::chrono::milliseconds delay, tiny_timer_fn fn, void* user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || closed_.count(owner)) return 0;
  uint64_t id = ++next_id_;
  Key key{std::chrono::steady_clock::now() + delay, id};
  bool first = timers_.empty() || key < timers_.begin()->first;
  timers_.emplace(key, Timer{owner, fn, user});
  by_id_.emplace(id, key);
  if (first) wake_.notify_one();
  return id;
}

bool TimerService::Cancel(Owner owner, uint64_t id) {
  Timer t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    auto timer = timers_.find(it->second);
    if (timer->second.owner != owner) return false;
    t = timer->second;
    timers_.erase(timer);
    by_id_.erase(it);
  }
  t.fn(t.user, TINY_TIMER_CANCELLED);
  return true;
}

void TimerService::CloseOwner(Owner owner) {
  std::vector<Timer> cancelled;
  {
    std::unique_lock<std::mutex> lock(mu_);
    closed_[owner] = 1;
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second.owner == owner) {
        cancelled.push_back(it->second);
        by_id_.erase(it->first.second);
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
    idle_.wait(lock, [&] { return firing_ != owner; });
  }
  for (auto& t : cancelled) t.fn(t.user, TINY_TIMER_CANCELLED);
}

void TimerService::OpenOwner(Owner owner) {
  std::lock_guard<std::mutex> lock(mu_);
  closed_.erase(owner);
}

void TimerService::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto due = timers_.begin()->first.first;
    if (std::chrono::steady_clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    auto it = timers_.begin();
    Timer t = it->second;
    by_id_.erase(it->first.second);
    timers_.erase(it);
    firing_ = t.owner;
    lock.unlock();
    t.fn(t.user, TINY_TIMER_FIRED);
    lock.lock();
    firing_ = nullptr;
    idle_.notify_all();
  }
}

}  // namespace tiny::host

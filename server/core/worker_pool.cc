#include "server/core/worker_pool.h"

#include <algorithm>
#include <utility>

#include "glog/logging.h"

namespace xxljob {

WorkerPool::WorkerPool(int max_threads, absl::Duration keepalive)
    : max_threads_(max_threads), keepalive_(keepalive) {
  CHECK_GT(max_threads, 0);
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::WakeOneLocked() {
  if (idle_.empty()) return false;
  Idle* idle = idle_.back();
  idle_.pop_back();
  idle->woken = true;
  idle->wake.Signal();
  return true;
}

void WorkerPool::Submit(absl::AnyInvocable<void() &&> task) {
  // Exited threads are taken under the same lock as the task is queued
  // (one lock per Submit, not two), and joined after it is released.
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    CHECK(!stopping_) << "WorkerPool::Submit after Shutdown";
    exited.swap(exited_);
    tasks_.push_back(std::move(task));
    // An idle thread takes it; start a thread only when none is idle.
    if (!WakeOneLocked() && static_cast<int>(live_.size()) < max_threads_) {
      live_.emplace_front();
      live_count_.store(static_cast<int>(live_.size()),
                        std::memory_order_relaxed);
      auto self = live_.begin();
      *self = std::thread([this, self] { WorkerLoop(self); });
    }
  }
  for (std::thread& t : exited) t.join();
}

void WorkerPool::WorkerLoop(std::list<std::thread>::iterator self) {
  absl::MutexLock lock(&mu_);
  Idle idle;
  while (true) {
    if (!tasks_.empty()) {
      absl::AnyInvocable<void()&&> task = std::move(tasks_.front());
      tasks_.pop_front();
      mu_.Unlock();
      std::move(task)();
      mu_.Lock();
      continue;
    }
    if (stopping_) break;
    idle.woken = false;
    idle_.push_back(&idle);
    const absl::Time deadline = absl::Now() + keepalive_;
    while (!idle.woken && !idle.wake.WaitWithDeadline(&mu_, deadline)) {
    }
    if (!idle.woken) {
      // The keepalive ran out with nothing to do: leave idle_ and exit,
      // unless a task came in the meantime.
      idle_.erase(std::find(idle_.begin(), idle_.end(), &idle));
      if (tasks_.empty()) break;
    }
  }
  // Hand our own std::thread to whoever joins next; a thread can't join
  // itself.
  exited_.push_back(std::move(*self));
  live_.erase(self);
  live_count_.store(static_cast<int>(live_.size()), std::memory_order_relaxed);
  if (live_.empty()) all_gone_.SignalAll();
}

void WorkerPool::JoinExited() {
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    exited.swap(exited_);
  }
  for (std::thread& t : exited) t.join();
}

void WorkerPool::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    while (WakeOneLocked()) {
    }
    while (!live_.empty()) all_gone_.Wait(&mu_);
  }
  JoinExited();
}

int WorkerPool::idle_threads() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

}  // namespace xxljob

#include "server/core/worker_pool.h"

#include <utility>

#include "glog/logging.h"

namespace xxljob {

WorkerPool::WorkerPool(int max_threads, absl::Duration keepalive)
    : max_threads_(max_threads), keepalive_(keepalive) {
  CHECK_GT(max_threads, 0);
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Submit(absl::AnyInvocable<void() &&> task) {
  // Exited threads are taken under the same lock as the task is queued
  // (one lock per Submit, not two), and joined after it is released.
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    CHECK(!stopping_) << "WorkerPool::Submit after Shutdown";
    exited.swap(exited_);
    tasks_.push_back(std::move(task));
    // Every idle thread will take one task; start a thread only for the
    // rest.
    if (static_cast<int>(tasks_.size()) > idle_ &&
        static_cast<int>(live_.size()) < max_threads_) {
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
  const absl::Condition has_work(this, &WorkerPool::HasWorkLocked);
  while (true) {
    ++idle_;
    const bool woken = mu_.AwaitWithTimeout(has_work, keepalive_);
    --idle_;
    if (!tasks_.empty()) {
      absl::AnyInvocable<void()&&> task = std::move(tasks_.front());
      tasks_.pop_front();
      mu_.Unlock();
      std::move(task)();
      mu_.Lock();
      continue;
    }
    if (stopping_ || !woken) break;
  }
  // Hand our own std::thread to whoever joins next; a thread can't join
  // itself.
  exited_.push_back(std::move(*self));
  live_.erase(self);
  live_count_.store(static_cast<int>(live_.size()), std::memory_order_relaxed);
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
    mu_.Await(absl::Condition(this, &WorkerPool::AllGoneLocked));
  }
  JoinExited();
}

int WorkerPool::idle_threads() const {
  absl::MutexLock lock(&mu_);
  return idle_;
}

}  // namespace xxljob

// A bounded pool of OS threads that execute job runs.
#ifndef XXLJOB_SERVER_CORE_WORKER_POOL_H_
#define XXLJOB_SERVER_CORE_WORKER_POOL_H_

#include <atomic>
#include <deque>
#include <list>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xxljob {

// Runs submitted tasks in FIFO order on at most `max_threads` threads. Threads
// are started on demand and exit after `keepalive` without work, so an idle
// executor holds no workers. Threads that exit are joined by the next
// Submit() or by Shutdown(); none is detached.
//
// Idle threads wait on one condition, the same function of the same pool
// for all of them: Abseil's mutex then treats them as equivalent waiters
// and skips them together, so an unlock of the pool's mutex costs the same
// with a thousand idle threads as with one.
//
// Thread-safe.
class WorkerPool {
 public:
  WorkerPool(int max_threads, absl::Duration keepalive);
  // Shutdown().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; it runs as soon as a thread is free. Never blocks on
  // running tasks. REQUIRES: Shutdown() has not been called.
  void Submit(absl::AnyInvocable<void() &&> task);

  // Runs every queued task, then joins every thread. Blocks until done.
  void Shutdown();

  // Threads alive now (without taking the pool's lock).
  int threads() const { return live_count_.load(std::memory_order_relaxed); }
  // Threads waiting for a task now.
  int idle_threads() const;

 private:
  void WorkerLoop(std::list<std::thread>::iterator self);
  void JoinExited();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !tasks_.empty() || stopping_;
  }
  bool AllGoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live_.empty();
  }

  const int max_threads_;
  const absl::Duration keepalive_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  std::list<std::thread> live_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> live_count_{0};
  // Threads that have left WorkerLoop (or are about to) and await a join.
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_WORKER_POOL_H_

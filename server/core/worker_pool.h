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
// An idle thread waits on its own condition variable, and Submit wakes the
// one that went idle last: a wake-up costs the same with a thousand idle
// threads as with one (no waiter's condition is evaluated on every unlock
// of the pool's mutex), and under a light load the same few threads take
// the work while the others reach their keepalive and exit.
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
  // An idle thread, on the stack of idle_ while it waits.
  struct Idle {
    absl::CondVar wake;
    // Set by whoever takes it off idle_ to give it work (or to stop it).
    bool woken = false;
  };

  void WorkerLoop(std::list<std::thread>::iterator self);
  // Takes the thread that went idle last off idle_ and wakes it; false if
  // none is idle.
  bool WakeOneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void JoinExited();

  const int max_threads_;
  const absl::Duration keepalive_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  std::list<std::thread> live_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> live_count_{0};
  // Idle threads, the last to go idle at the back.
  std::vector<Idle*> idle_ ABSL_GUARDED_BY(mu_);
  // Threads that have left WorkerLoop (or are about to) and await a join.
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Signalled when the last thread leaves, for Shutdown.
  absl::CondVar all_gone_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_WORKER_POOL_H_

#include "common/memory_release.h"

#include <malloc.h>  // Also defines __GLIBC__ where it applies.

#include "absl/time/clock.h"
#include "glog/logging.h"

namespace xxljob {

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  const absl::Time start = absl::Now();
  malloc_trim(0);
  VLOG(2) << "malloc_trim took " << absl::Now() - start;
#endif
}

DelayedMemoryRelease::DelayedMemoryRelease(absl::Duration delay)
    : delay_(delay), thread_([this] { Loop(); }) {}

DelayedMemoryRelease::~DelayedMemoryRelease() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void DelayedMemoryRelease::Request() {
  absl::MutexLock lock(&mu_);
  due_ = absl::Now() + delay_;
}

void DelayedMemoryRelease::Loop() {
  auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || due_.has_value();
  };
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  mu_.Lock();
  while (!stop_) {
    if (!due_.has_value()) {
      mu_.Await(absl::Condition(&wake));
      continue;
    }
    // Until the due time, which a new request may have moved later.
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), *due_ - absl::Now()) ||
        absl::Now() < *due_) {
      continue;
    }
    due_.reset();
    // Without the lock: Request() never waits for a trim.
    mu_.Unlock();
    ReleaseFreeMemory();
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace xxljob

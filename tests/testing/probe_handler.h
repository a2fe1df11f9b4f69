// A bean handler for tests that records what its runs did: params are
// milliseconds to sleep (cancellably). Tests wait on its events (never
// sleep) and check that runs of one job id never overlapped.
#ifndef XXLJOB_TESTS_TESTING_PROBE_HANDLER_H_
#define XXLJOB_TESTS_TESTING_PROBE_HANDLER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "tests/testing/recording_result_sink.h"

namespace xxljob::testing {

// Polls `condition` until it holds or `timeout` passes: for state that has no
// event to wait on (a reclaimed job thread). Returns the last evaluation.
inline bool Eventually(const std::function<bool()>& condition,
                       absl::Duration timeout = kWaitTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class ProbeHandler {
 public:
  // The handler to register; `this` must outlive the registry's use of it.
  JobHandler AsHandler() {
    return JobHandler{[this](RunContext& ctx) { Execute(ctx); }, nullptr,
                      nullptr};
  }

  // Waits until run `log_id` has started. False on timeout.
  bool WaitStarted(int64_t log_id, absl::Duration timeout = kWaitTimeout) {
    absl::MutexLock lock(&mu_);
    auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(started_.begin(), started_.end(), log_id) !=
             started_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
  }

  std::vector<int64_t> started() const {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  std::vector<int64_t> ended() const {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  bool has_ended(int64_t log_id) const {
    absl::MutexLock lock(&mu_);
    return std::find(ended_.begin(), ended_.end(), log_id) != ended_.end();
  }
  // Most runs of one job id seen executing at once (the contract: 1).
  int max_overlap() const {
    absl::MutexLock lock(&mu_);
    return max_overlap_;
  }

  // How long a run goes on after it sees cancellation, to model handlers
  // that take a while to stop.
  void set_stop_delay(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    stop_delay_ = d;
  }

 private:
  void Execute(RunContext& ctx) {
    absl::Duration stop_delay;
    {
      absl::MutexLock lock(&mu_);
      started_.push_back(ctx.log_id());
      const int active = ++active_[ctx.job_id()];
      max_overlap_ = std::max(max_overlap_, active);
      stop_delay = stop_delay_;
    }
    int64_t ms = 0;
    (void)absl::SimpleAtoi(ctx.params(), &ms);
    ctx.Logf("probe sleeping %d ms", ms);
    if (!ctx.SleepFor(absl::Milliseconds(ms))) {
      // Busy work that doesn't observe cancellation: a slow-to-stop handler.
      absl::SleepFor(stop_delay);
    }
    absl::MutexLock lock(&mu_);
    --active_[ctx.job_id()];
    ended_.push_back(ctx.log_id());
  }

  mutable absl::Mutex mu_;
  std::vector<int64_t> started_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> ended_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> active_ ABSL_GUARDED_BY(mu_);
  int max_overlap_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration stop_delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_PROBE_HANDLER_H_

// A ResultSink for tests: records every Accepted/Finished call and lets a test
// wait (with a deadline, never a sleep) for results to arrive.
#ifndef XXLJOB_TESTS_TESTING_RECORDING_RESULT_SINK_H_
#define XXLJOB_TESTS_TESTING_RECORDING_RESULT_SINK_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/result_sink.h"

namespace xxljob::testing {

// Generous default for waits: CI runs on a busy 2-core machine.
inline constexpr absl::Duration kWaitTimeout = absl::Seconds(30);

class RecordingResultSink : public ResultSink {
 public:
  absl::Status Accepted(const Trigger& trigger) override {
    absl::MutexLock lock(&mu_);
    if (!refusal_.ok()) return refusal_;
    accepted_.push_back(trigger.log_id);
    return absl::OkStatus();
  }
  // Makes every later Accepted() fail with `refusal` (OK: accept again), as
  // a sink whose journal can't be written does.
  void RefuseAcceptedWith(absl::Status refusal) {
    absl::MutexLock lock(&mu_);
    refusal_ = std::move(refusal);
  }
  void Finished(const RunResult& result) override {
    absl::MutexLock lock(&mu_);
    finished_.push_back(result);
    ++finished_count_[result.log_id];
  }

  // The result of `log_id`, waiting up to `timeout` for it.
  std::optional<RunResult> WaitFor(int64_t log_id,
                                   absl::Duration timeout = kWaitTimeout) {
    absl::MutexLock lock(&mu_);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return finished_count_.contains(log_id);
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&has), timeout)) {
      return std::nullopt;
    }
    for (const RunResult& r : finished_) {
      if (r.log_id == log_id) return r;
    }
    return std::nullopt;
  }

  // Waits until at least `n` results arrived. Returns false on timeout.
  bool WaitForCount(size_t n, absl::Duration timeout = kWaitTimeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return finished_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

  std::vector<RunResult> finished() const {
    absl::MutexLock lock(&mu_);
    return finished_;
  }
  std::vector<int64_t> accepted() const {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }
  // How many results `log_id` got (exactly one is the contract).
  int count(int64_t log_id) const {
    absl::MutexLock lock(&mu_);
    auto it = finished_count_.find(log_id);
    return it == finished_count_.end() ? 0 : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status refusal_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<RunResult> finished_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> finished_count_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_RECORDING_RESULT_SINK_H_

// A bean handler the test drives line by line: a run logs exactly the lines
// the test hands it, when the test hands them, and ends when told to (or
// when killed). For tests of what happens *while* a run writes its log
// (TailLog), with no sleeps: every step is a command the run waits for.
#ifndef XXLJOB_TESTS_TESTING_DRIVEN_HANDLER_H_
#define XXLJOB_TESTS_TESTING_DRIVEN_HANDLER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "tests/testing/recording_result_sink.h"

namespace xxljob::testing {

// Thread-safe. Commands for a run may be given before it starts; they wait
// in its queue. A killed run returns at once (its wait observes the kill).
class DrivenHandler {
 public:
  // The handler to register; `this` must outlive the registry's use of it.
  JobHandler AsHandler() {
    return JobHandler{[this](RunContext& ctx) { Execute(ctx); }, nullptr,
                      nullptr};
  }

  // Run `log_id` writes `line` (one RunContext::Log call) when it gets to
  // this command.
  void Log(int64_t log_id, std::string line) {
    absl::MutexLock lock(&mu_);
    queues_[log_id].push_back(Command{false, std::move(line), 0});
  }
  // Run `log_id` sets its result and returns when it gets to this command.
  void End(int64_t log_id, int code = kHandleCodeSuccess,
           std::string msg = "") {
    absl::MutexLock lock(&mu_);
    queues_[log_id].push_back(Command{true, std::move(msg), code});
  }

  // Waits until run `log_id` has started executing. False on timeout.
  bool WaitStarted(int64_t log_id, absl::Duration timeout = kWaitTimeout) {
    absl::MutexLock lock(&mu_);
    auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return started_.contains(log_id);
    };
    return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
  }

  // When run `log_id` began writing each of its Log() lines, in order:
  // taken just before the write, so "write to client" latencies measured
  // from it include the whole path through the executor.
  std::vector<absl::Time> write_times(int64_t log_id) const {
    absl::MutexLock lock(&mu_);
    auto it = write_times_.find(log_id);
    return it == write_times_.end() ? std::vector<absl::Time>() : it->second;
  }

 private:
  struct Command {
    bool end = false;
    std::string text;  // The line, or the result message.
    int code = 0;
  };

  void Execute(RunContext& ctx) {
    const int64_t id = ctx.log_id();
    // A kill wakes the wait below. The callback runs under the
    // cancellation's lock and only takes `mu_`, which is never held while
    // calling into the cancellation.
    const Cancellation::CallbackId callback =
        ctx.cancellation().AddCallback([this, id] {
          absl::MutexLock lock(&mu_);
          killed_.insert(id);
        });
    {
      absl::MutexLock lock(&mu_);
      started_.insert(id);
    }
    for (;;) {
      Command command;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !queues_[id].empty() || killed_.contains(id);
        };
        mu_.Await(absl::Condition(&ready));
        if (queues_[id].empty()) break;  // Killed.
        command = std::move(queues_[id].front());
        queues_[id].pop_front();
        if (!command.end) write_times_[id].push_back(absl::Now());
      }
      if (command.end) {
        ctx.SetResult(command.code, command.text);
        break;
      }
      ctx.Log(command.text);
    }
    ctx.cancellation().RemoveCallback(callback);
  }

  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, std::deque<Command>> queues_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int64_t> started_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int64_t> killed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, std::vector<absl::Time>> write_times_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_DRIVEN_HANDLER_H_

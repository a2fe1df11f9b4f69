// Log-growth notifications: how a follower of a run's log (TailLog) learns,
// without polling, that the log may have grown or that the run has ended.
// The executor notifies a run's watchers after every append to its log and
// once more after the run has finished (when it is no longer active); a
// watcher re-reads the log when told. Notifications carry no data and may be
// spurious, so a watcher only ever re-reads and never trusts a count.
#ifndef XXLJOB_SERVER_CORE_LOG_WATCH_H_
#define XXLJOB_SERVER_CORE_LOG_WATCH_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "handlers/run_context.h"

namespace xxljob {

// Called when a watched log may have changed. It runs on the writing thread
// (a job's worker, or whichever thread finished or discarded the run) while
// the registry holds a lock, which is what lets Unwatch() promise that no
// call is in progress once it returns. So it must return quickly, must not
// block, and must not call Watch() or Unwatch() (that would deadlock). A
// follower sets a flag and schedules its read on a thread of its own.
using LogWatchCallback = absl::AnyInvocable<void()>;

// Names one Watch() for Unwatch(). A default handle names none.
struct LogWatchHandle {
  int64_t log_id = 0;
  uint64_t id = 0;
};

// The watchers of every log, by log id.
//
// Thread-safe. Notify() for a log nobody watches costs one atomic load, so
// writers pay next to nothing when nobody follows; a lock is sharded by log
// id, so unrelated logs rarely share one.
class LogWatchRegistry {
 public:
  LogWatchRegistry() = default;
  LogWatchRegistry(const LogWatchRegistry&) = delete;
  LogWatchRegistry& operator=(const LogWatchRegistry&) = delete;

  // Calls `on_change` on every Notify(log_id) from now until Unwatch().
  // Several watchers of one log are fine.
  LogWatchHandle Watch(int64_t log_id, LogWatchCallback on_change);

  // Stops the watch. When it returns, the callback is not running and will
  // not be called again, so its captures may be destroyed. A default or
  // already removed handle is ignored. REQUIRES: not called from a callback.
  void Unwatch(const LogWatchHandle& handle);

  // Calls every callback watching `log_id`, on this thread, before
  // returning. Never blocks beyond the callbacks themselves.
  void Notify(int64_t log_id);

  // Watches in place now (tests, metrics).
  int64_t watch_count() const { return watch_count_.load(); }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<int64_t,
                        std::vector<std::pair<uint64_t, LogWatchCallback>>>
        watchers ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(int64_t log_id) {
    return shards_[static_cast<uint64_t>(log_id) % kShards];
  }

  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> next_id_{1};
  // Sequentially consistent with the watch itself: a writer that reads 0
  // here wrote before the first watcher of any log registered, so that
  // watcher's first read, made after Watch(), sees the write.
  std::atomic<int64_t> watch_count_{0};
};

// A RunLogSink that forwards to the run's real sink and then notifies the
// log's watchers, so that every way a run writes its log (context lines,
// script output, the executor's start and end lines) wakes its followers.
//
// Thread-safe if `target` is. Owns nothing: `target` and `watchers` must
// outlive it.
class WatchedLogSink : public RunLogSink {
 public:
  WatchedLogSink(RunLogSink* target, LogWatchRegistry* watchers, int64_t log_id)
      : target_(target), watchers_(watchers), log_id_(log_id) {}
  WatchedLogSink(const WatchedLogSink&) = delete;
  WatchedLogSink& operator=(const WatchedLogSink&) = delete;

  void Log(absl::string_view message) override {
    target_->Log(message);
    watchers_->Notify(log_id_);
  }
  void Output(absl::string_view chunk) override {
    target_->Output(chunk);
    watchers_->Notify(log_id_);
  }
  void FlushOutput() override {
    target_->FlushOutput();
    watchers_->Notify(log_id_);
  }

 private:
  RunLogSink* const target_;
  LogWatchRegistry* const watchers_;
  const int64_t log_id_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_LOG_WATCH_H_

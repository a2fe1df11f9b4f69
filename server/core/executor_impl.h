// Internal to the executor core: the declaration of Executor::Impl, shared
// by the files that implement it:
//   executor.cc            admission (Run, Kill, IdleBeat), logs, lookups,
//                          and the Executor facade;
//   executor_run.cc        executing runs and reporting their results;
//   executor_lifecycle.cc  construction, shutdown, idle reclaim, retention.
#ifndef XXLJOB_SERVER_CORE_EXECUTOR_IMPL_H_
#define XXLJOB_SERVER_CORE_EXECUTOR_IMPL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "handlers/script_handler.h"
#include "server/core/executor.h"
#include "server/core/job_thread.h"
#include "server/core/recent_results.h"
#include "server/core/worker_pool.h"

namespace xxljob {
namespace executor_internal {

// Shards of the job table and of the active log ids: unrelated job ids
// rarely share a lock, and never hold one while a run executes.
constexpr size_t kShards = 64;

// Reasons, as the reference executor words them.
constexpr char kReasonKill[] = "scheduling center kill job";
constexpr char kReasonCoverEarly[] = "block strategy effect: Cover Early";
constexpr char kReasonHandlerChange[] = "change jobhandler or glue type";
constexpr char kReasonShutdown[] = "executor shutting down";
constexpr char kRunningKilled[] = " [job running, killed]";
constexpr char kQueuedKilled[] =
    " [job not executed, in the job queue, killed]";
constexpr char kDraining[] = "executor is shutting down";

// The cause a kill or replacement reason stands for (one of the reasons
// above; anything else is kFailed).
RunCause CauseOfReason(absl::string_view reason);

// A result of `t` with `code`, `msg` and `cause`, naming what ran.
RunResult ResultOf(const Trigger& t, int code, std::string msg, RunCause cause);

// Runs the destroy of each handler (one call per ended job thread).
void DestroyAll(const std::vector<HandlerPtr>& handlers);

inline std::string LogPrefix(const Trigger& t) {
  return absl::StrCat("[job ", t.job_id, " log ", t.log_id, "] ");
}

}  // namespace executor_internal

class Executor::Impl {
 public:
  Impl(ExecutorOptions options, const HandlerRegistry* registry,
       ResultSink* sink);
  ~Impl();

  absl::Status Run(Trigger trigger);
  absl::Status IdleBeat(int64_t job_id) const;
  absl::StatusOr<std::string> Kill(int64_t job_id, int64_t log_id);
  absl::StatusOr<LogRead> ReadLog(int64_t log_date_time, int64_t log_id,
                                  int32_t from_line_num,
                                  size_t max_bytes) const;
  Load load() const {
    return {job_threads_.load(), running_.load(), queued_.load(),
            pool_.threads(), draining_.load()};
  }
  // For followers of a run's log (TailLog); see executor.h.
  LogWatchHandle WatchLog(int64_t log_id, LogWatchCallback on_change) {
    return log_watchers_.Watch(log_id, std::move(on_change));
  }
  void UnwatchLog(const LogWatchHandle& handle) {
    log_watchers_.Unwatch(handle);
  }
  bool IsRunActive(int64_t log_id) const { return IsActive(log_id); }
  std::optional<RunResult> RecentResult(int64_t log_id) const {
    return recent_results_.Find(log_id);
  }
  void Drain() { draining_.store(true); }
  void Shutdown(absl::Duration grace);
  const ExecutorOptions& options() const { return options_; }

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<int64_t, std::shared_ptr<JobThread>> jobs
        ABSL_GUARDED_BY(mu);
  };
  // Where a reserved log id's run is.
  enum class RunState {
    kActive,    // Queued or running: its log may still grow.
    kFinished,  // Its log is complete; its result is not yet reported.
  };
  struct LogIdShard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<int64_t, RunState> runs ABSL_GUARDED_BY(mu);
  };

  Shard& ShardOf(int64_t job_id) const {
    return shards_[static_cast<uint64_t>(job_id) % executor_internal::kShards];
  }
  LogIdShard& LogIdShardOf(int64_t log_id) const {
    return log_ids_[static_cast<uint64_t>(log_id) % executor_internal::kShards];
  }
  std::shared_ptr<JobThread> FindJob(int64_t job_id) const;
  // Marks `log_id` queued-or-running; false if it is already reserved.
  bool ReserveLogId(int64_t log_id);
  // The run has ended (its log is complete) but keeps its reservation.
  void MarkFinished(int64_t log_id);
  void ReleaseLogId(int64_t log_id);
  // Queued or running: its log may still grow.
  bool IsActive(int64_t log_id) const;

  absl::StatusOr<HandlerPtr> ResolveHandler(const Trigger& t) const;
  // What admitting a trigger did to the runs before it.
  struct Replaced {
    // Why they were replaced (cover early, handler change); empty: they
    // were not, and `discarded` is empty.
    absl::string_view reason;
    // The queued runs it displaced; the running one was cancelled.
    std::vector<QueuedRun> discarded;
  };
  // Applies the block strategy and queues `run` on `job`, replacing what
  // the strategy says. On error nothing changed.
  absl::StatusOr<Replaced> AdmitLocked(JobThread& job, QueuedRun run)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu);

  // Removes `job` from its shard if it is still there and was never used
  // (a job thread made for a trigger that was then refused).
  void ForgetIfIdle(const std::shared_ptr<JobThread>& job);

  // The pool task that owns `job`: runs its queue until empty.
  void Work(const std::shared_ptr<JobThread>& job);
  RunResult Execute(JobThread& job, const QueuedRun& run,
                    const Cancellation& cancel);
  // Runs destroy of the handler initialized last on `job` if it differs
  // from `handler`, then init of `handler`. Error: init's.
  absl::Status PrepareHandler(JobThread& job, const HandlerPtr& handler);
  void Finish(const RunResult& result);
  void ReportNotExecuted(std::vector<QueuedRun> runs, absl::string_view reason);

  // Run and Kill calls in flight; Shutdown waits them out once draining.
  bool EnterCall();
  void ExitCall();
  // Wakes AwaitZero() waiters after a counter dropped to zero: taking and
  // releasing the mutex makes them re-evaluate their condition.
  void WakeZeroWaiters() { absl::MutexLock lock(&quiet_mu_); }
  bool AwaitZero(const std::atomic<int64_t>& counter, absl::Time deadline);

  void JanitorLoop();
  void ReclaimIdle(absl::Time now);
  // A snapshot of every job thread.
  std::vector<std::shared_ptr<JobThread>> AllJobs() const;

  const ExecutorOptions options_;
  const HandlerRegistry* const registry_;
  ResultSink* const sink_;
  // Runs glue jobs; null unless options_.enable_scripts.
  const std::shared_ptr<const ScriptEngine> scripts_;
  mutable std::array<Shard, executor_internal::kShards> shards_;
  mutable std::array<LogIdShard, executor_internal::kShards> log_ids_;
  // Before the pool: its threads notify and record until it is shut down.
  LogWatchRegistry log_watchers_;
  RecentResults recent_results_;
  std::atomic<int64_t> job_threads_{0};
  std::atomic<int64_t> running_{0};
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> calls_{0};
  std::atomic<bool> draining_{false};
  absl::Mutex quiet_mu_;
  WorkerPool pool_;

  absl::Mutex janitor_mu_;
  bool stop_janitor_ ABSL_GUARDED_BY(janitor_mu_) = false;
  std::thread janitor_;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_EXECUTOR_IMPL_H_

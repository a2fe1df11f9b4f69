#include "server/core/executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "handlers/script_handler.h"
#include "server/core/job_thread.h"
#include "server/core/recent_results.h"
#include "server/core/utf8.h"
#include "server/core/worker_pool.h"

namespace xxljob {
namespace {

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

class NullLogSink : public RunLogSink {
 public:
  void Log(absl::string_view) override {}
};

// Runs the destroy of each handler (one call per ended job thread).
void DestroyAll(const std::vector<HandlerPtr>& handlers) {
  for (const HandlerPtr& handler : handlers) {
    try {
      if (handler->destroy) handler->destroy();
    } catch (...) {
      LOG(ERROR) << "job handler destroy threw";
    }
  }
}

std::string LogPrefix(const Trigger& t) {
  return absl::StrCat("[job ", t.job_id, " log ", t.log_id, "] ");
}

// Null unless scripts are enabled: a disabled executor never becomes a
// subreaper nor touches <log_path>/glue.
std::shared_ptr<const ScriptEngine> NewScriptEngine(
    const ExecutorOptions& options) {
  if (!options.enable_scripts) return nullptr;
  ProcessRunnerOptions runner;
  runner.kill_grace = options.script_kill_grace;
  return std::make_shared<const ScriptEngine>(
      ScriptEngineOptions{options.log_path + "/glue", ""},
      NewProcessRunner(runner));
}

}  // namespace

class Executor::Impl {
 public:
  Impl(ExecutorOptions options, const HandlerRegistry* registry,
       ResultSink* sink)
      : options_(std::move(options)),
        registry_(registry),
        sink_(sink),
        scripts_(NewScriptEngine(options_)),
        pool_(options_.max_running, options_.worker_keepalive) {
    janitor_ = std::thread([this] { JanitorLoop(); });
  }
  ~Impl() { Shutdown(absl::ZeroDuration()); }

  absl::Status Run(Trigger trigger);
  absl::Status IdleBeat(int64_t job_id) const;
  absl::StatusOr<std::string> Kill(int64_t job_id, int64_t log_id);
  absl::StatusOr<LogRead> ReadLog(int64_t log_date_time, int64_t log_id,
                                  int32_t from_line_num) const;
  Load load() const {
    return {job_threads_.load(), running_.load(), queued_.load()};
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
  // Log ids queued or running (value false), or finished but not yet
  // reported (true).
  struct LogIdShard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<int64_t, bool> ids ABSL_GUARDED_BY(mu);
  };

  Shard& ShardOf(int64_t job_id) const {
    return shards_[static_cast<uint64_t>(job_id) % kShards];
  }
  LogIdShard& LogIdShardOf(int64_t log_id) const {
    return log_ids_[static_cast<uint64_t>(log_id) % kShards];
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
  // Applies the block strategy and queues `run` on `job`. On error nothing
  // changed. `*discarded` and `*reason` receive runs replaced by it.
  absl::Status AdmitLocked(JobThread& job, QueuedRun run,
                           std::vector<QueuedRun>* discarded,
                           const char** reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(job.mu);

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
  // Wakes AwaitZero() waiters after a counter dropped to zero.
  void Poke() { absl::MutexLock lock(&quiet_mu_); }
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
  mutable std::array<Shard, kShards> shards_;
  mutable std::array<LogIdShard, kShards> log_ids_;
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

// ---------------------------------------------------------------- admission

absl::StatusOr<HandlerPtr> Executor::Impl::ResolveHandler(
    const Trigger& t) const {
  switch (t.glue_type) {
    case GlueType::kBean: {
      const JobHandler* handler = registry_->Find(t.handler);
      if (handler == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("job handler [", t.handler, "] not found."));
      }
      // The registry owns bean handlers: an aliasing, non-owning pointer.
      return HandlerPtr(HandlerPtr(), handler);
    }
    case GlueType::kGroovy:
      return absl::UnimplementedError(
          "GLUE_GROOVY is not supported by this executor");
    default:
      if (!options_.enable_scripts) {
        return absl::FailedPreconditionError(
            "script jobs are disabled on this executor");
      }
      const ScriptLanguage* language =
          FindScriptLanguage(GlueTypeName(t.glue_type));
      if (language == nullptr) {
        return absl::UnimplementedError(absl::StrCat(
            GlueTypeName(t.glue_type), " is not supported by this executor"));
      }
      // One handler per trigger: the job thread compares HandlerKeys, not
      // handlers, and the script file is written only for a new version.
      return HandlerPtr(NewScriptHandler(
          scripts_,
          ScriptVersion{t.job_id, language, t.glue_updatetime, t.glue_source}));
  }
}

absl::Status Executor::Impl::Run(Trigger trigger) {
  if (!EnterCall()) return absl::UnavailableError(kDraining);
  absl::Cleanup exit_call = [this] { ExitCall(); };

  absl::StatusOr<HandlerPtr> handler = ResolveHandler(trigger);
  if (!handler.ok()) return handler.status();
  const int64_t log_id = trigger.log_id;
  if (!ReserveLogId(log_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("repeat trigger job, logId:", log_id));
  }
  absl::Cleanup release = [&] { ReleaseLogId(log_id); };

  Shard& shard = ShardOf(trigger.job_id);
  std::shared_ptr<JobThread> job;
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.jobs.find(trigger.job_id);
    if (it == shard.jobs.end()) {
      if (job_threads_.fetch_add(1) >= options_.max_job_threads) {
        job_threads_.fetch_sub(1);
        LOG_EVERY_N(WARNING, 100)
            << "job thread bound reached (" << options_.max_job_threads << ")";
        return absl::ResourceExhaustedError(
            absl::StrCat("too many job threads: ", options_.max_job_threads,
                         " are alive (max_job_threads)"));
      }
      it = shard.jobs
               .emplace(trigger.job_id,
                        std::make_shared<JobThread>(trigger.job_id))
               .first;
    }
    job = it->second;
    // Take the job's lock before dropping the shard's: from here on the
    // janitor can't reclaim the job thread under us (it needs both).
    job->mu.Lock();
  }

  std::vector<QueuedRun> discarded;
  const char* reason = nullptr;
  absl::Status status =
      AdmitLocked(*job, QueuedRun{std::move(trigger), *std::move(handler)},
                  &discarded, &reason);
  if (status.ok()) {
    std::move(release).Cancel();
    if (!job->scheduled) {
      job->scheduled = true;
      // Submitted under the job's lock so that Shutdown, which sweeps every
      // job under its lock before stopping the pool, never misses it.
      pool_.Submit([this, job] { Work(job); });
    }
  }
  job->mu.Unlock();
  ReportNotExecuted(std::move(discarded), reason == nullptr ? "" : reason);
  return status;
}

absl::Status Executor::Impl::AdmitLocked(JobThread& job, QueuedRun run,
                                         std::vector<QueuedRun>* discarded,
                                         const char** reason) {
  const Trigger& t = run.trigger;
  const HandlerKey key = HandlerKey::Of(t);
  if (job.busy()) {
    if (key != job.key) {
      *reason = kReasonHandlerChange;
    } else if (t.block_strategy == BlockStrategy::kDiscardLater) {
      return absl::FailedPreconditionError(
          "block strategy effect: Discard Later");
    } else if (t.block_strategy == BlockStrategy::kCoverEarly) {
      *reason = kReasonCoverEarly;
    }
  }
  if (*reason != nullptr) {
    *discarded = job.TakeQueueLocked();
    queued_.fetch_sub(static_cast<int64_t>(discarded->size()));
    if (job.running_cancel != nullptr) job.running_cancel->Cancel(*reason);
  } else if (static_cast<int>(job.queue.size()) >= options_.max_queue_depth) {
    LOG_EVERY_N(WARNING, 100) << LogPrefix(t) << "queue bound reached ("
                              << options_.max_queue_depth << ")";
    return absl::ResourceExhaustedError(
        absl::StrCat("job ", t.job_id, " already has ", job.queue.size(),
                     " triggers queued (max_queue_depth)"));
  }
  job.key = key;
  // Called under the job's lock so that Accepted precedes Finished.
  sink_->Accepted(t);
  VLOG(1) << LogPrefix(t) << "accepted";
  job.queue.push_back(std::move(run));
  queued_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status Executor::Impl::IdleBeat(int64_t job_id) const {
  std::shared_ptr<JobThread> job = FindJob(job_id);
  if (job == nullptr) return absl::OkStatus();
  absl::MutexLock lock(&job->mu);
  if (job->busy()) {
    return absl::FailedPreconditionError(
        "job thread is running or has trigger queue");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Executor::Impl::Kill(int64_t job_id,
                                                 int64_t log_id) {
  if (!EnterCall()) return absl::UnavailableError(kDraining);
  absl::Cleanup exit_call = [this] { ExitCall(); };

  std::shared_ptr<JobThread> job = FindJob(job_id);
  if (job == nullptr) {
    if (log_id != 0) {
      return absl::NotFoundError(
          absl::StrCat("no run with log id ", log_id, " in job ", job_id));
    }
    return std::string("job thread already killed");
  }
  std::vector<QueuedRun> discarded;
  bool running = false;
  {
    absl::MutexLock lock(&job->mu);
    if (log_id == 0) {
      discarded = job->TakeQueueLocked();
      queued_.fetch_sub(static_cast<int64_t>(discarded.size()));
      running = job->running_cancel != nullptr;
      if (running) job->running_cancel->Cancel(kReasonKill);
    } else if (job->running_log_id == log_id) {
      running = true;
      job->running_cancel->Cancel(kReasonKill);
    } else {
      auto it = std::find_if(
          job->queue.begin(), job->queue.end(),
          [&](const QueuedRun& r) { return r.trigger.log_id == log_id; });
      if (it == job->queue.end()) {
        return absl::NotFoundError(
            absl::StrCat("no run with log id ", log_id, " in job ", job_id));
      }
      discarded.push_back(std::move(*it));
      job->queue.erase(it);
      queued_.fetch_sub(1);
    }
  }
  const size_t queued = discarded.size();
  ReportNotExecuted(std::move(discarded), kReasonKill);
  return absl::StrCat("kill requested: ", running ? 1 : 0, " running, ", queued,
                      " queued");
}

// ---------------------------------------------------------------- execution

void Executor::Impl::Work(const std::shared_ptr<JobThread>& job) {
  while (true) {
    QueuedRun run;
    std::shared_ptr<Cancellation> cancel;
    {
      absl::MutexLock lock(&job->mu);
      if (job->queue.empty()) {
        job->scheduled = false;
        job->idle_since = absl::Now();
        return;
      }
      run = std::move(job->queue.front());
      job->queue.pop_front();
      queued_.fetch_sub(1);
      // The timeout counts from the start of execution, not of queueing.
      const absl::Duration timeout = run.trigger.timeout;
      cancel = std::make_shared<Cancellation>(timeout > absl::ZeroDuration()
                                                  ? absl::Now() + timeout
                                                  : absl::InfiniteFuture());
      job->running_log_id = run.trigger.log_id;
      job->running_cancel = cancel;
      running_.fetch_add(1);
    }
    RunResult result = Execute(*job, run, *cancel);
    {
      absl::MutexLock lock(&job->mu);
      job->running_log_id = 0;
      job->running_cancel.reset();
    }
    // Stop counting the run before reporting it: whoever sees the result
    // sees the load without it.
    if (running_.fetch_sub(1) == 1 && draining_.load()) Poke();
    Finish(result);
  }
}

RunResult Executor::Impl::Execute(JobThread& job, const QueuedRun& run,
                                  const Cancellation& cancel) {
  const Trigger& t = run.trigger;
  NullLogSink null_log;
  absl::StatusOr<std::unique_ptr<RunLogWriter>> writer =
      RunLogWriter::Open(options_.log_path, t.log_date_time, t.log_id);
  if (!writer.ok()) {
    LOG_EVERY_N(ERROR, 100)
        << LogPrefix(t) << "cannot open run log: " << writer.status();
  }
  // Every line of the run, whoever writes it, wakes the log's followers.
  WatchedLogSink log(
      writer.ok() ? static_cast<RunLogSink*>(writer->get()) : &null_log,
      &log_watchers_, t.log_id);
  log.Log(
      absl::StrCat("----------- xxl-executor job execute start "
                   "-----------\n----------- Param: ",
                   t.params));
  VLOG(1) << LogPrefix(t) << "start";

  int code = kHandleCodeSuccess;
  std::string msg;
  if (absl::Status init = PrepareHandler(job, run.handler); !init.ok()) {
    code = kHandleCodeFail;
    msg = absl::StrCat("job handler init failed: ", init.message());
  } else {
    RunContext ctx(
        RunInfo{t.job_id, t.log_id, t.params, t.shard_index, t.shard_total},
        &log, &cancel);
    try {
      run.handler->execute(ctx);
      code = ctx.handle_code();
      msg = ctx.handle_msg();
    } catch (const std::exception& e) {
      code = kHandleCodeFail;
      msg = absl::StrCat("job handler threw: ", e.what());
    } catch (...) {
      code = kHandleCodeFail;
      msg = "job handler threw a non-standard exception";
    }
    // A cancelled run reports why it was cancelled, whatever it returned.
    switch (cancel.cause()) {
      case CancelCause::kKilled:
        code = kHandleCodeFail;
        msg = absl::StrCat(cancel.reason(), kRunningKilled);
        break;
      case CancelCause::kTimedOut:
        code = kHandleCodeTimeout;
        msg = "job execute timeout";
        break;
      case CancelCause::kNone:
        break;
    }
  }
  msg = SanitizeUtf8(TruncateUtf8(msg, kMaxHandleMsgChars));
  log.Log(
      absl::StrCat("----------- xxl-executor job execute end(finish) "
                   "-----------\n----------- Result: handleCode=",
                   code, ", handleMsg = ", msg));
  VLOG(1) << LogPrefix(t) << "end " << code;
  return RunResult{t.job_id, t.log_id, t.log_date_time, code, std::move(msg)};
}

absl::Status Executor::Impl::PrepareHandler(JobThread& job,
                                            const HandlerPtr& handler) {
  HandlerPtr old;
  {
    absl::MutexLock lock(&job.mu);
    old = job.initialized;
    if (old == handler) return absl::OkStatus();
    job.initialized.reset();
  }
  // Only the owning pool task gets here, so nothing races these calls.
  if (old != nullptr) DestroyAll({old});
  absl::Status status;
  try {
    if (handler->init) status = handler->init();
  } catch (const std::exception& e) {
    status = absl::InternalError(e.what());
  } catch (...) {
    status = absl::InternalError("non-standard exception");
  }
  if (status.ok()) {
    absl::MutexLock lock(&job.mu);
    job.initialized = handler;
  }
  return status;
}

void Executor::Impl::Finish(const RunResult& result) {
  // Remembered before the run stops counting as active: a follower that
  // sees it finished finds its result.
  recent_results_.Add(result);
  // The log is complete: whoever sees the result must see the log's end.
  MarkFinished(result.log_id);
  // Wakes followers waiting for the end (the last line woke them before the
  // run counted as finished).
  log_watchers_.Notify(result.log_id);
  // Reported before the reservation goes: a retry of the same trigger is
  // refused as a repeat until the sink has the result, so the journal never
  // pairs this result with the retry.
  sink_->Finished(result);
  ReleaseLogId(result.log_id);
}

void Executor::Impl::ReportNotExecuted(std::vector<QueuedRun> runs,
                                       absl::string_view reason) {
  for (QueuedRun& run : runs) {
    const Trigger& t = run.trigger;
    RunResult result{t.job_id, t.log_id, t.log_date_time, kHandleCodeFail,
                     absl::StrCat(reason, kQueuedKilled)};
    // Leave a log, so that Log for this run explains what became of it.
    if (auto writer =
            RunLogWriter::Open(options_.log_path, t.log_date_time, t.log_id);
        writer.ok()) {
      (*writer)->Log(result.handle_msg);
    }
    VLOG(1) << LogPrefix(t) << result.handle_msg;
    Finish(result);
  }
}

// ------------------------------------------------------------ logs, lookups

absl::StatusOr<Executor::LogRead> Executor::Impl::ReadLog(
    int64_t log_date_time, int64_t log_id, int32_t from_line_num) const {
  // Checked before reading: a run found finished here has written its last
  // line already.
  const bool finished = !IsActive(log_id);
  absl::StatusOr<LogPage> page =
      ReadLogPage(options_.log_path, log_date_time, log_id, from_line_num,
                  finished, options_.log_page);
  if (!page.ok()) return page.status();
  page->content = SanitizeUtf8(page->content);
  return LogRead{*std::move(page), finished && page->at_end_of_file};
}

std::shared_ptr<JobThread> Executor::Impl::FindJob(int64_t job_id) const {
  Shard& shard = ShardOf(job_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.jobs.find(job_id);
  return it == shard.jobs.end() ? nullptr : it->second;
}

bool Executor::Impl::ReserveLogId(int64_t log_id) {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  return shard.ids.emplace(log_id, false).second;
}

void Executor::Impl::MarkFinished(int64_t log_id) {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  shard.ids[log_id] = true;
}

void Executor::Impl::ReleaseLogId(int64_t log_id) {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  shard.ids.erase(log_id);
}

bool Executor::Impl::IsActive(int64_t log_id) const {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.ids.find(log_id);
  return it != shard.ids.end() && !it->second;
}

// ------------------------------------------------------ lifecycle, janitor

bool Executor::Impl::EnterCall() {
  calls_.fetch_add(1);
  // Paired with Shutdown's store-then-wait: either this call sees draining_
  // or Shutdown sees the call counted.
  if (draining_.load()) {
    ExitCall();
    return false;
  }
  return true;
}

void Executor::Impl::ExitCall() {
  if (calls_.fetch_sub(1) == 1 && draining_.load()) Poke();
}

bool Executor::Impl::AwaitZero(const std::atomic<int64_t>& counter,
                               absl::Time deadline) {
  absl::MutexLock lock(&quiet_mu_);
  auto zero = [&counter] { return counter.load() == 0; };
  return quiet_mu_.AwaitWithDeadline(absl::Condition(&zero), deadline);
}

std::vector<std::shared_ptr<JobThread>> Executor::Impl::AllJobs() const {
  std::vector<std::shared_ptr<JobThread>> jobs;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& entry : shard.jobs) jobs.push_back(entry.second);
  }
  return jobs;
}

void Executor::Impl::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  draining_.store(true);
  AwaitZero(calls_, absl::InfiniteFuture());

  // No Run call is in flight and none will start, so the job table can only
  // shrink from here on. Queued triggers are not executed.
  const std::vector<std::shared_ptr<JobThread>> jobs = AllJobs();
  std::vector<QueuedRun> discarded;
  for (const auto& job : jobs) {
    absl::MutexLock job_lock(&job->mu);
    for (QueuedRun& run : job->TakeQueueLocked()) {
      discarded.push_back(std::move(run));
      queued_.fetch_sub(1);
    }
  }
  if (!discarded.empty()) {
    LOG(INFO) << "shutdown: " << discarded.size()
              << " queued trigger(s) reported as not executed";
  }
  ReportNotExecuted(std::move(discarded), kReasonShutdown);

  // Running runs get the grace period, then are killed.
  if (!AwaitZero(running_, absl::Now() + grace)) {
    LOG(INFO) << "shutdown: killing " << running_.load()
              << " run(s) still running after the grace period";
    for (const auto& job : jobs) {
      absl::MutexLock job_lock(&job->mu);
      if (job->running_cancel != nullptr) {
        job->running_cancel->Cancel(kReasonShutdown);
      }
    }
    AwaitZero(running_, absl::InfiniteFuture());
  }

  {
    absl::MutexLock janitor_lock(&janitor_mu_);
    stop_janitor_ = true;
  }
  janitor_.join();
  pool_.Shutdown();

  // Job threads end: destroy what they initialized.
  std::vector<HandlerPtr> to_destroy;
  for (const auto& job : AllJobs()) {
    absl::MutexLock job_lock(&job->mu);
    if (job->initialized != nullptr) to_destroy.push_back(job->initialized);
    job->initialized.reset();
  }
  DestroyAll(to_destroy);
}

void Executor::Impl::JanitorLoop() {
  const absl::Duration tick = std::clamp(
      options_.idle_timeout / 4, absl::Milliseconds(10), absl::Seconds(1));
  absl::Time next_retention = absl::Now() + absl::Hours(24);
  absl::MutexLock lock(&janitor_mu_);
  while (!janitor_mu_.AwaitWithTimeout(absl::Condition(&stop_janitor_), tick)) {
    janitor_mu_.Unlock();
    const absl::Time now = absl::Now();
    ReclaimIdle(now);
    if (now >= next_retention) {
      RemoveExpiredLogDirs(options_.log_path, options_.log_retention_days, now);
      next_retention = now + absl::Hours(24);
    }
    janitor_mu_.Lock();
  }
}

void Executor::Impl::ReclaimIdle(absl::Time now) {
  std::vector<HandlerPtr> to_destroy;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    absl::erase_if(shard.jobs, [&](const auto& entry) {
      JobThread& job = *entry.second;
      absl::MutexLock job_lock(&job.mu);
      if (!job.idle() || now - job.idle_since < options_.idle_timeout) {
        return false;
      }
      if (job.initialized != nullptr) to_destroy.push_back(job.initialized);
      job.initialized.reset();
      job_threads_.fetch_sub(1);
      VLOG(1) << "[job " << job.job_id << "] job thread reclaimed (idle)";
      return true;
    });
  }
  DestroyAll(to_destroy);
}

// ------------------------------------------------------------ Executor

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(
    ExecutorOptions options, const HandlerRegistry* registry,
    ResultSink* sink) {
  if (absl::Status s = ValidateExecutorOptions(options); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(options.log_path, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create data directory ", options.log_path, ": ", ec.message()));
  }
  // Prove the directory is writable now rather than at the first run.
  const std::string probe = options.log_path + "/.write-probe";
  const int fd =
      ::open(probe.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", options.log_path,
                     " is not writable: ", std::strerror(errno)));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  RemoveExpiredLogDirs(options.log_path, options.log_retention_days,
                       absl::Now());
  return std::unique_ptr<Executor>(
      new Executor(std::make_unique<Impl>(std::move(options), registry, sink)));
}

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() = default;

absl::Status Executor::Run(Trigger trigger) {
  return impl_->Run(std::move(trigger));
}
absl::Status Executor::IdleBeat(int64_t job_id) const {
  return impl_->IdleBeat(job_id);
}
absl::StatusOr<std::string> Executor::Kill(int64_t job_id, int64_t log_id) {
  return impl_->Kill(job_id, log_id);
}
absl::StatusOr<Executor::LogRead> Executor::ReadLog(
    int64_t log_date_time, int64_t log_id, int32_t from_line_num) const {
  return impl_->ReadLog(log_date_time, log_id, from_line_num);
}
Executor::Load Executor::load() const { return impl_->load(); }
LogWatchHandle Executor::WatchLog(int64_t log_id, LogWatchCallback on_change) {
  return impl_->WatchLog(log_id, std::move(on_change));
}
void Executor::UnwatchLog(const LogWatchHandle& handle) {
  impl_->UnwatchLog(handle);
}
bool Executor::IsActive(int64_t log_id) const {
  return impl_->IsRunActive(log_id);
}
std::optional<RunResult> Executor::RecentResult(int64_t log_id) const {
  return impl_->RecentResult(log_id);
}
void Executor::Drain() { impl_->Drain(); }
void Executor::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }
const ExecutorOptions& Executor::options() const { return impl_->options(); }

}  // namespace xxljob

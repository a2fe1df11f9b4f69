#include "server/core/executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "common/utf8.h"
#include "glog/logging.h"
#include "server/core/executor_impl.h"

namespace xxljob {

using executor_internal::kDraining;
using executor_internal::kReasonCoverEarly;
using executor_internal::kReasonHandlerChange;
using executor_internal::kReasonKill;
using executor_internal::kShards;
using executor_internal::LogPrefix;

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
  bool created = false;
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.jobs.find(trigger.job_id);
    if (it == shard.jobs.end()) {
      created = true;
      if (job_threads_.fetch_add(1) >= options_.max_job_threads) {
        job_threads_.fetch_sub(1);
        LOG_EVERY_N(WARNING, 100)
            << "job thread bound reached (" << options_.max_job_threads << ")";
        return absl::ResourceExhaustedError(absl::StrCat(
            "too many job threads: ", options_.max_job_threads,
            " are alive (max_job_threads=", options_.max_job_threads, ")"));
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

  absl::StatusOr<Replaced> admitted = AdmitLocked(
      *job, QueuedRun{std::move(trigger), *std::move(handler), absl::Now()});
  if (admitted.ok()) {
    std::move(release).Cancel();
    if (!job->scheduled) {
      job->scheduled = true;
      // Submitted under the job's lock so that Shutdown, which sweeps every
      // job under its lock before stopping the pool, never misses it.
      pool_.Submit([this, job] { Work(job); });
    }
  }
  job->mu.Unlock();
  if (!admitted.ok()) {
    // A refusal leaves nothing behind, not even the job thread made for it.
    if (created) ForgetIfIdle(job);
    return admitted.status();
  }
  ReportNotExecuted(std::move(admitted->discarded), admitted->reason);
  return absl::OkStatus();
}

void Executor::Impl::ForgetIfIdle(const std::shared_ptr<JobThread>& job) {
  Shard& shard = ShardOf(job->job_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.jobs.find(job->job_id);
  if (it == shard.jobs.end() || it->second != job) return;
  absl::MutexLock job_lock(&job->mu);
  // Another trigger may have found it meanwhile; then it is in use.
  if (!job->idle() || job->initialized != nullptr) return;
  shard.jobs.erase(it);
  job_threads_.fetch_sub(1);
}

absl::StatusOr<Executor::Impl::Replaced> Executor::Impl::AdmitLocked(
    JobThread& job, QueuedRun run) {
  const Trigger& t = run.trigger;
  const HandlerKey key = HandlerKey::Of(t);
  // Why the runs before this one are replaced; null: they are not.
  const char* reason = nullptr;
  if (job.busy()) {
    if (key != job.key) {
      reason = kReasonHandlerChange;
    } else if (t.block_strategy == BlockStrategy::kDiscardLater) {
      return absl::FailedPreconditionError(
          "block strategy effect: Discard Later");
    } else if (t.block_strategy == BlockStrategy::kCoverEarly) {
      reason = kReasonCoverEarly;
    }
  }
  if (reason == nullptr &&
      static_cast<int>(job.queue.size()) >= options_.max_queue_depth) {
    LOG_EVERY_N(WARNING, 100) << LogPrefix(t) << "queue bound reached ("
                              << options_.max_queue_depth << ")";
    return absl::ResourceExhaustedError(absl::StrCat(
        "job ", t.job_id, " already has ", job.queue.size(),
        " triggers queued (max_queue_depth=", options_.max_queue_depth, ")"));
  }
  // Recorded before anything changes, so that a trigger the sink can't
  // record (a full disk) is refused with the job as it was: nothing queued,
  // nothing replaced or killed on its behalf. Under the job's lock, so that
  // Accepted precedes Finished and the journal keeps the job's order.
  if (absl::Status recorded = sink_->Accepted(t); !recorded.ok()) {
    // The sink logs the cause (rate-limited); this is per-run detail.
    VLOG(1) << LogPrefix(t) << "refused: " << recorded;
    return recorded;
  }
  Replaced replaced;
  if (reason != nullptr) {
    replaced.reason = reason;
    replaced.discarded = job.TakeQueueLocked();
    queued_.fetch_sub(static_cast<int64_t>(replaced.discarded.size()));
    if (job.running_cancel != nullptr) job.running_cancel->Cancel(reason);
  }
  job.key = key;
  VLOG(1) << LogPrefix(t) << "accepted";
  job.queue.push_back(std::move(run));
  queued_.fetch_add(1);
  return replaced;
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

// ------------------------------------------------------------ logs, lookups

absl::StatusOr<Executor::LogRead> Executor::Impl::ReadLog(
    int64_t log_date_time, int64_t log_id, int32_t from_line_num,
    size_t max_bytes) const {
  // Checked before reading: a run found finished here has written its last
  // line already.
  const bool finished = !IsActive(log_id);
  LogPageLimits limits = options_.log_page;
  if (max_bytes > 0) limits.max_bytes = std::min(limits.max_bytes, max_bytes);
  absl::StatusOr<LogPage> page =
      ReadLogPage(options_.log_path, log_date_time, log_id, from_line_num,
                  finished, limits);
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
  return shard.runs.emplace(log_id, RunState::kActive).second;
}

void Executor::Impl::MarkFinished(int64_t log_id) {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  shard.runs[log_id] = RunState::kFinished;
}

void Executor::Impl::ReleaseLogId(int64_t log_id) {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  shard.runs.erase(log_id);
}

bool Executor::Impl::IsActive(int64_t log_id) const {
  LogIdShard& shard = LogIdShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.runs.find(log_id);
  return it != shard.runs.end() && it->second == RunState::kActive;
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
absl::StatusOr<Executor::LogRead> Executor::ReadLog(int64_t log_date_time,
                                                    int64_t log_id,
                                                    int32_t from_line_num,
                                                    size_t max_bytes) const {
  return impl_->ReadLog(log_date_time, log_id, from_line_num, max_bytes);
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

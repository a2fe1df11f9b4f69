// Construction, shutdown, idle reclaim and log retention of the executor.
#include <algorithm>
#include <utility>

#include "glog/logging.h"
#include "handlers/script_recovery.h"
#include "server/core/executor_impl.h"

namespace xxljob {
namespace {

// Null unless scripts are enabled: a disabled executor never becomes a
// subreaper nor touches <log_path>/glue.
std::shared_ptr<const ScriptEngine> NewScriptEngine(
    const ExecutorOptions& options) {
  if (!options.enable_scripts) return nullptr;
  ProcessRunnerOptions runner;
  runner.kill_grace = options.script_kill_grace;
  ScriptSandbox& sandbox = runner.sandbox;
  if (!options.script_user.empty()) {
    // Validated by Executor::Create: found, and this process may switch.
    absl::StatusOr<ScriptUser> user = ResolveScriptUser(options.script_user);
    CHECK(user.ok()) << user.status();
    sandbox.user = *std::move(user);
  }
  sandbox.limits.cpu = options.script_max_cpu;
  sandbox.limits.memory_bytes = options.script_max_memory_bytes;
  sandbox.limits.processes = options.script_max_processes;
  sandbox.limits.file_bytes = options.script_max_file_bytes;
  sandbox.cgroup = options.script_cgroup;
  sandbox.records_dir = ScriptRunsDir(options.log_path);
  ScriptEngineOptions engine;
  engine.scripts_dir = options.log_path + "/glue";
  if (sandbox.user.has_value()) engine.reader_gid = sandbox.user->gid;
  return std::make_shared<const ScriptEngine>(std::move(engine),
                                              NewProcessRunner(runner));
}

}  // namespace

using executor_internal::DestroyAll;
using executor_internal::kReasonShutdown;

Executor::Impl::Impl(ExecutorOptions options, const HandlerRegistry* registry,
                     ResultSink* sink)
    : options_(std::move(options)),
      registry_(registry),
      sink_(sink),
      scripts_(NewScriptEngine(options_)),
      pool_(options_.max_running, options_.worker_keepalive) {
  janitor_ = std::thread([this] { JanitorLoop(); });
}

Executor::Impl::~Impl() { Shutdown(absl::ZeroDuration()); }

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
  if (calls_.fetch_sub(1) == 1 && draining_.load()) WakeZeroWaiters();
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

}  // namespace xxljob

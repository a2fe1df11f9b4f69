// Executing runs on the worker pool and reporting their results.
#include <exception>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "glog/logging.h"
#include "handlers/log_escape.h"
#include "server/core/capped_log_sink.h"
#include "server/core/executor_impl.h"

namespace xxljob {
namespace executor_internal {

void DestroyAll(const std::vector<HandlerPtr>& handlers) {
  for (const HandlerPtr& handler : handlers) {
    try {
      if (handler->destroy) handler->destroy();
    } catch (...) {
      LOG(ERROR) << "job handler destroy threw";
    }
  }
}

RunCause CauseOfReason(absl::string_view reason) {
  if (reason == kReasonKill) return RunCause::kKilled;
  if (reason == kReasonCoverEarly) return RunCause::kCoverEarly;
  if (reason == kReasonHandlerChange) return RunCause::kHandlerChange;
  if (reason == kReasonShutdown) return RunCause::kShutdown;
  return RunCause::kFailed;
}

RunResult ResultOf(const Trigger& t, int code, std::string msg,
                   RunCause cause) {
  RunResult result{t.job_id, t.log_id, t.log_date_time, code, std::move(msg)};
  result.cause = cause;
  result.glue_type = t.glue_type;
  if (t.glue_type == GlueType::kBean) result.handler = t.handler;
  return result;
}

}  // namespace executor_internal

namespace {

class NullLogSink : public RunLogSink {
 public:
  void Log(absl::string_view) override {}
};

}  // namespace

using executor_internal::CauseOfReason;
using executor_internal::DestroyAll;
using executor_internal::kQueuedKilled;
using executor_internal::kRunningKilled;
using executor_internal::LogPrefix;
using executor_internal::ResultOf;

void Executor::Impl::Work(const std::shared_ptr<JobThread>& job) {
  // The last run's result, reported once the job's lock has been dropped.
  // While the queue has more, one lock both ends that run and starts the
  // next; the result still goes out before the next run executes, so the
  // job's results keep its order.
  std::optional<RunResult> done;
  while (true) {
    QueuedRun run;
    std::shared_ptr<Cancellation> cancel;
    bool took = false;
    {
      absl::MutexLock lock(&job->mu);
      if (done.has_value()) {
        job->running_log_id = 0;
        job->running_cancel.reset();
      }
      if (!job->queue.empty()) {
        run = std::move(job->queue.front());
        job->queue.pop_front();
        queued_.fetch_sub(1);
        // The timeout counts from when the run leaves its queue, not from
        // its queueing (the previous run's result, recorded just below,
        // is a journal append).
        const absl::Duration timeout = run.trigger.timeout;
        cancel = std::make_shared<Cancellation>(timeout > absl::ZeroDuration()
                                                    ? absl::Now() + timeout
                                                    : absl::InfiniteFuture());
        job->running_log_id = run.trigger.log_id;
        job->running_cancel = cancel;
        took = true;
        // One run ends as the next starts: the running count stays.
        if (!done.has_value()) running_.fetch_add(1);
      } else if (!done.has_value()) {
        job->scheduled = false;
        job->idle_since = absl::Now();
        return;
      }
    }
    if (done.has_value()) {
      // Stop counting the run before reporting it: whoever sees the result
      // sees the load without it.
      if (!took && running_.fetch_sub(1) == 1 && draining_.load()) {
        WakeZeroWaiters();
      }
      Finish(*done);
      done.reset();
    }
    // Not took: the queue was empty; the owner looks again after reporting
    // (a trigger may have arrived meanwhile) and only then lets go.
    if (took) done = Execute(*job, run, *cancel);
  }
}

RunResult Executor::Impl::Execute(JobThread& job, const QueuedRun& run,
                                  const Cancellation& cancel) {
  const Trigger& t = run.trigger;
  const absl::Time start = absl::Now();
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
  // Caller-supplied text is escaped in the executor's own lines, so that
  // no params or message can forge one of them (a "Result:" line, say).
  log.Log(
      absl::StrCat("----------- xxl-executor job execute start "
                   "-----------\n----------- Param: ",
                   EscapeLogText(t.params)));
  VLOG(1) << LogPrefix(t) << "start";

  int code = kHandleCodeSuccess;
  std::string msg;
  RunCause cause = RunCause::kOk;
  if (absl::Status init = PrepareHandler(job, run.handler); !init.ok()) {
    code = kHandleCodeFail;
    msg = absl::StrCat("job handler init failed: ", init.message());
    cause = RunCause::kFailed;
  } else {
    // The job's own writes count against the run's log cap; the executor's
    // lines go to `log` directly.
    CappedLogSink job_log(&log, options_.max_run_log_bytes);
    RunContext ctx(
        RunInfo{t.job_id, t.log_id, t.params, t.shard_index, t.shard_total},
        &job_log, &cancel);
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
      case CancelCause::kKilled: {
        code = kHandleCodeFail;
        const std::string reason = cancel.reason();
        cause = CauseOfReason(reason);
        msg = absl::StrCat(reason, kRunningKilled);
        break;
      }
      case CancelCause::kTimedOut:
        code = kHandleCodeTimeout;
        msg = "job execute timeout";
        cause = RunCause::kTimeout;
        break;
      case CancelCause::kNone:
        cause = code == kHandleCodeSuccess ? RunCause::kOk : RunCause::kFailed;
        break;
    }
    job_log.Finish();
  }
  msg = SanitizeUtf8(TruncateUtf8(msg, kMaxHandleMsgChars));
  log.Log(
      absl::StrCat("----------- xxl-executor job execute end(finish) "
                   "-----------\n----------- Result: handleCode=",
                   code, ", handleMsg = ", EscapeLogText(msg)));
  VLOG(1) << LogPrefix(t) << "end " << code;
  RunResult result = ResultOf(t, code, std::move(msg), cause);
  result.executed = true;
  result.queue_wait = start - run.accepted_at;
  result.run_time = absl::Now() - start;
  return result;
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
    RunResult result =
        ResultOf(t, kHandleCodeFail, absl::StrCat(reason, kQueuedKilled),
                 CauseOfReason(reason));
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

}  // namespace xxljob

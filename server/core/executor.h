// The executor core: job threads, their queues and block strategies, runs,
// kills, timeouts and run logs. It knows nothing of transports: the API
// edge (server/api/) calls it, and the transports call the edge.
#ifndef XXLJOB_SERVER_CORE_EXECUTOR_H_
#define XXLJOB_SERVER_CORE_EXECUTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "server/core/executor_options.h"
#include "server/core/log_watch.h"
#include "server/core/result_sink.h"
#include "server/core/run_log.h"
#include "server/core/trigger.h"

namespace xxljob {

// Runs triggers. Each job id has at most one job thread: a FIFO queue whose
// runs execute one at a time, in arrival order, on a bounded worker pool. A
// job thread is a queue, not an OS thread, so thousands of idle job ids cost
// little; ExecutorOptions::max_running bounds the OS threads.
//
// Every accepted trigger gets exactly one ResultSink::Finished() call.
//
// Errors are absl::Status codes. Codes the gRPC layer turns into a failed call:
// INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE. Any other non-OK code is
// a business refusal the caller answers with code 500 and the status message:
// FAILED_PRECONDITION (duplicate log id, discard later, job busy, scripts
// disabled), NOT_FOUND (unknown handler, unknown run or log),
// UNIMPLEMENTED (GLUE_GROOVY).
//
// Thread-safe. Unrelated job ids never wait on each other.
class Executor {
 public:
  // Creates the data directory if needed, checks it is writable, and cleans
  // expired run logs. `registry` and `sink` must outlive the executor.
  // Errors: INVALID_ARGUMENT for bad options, FAILED_PRECONDITION if the data
  // directory can't be created or written.
  static absl::StatusOr<std::unique_ptr<Executor>> Create(
      ExecutorOptions options, const HandlerRegistry* registry,
      ResultSink* sink);
  // Shuts down with no grace if Shutdown() was not called.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Admits a trigger (SPEC §3): OK means accepted, its result comes later
  // through the sink. Never blocks on a running job. Refusals:
  // FAILED_PRECONDITION "repeat trigger job, logId:N",
  // "block strategy effect: Discard Later", "script jobs are disabled on this
  // executor"; NOT_FOUND "job handler [x] not found"; UNIMPLEMENTED for
  // GLUE_GROOVY; RESOURCE_EXHAUSTED at a queue or job-thread bound;
  // UNAVAILABLE once draining; the sink's error when it can't record the
  // acceptance (ResultSink::Accepted, e.g. RESOURCE_EXHAUSTED "data
  // directory full: ..."). A refused trigger leaves nothing behind.
  absl::Status Run(Trigger trigger);

  // OK if `job_id` has nothing running or queued; else FAILED_PRECONDITION
  // "job thread is running or has trigger queue".
  absl::Status IdleBeat(int64_t job_id) const;

  // Kills job `job_id`'s running run and fails its queued triggers, or, with
  // `log_id` > 0, only that run. Returns a message for the caller. A job
  // with no job thread is already stopped (OK). NOT_FOUND when `log_id` is
  // neither running nor queued in that job.
  absl::StatusOr<std::string> Kill(int64_t job_id, int64_t log_id);

  // One page of run `log_id`'s log (see ReadLogPage); `is_end` of the answer
  // is at_end_of_file of a run that is no longer queued or running.
  // `max_bytes` > 0 caps the page below options().log_page.max_bytes
  // (TailLog's smaller pages).
  struct LogRead {
    LogPage page;
    bool is_end = false;
  };
  absl::StatusOr<LogRead> ReadLog(int64_t log_date_time, int64_t log_id,
                                  int32_t from_line_num,
                                  size_t max_bytes = 0) const;

  // Following a run's log (TailLog) without polling: `on_change` is called
  // after every append to run `log_id`'s log and once more when the run has
  // finished (IsActive() is false by then, so a read that follows sees the
  // log's end). It may also be called when nothing changed. It runs on the
  // writing thread under a lock (see LogWatchCallback): quick, non-blocking,
  // and no WatchLog/UnwatchLog from inside it. Watch before the first read,
  // so that no write falls between the read and the watch.
  LogWatchHandle WatchLog(int64_t log_id, LogWatchCallback on_change);
  // When it returns, `on_change` is not running and will not run again.
  void UnwatchLog(const LogWatchHandle& handle);

  // True while run `log_id` is queued or running: its log may still be
  // created or grow. A queued run has no log file yet.
  bool IsActive(int64_t log_id) const;

  // The result of run `log_id` if it finished recently (the last 10,000
  // runs, within 16 MiB of messages), recorded before the run stops being
  // active. nullopt for runs long gone, from before a restart, or unknown.
  std::optional<RunResult> RecentResult(int64_t log_id) const;

  struct Load {
    int64_t job_threads = 0;
    int64_t running = 0;
    int64_t queued = 0;
    // OS threads of the worker pool alive now (busy or keeping alive).
    int64_t worker_threads = 0;
    // Drain() or Shutdown() was called.
    bool draining = false;
  };
  Load load() const;

  // Stops admitting triggers (Run answers UNAVAILABLE); everything already
  // admitted goes on. Idempotent.
  void Drain();

  // Drains, lets running runs finish for up to `grace`, then kills them;
  // queued triggers are reported as not executed. Blocks until every run has
  // returned, every result is reported and every thread is joined. Handlers
  // that ignore cancellation delay it. Idempotent.
  void Shutdown(absl::Duration grace);

  const ExecutorOptions& options() const;

 private:
  class Impl;
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_EXECUTOR_H_

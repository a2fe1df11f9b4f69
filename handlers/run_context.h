// The per-run context a job handler receives: what to run, where to log,
// whether to stop, and how to report the result.
#ifndef XXLJOB_HANDLERS_RUN_CONTEXT_H_
#define XXLJOB_HANDLERS_RUN_CONTEXT_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "handlers/cancellation.h"

namespace xxljob {

// Result codes, as XXL-JOB defines them.
inline constexpr int kHandleCodeSuccess = 200;
inline constexpr int kHandleCodeFail = 500;
inline constexpr int kHandleCodeTimeout = 502;

// Where a run's log lines go. Implementations timestamp each line and are
// thread-safe.
class RunLogSink {
 public:
  virtual ~RunLogSink() = default;
  // Appends `message` as one line (embedded newlines start new lines).
  virtual void Log(absl::string_view message) = 0;

  // Appends raw program output (a script's stdout and stderr) as it arrives,
  // in chunks cut anywhere. Complete lines go out at once; a trailing
  // partial line is held until its newline, FlushOutput(), or until it
  // reaches kMaxHeldOutputBytes (then it is written as a line of its own),
  // so memory stays bounded whatever the program prints. This default turns
  // lines into Log() calls (so they are timestamped); a sink that can append
  // untouched output (the run log writer) overrides both methods.
  virtual void Output(absl::string_view chunk);
  // Writes a held partial line of Output(), if any. Callers call it when the
  // output ends.
  virtual void FlushOutput();

  static constexpr size_t kMaxHeldOutputBytes = 16 * 1024;

 private:
  absl::Mutex output_mu_;
  std::string held_output_ ABSL_GUARDED_BY(output_mu_);
};

// What a handler is asked to do in one run.
struct RunInfo {
  int64_t job_id = 0;
  int64_t log_id = 0;
  std::string params;
  // Broadcast shard; 0/1 for a non-broadcast run.
  int32_t shard_index = 0;
  int32_t shard_total = 1;
};

// Passed explicitly to a handler's execute function (there are no
// thread-locals), so work the handler hands to other threads can log to the
// right run and observe its cancellation.
//
// Thread-safe. Valid until the handler's execute function returns; a handler
// must not let other threads use it after that.
class RunContext {
 public:
  // `log` and `cancellation` must outlive the context.
  RunContext(RunInfo info, RunLogSink* log, const Cancellation* cancellation);
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  int64_t job_id() const { return info_.job_id; }
  int64_t log_id() const { return info_.log_id; }
  const std::string& params() const { return info_.params; }
  int32_t shard_index() const { return info_.shard_index; }
  int32_t shard_total() const { return info_.shard_total; }

  // Writes a timestamped line to the run's log.
  void Log(absl::string_view message) { log_->Log(message); }
  template <typename... Args>
  void Logf(const absl::FormatSpec<Args...>& format, const Args&... args) {
    log_->Log(absl::StrFormat(format, args...));
  }

  // Appends raw program output to the run's log (see RunLogSink::Output):
  // no timestamps, lines as the program printed them. FlushOutput() ends a
  // last line printed without its newline.
  void WriteOutput(absl::string_view chunk) { log_->Output(chunk); }
  void FlushOutput() { log_->FlushOutput(); }

  // True once the run was killed or passed its timeout. Long-running handlers
  // check it and return promptly.
  bool cancelled() const { return cancellation_->cancelled(); }
  // Sleeps for `duration`, returning at once when the run is cancelled.
  // Returns true if the full duration elapsed, false if cancelled.
  bool SleepFor(absl::Duration duration) const {
    return !cancellation_->WaitFor(duration);
  }
  // The run's deadline; InfiniteFuture() when it has no timeout.
  absl::Time deadline() const { return cancellation_->deadline(); }
  // For waits that can't go through SleepFor (poll() on a child process):
  // register a wake-up callback there and bound the wait by deadline().
  const Cancellation& cancellation() const { return *cancellation_; }

  // Result setters. The last call wins; a handler that sets nothing and
  // returns normally succeeds. Throwing from execute fails the run with the
  // exception's message.
  void Success(absl::string_view message = "") {
    SetResult(kHandleCodeSuccess, message);
  }
  void Fail(absl::string_view message) { SetResult(kHandleCodeFail, message); }
  void Timeout(absl::string_view message = "job execute timeout") {
    SetResult(kHandleCodeTimeout, message);
  }
  void SetResult(int code, absl::string_view message);

  int handle_code() const;
  std::string handle_msg() const;

 private:
  const RunInfo info_;
  RunLogSink* const log_;
  const Cancellation* const cancellation_;
  mutable absl::Mutex mu_;
  int handle_code_ ABSL_GUARDED_BY(mu_) = kHandleCodeSuccess;
  std::string handle_msg_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_RUN_CONTEXT_H_

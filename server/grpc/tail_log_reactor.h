// TailLog (SPEC §2): the server-streaming call that follows a run's log as it
// grows and ends with the page that has is_end. The one Executor method that
// waits, so it is a reactor of its own rather than a handler body.
//
// How it waits without a thread or a fast timer per stream:
//
//   - It watches the run's log (Executor::WatchLog). The core calls the
//     watch after every append and once more when the run has finished.
//     The watch only sets a flag and, if the stream is idle, cancels the
//     stream's pending grpc::Alarm. A cancelled alarm runs its callback at
//     once on a gRPC executor thread, so the page read (file I/O) happens
//     there, never on the job's thread that wrote the line.
//   - While idle (nothing new to send), the stream keeps one alarm pending
//     for kFallbackPoll (2 s): a safety net that re-reads the log should a
//     wake-up ever be missed. It is not how lines normally arrive, and it
//     is what an idle stream costs: one page read per interval (about
//     50 us of CPU), so 200 idle streams take about 0.5% of a core.
//   - Exactly one write is in flight. When it completes (OnWriteDone) the
//     next page is read on that same gRPC thread, so a backlog streams out
//     as fast as the client takes it, a page at a time, and a slow client
//     costs memory for one page only, and pages are small
//     (kMaxPageBytes): the log is never read ahead of a stalled client.
//
// A run that is queued has no log file yet: the stream waits for it to
// start. A run that is neither active nor has a log file gets one page with
// code 500 "log file not found", and the stream ends. The final is_end page
// carries the run's handle_code and handle_msg when the executor still
// remembers its result (Executor::RecentResult); 0 and "" otherwise.
//
// The stream ends with OK after its final page (is_end, or a code-500 page),
// with CANCELLED when the client goes away (OnCancel) or a write fails, and
// with INTERNAL if reading throws. Server shutdown ends open streams cleanly:
// the executor's shutdown ends every run, so followers get their is_end
// page; a stream still open when the gRPC server's deadline passes is
// cancelled by gRPC and finishes through OnCancel.
#ifndef XXLJOB_SERVER_GRPC_TAIL_LOG_REACTOR_H_
#define XXLJOB_SERVER_GRPC_TAIL_LOG_REACTOR_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "server/api/api_handler.h"
#include "server/core/executor.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {

// One TailLog call. Created by the service after the token check and
// validation; gRPC drives it; it deletes itself once gRPC is done with it
// (OnDone) and its alarm callback, if any, has run.
//
// Thread-safety: gRPC callbacks, the alarm callback and the log watch may
// run concurrently on different threads; `mu_` orders them. At most one of
// them "holds the step" (reads a page and owns `response_`) at a time:
// `stepping_`, `write_in_flight_` and `alarm_armed_` are mutually exclusive
// and say who.
//
// Ownership: owns itself. Does not own the executor, which must outlive
// the call; the app shuts the gRPC server down (which waits for every
// OnDone) before it destroys the executor.
class TailLogReactor final : public grpc::ServerWriteReactor<v1::LogResponse> {
 public:
  // How long an idle stream waits before re-reading the log even without a
  // wake-up. A safety net only (see the file comment): long enough that
  // idle streams cost next to nothing, short enough that a missed wake-up
  // would be a stall, not a hang.
  static constexpr absl::Duration kFallbackPoll = absl::Seconds(2);
  // Largest page a TailLog write carries (Log's are up to 256 KiB). A
  // stalled stream holds its page twice (here and serialized in gRPC's
  // transport) until the client reads: 64 KiB, instead of 512 KiB, so 256
  // stalled streams cost 16 MiB beyond gRPC's windows. A follower reading
  // at full speed still gets about 100 MB/s in these pages.
  static constexpr size_t kMaxPageBytes = 32 * 1024;

  // Starts following `request` (already validated: log_id > 0, from >= 1)
  // and sends the first page(s) if there are any. Never blocks beyond one
  // page read. `slot` is held until gRPC is done with the call (OnDone):
  // that is what bounds open streams.
  TailLogReactor(Executor* executor, const v1::LogRequest& request,
                 TailStreamSlot slot);
  TailLogReactor(const TailLogReactor&) = delete;
  TailLogReactor& operator=(const TailLogReactor&) = delete;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // What one page read asks for.
  enum class Next {
    kWrite,   // `response_` holds new lines; more may follow.
    kLast,    // `response_` is the final page.
    kFail,    // End the call with `fail_status_` (no page).
    kNothing  // Nothing new: wait for a wake-up.
  };

  ~TailLogReactor() override = default;

  // Reads and sends pages until there is nothing new, then arms the
  // fallback alarm. REQUIRES: the caller set `stepping_` (it holds the step).
  void Step();
  // Reads the page from `next_line_` into `response_`. REQUIRES: the step.
  Next ReadPage();
  // The watch: the log may have grown, or the run ended.
  void OnLogChanged();
  // The alarm's callback: the fallback interval passed (`fired`) or a
  // wake-up or cancel cancelled it.
  void OnAlarm(bool fired);
  void ArmAlarmLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes an armed alarm now (once).
  void KickAlarmLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Executor* const executor_;
  const int64_t log_date_time_;
  const int64_t log_id_;
  TailStreamSlot slot_;
  // The watch on the run's log; removed in OnDone.
  LogWatchHandle watch_;

  // Owned by whoever holds the step, and by gRPC while it is being written.
  v1::LogResponse response_;
  grpc::Status fail_status_;
  // The first line the next read asks for.
  int32_t next_line_;

  absl::Mutex mu_;
  // A step is reading or deciding (on a gRPC thread).
  bool stepping_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // The alarm is set and its callback has not started yet; `alarm_kicked_`:
  // it has been cancelled to run now.
  bool alarm_armed_ ABSL_GUARDED_BY(mu_) = false;
  bool alarm_kicked_ ABSL_GUARDED_BY(mu_) = false;
  // The log may have changed since the current read began: read again
  // before going idle.
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  // OnCancel was called: end as soon as whoever holds the step sees it.
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // Finish (or StartWriteAndFinish) was called; nothing more is started.
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // OnDone was called: the alarm callback, if pending, deletes `this`.
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // A fresh alarm per wait: an alarm must not be set again from inside its
  // own callback (which is where the next wait usually starts).
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_GRPC_TAIL_LOG_REACTOR_H_

// ResultReporter: the ResultSink that delivers run results to an admin
// (SPEC §5, "Results"). Results are journaled in the Outbox before delivery
// is attempted, sent in batches by one sender thread, retried with
// exponential backoff while no admin accepts, and marked delivered only once
// an admin accepted them. Delivery is at-least-once: a result is sent twice
// only if the process dies between an admin's acceptance and the DELIVERED
// record (the admin deduplicates by log_id).
//
// Memory bound: at most max_pending_in_memory results (and about
// max_pending_bytes of messages) are held in memory. Past that the reporter
// "spills": new results are only journaled, and the sender reads them back
// from the outbox, oldest first, as memory frees up. Results pending in the
// outbox at start (including runs a crash interrupted) are delivered the same
// way, before results of the new process.
//
// Full disk: a trigger whose ACCEPTED record can't be journaled is refused
// (Accepted() returns RESOURCE_EXHAUSTED, see AcceptanceRefusal), so no
// trigger is answered 200 without a durable trace. A result of a run already
// accepted that can't be journaled is kept in memory regardless of the bound
// and still delivered; it is then only not crash-durable (its ACCEPTED
// record is: a crash makes the next start report it as a 500 "restarted"
// result). The error is logged at a bounded rate and counted in
// Stats::journal_errors; the admin keeps the first result it got for a
// log_id.
//
// Standalone (no AdminApi): nothing is journaled, since nothing would ever
// deliver it; results are logged (the run logs already hold them) and an
// existing outbox is left untouched for a later start with an admin.
#ifndef XXLJOB_SERVER_CORE_RESULT_REPORTER_H_
#define XXLJOB_SERVER_CORE_RESULT_REPORTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/result_sink.h"
#include "server/core/trigger.h"
#include "server/delivery/admin_api.h"
#include "server/delivery/backoff.h"
#include "server/delivery/outbox.h"
#include "server/delivery/reporter_options.h"

namespace xxljob {

// What Run answers when an ACCEPTED record can't be journaled:
// RESOURCE_EXHAUSTED "data directory full: <error>" for a journal error
// coded RESOURCE_EXHAUSTED (ENOSPC, EDQUOT), else RESOURCE_EXHAUSTED "data
// directory failing, triggers can't be recorded: <error>".
absl::Status AcceptanceRefusal(const absl::Status& journal_error);

// Thread-safe. Owns the outbox and a sender thread, which is joined by
// Shutdown() or the destructor. Lock order: the reporter's mutex, then the
// outbox's. Accepted() and Finished() never wait for the network or the
// sender: they cost one write() (plus an fdatasync with
// SyncMode::kEveryRecord), and wait for the outbox only while it compacts.
class ResultReporter : public ResultSink {
 public:
  struct Stats {
    // Results not yet delivered: in memory, spilled or journaled.
    int64_t pending = 0;
    int64_t in_memory = 0;
    int64_t delivered = 0;
    // Callbacks an admin accepted, and the size of the last one.
    int64_t batches_sent = 0;
    int64_t last_batch_size = 0;
    int64_t max_batch_size = 0;
    // Callbacks no admin accepted.
    int64_t failed_attempts = 0;
    // Result appends to the outbox that failed (full disk, I/O error).
    int64_t journal_errors = 0;
    // Triggers refused because their ACCEPTED record failed.
    int64_t refused_triggers = 0;
    bool spilled = false;
    // Times results began to spill (memory full, newer ones only journaled).
    int64_t spills = 0;
    // The outbox journal's size on disk (0 standalone).
    int64_t outbox_bytes = 0;
    // Since when the oldest undelivered result has waited: when it was
    // finished, or for results read back from the outbox (a spill, a
    // restart) when the spill began or the reporter started.
    // InfiniteFuture() when nothing is pending.
    absl::Time oldest_pending_since = absl::InfiniteFuture();
  };

  // Opens the outbox (replaying it) and starts the sender, which delivers
  // what the outbox held first. With `admin` null: standalone, no outbox, no
  // thread. `admin` must outlive the reporter. Errors: INVALID_ARGUMENT for
  // bad options; the outbox's Open errors.
  static absl::StatusOr<std::unique_ptr<ResultReporter>> Create(
      ReporterOptions options, AdminApi* admin);
  // Shutdown(absl::Now()) if Shutdown was not called.
  ~ResultReporter() override;
  ResultReporter(const ResultReporter&) = delete;
  ResultReporter& operator=(const ResultReporter&) = delete;

  // Journals ACCEPTED. On a journal error nothing is recorded and the
  // error is returned as AcceptanceRefusal() (logged at a bounded rate,
  // counted in Stats::refused_triggers): the executor refuses the trigger.
  // Standalone: OK, nothing is journaled.
  absl::Status Accepted(const Trigger& trigger) override;
  // Journals RESULT and queues the result for the sender. After Shutdown the
  // result is only journaled (a later start delivers it).
  void Finished(const RunResult& result) override;

  // Stops delivering: sends what is pending until `deadline` (always at
  // least one more attempt, even with a past deadline, unless nothing is
  // pending), then joins the sender and syncs the outbox. What is still
  // undelivered stays in the outbox for the next start. Blocks; idempotent.
  // A Callback already under way is not interrupted, so this can return as
  // late as `deadline` plus the AdminApi's own per-call deadline.
  void Shutdown(absl::Time deadline);

  Stats stats() const;
  // Null in standalone mode.
  Outbox* outbox() { return outbox_.get(); }

 private:
  // A result held in memory; id 0 = not journaled (journal error).
  struct Entry {
    uint64_t id = 0;
    RunResult result;
    // When it became pending (see Stats::oldest_pending_since).
    absl::Time since;
  };
  // What the sender does next, decided under the lock, done outside it.
  struct Step {
    bool sync = false;
    bool reload = false;
    uint64_t reload_after = 0;
    size_t reload_count = 0;
    size_t reload_bytes = 0;
    std::vector<Entry> batch;
  };

  ResultReporter(ReporterOptions options, AdminApi* admin,
                 std::unique_ptr<Outbox> outbox);

  void SenderLoop();
  // Waits until there is something to do. False: time to exit.
  bool NextStepLocked(Step* step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decides the step if one is due now; else returns false and sets `wake`
  // to when to look again.
  bool PlanStepLocked(absl::Time now, Step* step, absl::Time* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeBatchLocked(Step* step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reload(const Step& step);
  void Deliver(std::vector<Entry> batch);
  void OnDeliveryFailedLocked(std::vector<Entry> batch,
                              const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a result at the back and counts it against the bound.
  void AddToMemoryLocked(Entry entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountJournalErrorLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || spilled_;
  }

  const ReporterOptions options_;
  AdminApi* const admin_;
  const std::unique_ptr<Outbox> outbox_;

  mutable absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  // Held in memory, queued or in flight: what the bound applies to.
  size_t in_memory_ ABSL_GUARDED_BY(mu_) = 0;
  size_t in_memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t unjournaled_ ABSL_GUARDED_BY(mu_) = 0;
  // While set, journaled results with ids above last_loaded_id_ are only in
  // the outbox; new results go there too, so ids stay in order.
  bool spilled_ ABSL_GUARDED_BY(mu_) = false;
  // When the current spill began (or the reporter started, for what the
  // outbox held): the age of results that are only in the outbox.
  absl::Time spilled_since_ ABSL_GUARDED_BY(mu_);
  // The oldest result of the batch being delivered; InfiniteFuture() when
  // none is.
  absl::Time in_flight_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t last_loaded_id_ ABSL_GUARDED_BY(mu_) = 0;
  // When the oldest queued result was queued (while queue_ is not empty),
  // and whether the sender is waiting out batch_delay for more to join it.
  absl::Time first_queued_at_ ABSL_GUARDED_BY(mu_);
  bool gathering_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped by anything the idle sender should look at.
  int64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  bool unsynced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_sync_ ABSL_GUARDED_BY(mu_);
  // Backoff state: failing_ from the first failed attempt to the next
  // success.
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  Backoff backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time failing_since_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_);
  bool attempted_since_stop_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Serialises Shutdown callers; the thread is joined once.
  absl::Mutex shutdown_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::thread sender_ ABSL_GUARDED_BY(shutdown_mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RESULT_REPORTER_H_

// ResultReporter: journaling on the callers' threads, and the sender thread's
// loop of sync, reload (after a spill or a restart), batch, deliver, back off.
#include "server/delivery/result_reporter.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

// What a result costs in memory, for the byte bound.
size_t EntryBytes(const RunResult& r) {
  return sizeof(RunResult) + r.handle_msg.size();
}

}  // namespace

absl::Status AcceptanceRefusal(const absl::Status& journal_error) {
  // The outbox turns ENOSPC and EDQUOT into RESOURCE_EXHAUSTED (errno
  // mapping); anything else is a disk that fails rather than fills. Both
  // are RESOURCE_EXHAUSTED for the caller: this executor can't take work
  // now, another one can.
  const absl::string_view what =
      absl::IsResourceExhausted(journal_error)
          ? "data directory full: "
          : "data directory failing, triggers can't be recorded: ";
  return absl::ResourceExhaustedError(
      absl::StrCat(what, journal_error.message()));
}

absl::Status ValidateReporterOptions(const ReporterOptions& o) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("reporter option ", what));
  };
  if (o.outbox.dir.empty()) return bad("outbox.dir must be set");
  if (o.outbox.compact_min_dead_records < 0) {
    return bad("outbox.compact_min_dead_records must be >= 0");
  }
  if (!(o.outbox.compact_dead_ratio > 0)) {
    return bad("outbox.compact_dead_ratio must be > 0");
  }
  if (o.max_batch < 1) return bad("max_batch must be >= 1");
  if (o.max_batch_bytes < 1) return bad("max_batch_bytes must be >= 1");
  if (absl::Status s = ValidateBackoffOptions(o.retry, "reporter option retry");
      !s.ok()) {
    return s;
  }
  if (o.sync_interval <= absl::ZeroDuration()) {
    return bad("sync_interval must be > 0");
  }
  if (o.max_pending_in_memory < o.max_batch) {
    return bad("max_pending_in_memory must be >= max_batch");
  }
  if (o.max_pending_bytes < 1) return bad("max_pending_bytes must be >= 1");
  if (o.batch_delay < absl::ZeroDuration()) {
    return bad("batch_delay must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ResultReporter>> ResultReporter::Create(
    ReporterOptions options, AdminApi* admin) {
  if (admin == nullptr) {
    std::error_code ec;
    if (!options.outbox.dir.empty() &&
        std::filesystem::exists(options.outbox.dir, ec)) {
      LOG(INFO) << "no admin configured: outbox " << options.outbox.dir
                << " is left untouched for a start with an admin";
    }
    LOG(INFO) << "no admin configured: results go to the run logs only";
    return std::unique_ptr<ResultReporter>(
        new ResultReporter(std::move(options), nullptr, nullptr));
  }
  absl::Status valid = ValidateReporterOptions(options);
  if (!valid.ok()) return valid;
  absl::StatusOr<std::unique_ptr<Outbox>> outbox = Outbox::Open(options.outbox);
  if (!outbox.ok()) return outbox.status();
  LOG(INFO) << "result reporter: batches of up to " << options.max_batch
            << " results, backoff " << options.retry.initial << " x"
            << options.retry.multiplier << " up to " << options.retry.max
            << ", at most " << options.max_pending_in_memory
            << " results in memory, sync mode "
            << SyncModeName(options.outbox.sync_mode);
  std::unique_ptr<ResultReporter> reporter(
      new ResultReporter(std::move(options), admin, *std::move(outbox)));
  {
    absl::MutexLock lock(&reporter->mu_);
    // What the outbox holds is read back by the sender, oldest first,
    // exactly as after a spill.
    reporter->spilled_ = reporter->outbox_->pending_count() > 0;
    reporter->spilled_since_ = absl::Now();
  }
  {
    absl::MutexLock lock(&reporter->shutdown_mu_);
    reporter->sender_ = std::thread([r = reporter.get()] { r->SenderLoop(); });
  }
  return reporter;
}

ResultReporter::ResultReporter(ReporterOptions options, AdminApi* admin,
                               std::unique_ptr<Outbox> outbox)
    : options_(std::move(options)),
      admin_(admin),
      outbox_(std::move(outbox)),
      backoff_(options_.retry) {
  absl::MutexLock lock(&mu_);
  last_sync_ = absl::Now();
}

ResultReporter::~ResultReporter() { Shutdown(absl::Now()); }

absl::Status ResultReporter::Accepted(const Trigger& trigger) {
  if (outbox_ == nullptr) return absl::OkStatus();
  // Without the reporter's lock: a job thread's lock is held around this
  // call, and the sender's bookkeeping need not delay it.
  absl::Status s = outbox_->AppendAccepted(trigger.job_id, trigger.log_id,
                                           trigger.log_date_time);
  absl::MutexLock lock(&mu_);
  if (!s.ok()) {
    ++stats_.refused_triggers;
    LOG_EVERY_T(ERROR, 10) << "refusing triggers: can't journal their "
                           << "acceptance in the outbox ("
                           << stats_.refused_triggers
                           << " refused so far): " << s;
    return AcceptanceRefusal(s);
  }
  if (options_.outbox.sync_mode == SyncMode::kGroup && !unsynced_) {
    unsynced_ = true;
    ++events_;
  }
  return absl::OkStatus();
}

void ResultReporter::Finished(const RunResult& result) {
  if (outbox_ == nullptr) {
    VLOG(1) << "[job " << result.job_id << " log " << result.log_id
            << "] result " << result.handle_code << ": " << result.handle_msg;
    return;
  }
  // The append happens under the reporter's lock so that the spill decision
  // and the id order agree (see spilled_).
  absl::MutexLock lock(&mu_);
  absl::StatusOr<uint64_t> id = outbox_->AppendResult(result);
  ++events_;
  if (!id.ok()) {
    CountJournalErrorLocked(id.status());
    if (stopping_) {
      LOG(ERROR) << "[job " << result.job_id << " log " << result.log_id
                 << "] result can't be journaled during shutdown and may be "
                 << "lost: " << result.handle_code << " " << result.handle_msg;
    }
    // Memory is its only copy, so the bound doesn't apply.
    ++unjournaled_;
    AddToMemoryLocked({0, result, absl::Now()});
    return;
  }
  if (options_.outbox.sync_mode == SyncMode::kGroup) unsynced_ = true;
  // A result that arrives while stopping is delivered by the next start.
  if (stopping_) return;
  if (!spilled_ &&
      (in_memory_ >= options_.max_pending_in_memory ||
       in_memory_bytes_ + EntryBytes(result) > options_.max_pending_bytes)) {
    LOG(WARNING) << in_memory_ << " undelivered results in memory ("
                 << in_memory_bytes_ << " bytes): newer results wait in the "
                 << "outbox until delivery catches up";
    spilled_ = true;
    spilled_since_ = absl::Now();
    ++stats_.spills;
  }
  if (spilled_) return;
  AddToMemoryLocked({*id, result, absl::Now()});
  last_loaded_id_ = *id;
}

void ResultReporter::AddToMemoryLocked(Entry entry) {
  if (queue_.empty()) first_queued_at_ = entry.since;
  ++in_memory_;
  in_memory_bytes_ += EntryBytes(entry.result);
  queue_.push_back(std::move(entry));
}

void ResultReporter::CountJournalErrorLocked(const absl::Status& status) {
  ++stats_.journal_errors;
  LOG_EVERY_T(ERROR, 10)
      << "can't journal a result in the outbox (" << stats_.journal_errors
      << " failures so far); it is delivered from memory but would not "
      << "survive a crash: " << status;
}

void ResultReporter::Shutdown(absl::Time deadline) {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (!sender_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    stop_deadline_ = deadline;
  }
  sender_.join();
  const Stats s = stats();
  LOG(INFO) << "result reporter stopped: " << s.delivered << " delivered, "
            << s.pending << " left in the outbox for the next start";
}

ResultReporter::Stats ResultReporter::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = stats_;
  s.in_memory = static_cast<int64_t>(in_memory_);
  s.spilled = spilled_;
  s.pending = static_cast<int64_t>(unjournaled_) +
              (outbox_ != nullptr ? outbox_->pending_count() : 0);
  s.outbox_bytes = outbox_ != nullptr ? outbox_->file_bytes() : 0;
  if (s.pending > 0) {
    // The batch in flight is older than what is queued, which is older
    // than what only the outbox holds (both are in id order).
    s.oldest_pending_since = in_flight_since_;
    if (!queue_.empty()) {
      s.oldest_pending_since =
          std::min(s.oldest_pending_since, queue_.front().since);
    }
    if (spilled_) {
      s.oldest_pending_since = std::min(s.oldest_pending_since, spilled_since_);
    }
  }
  return s;
}

void ResultReporter::SenderLoop() {
  while (true) {
    Step step;
    {
      absl::MutexLock lock(&mu_);
      if (!NextStepLocked(&step)) break;
    }
    if (step.sync) {
      if (absl::Status s = outbox_->Sync(); !s.ok()) {
        LOG_EVERY_T(ERROR, 10) << "outbox sync failed; results are safe from "
                               << "a crash but not from power loss: " << s;
      }
    }
    if (step.reload) {
      Reload(step);
    } else if (!step.batch.empty()) {
      Deliver(std::move(step.batch));
    }
  }
  if (absl::Status s = outbox_->Sync(); !s.ok()) {
    LOG(ERROR) << "final outbox sync: " << s;
  }
}

bool ResultReporter::NextStepLocked(Step* step) {
  while (true) {
    const absl::Time now = absl::Now();
    if (stopping_ && (!HasWorkLocked() ||
                      (attempted_since_stop_ && now >= stop_deadline_))) {
      return false;
    }
    absl::Time wake;
    if (PlanStepLocked(now, step, &wake)) return true;
    // New results only matter to an idle sender: during a backoff they join
    // the next attempt rather than cut the wait short. Shutdown always
    // wakes it, and so does a first unsynced record (its sync is due).
    // While a batch gathers (its delay runs), only a full batch cuts the
    // wait short: the deadline is near and the sync comes with the send.
    const bool idle = !HasWorkLocked();
    const bool gathering = gathering_;
    const int64_t seen = events_;
    const bool was_stopping = stopping_;
    const bool was_unsynced = unsynced_;
    auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (stopping_ != was_stopping) return true;
      if (gathering) return queue_.size() >= options_.max_batch;
      return unsynced_ != was_unsynced || (idle && events_ != seen);
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), wake);
  }
}

bool ResultReporter::PlanStepLocked(absl::Time now, Step* step,
                                    absl::Time* wake) {
  *wake = absl::InfiniteFuture();
  bool due = false;
  // Let a batch fill for a moment. Its results are journaled already, so
  // the wait costs latency only, never durability. No wait during a
  // backoff, a spill or shutdown.
  gathering_ = !queue_.empty() && !spilled_ && !stopping_ && now >= retry_at_ &&
               queue_.size() < options_.max_batch &&
               now < first_queued_at_ + options_.batch_delay;
  if (gathering_) *wake = first_queued_at_ + options_.batch_delay;
  if (HasWorkLocked() && !gathering_) {
    absl::Time retry_at = retry_at_;
    if (stopping_) {
      // One attempt right away, then retries only up to the deadline.
      retry_at = attempted_since_stop_ ? std::min(retry_at_, stop_deadline_)
                                       : absl::InfinitePast();
    }
    if (now >= retry_at) {
      due = true;
      // Refill when a batch's worth is no longer in memory. (Unjournaled
      // results can push in_memory_ past the bound; then just send.)
      if (spilled_ && queue_.size() < options_.max_batch &&
          in_memory_ < options_.max_pending_in_memory) {
        step->reload = true;
        step->reload_after = last_loaded_id_;
        step->reload_count = options_.max_pending_in_memory - in_memory_;
        step->reload_bytes = options_.max_pending_bytes > in_memory_bytes_
                                 ? options_.max_pending_bytes - in_memory_bytes_
                                 : 1;
      } else {
        TakeBatchLocked(step);
      }
    } else {
      *wake = retry_at;
    }
  }
  if (unsynced_) {
    // Sync before every delivery attempt, and otherwise every interval.
    const absl::Time sync_at = last_sync_ + options_.sync_interval;
    if (due || now >= sync_at) {
      step->sync = true;
      unsynced_ = false;
      last_sync_ = now;
      due = true;
    } else {
      *wake = std::min(*wake, sync_at);
    }
  }
  return due;
}

void ResultReporter::TakeBatchLocked(Step* step) {
  size_t bytes = 0;
  while (
      !queue_.empty() && step->batch.size() < options_.max_batch &&
      (step->batch.empty() || bytes + queue_.front().result.handle_msg.size() <=
                                  options_.max_batch_bytes)) {
    bytes += queue_.front().result.handle_msg.size();
    step->batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (!step->batch.empty()) in_flight_since_ = step->batch.front().since;
  if (stopping_) attempted_since_stop_ = true;
}

void ResultReporter::Reload(const Step& step) {
  absl::StatusOr<std::vector<PendingResult>> loaded = outbox_->ReadPending(
      step.reload_after, step.reload_count, step.reload_bytes);
  absl::MutexLock lock(&mu_);
  if (!loaded.ok()) {
    // Retried like a failed delivery: the disk may come back.
    LOG_EVERY_T(ERROR, 10) << "can't read pending results back from the "
                           << "outbox: " << loaded.status();
    retry_at_ = absl::Now() + backoff_.NextDelay();
    if (stopping_) attempted_since_stop_ = true;
    return;
  }
  for (PendingResult& p : *loaded) {
    // Ids at or below last_loaded_id_ are already in memory.
    if (p.id <= last_loaded_id_) continue;
    last_loaded_id_ = p.id;
    AddToMemoryLocked({p.id, std::move(p.result), spilled_since_});
  }
  // Stable under mu_: Finished() appends only while holding it.
  if (!outbox_->HasPendingAfter(last_loaded_id_)) {
    spilled_ = false;
    VLOG(1) << "outbox caught up: every pending result is in memory";
  }
}

void ResultReporter::Deliver(std::vector<Entry> batch) {
  std::vector<RunResult> results;
  std::vector<uint64_t> ids;
  results.reserve(batch.size());
  for (Entry& e : batch) {
    if (e.id != 0) ids.push_back(e.id);
    results.push_back(std::move(e.result));
  }
  const absl::Status status = admin_->Callback(results);
  if (!status.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].result = std::move(results[i]);
    }
    absl::MutexLock lock(&mu_);
    in_flight_since_ = absl::InfiniteFuture();
    OnDeliveryFailedLocked(std::move(batch), status);
    return;
  }
  const size_t journaled_ids = ids.size();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].id != 0) continue;
    // Delivered from memory after a journal error: its run's ACCEPTED
    // record is still open, and a restart would report the run again as
    // "restarted". Settle it now if the disk has room again (best effort:
    // if not, the admin keeps the first result it got).
    absl::StatusOr<uint64_t> late = outbox_->AppendResult(results[i]);
    if (late.ok()) ids.push_back(*late);
  }
  absl::Status journaled = outbox_->AppendDelivered(ids);
  if (!journaled.ok()) {
    LOG_EVERY_T(WARNING, 10) << "delivered results could not be marked in "
                             << "the outbox; a restart may deliver them "
                             << "again: " << journaled;
  }
  absl::MutexLock lock(&mu_);
  in_flight_since_ = absl::InfiniteFuture();
  for (const RunResult& r : results) in_memory_bytes_ -= EntryBytes(r);
  in_memory_ -= results.size();
  unjournaled_ -= results.size() - journaled_ids;
  stats_.delivered += static_cast<int64_t>(results.size());
  ++stats_.batches_sent;
  stats_.last_batch_size = static_cast<int64_t>(results.size());
  stats_.max_batch_size =
      std::max(stats_.max_batch_size, stats_.last_batch_size);
  if (failing_) {
    LOG(INFO) << "result delivery recovered after "
              << absl::Now() - failing_since_ << " of failures";
    failing_ = false;
  }
  backoff_.Reset();
  retry_at_ = absl::InfinitePast();
}

void ResultReporter::OnDeliveryFailedLocked(std::vector<Entry> batch,
                                            const absl::Status& status) {
  // Back to the front, in order: the oldest results go first next time.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    queue_.push_front(std::move(*it));
  }
  ++stats_.failed_attempts;
  const absl::Time now = absl::Now();
  // These results waited out a backoff: the next attempt sends them at
  // once, with whatever joined them, rather than gathering again.
  first_queued_at_ = absl::InfinitePast();
  if (!failing_) {
    failing_ = true;
    failing_since_ = now;
    backoff_.Reset();
    LOG(WARNING) << "no admin accepted " << batch.size()
                 << " results; retrying with backoff until one does: "
                 << status;
  }
  const absl::Duration delay = backoff_.NextDelay();
  VLOG(1) << "result delivery failing; next try in " << delay << ": " << status;
  retry_at_ = now + delay;
}

}  // namespace xxljob

// Options of result delivery: the outbox journal and the reporter that
// sends its results to the admins. Embedding applications set them in
// AppOptions::reporter.
#ifndef XXLJOB_SERVER_DELIVERY_REPORTER_OPTIONS_H_
#define XXLJOB_SERVER_DELIVERY_REPORTER_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/delivery/backoff.h"

namespace xxljob {

// "<log_path>/outbox": where the outbox of a data directory lives.
std::string OutboxDir(absl::string_view log_path);

// When appended records are forced to stable storage (fdatasync). Every
// mode survives a process crash (kill -9): records are in the kernel when
// the append returns. Measured on the dev VM's virtio disk (busy with other
// builds): an append (ACCEPTED + RESULT per run) costs ~3 us per run without
// fdatasync, ~7 ms with one per record; one fdatasync ~3-6 ms.
enum class SyncMode {
  // Never, except around compaction. Power loss can lose whatever the
  // kernel had not written back (up to ~30 s with default writeback).
  kNone,
  // When Sync() is called; the reporter calls it before each delivery
  // attempt and at least every ReporterOptions::sync_interval while there
  // are unsynced records. Power loss can lose only that last interval.
  // The default: kNone's cost on the job threads, one fdatasync per batch.
  kGroup,
  // After every record. Survives power loss; one fdatasync per append, on
  // the calling (job) thread, which caps throughput at ~100 runs/s here.
  kEveryRecord,
};

// "none", "group", "every_record": the --outbox_sync spellings.
const char* SyncModeName(SyncMode mode);

struct OutboxOptions {
  // The outbox folder, created if missing (normally OutboxDir(log_path)).
  std::string dir;
  SyncMode sync_mode = SyncMode::kGroup;
  // The file is rewritten with only its live records once it holds more
  // than this many dead records...
  int64_t compact_min_dead_records = 4096;
  // ...and more than this many times as many dead records as live ones.
  double compact_dead_ratio = 2.0;
};

struct ReporterOptions {
  // The journal: outbox.dir is required with an admin (normally
  // OutboxDir(log_path)); sync_mode and compaction settings apply.
  OutboxOptions outbox;
  // Results per Callback, and a cap on their handle_msg bytes (a batch
  // holds at least one result), to stay well below gRPC's 4 MiB message cap.
  size_t max_batch = 500;
  size_t max_batch_bytes = 1024 * 1024;
  // An idle sender woken by a new result waits this long (or until
  // max_batch results are queued) before it sends, so that results finishing
  // close together share one Callback, one fdatasync and one wake-up of the
  // sender instead of one each. The first result of a batch is delivered
  // at most this much later; zero sends as soon as the sender wakes.
  absl::Duration batch_delay = absl::Milliseconds(1);
  // Delay between failed attempts: 100 ms doubling to 30 s, each within
  // ±20% so that many executors don't retry in step.
  BackoffOptions retry;
  // With SyncMode::kGroup, unsynced records are fdatasynced at least this
  // often (and always before a delivery attempt).
  absl::Duration sync_interval = absl::Milliseconds(50);
  // Results held in memory (queued or in flight); more are spilled.
  size_t max_pending_in_memory = 100000;
  size_t max_pending_bytes = 64 * 1024 * 1024;
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateReporterOptions(const ReporterOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_DELIVERY_REPORTER_OPTIONS_H_

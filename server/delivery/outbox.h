// The result outbox: a crash-safe journal, under <log_path>/outbox/, of the
// results the executor still owes an admin (SPEC §5). A result is written
// here before delivery is attempted and marked delivered only after an admin
// accepted it, so an executor restarted after a crash (even kill -9)
// delivers what was pending.
//
// File format (outbox/outbox.log, all integers little-endian):
//   file   := magic "XXLOBX01" record*
//   record := crc32c:u32 length:u32 type:u8 payload[length]
// The CRC-32C covers length, type and payload. Types:
//   1 ACCEPTED  job_id:i64 log_id:i64 log_date_time:i64
//   2 RESULT    id:u64 job_id:i64 log_id:i64 log_date_time:i64
//               handle_code:i32 handle_msg[rest]
//   3 DELIVERED id:u64 * (length / 8)
// `id` is the outbox's own sequence number for a result, so a log id that is
// (unusually) reported twice is still tracked as two results.
//
// Recovery: Open() replays the file and stops at the first record that is
// short, too long, fails its CRC, or has a good CRC but a type or size that
// means nothing (always corruption). Everything before it is kept; the file is
// cut back there so later appends are clean. A bad record at the very end (a
// crash mid-write, or a zero-filled tail after power loss, which may follow a
// partly written record) is a WARNING.
// Anything else is mid-file corruption: an ERROR, and the damaged file is
// first preserved as outbox.log.corrupt-<unix seconds> for inspection. We
// stop rather than resynchronise because a scan for "the next valid-looking
// record" can resurrect garbage, and this file normally holds seconds' worth
// of results.
//
// Durability: every append is written (pwrite) to the kernel before it
// returns, so a process crash loses nothing. Surviving power loss depends on
// SyncMode (see there). A failed append (ENOSPC, EIO, ...) is cut back out
// of the file and returned as an error: the caller still holds the result
// and must deliver it from memory (it is then only not crash-durable).
#ifndef XXLJOB_SERVER_CORE_OUTBOX_H_
#define XXLJOB_SERVER_CORE_OUTBOX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/core/trigger.h"
#include "server/delivery/reporter_options.h"

namespace xxljob {

// What handle_msg an interrupted run gets after a restart (with code 500).
inline constexpr absl::string_view kRestartedBeforeFinishedMsg =
    "executor restarted before the run finished";

// A result the outbox holds that no admin has accepted yet.
struct PendingResult {
  // The outbox's sequence number of the result (> 0).
  uint64_t id = 0;
  RunResult result;
};

// The journal. Owns its file descriptors; one Outbox per folder, enforced
// across processes by an flock on <dir>/LOCK. Thread-safe: every method
// takes the internal mutex, and appends are serialised; only Sync()'s
// fdatasync runs outside it. The mutex is a leaf: the outbox calls no one
// while holding it.
class Outbox {
 public:
  // What Open() found.
  struct Recovery {
    int64_t records = 0;          // Good records replayed.
    int64_t pending = 0;          // Results left to deliver (incl. orphans).
    int64_t orphans = 0;          // Accepted runs turned into 500 results.
    int64_t discarded_bytes = 0;  // Cut off after the last good record.
    bool corrupt = false;         // The bad data was not just a torn tail.
    absl::Duration elapsed;
  };

  // Opens (creating if needed) the outbox in options.dir, replays it, cuts a
  // bad tail, journals a 500 RESULT with kRestartedBeforeFinishedMsg for
  // every ACCEPTED without a RESULT, and compacts if due. Errors:
  // INVALID_ARGUMENT for an empty dir; FAILED_PRECONDITION if the folder is
  // locked by another process or the file is not an outbox; the OS error
  // (via absl::ErrnoToStatus) if the folder or file can't be made or read.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(OutboxOptions options);
  // Closes the file without syncing (a crash-equivalent end is fine; call
  // Sync() first for power-loss safety).
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Journals that a trigger was accepted: one write. Errors are the OS
  // error; the file is left as it was.
  absl::Status AppendAccepted(int64_t job_id, int64_t log_id,
                              int64_t log_date_time);
  // Journals a finished run and returns its id. Settles the run's ACCEPTED
  // record, even if the append fails (the run did finish). Errors: the OS
  // error, or RESOURCE_EXHAUSTED once ids run out (2^63 - 1 of them; only a
  // forged journal gets there); the result is then not journaled and the
  // caller must keep it.
  absl::StatusOr<uint64_t> AppendResult(const RunResult& result);
  // Journals that results `ids` were delivered and forgets them; unknown
  // ids are ignored. They are forgotten in memory even if the write fails
  // (then a restart may deliver them again: at-least-once). May compact,
  // which blocks other appends for the rewrite (time proportional to the
  // live records). Errors: the OS error.
  absl::Status AppendDelivered(absl::Span<const uint64_t> ids);

  // With SyncMode::kGroup, fdatasyncs if anything was appended since the
  // last sync; otherwise a no-op. On return, every record appended before
  // the call is durable. Appends go on meanwhile: the fdatasync (milliseconds
  // on a disk, each a journal commit) runs outside the journal's lock, so job
  // and RPC threads never wait for it. Errors: the OS error.
  absl::Status Sync() ABSL_LOCKS_EXCLUDED(sync_mu_, mu_);

  // Up to `max_count` pending results with id > `after_id`, in id order,
  // read back from the file; stops early once their handle_msg bytes reach
  // `max_bytes` (but returns at least one). A record that no longer reads
  // back intact is logged and forgotten. Errors: the OS error.
  absl::StatusOr<std::vector<PendingResult>> ReadPending(uint64_t after_id,
                                                         size_t max_count,
                                                         size_t max_bytes);

  // Results journaled and not yet delivered.
  int64_t pending_count() const;
  // True if a result with id > `id` is pending.
  bool HasPendingAfter(uint64_t id) const;
  // The file's current size in bytes.
  int64_t file_bytes() const;
  // Compactions done since Open (not counting one during Open).
  int64_t compactions() const;
  const Recovery& recovery() const { return recovery_; }
  // The journal file's path.
  std::string file_path() const;

  // Makes every later append fail with `error` (an errno; 0 restores normal
  // writes) as if the disk had refused it.
  void InjectWriteErrorForTesting(int error);
  // Calls `hook` in every Sync() that has something to sync, just before
  // its fdatasync (where a slow disk would make it wait).
  void SetSyncHookForTesting(std::function<void()> hook);

 private:
  struct Accepted {
    int64_t job_id = 0;
    int64_t log_date_time = 0;
  };
  // Where a pending RESULT record sits in the file.
  struct RecordRef {
    int64_t offset = 0;
    uint32_t size = 0;  // Whole record, header included.
  };

  Outbox(OutboxOptions options, int lock_fd);

  // Open's work on the file: replay, repair, convert orphans, compact.
  absl::Status RecoverLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the state from the file and cuts a bad tail.
  absl::Status ReplayLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Journals a 500 RESULT for every ACCEPTED without a RESULT.
  void ConvertOrphansLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes one encoded record at the end of the file. Returns its offset.
  absl::StatusOr<int64_t> AppendRecordLocked(const std::string& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> AppendResultLocked(const RunResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeCompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rewrites the live records into a new file and swaps it in. On error the
  // old file stays in use, unchanged.
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t live_records_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(accepted_.size() + pending_.size());
  }

  const OutboxOptions options_;
  const std::string path_;
  const int lock_fd_;
  Recovery recovery_;  // Written only during Open.

  // Held for a whole Sync(), so that a second Sync() waits for the first's
  // fdatasync instead of returning as soon as it sees nothing unsynced.
  absl::Mutex sync_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  // Bytes of good records; where the next record goes.
  int64_t end_ ABSL_GUARDED_BY(mu_) = 0;
  // A failed append may have left bytes past end_; cut before writing more.
  bool dirty_tail_ ABSL_GUARDED_BY(mu_) = false;
  bool unsynced_ ABSL_GUARDED_BY(mu_) = false;
  int injected_error_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> sync_hook_ ABSL_GUARDED_BY(mu_);
  // Runs accepted and not finished, by log id.
  absl::flat_hash_map<int64_t, Accepted> accepted_ ABSL_GUARDED_BY(mu_);
  // Pending results by id.
  absl::btree_map<uint64_t, RecordRef> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t records_ ABSL_GUARDED_BY(mu_) = 0;  // In the file.
  // No compaction before dead records exceed this (raised after a failure
  // so a full disk doesn't make every delivery retry the rewrite).
  int64_t next_compact_dead_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t compactions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_OUTBOX_H_

// The results of recently finished runs, by log id: what lets TailLog end a
// follow with the run's handle_code and handle_msg without parsing the log's
// end line. A cache, not a record: the admin gets results through the
// result sink; this only answers "how did run N end" while N is recent.
#ifndef XXLJOB_SERVER_CORE_RECENT_RESULTS_H_
#define XXLJOB_SERVER_CORE_RECENT_RESULTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/core/trigger.h"

namespace xxljob {

// Bounded both in entries and in bytes of handle_msg (a message may be
// 50,000 characters, so a count alone would allow half a gigabyte); the
// oldest results are forgotten first. A log id that finishes again (a rerun
// of the same trigger) replaces its earlier result.
//
// Thread-safe. Add() and Find() take one short lock.
class RecentResults {
 public:
  static constexpr size_t kDefaultMaxEntries = 10000;
  static constexpr size_t kDefaultMaxBytes = 16 * 1024 * 1024;

  explicit RecentResults(size_t max_entries = kDefaultMaxEntries,
                         size_t max_bytes = kDefaultMaxBytes);
  RecentResults(const RecentResults&) = delete;
  RecentResults& operator=(const RecentResults&) = delete;

  // Remembers `result`, forgetting the oldest results beyond the bounds.
  void Add(const RunResult& result);

  // The last result added for `log_id`, if it is still remembered.
  std::optional<RunResult> Find(int64_t log_id) const;

  size_t size() const;

 private:
  struct Entry {
    RunResult result;
    // Tells this entry from an earlier result of the same log id that is
    // still in `order_`.
    uint64_t seq = 0;
  };
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Entry> by_log_id_ ABSL_GUARDED_BY(mu_);
  // (log id, seq), oldest first; may hold stale pairs of replaced entries.
  std::deque<std::pair<int64_t, uint64_t>> order_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RECENT_RESULTS_H_

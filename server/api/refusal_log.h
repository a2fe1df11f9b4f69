// The log of refused calls (a wrong or missing access token): bounded in
// rate and in memory, so that a caller guessing tokens can flood neither the
// log nor the executor.
#ifndef XXLJOB_SERVER_API_REFUSAL_LOG_H_
#define XXLJOB_SERVER_API_REFUSAL_LOG_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xxljob {

// Reports refused calls at a bounded rate, so that a caller guessing tokens
// can't flood the log: the first refusal at once (a misconfigured admin
// shows up immediately), then at most one line per `interval`, summing up
// the refusals since the previous line: how many, and from which hosts (the
// peer without its port, busiest first). Refusals after the last line are
// reported with the next one, or by Flush().
//
// Memory is bounded whatever the callers do: at most kMaxHosts hosts are
// counted by name between two lines, the rest together.
//
// Thread-safe.
class RefusalLog {
 public:
  // Receives each line; the default writes it to the log at WARNING.
  using Writer = std::function<void(const std::string& line)>;
  // The current time; the default is absl::Now. Tests pass a fake.
  using Clock = std::function<absl::Time()>;

  static constexpr absl::Duration kDefaultInterval = absl::Seconds(10);
  static constexpr size_t kMaxHosts = 64;
  // Hosts named in one line; the others are summed up.
  static constexpr size_t kHostsPerLine = 5;

  explicit RefusalLog(absl::Duration interval = kDefaultInterval,
                      Writer writer = nullptr, Clock clock = nullptr);
  RefusalLog(const RefusalLog&) = delete;
  RefusalLog& operator=(const RefusalLog&) = delete;

  // Counts one refusal of a call from `peer` (gRPC's form, e.g.
  // "ipv4:10.0.0.1:5000"), `why` saying what was wrong; writes a line if
  // the interval since the last one has passed.
  void Record(absl::string_view peer, absl::string_view why);
  // Writes the refusals not yet reported, if any.
  void Flush();
  // Refusals recorded since construction.
  int64_t total() const;

 private:
  void WriteLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration interval_;
  const Writer writer_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  // Since the last line: refusals, by host, the hosts past kMaxHosts, and
  // the reason of the latest.
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int64_t> by_host_ ABSL_GUARDED_BY(mu_);
  int64_t other_hosts_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_why_ ABSL_GUARDED_BY(mu_);
  absl::Time last_line_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_API_REFUSAL_LOG_H_

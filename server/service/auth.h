// The access-token check every Executor call passes first (SPEC §2): when a
// token is configured, the call's `xxl-job-access-token` metadata must carry
// exactly it.
#ifndef XXLJOB_SERVER_SERVICE_AUTH_H_
#define XXLJOB_SERVER_SERVICE_AUTH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/string_ref.h"

namespace xxljob {

// The metadata key, as XXL-JOB names its HTTP header.
inline constexpr char kAccessTokenMetadataKey[] = "xxl-job-access-token";

// True if `presented` equals `expected`. Every byte of `presented` (the
// caller's input) is compared, whatever the first difference, and a length
// mismatch is folded into the result instead of returning early, so the time
// taken tells a caller nothing about how much of a guess was right.
bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected);

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

// Checks a call's metadata against `expected_token`. An empty
// `expected_token` means no token is configured: every call passes.
// Returns OK or UNAUTHENTICATED "missing or wrong access token" (the message
// never says which, nor echoes the token). A refusal is recorded in
// `refusals` (may be null: not reported), `peer` naming the caller.
// Thread-safe.
absl::Status CheckAccessToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    absl::string_view expected_token, absl::string_view peer,
    RefusalLog* refusals);

// The same, for a server call.
absl::Status CheckAccessToken(const grpc::ServerContextBase& context,
                              absl::string_view expected_token,
                              RefusalLog* refusals);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_AUTH_H_

#include "server/service/auth.h"

#include <atomic>
#include <chrono>
#include <cstdint>

#include "glog/logging.h"

namespace xxljob {
namespace {

// At most one rejection line per this many seconds.
constexpr int64_t kRejectLogIntervalNanos = int64_t{10} * 1000 * 1000 * 1000;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Logs one rejection, or counts it when a line was written recently. The
// first rejection is always logged: a misconfigured admin shows up at once.
void LogRejection(absl::string_view peer, absl::string_view why) {
  static std::atomic<int64_t> next_log_nanos{0};
  static std::atomic<int64_t> suppressed{0};
  const int64_t now = SteadyNanos();
  int64_t next = next_log_nanos.load(std::memory_order_relaxed);
  // Only the thread that wins the exchange logs; the others count.
  if (now < next ||
      !next_log_nanos.compare_exchange_strong(
          next, now + kRejectLogIntervalNanos, std::memory_order_relaxed)) {
    suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t more = suppressed.exchange(0, std::memory_order_relaxed);
  LOG(WARNING) << "rejected call from " << peer << ": " << why
               << " access token"
               << (more > 0 ? " (" + std::to_string(more) +
                                  " more rejected since the last report)"
                            : "");
}

}  // namespace

bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected) {
  // Loop over the caller's bytes so the time says nothing about the secret.
  // Past the end of `expected` compare against 0; the length check below
  // still fails such a call. volatile keeps the compiler from turning the
  // accumulation into an early exit.
  volatile unsigned char diff = presented.size() != expected.size() ? 1 : 0;
  for (size_t i = 0; i < presented.size(); ++i) {
    const unsigned char want =
        i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff = diff | (static_cast<unsigned char>(presented[i]) ^ want);
  }
  return diff == 0;
}

absl::Status CheckAccessToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    absl::string_view expected_token, absl::string_view peer) {
  if (expected_token.empty()) return absl::OkStatus();
  auto it = metadata.find(kAccessTokenMetadataKey);
  if (it == metadata.end()) {
    LogRejection(peer, "missing");
    return absl::UnauthenticatedError("missing or wrong access token");
  }
  const absl::string_view presented(it->second.data(), it->second.size());
  if (!ConstantTimeEquals(presented, expected_token)) {
    LogRejection(peer, "wrong");
    return absl::UnauthenticatedError("missing or wrong access token");
  }
  return absl::OkStatus();
}

absl::Status CheckAccessToken(const grpc::ServerContextBase& context,
                              absl::string_view expected_token) {
  if (expected_token.empty()) return absl::OkStatus();
  return CheckAccessToken(context.client_metadata(), expected_token,
                          context.peer());
}

}  // namespace xxljob

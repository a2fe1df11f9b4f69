// The executor's API, transport-neutral (SPEC §2): what Beat, IdleBeat, Run,
// Kill, Log and TailLog mean at the edge, written once for every transport.
// A transport (gRPC today) only decodes a request, calls the method and
// encodes what it returns; it never decides anything itself.
#ifndef XXLJOB_SERVER_API_API_HANDLER_H_
#define XXLJOB_SERVER_API_API_HANDLER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/memory_release.h"
#include "server/api/api_options.h"
#include "server/api/refusal_log.h"
#include "server/core/executor.h"
#include "server/metrics/metrics.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {

// The version Beat reports. The build passes the project version in.
#ifdef XXLJOB_VERSION
inline constexpr char kExecutorVersion[] = XXLJOB_VERSION;
#else
inline constexpr char kExecutorVersion[] = "0.1.0";  // CMake project VERSION.
#endif

// Who is calling, as the transport saw it.
struct Caller {
  // The access token presented (metadata or header); nullopt when none.
  std::optional<absl::string_view> token;
  // Describes the peer ("ipv4:10.0.0.1:5000"); called only for a refused
  // call, since building the text costs an allocation. (A lambda capturing
  // a pointer fits std::function's small buffer: no allocation either.)
  std::function<std::string()> peer;
  // The transport the call came by, and whether it was HTTP's /trigger
  // (the same as /run): labels of the request metrics.
  Transport transport = Transport::kGrpc;
  bool trigger_route = false;
};

// A TailLog stream slot (ApiOptions::max_tail_streams of them). Movable; the
// slot is given back when the last owner goes.
class ApiHandler;

class TailStreamSlot {
 public:
  TailStreamSlot() = default;
  TailStreamSlot(TailStreamSlot&& other) noexcept : api_(other.api_) {
    other.api_ = nullptr;
  }
  TailStreamSlot& operator=(TailStreamSlot&& other) noexcept;
  TailStreamSlot(const TailStreamSlot&) = delete;
  TailStreamSlot& operator=(const TailStreamSlot&) = delete;
  ~TailStreamSlot() { Release(); }
  // Gives the slot back now (once; later calls do nothing).
  void Release();

 private:
  friend class ApiHandler;
  explicit TailStreamSlot(ApiHandler* api) : api_(api) {}
  ApiHandler* api_ = nullptr;
};

// Every method checks the caller's token first (UNAUTHENTICATED), then
// validates the request (INVALID_ARGUMENT naming the field), then calls the
// core and applies the refusal policy of reply.h: it returns OK with the
// response filled (code 200, or 500 and a message for a business refusal),
// or the status the call fails with (UNAUTHENTICATED, INVALID_ARGUMENT,
// RESOURCE_EXHAUSTED, UNAVAILABLE). Refused tokens are logged through one
// RefusalLog (a line per 10 s at most).
//
// No method blocks on a running job: admission, kill and IdleBeat take
// short locks, Log reads one page of a local file. Thread-safe. Does not own
// the executor, which must outlive the handler.
class ApiHandler {
 public:
  // REQUIRES: ValidateApiOptions(options) is OK. `metrics` (null: off)
  // counts requests and refused triggers; it must outlive the handler.
  ApiHandler(Executor* executor, ApiOptions options,
             Metrics* metrics = nullptr);
  // Reports refusals not yet logged.
  ~ApiHandler();
  ApiHandler(const ApiHandler&) = delete;
  ApiHandler& operator=(const ApiHandler&) = delete;

  // The advertised address Beat reports. Set once the transports have bound
  // their ports (it is not known before); Beat answers "" until then.
  void set_address(std::string address);

  absl::Status Beat(const Caller& caller, v1::BeatResponse* response);
  // 500 "job thread is running or has trigger queue" when the job is busy.
  absl::Status IdleBeat(const Caller& caller,
                        const v1::IdleBeatRequest& request,
                        v1::IdleBeatResponse* response);
  // Admits one run. A manual trigger (log_id and/or log_date_time 0) gets a
  // fresh log id no admin would use and/or the current time; the response
  // says which were used.
  absl::Status Run(const Caller& caller, const v1::RunRequest& request,
                   v1::RunResponse* response);
  absl::Status Kill(const Caller& caller, const v1::KillRequest& request,
                    v1::KillResponse* response);
  absl::Status Log(const Caller& caller, const v1::LogRequest& request,
                   v1::LogResponse* response);
  // The checks of Log, then a stream slot: RESOURCE_EXHAUSTED past
  // max_tail_streams. The transport then follows the run's log (the gRPC
  // one with a TailLogReactor) and keeps the slot until the stream is done.
  absl::StatusOr<TailStreamSlot> OpenTailStream(const Caller& caller,
                                                const v1::LogRequest& request);

  Executor* executor() const { return executor_; }
  const ApiOptions& options() const { return options_; }
  // Refused tokens since construction.
  int64_t token_refusals() const { return refusals_.total(); }
  // TailLog streams open now.
  int64_t tail_streams() const { return tail_streams_.load(); }
  // Null when metrics are off.
  Metrics* metrics() const { return metrics_; }

 private:
  friend class TailStreamSlot;

  absl::Status Authenticate(const Caller& caller);
  // The methods, unmetered: the public ones time and count them.
  absl::Status DoBeat(const Caller& caller, v1::BeatResponse* response);
  absl::Status DoIdleBeat(const Caller& caller,
                          const v1::IdleBeatRequest& request,
                          v1::IdleBeatResponse* response);
  absl::Status DoRun(const Caller& caller, const v1::RunRequest& request,
                     v1::RunResponse* response);
  absl::Status DoKill(const Caller& caller, const v1::KillRequest& request,
                      v1::KillResponse* response);
  absl::Status DoLog(const Caller& caller, const v1::LogRequest& request,
                     v1::LogResponse* response);
  absl::StatusOr<TailStreamSlot> DoOpenTailStream(
      const Caller& caller, const v1::LogRequest& request);
  // Counts a refused trigger, when metrics are on.
  void CountRefusal(const absl::Status& status) {
    if (metrics_ != nullptr) metrics_->RunRefused(RefusalOf(status));
  }
  // A stream slot comes back. Once no stream is left, what the streams held
  // goes back to the system (glibc would keep most of it).
  void ReleaseTailStream();
  // A log id for a manual trigger: above every id an admin hands out (they
  // count up from 1) and increasing, also across restarts (it follows the
  // clock), so it never names another run's log.
  int64_t NewManualLogId();

  Executor* const executor_;
  const ApiOptions options_;
  Metrics* const metrics_;
  RefusalLog refusals_;
  std::atomic<int64_t> tail_streams_{0};
  DelayedMemoryRelease memory_release_{absl::Milliseconds(250)};
  std::atomic<int64_t> last_manual_log_id_{0};
  // Uptime is measured on the monotonic clock: wall-clock steps must not
  // make it jump or go negative.
  const std::chrono::steady_clock::time_point start_time_;
  mutable absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_API_API_HANDLER_H_

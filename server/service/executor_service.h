// The Executor gRPC service (SPEC §2): a thin adapter that checks the access
// token, validates the request, calls the core and answers. Nothing here
// decides job semantics; that is server/core/executor.h.
#ifndef XXLJOB_SERVER_SERVICE_EXECUTOR_SERVICE_H_
#define XXLJOB_SERVER_SERVICE_EXECUTOR_SERVICE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/core/executor.h"
#include "server/service/auth.h"
#include "server/service/memory_release.h"
#include "server/service/validation.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {

// The version Beat reports. The build may pass the project version in.
#ifdef XXLJOB_VERSION
inline constexpr char kExecutorVersion[] = XXLJOB_VERSION;
#else
inline constexpr char kExecutorVersion[] = "0.1.0";  // CMake project VERSION.
#endif

// The bounds the service applies (ServerOptions carries them).
struct ServiceLimits {
  // Run's per-field limits (INVALID_ARGUMENT past them).
  FieldLimits fields;
  // TailLog streams open at once; one more is RESOURCE_EXHAUSTED.
  int max_tail_streams = 256;
  // The largest request, enforced by gRPC (RESOURCE_EXHAUSTED); here only
  // to be reported by Beat.
  int max_request_bytes = 4 * 1024 * 1024;
};

// Serves Beat, IdleBeat, Run, Kill and Log with the callback API. Each
// handler finishes before it returns: the core calls it makes never wait on
// a running job, so no handler blocks a gRPC thread for long. Every call
// first passes the access-token check (UNAUTHENTICATED), then validation
// (INVALID_ARGUMENT); core statuses are mapped by grpc_status.h. No
// exception escapes a handler: one becomes INTERNAL "internal error", with
// the detail only in the server's log.
//
// TailLog, the one method that waits, passes the same checks here and is
// then served by a TailLogReactor (tail_log_reactor.h) of its own; at most
// ServiceLimits::max_tail_streams of them are open at once.
//
// Thread-safe. Does not own the executor, which must outlive the service.
class ExecutorService final : public v1::Executor::CallbackService {
 public:
  // `access_token` empty: calls need no token.
  ExecutorService(Executor* executor, std::string app_name,
                  std::string access_token, ServiceLimits limits = {});
  // Reports refusals not yet logged.
  ~ExecutorService() override;
  ExecutorService(const ExecutorService&) = delete;
  ExecutorService& operator=(const ExecutorService&) = delete;

  // The advertised host:port Beat reports. Set once the server has bound its
  // port (it is not known before); Beat answers "" until then.
  void set_address(std::string address);

  grpc::ServerUnaryReactor* Beat(grpc::CallbackServerContext* context,
                                 const v1::BeatRequest* request,
                                 v1::BeatResponse* response) override;
  grpc::ServerUnaryReactor* IdleBeat(grpc::CallbackServerContext* context,
                                     const v1::IdleBeatRequest* request,
                                     v1::IdleBeatResponse* response) override;
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                const v1::RunRequest* request,
                                v1::RunResponse* response) override;
  grpc::ServerUnaryReactor* Kill(grpc::CallbackServerContext* context,
                                 const v1::KillRequest* request,
                                 v1::KillResponse* response) override;
  grpc::ServerUnaryReactor* Log(grpc::CallbackServerContext* context,
                                const v1::LogRequest* request,
                                v1::LogResponse* response) override;
  // Checks the token and the request like Log, then follows the run's log
  // (see TailLogReactor). A failed check ends the stream at once with its
  // status and no page; so does a stream past max_tail_streams
  // (RESOURCE_EXHAUSTED).
  grpc::ServerWriteReactor<v1::LogResponse>* TailLog(
      grpc::CallbackServerContext* context,
      const v1::LogRequest* request) override;

 private:
  // The bodies, run after the token check; each returns what Finish() gets.
  grpc::Status DoBeat(v1::BeatResponse* response);
  grpc::Status DoIdleBeat(const v1::IdleBeatRequest& request,
                          v1::IdleBeatResponse* response);
  grpc::Status DoRun(const v1::RunRequest& request, v1::RunResponse* response);
  grpc::Status DoKill(const v1::KillRequest& request,
                      v1::KillResponse* response);
  grpc::Status DoLog(const v1::LogRequest& request, v1::LogResponse* response);

  // Checks the token, runs `body` and finishes the call with what it
  // returns, turning an exception into INTERNAL.
  template <typename Body>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const char* method, Body body);

  // Takes a TailLog slot, or says why not (RESOURCE_EXHAUSTED).
  grpc::Status AcquireTailStream();
  void ReleaseTailStream();

  Executor* const executor_;
  const std::string app_name_;
  const std::string access_token_;
  const ServiceLimits limits_;
  RefusalLog refusals_;
  // TailLog streams open (a reactor that has not reached OnDone).
  std::atomic<int64_t> tail_streams_{0};
  // Gives what TailLog streams held back to the system once none is open.
  DelayedMemoryRelease memory_release_{absl::Milliseconds(250)};
  // Uptime is measured on the monotonic clock: wall-clock steps must not
  // make it jump or go negative.
  const std::chrono::steady_clock::time_point start_time_;
  mutable absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_EXECUTOR_SERVICE_H_

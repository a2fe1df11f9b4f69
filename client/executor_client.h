// A small synchronous client of the Executor service, for tools (xxl-ctl)
// and tests: one method per RPC, the access token sent as metadata, a
// deadline on every call, and gRPC statuses turned into absl::Status.
#ifndef XXLJOB_CLIENT_EXECUTOR_CLIENT_H_
#define XXLJOB_CLIENT_EXECUTOR_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {

// Per-call options.
struct CallOptions {
  // The call fails with DEADLINE_EXCEEDED after this long.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls one executor. The methods return the response when the call itself
// succeeded (OK gRPC status), whatever its `code`: a business refusal is
// code 500 in an OK response, as the contract has it. A failed call returns
// its gRPC status as an absl::Status with the same code and message
// (UNAUTHENTICATED, INVALID_ARGUMENT, UNAVAILABLE, DEADLINE_EXCEEDED, ...).
//
// Thread-safe; calls block until answered or the deadline passes.
class ExecutorClient {
 public:
  // Connects (lazily) to `target`, "host:port", in plaintext. A non-empty
  // `access_token` goes in every call's `xxl-job-access-token` metadata.
  explicit ExecutorClient(const std::string& target,
                          std::string access_token = "");
  // Uses an existing channel: for TLS, one from MakeChannel()
  // (security/tls_credentials.h).
  ExecutorClient(std::shared_ptr<grpc::Channel> channel,
                 std::string access_token);
  ExecutorClient(const ExecutorClient&) = delete;
  ExecutorClient& operator=(const ExecutorClient&) = delete;

  absl::StatusOr<v1::BeatResponse> Beat(const v1::BeatRequest& request = {},
                                        const CallOptions& options = {});
  absl::StatusOr<v1::IdleBeatResponse> IdleBeat(
      const v1::IdleBeatRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::RunResponse> Run(const v1::RunRequest& request,
                                      const CallOptions& options = {});
  absl::StatusOr<v1::KillResponse> Kill(const v1::KillRequest& request,
                                        const CallOptions& options = {});
  absl::StatusOr<v1::LogResponse> Log(const v1::LogRequest& request,
                                      const CallOptions& options = {});

  // Called with each TailLog page as it arrives, the final one included.
  // Returning false stops the follow (the call is cancelled).
  using PageCallback = std::function<bool(const v1::LogResponse&)>;

  // Follows a run's log (TailLog): calls `on_page` with every page, on this
  // thread, until the stream ends. Returns the final page: the one with
  // is_end (with handle_code/handle_msg when the executor knows the result)
  // or one with code 500 (e.g. "log file not found"). `options.timeout`
  // bounds the whole follow (absl::InfiniteDuration() for none). Errors:
  // the call's status (UNAUTHENTICATED, INVALID_ARGUMENT, DEADLINE_EXCEEDED,
  // UNAVAILABLE, ...); CANCELLED when `on_page` returned false; DATA_LOSS if
  // the stream ended OK without a final page (a broken server).
  absl::StatusOr<v1::LogResponse> TailLog(const v1::LogRequest& request,
                                          const PageCallback& on_page,
                                          const CallOptions& options = {});

 private:
  // Prepares `context` with the deadline and the token.
  void Prepare(const CallOptions& options, grpc::ClientContext* context) const;

  const std::string access_token_;
  std::unique_ptr<v1::Executor::Stub> stub_;
};

}  // namespace xxljob

#endif  // XXLJOB_CLIENT_EXECUTOR_CLIENT_H_

// The one place where absl::Status and grpc::Status meet, and where the
// contract's split between "the call failed" and "the call was refused" is
// decided (SPEC §2):
//
//   - INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE and UNAUTHENTICATED
//     are failures of the call itself: a non-OK grpc::Status with the same
//     code and message.
//   - Every other non-OK code (FAILED_PRECONDITION, NOT_FOUND, UNIMPLEMENTED,
//     ...) is a business refusal, as XXL-JOB's ReturnT has it: an OK
//     grpc::Status and a response with code 500 and msg = the status message.
//   - OK is an OK grpc::Status and code 200.
//
// The plain code conversions are inline so that the client library can use
// them without linking the service.
#ifndef XXLJOB_SERVER_SERVICE_GRPC_STATUS_H_
#define XXLJOB_SERVER_SERVICE_GRPC_STATUS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace xxljob {

// Response codes of the contract (XXL-JOB's ReturnT).
inline constexpr int32_t kResponseCodeSuccess = 200;
inline constexpr int32_t kResponseCodeFail = 500;

// absl and gRPC share the canonical code numbering (0..16); anything outside
// it, which a broken peer could send, becomes UNKNOWN.
inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const int code = static_cast<int>(status.error_code());
  const absl::StatusCode absl_code =
      code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated)
          ? static_cast<absl::StatusCode>(code)
          : absl::StatusCode::kUnknown;
  return absl::Status(absl_code, status.error_message());
}

// The same code and message, with no policy applied.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// True if a core status with `code` fails the call (non-OK gRPC status)
// rather than being answered as a business refusal.
bool IsCallFailure(absl::StatusCode code);

// A response's code and msg, as decided by the policy above.
struct Reply {
  // What the handler passes to Finish().
  grpc::Status status;
  // 200 or 500; meaningless when `status` is not OK.
  int32_t code = kResponseCodeSuccess;
  std::string msg;
};

// Applies the policy to a core status. An OK status gets `success_msg`.
Reply ToReply(const absl::Status& status, std::string success_msg = "");

// Fills `response`'s code and msg from `status` and returns the grpc::Status
// to finish the call with, so each RPC answers in one line:
//   return Answer(executor_->Run(std::move(trigger)), response);
template <typename Response>
grpc::Status Answer(const absl::Status& status, Response* response,
                    std::string success_msg = "") {
  Reply reply = ToReply(status, std::move(success_msg));
  if (reply.status.ok()) {
    response->set_code(reply.code);
    response->set_msg(std::move(reply.msg));
  }
  return reply.status;
}

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_GRPC_STATUS_H_

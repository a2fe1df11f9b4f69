// The refusal policy of the API (SPEC §2), the same on every transport: which
// outcomes fail a call and which are answered, like XXL-JOB's ReturnT, with
// code 500 and a message.
//
//   - INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE and UNAUTHENTICATED
//     are failures of the call itself (gRPC: a non-OK status with the same
//     code and message).
//   - Every other non-OK code (FAILED_PRECONDITION, NOT_FOUND, UNIMPLEMENTED,
//     ...) is a business refusal: an answered call with code 500 and msg =
//     the status message.
//   - OK is an answered call with code 200.
#ifndef XXLJOB_SERVER_API_REPLY_H_
#define XXLJOB_SERVER_API_REPLY_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/response_code.h"

namespace xxljob {

// True if a core status with `code` fails the call rather than being
// answered as a business refusal.
bool IsCallFailure(absl::StatusCode code);

// A response's code and msg, as decided by the policy above.
struct Reply {
  // Non-OK: the call fails with it, and code/msg mean nothing.
  absl::Status failure;
  // 200 or 500.
  int32_t code = kResponseCodeSuccess;
  std::string msg;
};

// Applies the policy to a core status. An OK status gets `success_msg`.
Reply ToReply(const absl::Status& status, std::string success_msg = "");

// Fills `response`'s code and msg from `status` and returns the status the
// call ends with (OK when answered), so each method answers in one line:
//   return Answer(executor_->IdleBeat(job_id), response);
template <typename Response>
absl::Status Answer(const absl::Status& status, Response* response,
                    std::string success_msg = "") {
  Reply reply = ToReply(status, std::move(success_msg));
  if (reply.failure.ok()) {
    response->set_code(reply.code);
    response->set_msg(std::move(reply.msg));
  }
  return reply.failure;
}

}  // namespace xxljob

#endif  // XXLJOB_SERVER_API_REPLY_H_

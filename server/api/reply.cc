#include "server/api/reply.h"

namespace xxljob {

bool IsCallFailure(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      // Including INTERNAL and UNKNOWN: the core answered, so the call
      // worked; the scheduler treats code 500 as "this executor said no".
      return false;
  }
}

Reply ToReply(const absl::Status& status, std::string success_msg) {
  Reply reply;
  if (status.ok()) {
    reply.code = kResponseCodeSuccess;
    reply.msg = std::move(success_msg);
  } else if (IsCallFailure(status.code())) {
    reply.failure = status;
  } else {
    reply.code = kResponseCodeFail;
    reply.msg = std::string(status.message());
  }
  return reply;
}

}  // namespace xxljob

#include "server/api/reply.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {
namespace {

TEST(ReplyTest, CallFailuresKeepTheirCodeAndMessage) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kUnavailable,
        absl::StatusCode::kUnauthenticated}) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    v1::RunResponse response;
    absl::Status status = Answer(absl::Status(code, "why"), &response);
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "why");
    EXPECT_TRUE(IsCallFailure(code));
  }
}

TEST(ReplyTest, OtherErrorsAreBusinessRefusalsWithCode500) {
  for (absl::StatusCode code :
       {absl::StatusCode::kFailedPrecondition, absl::StatusCode::kNotFound,
        absl::StatusCode::kUnimplemented, absl::StatusCode::kAlreadyExists,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown,
        absl::StatusCode::kCancelled, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kAborted,
        absl::StatusCode::kOutOfRange, absl::StatusCode::kDataLoss}) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    v1::RunResponse response;
    absl::Status status =
        Answer(absl::Status(code, "repeat trigger job, logId:9"), &response);
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(response.code(), 500);
    EXPECT_EQ(response.msg(), "repeat trigger job, logId:9");
    EXPECT_FALSE(IsCallFailure(code));
  }
}

TEST(ReplyTest, OkIsCode200WithTheSuccessMessage) {
  v1::KillResponse response;
  absl::Status status = Answer(absl::OkStatus(), &response, "killed");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(response.code(), 200);
  EXPECT_EQ(response.msg(), "killed");

  Reply reply = ToReply(absl::OkStatus());
  EXPECT_TRUE(reply.failure.ok());
  EXPECT_EQ(reply.code, kResponseCodeSuccess);
  EXPECT_EQ(reply.msg, "");
}

}  // namespace
}  // namespace xxljob

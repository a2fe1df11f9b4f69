#include "server/service/grpc_status.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {
namespace {

TEST(GrpcStatusTest, CallFailuresKeepTheirCodeAndMessage) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kUnavailable,
        absl::StatusCode::kUnauthenticated}) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    v1::RunResponse response;
    grpc::Status status = Answer(absl::Status(code, "why"), &response);
    EXPECT_EQ(static_cast<int>(status.error_code()), static_cast<int>(code));
    EXPECT_EQ(status.error_message(), "why");
    EXPECT_TRUE(IsCallFailure(code));
  }
}

TEST(GrpcStatusTest, OtherErrorsAreBusinessRefusalsWithCode500) {
  for (absl::StatusCode code :
       {absl::StatusCode::kFailedPrecondition, absl::StatusCode::kNotFound,
        absl::StatusCode::kUnimplemented, absl::StatusCode::kAlreadyExists,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown,
        absl::StatusCode::kCancelled, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kAborted,
        absl::StatusCode::kOutOfRange, absl::StatusCode::kDataLoss}) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    v1::RunResponse response;
    grpc::Status status =
        Answer(absl::Status(code, "repeat trigger job, logId:9"), &response);
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(response.code(), 500);
    EXPECT_EQ(response.msg(), "repeat trigger job, logId:9");
    EXPECT_FALSE(IsCallFailure(code));
  }
}

TEST(GrpcStatusTest, OkIsCode200WithTheSuccessMessage) {
  v1::KillResponse response;
  grpc::Status status = Answer(absl::OkStatus(), &response, "killed");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(response.code(), 200);
  EXPECT_EQ(response.msg(), "killed");

  Reply reply = ToReply(absl::OkStatus());
  EXPECT_TRUE(reply.status.ok());
  EXPECT_EQ(reply.code, kResponseCodeSuccess);
  EXPECT_EQ(reply.msg, "");
}

TEST(GrpcStatusTest, ConvertsBothWaysWithCodeAndMessage) {
  for (int code = 0; code <= 16; ++code) {
    SCOPED_TRACE(code);
    const absl::Status in(static_cast<absl::StatusCode>(code),
                          code == 0 ? "" : "msg");
    const grpc::Status g = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(g), in);
  }
}

TEST(GrpcStatusTest, UnknownGrpcCodeBecomesUnknown) {
  // 20: no gRPC code, yet within what grpc::StatusCode can hold (its
  // values need 5 bits; 42 would be undefined behaviour, as UBSan says).
  const grpc::Status odd(static_cast<grpc::StatusCode>(20), "odd");
  const absl::Status s = FromGrpcStatus(odd);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "odd");
}

}  // namespace
}  // namespace xxljob

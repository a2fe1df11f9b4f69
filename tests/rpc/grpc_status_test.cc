#include "rpc/grpc_status.h"

#include "gtest/gtest.h"

namespace xxljob {
namespace {

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

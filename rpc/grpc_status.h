// The one place where absl::Status and grpc::Status meet. Both share the
// canonical code numbering (0..16), so a conversion keeps code and message;
// which statuses fail a call and which are answered as a refusal is the API
// edge's policy (server/api/reply.h), not this file's.
#ifndef XXLJOB_RPC_GRPC_STATUS_H_
#define XXLJOB_RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace xxljob {

// The same code and message. A code outside 0..16, which a broken peer
// could send, becomes UNKNOWN.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace xxljob

#endif  // XXLJOB_RPC_GRPC_STATUS_H_

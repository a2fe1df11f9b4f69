// Gives a caller whose request does not parse a clear error.
//
// gRPC deserialises a request before the service sees it. When that fails
// (bytes that are not the method's message, or a proto3 string field that
// is not valid UTF-8), gRPC 1.51's callback API answers UNIMPLEMENTED with
// no message, which reads as "this executor lacks the method". This
// interceptor turns that answer, for the Executor's own methods (all of
// which are implemented, so nothing else produces it), into
// INVALID_ARGUMENT saying what was wrong (SPEC §2: a malformed request is
// INVALID_ARGUMENT), and counts it in the metrics (the edge never saw it).
#ifndef XXLJOB_SERVER_GRPC_PARSE_ERROR_INTERCEPTOR_H_
#define XXLJOB_SERVER_GRPC_PARSE_ERROR_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "server/metrics/metrics.h"

namespace xxljob {

// What such a call ends with. Thread-safe: creates one small interceptor
// per call of an Executor method, none for other services.
class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics`: null when off; else outlives the server.
  explicit ParseErrorInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* const metrics_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_GRPC_PARSE_ERROR_INTERCEPTOR_H_

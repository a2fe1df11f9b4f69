// The executor's gRPC transport: the Executor service (over the API edge),
// gRPC health (grpc.health.v1) and server reflection on one port, so that
// `grpcurl -plaintext HOST:PORT list` (with TLS: `grpcurl -cacert CA.pem
// HOST:PORT list`) works with no proto files.
#ifndef XXLJOB_SERVER_GRPC_GRPC_TRANSPORT_H_
#define XXLJOB_SERVER_GRPC_GRPC_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/connection_listener.h"
#include "server/api/api_handler.h"
#include "server/grpc/grpc_options.h"

namespace grpc {
class Server;
namespace experimental {
class ExternalConnectionAcceptor;
}  // namespace experimental
}  // namespace grpc

namespace xxljob {

class GrpcService;

// Owns the gRPC server. SetNotServing and Shutdown are called by one thread
// (the app's shutdown); the rest is immutable after Start.
class GrpcTransport {
 public:
  // Starts serving `api` (which must outlive the transport); requests
  // larger than its max_request_bytes are refused by gRPC
  // (RESOURCE_EXHAUSTED). REQUIRES: options.max_connections > 0 (the app
  // resolves 0 from the descriptor budget). Errors: INVALID_ARGUMENT for bad
  // options, FAILED_PRECONDITION for an unreadable TLS file, UNAVAILABLE when
  // the listen address can't be bound (e.g. the port is in use).
  static absl::StatusOr<std::unique_ptr<GrpcTransport>> Start(
      GrpcOptions options, ApiHandler* api);
  // Shutdown() unless already shut down.
  ~GrpcTransport();
  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  // The bound port, and the host of the listen address (no brackets).
  int port() const { return port_; }
  const std::string& listen_host() const { return listen_host_; }
  // Connections open, their bound and those refused at accept.
  // REQUIRES: Shutdown() has not been called.
  ConnectionCounts connections() const;

  // Health NOT_SERVING (for "" and the Executor service), while everything
  // else goes on: the first step of a graceful stop. Idempotent.
  void SetNotServing();

  // Stops the server: calls in flight get a short deadline (by now the
  // core has stopped, so every handler is quick), idle connections are
  // dropped. Blocks until done. Idempotent.
  void Shutdown();

 private:
  GrpcTransport();
  // Hands listener_'s connections to gRPC. REQUIRES: server_ started.
  void StartAccepting();

  std::unique_ptr<GrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  // gRPC 1.51's own accept loop stops for good after EMFILE and has no
  // connection bound, so the transport accepts connections itself and
  // hands them to gRPC through `acceptor_` (docs/design.md, "Descriptors").
  std::unique_ptr<ConnectionListener> listener_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  int port_ = 0;
  int max_connections_ = 0;
  std::string listen_host_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_GRPC_GRPC_TRANSPORT_H_

// Options of the gRPC transport. Embedding applications set them in
// AppOptions::grpc.
#ifndef XXLJOB_SERVER_GRPC_GRPC_OPTIONS_H_
#define XXLJOB_SERVER_GRPC_GRPC_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "security/tls_credentials.h"

namespace xxljob {

struct GrpcOptions {
  // host:port to listen on; port 0 picks a free port (see port()).
  std::string listen = "0.0.0.0:9999";
  // TLS (and mutual TLS) for every service on the port, health and
  // reflection included. Default: plaintext.
  ServerTlsOptions tls;
  // Transport protection (docs/operations.md, "Bounds"). Calls in flight on
  // one connection: more wait in the client (HTTP/2 flow control), they
  // are not refused.
  int max_concurrent_streams_per_connection = 1000;
  // While calls are open on a connection the server pings an idle one this
  // often and drops it if no answer comes within keepalive_timeout: a client
  // that vanished (host down, cable cut) frees its TailLog streams.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // A connection with no call for this long is closed (clients reconnect
  // transparently): abandoned connections don't hold descriptors forever.
  absl::Duration max_connection_idle = absl::Minutes(10);
  // Descriptors (docs/design.md, "Descriptors"). The transport accepts
  // connections itself and bounds them: at most `max_connections` open at
  // once (one more is accepted and closed at once). 0: the app's share of
  // the descriptor limit (see AppOptions::reserved_fds).
  int max_connections = 0;
  // A connection that has not finished its TLS handshake and sent its
  // HTTP/2 preface and settings within this is closed (gRPC's default is
  // 120 s, which lets idle sockets hold descriptors).
  absl::Duration handshake_timeout = absl::Seconds(5);
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateGrpcOptions(const GrpcOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_GRPC_GRPC_OPTIONS_H_

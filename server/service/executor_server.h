// The executor as a gRPC server: the core behind the Executor service, plus
// gRPC health (grpc.health.v1) and server reflection, so that
// `grpcurl -plaintext HOST:PORT list` (with TLS: `grpcurl -cacert CA.pem
// HOST:PORT list`) works with no proto files.
// This is what main.cc runs and what embedding applications start.
#ifndef XXLJOB_SERVER_SERVICE_EXECUTOR_SERVER_H_
#define XXLJOB_SERVER_SERVICE_EXECUTOR_SERVER_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "security/tls_credentials.h"
#include "server/core/executor.h"
#include "server/core/executor_options.h"
#include "server/core/result_sink.h"
#include "server/service/validation.h"

namespace grpc {
class Server;
namespace experimental {
class ExternalConnectionAcceptor;
}
}  // namespace grpc

namespace xxljob {

class ConnectionListener;
class ExecutorService;

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see port()).
  std::string listen = "0.0.0.0:9999";
  // host:port the executor advertises (Beat, registration). Empty: the first
  // non-loopback IPv4 address and the bound port.
  std::string address;
  std::string app_name = "xxl-executor";
  // When non-empty, every Executor call must carry it in the
  // `xxl-job-access-token` metadata (compared in constant time).
  std::string access_token;
  // Largest request accepted, in bytes; gRPC refuses a larger one with
  // RESOURCE_EXHAUSTED before it reaches the service.
  int max_receive_message_bytes = 4 * 1024 * 1024;
  // TLS (and mutual TLS) for every service on the port, health and
  // reflection included. Default: plaintext.
  ServerTlsOptions tls;
  // Run's per-field limits (INVALID_ARGUMENT past them).
  FieldLimits field_limits;
  // TailLog streams open at once; one more is RESOURCE_EXHAUSTED.
  int max_tail_streams = 256;
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
  // Descriptors (docs/design.md, "Descriptors"). The executor accepts
  // connections itself and bounds them: at most `max_connections` open at
  // once (one more is accepted and closed at once); 0 means the descriptor
  // limit minus `reserved_fds`, but at least a quarter of the limit.
  int max_connections = 0;
  // Descriptors kept free of connections, for run logs, scripts, the outbox
  // and gRPC itself; 0 means 256 + 4 per executor.max_running.
  int64_t reserved_fds = 0;
  // A connection that has not finished its TLS handshake and sent its
  // HTTP/2 preface and settings within this is closed (gRPC's default is
  // 120 s, which lets idle sockets hold descriptors).
  absl::Duration handshake_timeout = absl::Seconds(5);
  ExecutorOptions executor;
};

// Owns the core and the gRPC server. Thread-safe.
class ExecutorServer {
 public:
  // Creates the core and starts serving. `registry` and `sink` must outlive
  // the server. Errors: INVALID_ARGUMENT for bad options,
  // FAILED_PRECONDITION for an unusable data directory or an unreadable TLS
  // file (checked before anything starts), UNAVAILABLE when the
  // listen address can't be bound (e.g. the port is in use).
  static absl::StatusOr<std::unique_ptr<ExecutorServer>> Start(
      ServerOptions options, const HandlerRegistry* registry, ResultSink* sink);
  // Shutdown(zero grace) unless already shut down.
  ~ExecutorServer();
  ExecutorServer(const ExecutorServer&) = delete;
  ExecutorServer& operator=(const ExecutorServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  // The advertised host:port.
  const std::string& address() const { return address_; }
  Executor& executor() { return *executor_; }

  // Health NOT_SERVING (for "" and the Executor service), while everything
  // else goes on: the first step of a graceful stop. Idempotent.
  void SetNotServing();

  // Graceful stop: health NOT_SERVING, new triggers UNAVAILABLE, running runs
  // get `grace` to finish and are then killed, queued runs are reported, then
  // the gRPC server stops. Blocks until done. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ExecutorServer() = default;
  // The listening socket, bounded by the descriptor budget for `options`.
  static absl::StatusOr<std::unique_ptr<ConnectionListener>> BindListener(
      const ServerOptions& options, const std::string& host, int port);
  // Hands listener_'s connections to gRPC. REQUIRES: server_ started.
  void StartAccepting();

  std::unique_ptr<Executor> executor_;
  std::unique_ptr<ExecutorService> service_;
  std::unique_ptr<grpc::Server> server_;
  // Accepts connections and hands them to gRPC through `acceptor_`.
  std::unique_ptr<ConnectionListener> listener_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  int port_ = 0;
  std::string address_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_EXECUTOR_SERVER_H_

#include "server/grpc/grpc_transport.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/connection_listener.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/grpc/grpc_service.h"
#include "server/grpc/parse_error_interceptor.h"

namespace xxljob {
namespace {

// How long in-flight calls get once the executor has shut down. Every
// handler is quick by then (runs are over, TailLog streams have ended). gRPC
// also waits this long for clients to close idle connections after its
// GOAWAY before it drops them, so this bounds how long an idle connection
// delays the exit.
constexpr absl::Duration kServerShutdownDeadline = absl::Milliseconds(500);

// What a production server sets beyond gRPC's defaults; see GrpcOptions.
void SetTransportLimits(const GrpcOptions& o, int max_request_bytes,
                        grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(max_request_bytes);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              o.max_concurrent_streams_per_connection);
  builder->AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(o.keepalive_time)));
  builder->AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(o.keepalive_timeout)));
  builder->AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(o.max_connection_idle)));
  builder->AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(o.handshake_timeout)));
}

// The health protos are compiled into xxljob::proto so that reflection can
// describe grpc.health.v1.Health. Nothing else references them, and a
// static library's unreferenced objects are not linked: this reference keeps
// their descriptors in the generated pool.
void LinkHealthDescriptors() {
  const google::protobuf::Descriptor* descriptor =
      grpc::health::v1::HealthCheckResponse::descriptor();
  VLOG(3) << "health protos linked: " << descriptor->full_name();
}

// For the start-up line: what a client needs to connect.
std::string TlsDescription(const ServerTlsOptions& tls) {
  if (!tls.enabled()) return "plaintext";
  return absl::StrCat(tls.client_ca_file.empty() ? "TLS" : "mutual TLS",
                      " (files re-read every ",
                      absl::FormatDuration(tls.refresh_interval), ")");
}

void InitGrpcPlugins() {
  // Both are process-wide settings read when a server is built.
  static const bool done = [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    LinkHealthDescriptors();
    return true;
  }();
  (void)done;
}

}  // namespace

absl::Status ValidateGrpcOptions(const GrpcOptions& o) {
  if (absl::StatusOr<HostPort> listen = ParseHostPort(o.listen, "listen");
      !listen.ok()) {
    return listen.status();
  }
  auto positive_ms = [](absl::string_view name, absl::Duration d) {
    return d >= absl::Milliseconds(1) && d < absl::Hours(24 * 365)
               ? absl::OkStatus()
               : absl::InvalidArgumentError(
                     absl::StrCat(name, " must be from 1ms to a year, got ",
                                  absl::FormatDuration(d)));
  };
  const absl::Status checks[] = {
      o.max_concurrent_streams_per_connection >= 1
          ? absl::OkStatus()
          : absl::InvalidArgumentError(absl::StrCat(
                "max_concurrent_streams_per_connection must be >= 1, got ",
                o.max_concurrent_streams_per_connection)),
      positive_ms("keepalive_time", o.keepalive_time),
      positive_ms("keepalive_timeout", o.keepalive_timeout),
      positive_ms("max_connection_idle", o.max_connection_idle),
      positive_ms("handshake_timeout", o.handshake_timeout),
      o.max_connections >= 0
          ? absl::OkStatus()
          : absl::InvalidArgumentError(absl::StrCat(
                "max_connections must be >= 0, got ", o.max_connections)),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GrpcTransport>> GrpcTransport::Start(
    GrpcOptions options, ApiHandler* api) {
  if (absl::Status s = ValidateGrpcOptions(options); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<GrpcTransport> transport(new GrpcTransport());
  const HostPort listen = *ParseHostPort(options.listen, "listen");
  transport->listen_host_ = listen.host;
  transport->service_ = std::make_unique<GrpcService>(api);

  ConnectionListenerOptions accept;
  accept.host = listen.host;
  accept.port = listen.port;
  accept.max_connections = options.max_connections;
  accept.name = "gRPC";
  absl::StatusOr<std::unique_ptr<ConnectionListener>> listener =
      ConnectionListener::Bind(accept);
  if (!listener.ok())
    return absl::UnavailableError(listener.status().message());
  transport->listener_ = *std::move(listener);
  transport->max_connections_ = options.max_connections;

  InitGrpcPlugins();
  grpc::ServerBuilder builder;
  // No listening port of gRPC's own: connections come from listener_.
  transport->acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      *credentials);
  SetTransportLimits(options, api->options().max_request_bytes, &builder);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<ParseErrorInterceptorFactory>(api->metrics()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(transport->service_.get());
  transport->server_ = builder.BuildAndStart();
  if (transport->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", options.listen));
  }
  transport->port_ = transport->listener_->port();
  transport->StartAccepting();
  grpc::HealthCheckServiceInterface* health =
      transport->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", true);
    health->SetServingStatus(v1::Executor::service_full_name(), true);
  }
  LOG(INFO) << "gRPC serving on " << options.listen << " (port "
            << transport->port_ << "), " << TlsDescription(options.tls)
            << ", at most " << options.max_connections
            << " connections, handshake timeout "
            << absl::FormatDuration(options.handshake_timeout);
  return transport;
}

GrpcTransport::GrpcTransport() = default;

GrpcTransport::~GrpcTransport() { Shutdown(); }

void GrpcTransport::StartAccepting() {
  grpc::experimental::ExternalConnectionAcceptor* acceptor = acceptor_.get();
  const int listen_fd = listener_->listen_fd();
  listener_->Start([acceptor, listen_fd](int fd) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listen_fd;
    p.fd = fd;
    acceptor->HandleNewConnection(&p);
  });
}

ConnectionCounts GrpcTransport::connections() const {
  return {listener_->tracked_connections(), max_connections_,
          listener_->refused_connections() + listener_->accept_failures()};
}

void GrpcTransport::SetNotServing() {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(false);
}

void GrpcTransport::Shutdown() {
  // Accepting stops first: gRPC's acceptor neither takes nor closes a
  // connection handed to it once the server is shutting down. Closing the
  // listening socket frees the port.
  listener_.reset();
  if (server_ == nullptr) return;
  SetNotServing();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kServerShutdownDeadline));
  server_->Wait();
  server_.reset();
}

}  // namespace xxljob

#include "server/service/executor_server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/service/connection_listener.h"
#include "server/service/descriptor_budget.h"
#include "server/service/executor_service.h"
#include "server/service/parse_error_interceptor.h"

namespace xxljob {
namespace {

// How long in-flight calls get once the executor has shut down. Every
// handler is quick by then (runs are over, TailLog streams have ended). gRPC
// also waits this long for clients to close idle connections after its
// GOAWAY before it drops them, so this bounds how long an idle connection
// delays the exit.
constexpr absl::Duration kServerShutdownDeadline = absl::Milliseconds(500);

// Splits "host:port" or "[v6]:port". Port 0 is allowed (pick a free one).
bool SplitHostPort(absl::string_view hostport, std::string* host, int* port) {
  const size_t colon = hostport.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view h = hostport.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != absl::string_view::npos) {
    return false;  // A bare IPv6 address needs brackets.
  }
  int p = 0;
  if (!absl::SimpleAtoi(hostport.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return false;
  }
  *host = std::string(h);
  *port = p;
  return true;
}

bool IsWildcardHost(absl::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

// The first IPv4 address of an interface that is up and not loopback, or
// 127.0.0.1 when there is none (a laptop offline, a bare container).
std::string FirstNonLoopbackIpv4() {
  std::string found = "127.0.0.1";
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) return found;
  for (const ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) {
      continue;
    }
    char buf[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)) != nullptr) {
      found = buf;
      break;
    }
  }
  freeifaddrs(addrs);
  return found;
}

// What callers advertise must be reachable: with a concrete listen host that
// host, else (listening on every interface) the first non-loopback IPv4.
std::string DefaultAddress(const std::string& listen_host, int port) {
  if (IsWildcardHost(listen_host)) {
    return absl::StrCat(FirstNonLoopbackIpv4(), ":", port);
  }
  if (listen_host.find(':') != std::string::npos) {
    return absl::StrCat("[", listen_host, "]:", port);
  }
  return absl::StrCat(listen_host, ":", port);
}

// gRPC sends metadata values as HTTP/2 header text: a token outside
// printable ASCII could never be presented by a client.
bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

absl::Status ValidateLimits(const ServerOptions& o) {
  auto at_least_one = [](absl::string_view name, int64_t value) {
    return value >= 1 ? absl::OkStatus()
                      : absl::InvalidArgumentError(
                            absl::StrCat(name, " must be >= 1, got ", value));
  };
  auto positive_ms = [](absl::string_view name, absl::Duration d) {
    return d >= absl::Milliseconds(1) && d < absl::Hours(24 * 365)
               ? absl::OkStatus()
               : absl::InvalidArgumentError(
                     absl::StrCat(name, " must be from 1ms to a year, got ",
                                  absl::FormatDuration(d)));
  };
  const absl::Status checks[] = {
      at_least_one("field_limits.max_params_bytes",
                   static_cast<int64_t>(o.field_limits.max_params_bytes)),
      at_least_one("field_limits.max_glue_source_bytes",
                   static_cast<int64_t>(o.field_limits.max_glue_source_bytes)),
      at_least_one("max_tail_streams", o.max_tail_streams),
      at_least_one("max_concurrent_streams_per_connection",
                   o.max_concurrent_streams_per_connection),
      positive_ms("keepalive_time", o.keepalive_time),
      positive_ms("keepalive_timeout", o.keepalive_timeout),
      positive_ms("max_connection_idle", o.max_connection_idle),
      positive_ms("handshake_timeout", o.handshake_timeout),
      o.max_connections >= 0
          ? absl::OkStatus()
          : absl::InvalidArgumentError(absl::StrCat(
                "max_connections must be >= 0, got ", o.max_connections)),
      o.reserved_fds >= 0
          ? absl::OkStatus()
          : absl::InvalidArgumentError(absl::StrCat(
                "reserved_fds must be >= 0, got ", o.reserved_fds)),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// What a production server sets beyond gRPC's defaults; see ServerOptions.
void SetTransportLimits(const ServerOptions& o, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(o.max_receive_message_bytes);
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

absl::Status ValidateServerOptions(const ServerOptions& options,
                                   std::string* listen_host, int* listen_port) {
  if (!SplitHostPort(options.listen, listen_host, listen_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen must be host:port (port 0..65535), got \"",
                     options.listen, "\""));
  }
  std::string host;
  int port = 0;
  if (!options.address.empty() &&
      (!SplitHostPort(options.address, &host, &port) || host.empty() ||
       port == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must be host:port with a port in 1..65535, "
                     "got \"",
                     options.address, "\""));
  }
  if (options.app_name.empty() || options.app_name.size() > 64 ||
      !IsPrintableAscii(options.app_name)) {
    // XXL-JOB's admin stores app names in 64 characters.
    return absl::InvalidArgumentError(
        "app_name must be 1 to 64 printable ASCII characters");
  }
  if (!IsPrintableAscii(options.access_token)) {
    return absl::InvalidArgumentError(
        "access_token must be printable ASCII (it travels as gRPC metadata)");
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_receive_message_bytes must be > 0, got ",
                     options.max_receive_message_bytes));
  }
  return ValidateLimits(options);
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

absl::StatusOr<std::unique_ptr<ExecutorServer>> ExecutorServer::Start(
    ServerOptions options, const HandlerRegistry* registry, ResultSink* sink) {
  std::string listen_host;
  int listen_port = 0;
  if (absl::Status s =
          ValidateServerOptions(options, &listen_host, &listen_port);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  // INVALID_ARGUMENT (bad options) and FAILED_PRECONDITION (data directory)
  // are already the codes Start documents.
  absl::StatusOr<std::unique_ptr<Executor>> executor =
      Executor::Create(options.executor, registry, sink);
  if (!executor.ok()) return executor.status();

  std::unique_ptr<ExecutorServer> server(new ExecutorServer());
  server->executor_ = *std::move(executor);
  ServiceLimits limits;
  limits.fields = options.field_limits;
  limits.max_tail_streams = options.max_tail_streams;
  limits.max_request_bytes = options.max_receive_message_bytes;
  server->service_ = std::make_unique<ExecutorService>(
      server->executor_.get(), options.app_name, options.access_token, limits);

  absl::StatusOr<std::unique_ptr<ConnectionListener>> listener =
      BindListener(options, listen_host, listen_port);
  if (!listener.ok()) return listener.status();
  server->listener_ = *std::move(listener);

  InitGrpcPlugins();
  grpc::ServerBuilder builder;
  // No listening port of gRPC's own: connections come from listener_.
  server->acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      *credentials);
  SetTransportLimits(options, &builder);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<ParseErrorInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    // The destructor stops the executor (and a half-started server).
    return absl::UnavailableError(
        absl::StrCat("cannot serve on ", options.listen));
  }
  server->port_ = server->listener_->port();
  server->StartAccepting();

  server->address_ = options.address.empty()
                         ? DefaultAddress(listen_host, server->port_)
                         : options.address;
  server->service_->set_address(server->address_);
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", true);
    health->SetServingStatus(v1::Executor::service_full_name(), true);
  }
  LOG(INFO) << "xxl-executor " << kExecutorVersion << " serving on "
            << options.listen << " (port " << server->port_
            << "), advertised as " << server->address_ << ", "
            << TlsDescription(options.tls);
  return server;
}

ExecutorServer::~ExecutorServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<ConnectionListener>>
ExecutorServer::BindListener(const ServerOptions& options,
                             const std::string& host, int port) {
  const DescriptorBudget fds =
      PlanDescriptors(OpenFileLimit(), options.executor.max_running,
                      options.max_connections, options.reserved_fds);
  LOG_IF(WARNING, !fds.warning.empty()) << fds.warning;
  LOG(INFO) << "connections bounded at " << fds.max_connections
            << " (descriptor limit " << fds.limit << ", " << fds.reserved
            << " reserved); handshake timeout "
            << absl::FormatDuration(options.handshake_timeout);
  ConnectionListenerOptions listen;
  listen.host = host;
  listen.port = port;
  listen.max_connections = fds.max_connections;
  listen.name = "gRPC";
  absl::StatusOr<std::unique_ptr<ConnectionListener>> listener =
      ConnectionListener::Bind(listen);
  if (!listener.ok()) {
    return absl::UnavailableError(listener.status().message());
  }
  return listener;
}

void ExecutorServer::StartAccepting() {
  grpc::experimental::ExternalConnectionAcceptor* acceptor = acceptor_.get();
  const int listen_fd = listener_->listen_fd();
  listener_->Start([acceptor, listen_fd](int fd) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listen_fd;
    p.fd = fd;
    acceptor->HandleNewConnection(&p);
  });
}

void ExecutorServer::SetNotServing() {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(false);
}

void ExecutorServer::Shutdown(absl::Duration grace) {
  // Held throughout: a second caller waits until the first has finished, so
  // "Shutdown returned" always means "everything stopped".
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  SetNotServing();
  // port_ is 0 when Start() failed: nothing was served, nothing to announce.
  const bool served = port_ != 0;
  if (executor_ != nullptr) {
    LOG_IF(INFO, served) << "shutting down: draining, grace " << grace;
    executor_->Drain();
    executor_->Shutdown(grace);
  }
  // The server outlives the executor's shutdown so that callers still get
  // UNAVAILABLE for new triggers and can read logs meanwhile. Accepting
  // stops first: gRPC's acceptor neither takes nor closes a connection
  // handed to it once the server is shutting down. Closing the listening
  // socket frees the port.
  listener_.reset();
  if (server_ != nullptr) {
    server_->Shutdown(
        absl::ToChronoTime(absl::Now() + kServerShutdownDeadline));
    server_->Wait();
  }
  LOG_IF(INFO, served) << "shut down";
}

}  // namespace xxljob

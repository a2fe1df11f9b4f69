// The whole executor, minus flags: the composition root. It creates the core
// (Executor), the admin client and the result reporter with its durable
// outbox, the API edge, the gRPC transport and the registration loop, wires
// them, and starts and stops them in the order SPEC §5-§6 asks for. Nothing
// below it creates what it depends on. main.cc builds one from flags; an
// embedding application builds one from code:
//
//   xxljob::HandlerRegistry registry;
//   registry.Register("myJob", [](xxljob::RunContext& ctx) { ... });
//   xxljob::AppOptions options;
//   options.api.app_name = "my-app";
//   options.admin_addresses = {"admin:8080"};
//   auto app = xxljob::ExecutorApp::Start(options, &registry);
//   ...
//   (*app)->Shutdown(absl::Seconds(10));
#ifndef XXLJOB_SERVER_APP_EXECUTOR_APP_H_
#define XXLJOB_SERVER_APP_EXECUTOR_APP_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/xxl_protocol.h"
#include "handlers/handler_registry.h"
#include "security/tls_credentials.h"
#include "server/api/api_options.h"
#include "server/core/executor_options.h"
#include "server/core/result_sink.h"
#include "server/delivery/reporter_options.h"
#include "server/grpc/grpc_options.h"
#include "server/http/http_options.h"
#include "server/metrics/metrics_options.h"

namespace xxljob {

class AdminApi;
class ApiHandler;
class Executor;
class GrpcTransport;
class HttpTransport;
class MeteredAdminApi;
class MeteredResultSink;
class Metrics;
struct MetricsSnapshot;
class Registrar;
class ResultReporter;

// Every option of the executor, with its default, in one place.
struct AppOptions {
  // The core: data directory, job-thread and queue bounds, scripts.
  ExecutorOptions executor;
  // The API edge: app name, access token, request bounds.
  ApiOptions api;
  // The gRPC transport: listen address, TLS, connection limits. grpc.tls is
  // the executor's server TLS, for both faces: with it, the HTTP face
  // serves HTTPS only (same certificate, same client CA, same refresh).
  GrpcOptions grpc;
  // XXL-JOB's own HTTP protocol, for stock xxl-job-admins (off unless
  // http.listen is set).
  HttpOptions http;
  // Prometheus metrics: off by default; GET /metrics on the HTTP face
  // and/or a metrics-only listener.
  MetricsOptions metrics;
  // host:port the executor advertises (Beat, registration with gRPC
  // admins). Empty: the gRPC listen host (on a wildcard listen, the first
  // non-loopback IPv4 address) and the bound port.
  std::string address;
  // The URL registered with HTTP admins ("http://host:port/"). Empty: the
  // HTTP face's host (as for `address`) and bound port, https:// when
  // grpc.tls is on (an http:// one is then refused).
  std::string http_address;
  // Admins, tried in order: a bare host:port is a gRPC admin, an
  // http(s)://host:port[/context-path] URL a stock xxl-job-admin spoken to
  // over HTTP (SPEC §9). Empty: standalone, results are only in the run
  // logs.
  std::vector<std::string> admin_addresses;
  // The XXL-JOB protocol generation of the admins (SPEC §9): what the HTTP
  // admin client sends (callback body, app-name header) and what the HTTP
  // face requires (3.5: the app-name header).
  XxlProtocol xxl_protocol = XxlProtocol::kGen3;
  // Deadline of each call to one admin.
  absl::Duration admin_timeout = absl::Seconds(3);
  // TLS to the admins (their CA, a client certificate for mutual TLS, a
  // server-name override). Default: plaintext. https:// admins use the CA
  // and client certificate (system roots without a CA) but not the
  // server-name override; with TLS enabled an http:// admin is refused.
  ClientTlsOptions admin_tls;
  // Registration period (with ±10% jitter).
  absl::Duration registry_interval = absl::Seconds(30);
  // Batching, backoff, memory bound and fsync policy of result delivery.
  // reporter.outbox.dir defaults to <log_path>/outbox.
  ReporterOptions reporter;
  // At shutdown, how long pending results may take to reach an admin; what
  // is left stays in the outbox for the next start.
  absl::Duration result_flush_timeout = absl::Seconds(5);
  // Descriptors kept free of connections, for run logs, scripts, the outbox
  // and gRPC itself (docs/design.md, "Descriptors"); the transports' share
  // of the limit is the rest. 0: 256 + 4 per executor.max_running.
  int64_t reserved_fds = 0;
  // On SIGTERM/SIGINT, how long running runs get to finish before they are
  // killed (what main.cc passes to Shutdown).
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// Thread-safe. Shutdown() (or the destructor) stops everything.
class ExecutorApp {
 public:
  // Starts, in order: the admin client (when admins are configured), the
  // reporter (opening and replaying the outbox, so results a previous
  // process left are delivered), the core, the gRPC transport (binding the
  // listen address), then registration. `registry` must outlive the app.
  // Errors: those of each part (INVALID_ARGUMENT for bad options,
  // FAILED_PRECONDITION for an unusable data directory, an outbox held by
  // another process or an unreadable TLS file, UNAVAILABLE for a port in
  // use). TLS files are checked first, before anything starts.
  static absl::StatusOr<std::unique_ptr<ExecutorApp>> Start(
      AppOptions options, const HandlerRegistry* registry);
  // The same, but results go to `sink` (which must outlive the app) instead
  // of the reporter: no outbox, no Callback. For applications that deliver
  // results themselves, and for tests.
  static absl::StatusOr<std::unique_ptr<ExecutorApp>> StartWithSink(
      AppOptions options, const HandlerRegistry* registry, ResultSink* sink);
  // Shutdown(zero grace) unless already shut down.
  ~ExecutorApp();
  ExecutorApp(const ExecutorApp&) = delete;
  ExecutorApp& operator=(const ExecutorApp&) = delete;

  Executor& executor() { return *executor_; }
  // Null with StartWithSink.
  ResultReporter* reporter() { return reporter_.get(); }
  // The gRPC transport's bound port.
  int grpc_port() const;
  // The HTTP transport's bound port; 0 when it is off.
  int http_port() const;
  // The advertised host:port.
  const std::string& address() const { return address_; }
  // The metrics-only listener's bound port; 0 when it is off.
  int metrics_port() const;
  // Null when metrics are off.
  Metrics* metrics() { return metrics_.get(); }

  // Graceful stop (SPEC §6): health NOT_SERVING; RegistryRemove; new
  // triggers UNAVAILABLE; running runs get `grace`, then are killed and
  // reported; queued runs are reported as not executed; the gRPC server
  // stops; pending results are flushed for up to result_flush_timeout (the
  // rest stays in the outbox). Blocks until done. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ExecutorApp();
  static absl::StatusOr<std::unique_ptr<ExecutorApp>> StartParts(
      AppOptions options, const HandlerRegistry* registry, ResultSink* sink);

  absl::Duration result_flush_timeout_;
  std::string address_;
  // What a scrape reads of the parts (Metrics::SetSnapshotSource).
  void FillSnapshot(MetricsSnapshot* snapshot);

  // Declared in start order, so that members are destroyed in reverse.
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<AdminApi> admin_;
  // Between the reporter (or the sink) and the admins, when metrics are on.
  std::unique_ptr<MeteredAdminApi> metered_admin_;
  std::unique_ptr<ResultReporter> reporter_;
  std::unique_ptr<MeteredResultSink> metered_sink_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<ApiHandler> api_;
  std::unique_ptr<GrpcTransport> grpc_;
  std::unique_ptr<HttpTransport> http_;
  std::unique_ptr<HttpTransport> metrics_http_;
  std::unique_ptr<Registrar> registrar_;
  // Each admin of the chain, watched for admin_up (owned by admin_).
  std::vector<std::pair<std::string, MeteredAdminApi*>> watched_admins_;
  // Whether the transports may be asked for their connections: cleared
  // before they shut down, so a scrape during shutdown doesn't race them.
  absl::Mutex transports_mu_;
  bool transports_up_ ABSL_GUARDED_BY(transports_mu_) = false;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_APP_EXECUTOR_APP_H_

#include "server/app/executor_app.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/failover_admin_api.h"
#include "common/descriptor_budget.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "handlers/script_recovery.h"
#include "server/api/api_handler.h"
#include "server/core/executor.h"
#include "server/delivery/outbox.h"
#include "server/delivery/registrar.h"
#include "server/delivery/result_reporter.h"
#include "server/grpc/grpc_transport.h"
#include "server/http/http_transport.h"
#include "server/metrics/metered.h"
#include "server/metrics/metrics.h"
#include "server/metrics/snapshot.h"

namespace xxljob {
namespace {

// An admin address written as a URL is an HTTP admin; host:port is gRPC.
bool IsHttpAdmin(absl::string_view address) {
  return absl::StartsWith(address, "http://") ||
         absl::StartsWith(address, "https://");
}

// Checks what can be checked before anything starts (the outbox replay
// sends results): every part's options, TLS files included.
absl::Status ValidateAppOptions(const AppOptions& o) {
  if (absl::Status s = ValidateServerTls(o.grpc.tls); !s.ok()) return s;
  if (absl::Status s = ValidateClientTls(o.admin_tls); !s.ok()) return s;
  if (absl::Status s = ValidateApiOptions(o.api); !s.ok()) return s;
  if (absl::Status s = ValidateGrpcOptions(o.grpc); !s.ok()) return s;
  if (!o.http.listen.empty()) {
    if (absl::Status s = ValidateHttpOptions(o.http); !s.ok()) return s;
    if (o.grpc.tls.enabled() &&
        absl::StartsWithIgnoreCase(o.http_address, "http://")) {
      // An admin would call a face that answers only TLS in plaintext.
      return absl::InvalidArgumentError(absl::StrCat(
          "http_address \"", o.http_address,
          "\" is http:// but with TLS on the HTTP face serves HTTPS only: "
          "advertise https://"));
    }
  }
  for (const std::string& admin : o.admin_addresses) {
    if (IsHttpAdmin(admin) && o.http.listen.empty()) {
      // An HTTP admin calls the executor back over HTTP: without the HTTP
      // face it would register an address it can't use.
      return absl::InvalidArgumentError(absl::StrCat(
          "admin \"", admin,
          "\" is an HTTP admin (a URL): it needs the HTTP face, set "
          "--http_listen (e.g. 0.0.0.0:9998)"));
    }
  }
  if (!o.metrics.listen.empty()) {
    absl::StatusOr<HostPort> listen =
        ParseHostPort(o.metrics.listen, "metrics_listen");
    if (!listen.ok()) return listen.status();
  } else if (o.metrics.enabled && o.http.listen.empty()) {
    return absl::InvalidArgumentError(
        "metrics are on but nothing serves them: set --http_listen (GET "
        "/metrics on the HTTP face) or --metrics_listen");
  }
  if (!o.address.empty()) {
    absl::StatusOr<HostPort> address = ParseHostPort(o.address, "address");
    if (!address.ok() || address->host.empty() || address->port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("address must be host:port with a port in 1..65535, "
                       "got \"",
                       o.address, "\""));
    }
  }
  return ValidateExecutorOptions(o.executor);
}

}  // namespace

ExecutorApp::ExecutorApp() = default;

absl::StatusOr<std::unique_ptr<ExecutorApp>> ExecutorApp::Start(
    AppOptions options, const HandlerRegistry* registry) {
  return StartParts(std::move(options), registry, nullptr);
}

absl::StatusOr<std::unique_ptr<ExecutorApp>> ExecutorApp::StartWithSink(
    AppOptions options, const HandlerRegistry* registry, ResultSink* sink) {
  return StartParts(std::move(options), registry, sink);
}

absl::StatusOr<std::unique_ptr<ExecutorApp>> ExecutorApp::StartParts(
    AppOptions options, const HandlerRegistry* registry, ResultSink* sink) {
  if (absl::Status s = ValidateAppOptions(options); !s.ok()) return s;
  std::unique_ptr<ExecutorApp> app(new ExecutorApp());
  app->result_flush_timeout_ = options.result_flush_timeout;
  if (options.metrics.enabled || !options.metrics.listen.empty()) {
    app->metrics_ = std::make_unique<Metrics>(kExecutorVersion);
  }
  if (!options.admin_addresses.empty()) {
    AdminApiOptions admin;
    admin.addresses = options.admin_addresses;
    admin.access_token = options.api.access_token;
    admin.app_name = options.api.app_name;
    admin.protocol = options.xxl_protocol;
    admin.timeout = options.admin_timeout;
    admin.tls = options.admin_tls;
    if (app->metrics_ != nullptr) {
      // Single-threaded here: NewAdminApi calls it while building.
      admin.wrap = [a = app.get()](const std::string& label,
                                   std::unique_ptr<AdminApi> one) {
        auto watched = std::make_unique<MeteredAdminApi>(std::move(one),
                                                         /*metrics=*/nullptr);
        a->watched_admins_.emplace_back(label, watched.get());
        return std::unique_ptr<AdminApi>(std::move(watched));
      };
    }
    absl::StatusOr<std::unique_ptr<AdminApi>> client = NewAdminApi(admin);
    if (!client.ok()) return client.status();
    app->admin_ = *std::move(client);
  }
  AdminApi* admin = app->admin_.get();
  if (admin != nullptr && app->metrics_ != nullptr) {
    app->metered_admin_ =
        std::make_unique<MeteredAdminApi>(admin, app->metrics_.get());
    admin = app->metered_admin_.get();
  }

  // Scripts a crashed predecessor left running die before their runs are
  // reported as "executor restarted before the run finished".
  RecoverScriptRuns(ScriptRunsDir(options.executor.log_path));
  if (sink == nullptr) {
    ReporterOptions reporter = options.reporter;
    if (reporter.outbox.dir.empty()) {
      reporter.outbox.dir = OutboxDir(options.executor.log_path);
    }
    absl::StatusOr<std::unique_ptr<ResultReporter>> started =
        ResultReporter::Create(std::move(reporter), admin);
    if (!started.ok()) return started.status();
    app->reporter_ = *std::move(started);
    sink = app->reporter_.get();
    if (app->metrics_ != nullptr && app->reporter_->outbox() != nullptr) {
      app->metrics_->RunsRestarted(
          app->reporter_->outbox()->recovery().orphans);
    }
  }
  if (app->metrics_ != nullptr) {
    app->metered_sink_ =
        std::make_unique<MeteredResultSink>(sink, app->metrics_.get());
    sink = app->metered_sink_.get();
  }

  absl::StatusOr<std::unique_ptr<Executor>> executor =
      Executor::Create(options.executor, registry, sink);
  if (!executor.ok()) return executor.status();
  app->executor_ = *std::move(executor);
  app->api_ = std::make_unique<ApiHandler>(app->executor_.get(), options.api,
                                           app->metrics_.get());

  // The connections' share of the descriptors; the rest stays for the runs.
  const DescriptorBudget fds =
      PlanDescriptors(OpenFileLimit(), options.executor.max_running,
                      options.grpc.max_connections, options.reserved_fds);
  LOG_IF(WARNING, !fds.warning.empty()) << fds.warning;
  LOG(INFO) << "descriptor limit " << fds.limit << ", " << fds.reserved
            << " reserved for runs, " << fds.max_connections
            << " for connections";
  // With both transports on, each gets half of an automatic bound.
  const bool both = !options.http.listen.empty();
  const int share = both && options.grpc.max_connections == 0
                        ? std::max(1, fds.max_connections / 2)
                        : fds.max_connections;
  GrpcOptions grpc_options = options.grpc;
  grpc_options.max_connections = share;
  absl::StatusOr<std::unique_ptr<GrpcTransport>> grpc =
      GrpcTransport::Start(std::move(grpc_options), app->api_.get());
  if (!grpc.ok()) return grpc.status();
  app->grpc_ = *std::move(grpc);
  app->address_ =
      options.address.empty()
          ? FormatHostPort(AdvertisedHost(app->grpc_->listen_host()),
                           app->grpc_->port())
          : options.address;
  app->api_->set_address(app->address_);

  std::string registry_value = app->address_;
  if (!options.http.listen.empty()) {
    HttpOptions http = options.http;
    if (http.max_connections == 0) http.max_connections = share;
    // One server identity: the HTTP face serves the gRPC face's
    // certificate, and only HTTPS when there is one.
    absl::StatusOr<std::unique_ptr<HttpTransport>> started_http =
        HttpTransport::Start(std::move(http), options.grpc.tls,
                             options.xxl_protocol, app->api_.get());
    if (!started_http.ok()) return started_http.status();
    app->http_ = *std::move(started_http);
    const std::string http_address =
        !options.http_address.empty()
            ? options.http_address
            : absl::StrCat(
                  app->http_->scheme(), "://",
                  FormatHostPort(AdvertisedHost(app->http_->listen_host()),
                                 app->http_->port()),
                  "/");
    // XXL-JOB's admins call back what the executor registered: with an
    // HTTP admin, that is the HTTP face's URL.
    for (const std::string& admin : options.admin_addresses) {
      if (IsHttpAdmin(admin)) registry_value = http_address;
    }
    LOG(INFO) << "HTTP face advertised as " << http_address;
  }
  if (!options.metrics.listen.empty()) {
    HttpOptions metrics_http;
    metrics_http.listen = options.metrics.listen;
    metrics_http.metrics_only = true;
    // A scraper or two: a small fixed bound, outside the descriptor budget.
    // Plaintext, as Prometheus scrapes by default: bind it to loopback or
    // a scrape network.
    metrics_http.max_connections = 16;
    metrics_http.threads = 1;
    absl::StatusOr<std::unique_ptr<HttpTransport>> started_metrics =
        HttpTransport::Start(std::move(metrics_http), ServerTlsOptions(),
                             options.xxl_protocol, app->api_.get());
    if (!started_metrics.ok()) return started_metrics.status();
    app->metrics_http_ = *std::move(started_metrics);
    LOG(INFO) << "metrics served on " << options.metrics.listen << " (port "
              << app->metrics_http_->port() << "), GET /metrics";
  }
  if (app->metrics_ != nullptr) {
    {
      absl::MutexLock lock(&app->transports_mu_);
      app->transports_up_ = true;
    }
    app->metrics_->SetSnapshotSource([a = app.get()] {
      MetricsSnapshot snapshot;
      a->FillSnapshot(&snapshot);
      return snapshot;
    });
  }
  LOG(INFO) << "xxl-executor " << kExecutorVersion << " ready, advertised as "
            << app->address_;

  if (admin != nullptr) {
    RegistrarOptions registrar;
    registrar.param.registry_key = options.api.app_name;
    registrar.param.registry_value = registry_value;
    registrar.interval = options.registry_interval;
    app->registrar_ = std::make_unique<Registrar>(admin, std::move(registrar));
    app->registrar_->Start();
  }
  return app;
}

ExecutorApp::~ExecutorApp() {
  Shutdown(absl::ZeroDuration());
  // No scrape can come any more (the transports are down), but an
  // embedding application may still hold metrics().
  if (metrics_ != nullptr) metrics_->SetSnapshotSource(nullptr);
}

void ExecutorApp::FillSnapshot(MetricsSnapshot* s) {
  const Executor::Load load = executor_->load();
  const ExecutorOptions& core = executor_->options();
  s->running = load.running;
  s->queued = load.queued;
  s->job_threads = load.job_threads;
  s->worker_threads = load.worker_threads;
  s->draining = load.draining;
  s->max_job_threads = core.max_job_threads;
  s->max_running = core.max_running;
  s->max_queue_depth = core.max_queue_depth;
  s->tail_streams = api_->tail_streams();
  if (reporter_ != nullptr) {
    const ResultReporter::Stats r = reporter_->stats();
    MetricsSnapshot::Outbox& o = s->outbox.emplace();
    o.pending = r.pending;
    o.oldest_pending_age = r.oldest_pending_since == absl::InfiniteFuture()
                               ? absl::ZeroDuration()
                               : std::max(absl::ZeroDuration(),
                                          absl::Now() - r.oldest_pending_since);
    o.bytes = r.outbox_bytes;
    o.spills = r.spills;
    o.journal_errors = r.journal_errors;
  }
  for (const auto& [label, admin] : watched_admins_) {
    s->admins.push_back({label, admin->up()});
  }
  if (metered_admin_ != nullptr) {
    const absl::Time last = metered_admin_->last_registration();
    s->since_registration = last == absl::InfinitePast()
                                ? absl::InfiniteDuration()
                                : absl::Now() - last;
  }
  absl::MutexLock lock(&transports_mu_);
  if (!transports_up_) return;
  auto add = [s](const char* name, const ConnectionCounts& c) {
    s->connections.push_back({name, c.open, c.limit, c.refused});
  };
  if (grpc_ != nullptr) add("grpc", grpc_->connections());
  if (http_ != nullptr) add("http", http_->connections());
}

int ExecutorApp::grpc_port() const { return grpc_->port(); }
int ExecutorApp::http_port() const {
  return http_ != nullptr ? http_->port() : 0;
}
int ExecutorApp::metrics_port() const {
  return metrics_http_ != nullptr ? metrics_http_->port() : 0;
}

void ExecutorApp::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // A start that failed half-way has nothing served, nothing to announce.
  const bool served = grpc_ != nullptr;
  // Stop being routed to before leaving the admin's list, and leave the
  // list before refusing work, so the admin stops sending triggers first.
  if (grpc_ != nullptr) grpc_->SetNotServing();
  if (registrar_ != nullptr) registrar_->Stop();
  if (executor_ != nullptr) {
    LOG_IF(INFO, served) << "shutting down: draining, grace " << grace;
    executor_->Drain();
    executor_->Shutdown(grace);
  }
  {
    // Scrapes from here on leave the connections out.
    absl::MutexLock transports_lock(&transports_mu_);
    transports_up_ = false;
  }
  // The transport outlives the core's shutdown so that callers still get
  // UNAVAILABLE for new triggers and can read logs meanwhile.
  if (http_ != nullptr) http_->Shutdown();
  if (grpc_ != nullptr) grpc_->Shutdown();
  if (metrics_http_ != nullptr) metrics_http_->Shutdown();
  LOG_IF(INFO, served) << "shut down";
  // Every result is now in the reporter; give delivery a bounded chance.
  if (reporter_ != nullptr) {
    reporter_->Shutdown(absl::Now() + result_flush_timeout_);
  }
}

}  // namespace xxljob

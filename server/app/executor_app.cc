#include "server/app/executor_app.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/failover_admin_api.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "handlers/script_recovery.h"
#include "server/api/api_handler.h"
#include "server/core/executor.h"
#include "server/delivery/outbox.h"
#include "server/delivery/registrar.h"
#include "server/delivery/result_reporter.h"
#include "server/grpc/grpc_transport.h"

namespace xxljob {
namespace {

// Checks what can be checked before anything starts (the outbox replay
// sends results): every part's options, TLS files included.
absl::Status ValidateAppOptions(const AppOptions& o) {
  if (absl::Status s = ValidateServerTls(o.grpc.tls); !s.ok()) return s;
  if (absl::Status s = ValidateClientTls(o.admin_tls); !s.ok()) return s;
  if (absl::Status s = ValidateApiOptions(o.api); !s.ok()) return s;
  if (absl::Status s = ValidateGrpcOptions(o.grpc); !s.ok()) return s;
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
  if (!options.admin_addresses.empty()) {
    AdminApiOptions admin;
    admin.addresses = options.admin_addresses;
    admin.access_token = options.api.access_token;
    admin.app_name = options.api.app_name;
    admin.protocol = options.xxl_protocol;
    admin.timeout = options.admin_timeout;
    admin.tls = options.admin_tls;
    absl::StatusOr<std::unique_ptr<AdminApi>> client = NewAdminApi(admin);
    if (!client.ok()) return client.status();
    app->admin_ = *std::move(client);
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
        ResultReporter::Create(std::move(reporter), app->admin_.get());
    if (!started.ok()) return started.status();
    app->reporter_ = *std::move(started);
    sink = app->reporter_.get();
  }

  absl::StatusOr<std::unique_ptr<Executor>> executor =
      Executor::Create(options.executor, registry, sink);
  if (!executor.ok()) return executor.status();
  app->executor_ = *std::move(executor);
  app->api_ = std::make_unique<ApiHandler>(app->executor_.get(), options.api);

  absl::StatusOr<std::unique_ptr<GrpcTransport>> grpc =
      GrpcTransport::Start(options.grpc, app->api_.get());
  if (!grpc.ok()) return grpc.status();
  app->grpc_ = *std::move(grpc);
  app->address_ =
      options.address.empty()
          ? FormatHostPort(AdvertisedHost(app->grpc_->listen_host()),
                           app->grpc_->port())
          : options.address;
  app->api_->set_address(app->address_);
  LOG(INFO) << "xxl-executor " << kExecutorVersion << " ready, advertised as "
            << app->address_;

  if (app->admin_ != nullptr) {
    RegistrarOptions registrar;
    registrar.param.registry_key = options.api.app_name;
    registrar.param.registry_value = app->address_;
    registrar.interval = options.registry_interval;
    app->registrar_ =
        std::make_unique<Registrar>(app->admin_.get(), std::move(registrar));
    app->registrar_->Start();
  }
  return app;
}

ExecutorApp::~ExecutorApp() { Shutdown(absl::ZeroDuration()); }

int ExecutorApp::grpc_port() const { return grpc_->port(); }

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
  // The transport outlives the core's shutdown so that callers still get
  // UNAVAILABLE for new triggers and can read logs meanwhile.
  if (grpc_ != nullptr) grpc_->Shutdown();
  LOG_IF(INFO, served) << "shut down";
  // Every result is now in the reporter; give delivery a bounded chance.
  if (reporter_ != nullptr) {
    reporter_->Shutdown(absl::Now() + result_flush_timeout_);
  }
}

}  // namespace xxljob

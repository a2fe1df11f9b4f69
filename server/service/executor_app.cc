#include "server/service/executor_app.h"

#include <utility>

#include "glog/logging.h"
#include "handlers/script_recovery.h"
#include "server/core/outbox.h"

namespace xxljob {

absl::StatusOr<std::unique_ptr<ExecutorApp>> ExecutorApp::Start(
    AppOptions options, const HandlerRegistry* registry) {
  std::unique_ptr<ExecutorApp> app(new ExecutorApp());
  app->result_flush_timeout_ = options.result_flush_timeout;
  // Before anything starts (the outbox replay sends results): a TLS file
  // that cannot be read fails the start, whether admins are set or not.
  if (absl::Status s = ValidateServerTls(options.server.tls); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateClientTls(options.admin_tls); !s.ok()) {
    return s;
  }
  if (!options.admin_addresses.empty()) {
    AdminClientOptions admin;
    admin.addresses = options.admin_addresses;
    admin.access_token = options.server.access_token;
    admin.timeout = options.admin_timeout;
    admin.tls = options.admin_tls;
    absl::StatusOr<std::unique_ptr<AdminClient>> client =
        AdminClient::Create(std::move(admin));
    if (!client.ok()) return client.status();
    app->admin_ = *std::move(client);
  }

  // Scripts a crashed predecessor left running die before their runs are
  // reported as "executor restarted before the run finished".
  RecoverScriptRuns(ScriptRunsDir(options.server.executor.log_path));
  ReporterOptions reporter = options.reporter;
  if (reporter.outbox.dir.empty()) {
    reporter.outbox.dir = OutboxDir(options.server.executor.log_path);
  }
  absl::StatusOr<std::unique_ptr<ResultReporter>> started_reporter =
      ResultReporter::Create(std::move(reporter), app->admin_.get());
  if (!started_reporter.ok()) return started_reporter.status();
  app->reporter_ = *std::move(started_reporter);

  absl::StatusOr<std::unique_ptr<ExecutorServer>> server =
      ExecutorServer::Start(options.server, registry, app->reporter_.get());
  if (!server.ok()) return server.status();
  app->server_ = *std::move(server);

  if (app->admin_ != nullptr) {
    RegistrarOptions registrar;
    registrar.param.registry_key = options.server.app_name;
    registrar.param.registry_value = app->server_->address();
    registrar.interval = options.registry_interval;
    app->registrar_ =
        std::make_unique<Registrar>(app->admin_.get(), std::move(registrar));
    app->registrar_->Start();
  }
  return app;
}

ExecutorApp::~ExecutorApp() { Shutdown(absl::ZeroDuration()); }

void ExecutorApp::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // Stop being routed to before leaving the admin's list, and leave the
  // list before refusing work, so the admin stops sending triggers first.
  if (server_ != nullptr) server_->SetNotServing();
  if (registrar_ != nullptr) registrar_->Stop();
  if (server_ != nullptr) server_->Shutdown(grace);
  // Every result is now in the reporter; give delivery a bounded chance.
  if (reporter_ != nullptr) {
    reporter_->Shutdown(absl::Now() + result_flush_timeout_);
  }
}

}  // namespace xxljob

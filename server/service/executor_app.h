// The whole executor, minus flags: the gRPC server and its core, the admin
// client, the result reporter with its durable outbox, and the registration
// loop, started and stopped in the order SPEC §5-§6 asks for. main.cc builds
// one from flags; an embedding application builds one from code:
//
//   xxljob::HandlerRegistry registry;
//   registry.Register("myJob", [](xxljob::RunContext& ctx) { ... });
//   xxljob::AppOptions options;
//   options.admin_addresses = {"admin:8080"};
//   auto app = xxljob::ExecutorApp::Start(options, &registry);
//   ...
//   (*app)->Shutdown(absl::Seconds(10));
#ifndef XXLJOB_SERVER_SERVICE_EXECUTOR_APP_H_
#define XXLJOB_SERVER_SERVICE_EXECUTOR_APP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/admin_client.h"
#include "handlers/handler_registry.h"
#include "server/core/registrar.h"
#include "server/core/result_reporter.h"
#include "server/service/executor_server.h"

namespace xxljob {

struct AppOptions {
  ServerOptions server;
  // Admins (host:port), tried in order. Empty: standalone, results are only
  // in the run logs.
  std::vector<std::string> admin_addresses;
  // Deadline of each call to one admin.
  absl::Duration admin_timeout = absl::Seconds(3);
  // TLS to the admins (their CA, a client certificate for mutual TLS, a
  // server-name override). Default: plaintext.
  ClientTlsOptions admin_tls;
  // Registration period (with ±10% jitter).
  absl::Duration registry_interval = absl::Seconds(30);
  // Batching, backoff, memory bound and fsync policy of result delivery.
  // reporter.outbox.dir defaults to <log_path>/outbox.
  ReporterOptions reporter;
  // At shutdown, how long pending results may take to reach an admin; what
  // is left stays in the outbox for the next start.
  absl::Duration result_flush_timeout = absl::Seconds(5);
};

// Thread-safe. Shutdown() (or the destructor) stops everything.
class ExecutorApp {
 public:
  // Starts, in order: the admin client (when admins are configured), the
  // reporter (opening and replaying the outbox, so results a previous
  // process left are delivered), the server (binding the listen address),
  // then registration. `registry` must outlive the app. Errors: those of
  // each part (INVALID_ARGUMENT for bad options, FAILED_PRECONDITION for an
  // unusable data directory, an outbox held by another process or an
  // unreadable TLS file, UNAVAILABLE for a port in use). TLS options are
  // checked first, before anything starts.
  static absl::StatusOr<std::unique_ptr<ExecutorApp>> Start(
      AppOptions options, const HandlerRegistry* registry);
  // Shutdown(zero grace) unless already shut down.
  ~ExecutorApp();
  ExecutorApp(const ExecutorApp&) = delete;
  ExecutorApp& operator=(const ExecutorApp&) = delete;

  ExecutorServer& server() { return *server_; }
  ResultReporter& reporter() { return *reporter_; }

  // Graceful stop (SPEC §6): health NOT_SERVING; RegistryRemove; new
  // triggers UNAVAILABLE; running runs get `grace`, then are killed and
  // reported; queued runs are reported as not executed; pending results are
  // flushed for up to result_flush_timeout (the rest stays in the outbox).
  // Blocks until done. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ExecutorApp() = default;

  absl::Duration result_flush_timeout_;
  // Declared in start order, so that members are destroyed in reverse.
  std::unique_ptr<AdminClient> admin_;
  std::unique_ptr<ResultReporter> reporter_;
  std::unique_ptr<ExecutorServer> server_;
  std::unique_ptr<Registrar> registrar_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_EXECUTOR_APP_H_

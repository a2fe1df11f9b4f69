// An in-process XXL-JOB admin for tests and for trying the executor without
// a scheduler: a real xxljob.v1.Admin gRPC server (with server reflection)
// that records registrations and callbacks, prints them, and can be told to
// refuse, to check the access token, or to answer late.
#ifndef XXLJOB_TOOLS_ADMIN_SIM_ADMIN_SIMULATOR_H_
#define XXLJOB_TOOLS_ADMIN_SIM_ADMIN_SIMULATOR_H_

#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "security/tls_credentials.h"

namespace grpc {
class Server;
class ServerContextBase;
}  // namespace grpc

namespace xxljob {

// How the simulator answers calls that pass the token check.
enum class AdminSimMode {
  // OK status, code 200: delivered.
  kAccept,
  // OK status, code 500 "refused by admin simulator": a business refusal.
  kRefuseWithCode500,
  // gRPC UNAVAILABLE: the call itself failed.
  kUnavailable,
};

// "none", "code500", "unavailable" (the --refuse flag's words).
absl::string_view AdminSimModeName(AdminSimMode mode);
// The reverse; INVALID_ARGUMENT for any other word.
absl::StatusOr<AdminSimMode> ParseAdminSimMode(absl::string_view name);

struct AdminSimulatorOptions {
  // host:port to listen on; port 0 picks a free port (see port()).
  std::string listen = "127.0.0.1:0";
  // When non-empty, a call whose `xxl-job-access-token` metadata is missing
  // or differs gets UNAUTHENTICATED (compared in constant time).
  std::string access_token;
  AdminSimMode mode = AdminSimMode::kAccept;
  // Each answer is sent this long after the call arrived (without blocking
  // a thread), to exercise client deadlines. Zero: at once.
  absl::Duration response_delay = absl::ZeroDuration();
  // Human-readable event lines go here, flushed one by one; null = silent.
  // Not owned; must outlive the simulator. The first line is
  // "<name> listening on <host>:<port>".
  std::ostream* out = nullptr;
  std::string name = "admin-sim";
  // When non-empty, every event is also appended to this file as a JSON
  // line.
  std::string record_path;
  // TLS, or mutual TLS with a client CA, like the executor's server.
  // Default: plaintext.
  ServerTlsOptions tls;
  // host:port of the HTTP face: the stock admin's executor API
  // (<any context path>/api/registry, /api/registryRemove, /api/callback,
  // SPEC §9), recorded like the gRPC calls. Empty: off. Plaintext.
  std::string http_listen;
};

// One Registry or RegistryRemove call that was accepted.
struct RecordedRegistry {
  std::string registry_group;
  std::string registry_key;
  std::string registry_value;
  absl::Time time;
};

// One item of an accepted Callback batch.
struct RecordedCallback {
  int64_t log_id = 0;
  int64_t log_date_time = 0;
  int32_t handle_code = 0;
  std::string handle_msg;
  absl::Time time;
  // Items in the batch this one came in.
  int batch_size = 0;
};

// The server and its records. Only accepted calls are recorded (what a real
// admin would have stored); refused ones are counted and printed. A call is
// recorded when it arrives, so with a response delay the simulator may
// record a call whose client has already given up: at-least-once delivery,
// as with a real admin.
//
// Event lines (to `out`):
//   registry EXECUTOR xxl-executor 10.0.0.5:9999
//   registry_remove EXECUTOR xxl-executor 10.0.0.5:9999
//   callback log_id=12 log_date_time=1700000000000 code=200 batch=3 msg=...
//   refused registry EXECUTOR xxl-executor 10.0.0.5:9999 (code 500)
// `msg` is last and C-escaped, so a line is always one line. Lines are
// written by a printer thread of the simulator's, so that a slow reader of
// `out` never blocks a gRPC reactor.
//
// Thread-safe. Reactors never block: they record under a mutex and answer.
class AdminSimulator {
 public:
  // Starts serving. Errors: INVALID_ARGUMENT for a malformed listen
  // address or bad TLS options; UNAVAILABLE when it cannot be bound (port
  // in use); FAILED_PRECONDITION when `record_path` cannot be opened for
  // appending or a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<AdminSimulator>> Start(
      AdminSimulatorOptions options);
  // Shutdown().
  ~AdminSimulator();
  AdminSimulator(const AdminSimulator&) = delete;
  AdminSimulator& operator=(const AdminSimulator&) = delete;

  // Stops serving: calls in flight (delayed answers) are cancelled, then
  // every pending event line is written and the printer joined. Blocks
  // until done. Idempotent. After it, calls to address() fail to connect.
  void Shutdown();

  // The bound port, and "<listen host>:<port>".
  int port() const { return port_; }
  const std::string& address() const { return address_; }
  // The HTTP face's port (0 when it is off), and its URL with the admin's
  // usual context path: "http://<host>:<port>/xxl-job-admin".
  int http_port() const;
  std::string http_url() const;

  // Changes how later calls are answered.
  void SetMode(AdminSimMode mode);
  void SetResponseDelay(absl::Duration delay);

  // Snapshots, in arrival order.
  std::vector<RecordedRegistry> registrations() const;
  std::vector<RecordedRegistry> removals() const;
  std::vector<RecordedCallback> callbacks() const;
  std::vector<int> batch_sizes() const;
  // Accepted callback items with this log id (> 1 means a duplicate).
  int CountOf(int64_t log_id) const;
  // Calls not accepted (token, code 500 or UNAVAILABLE).
  int64_t refused_calls() const;

  // Block until at least `n` callback items (registrations, removals) were
  // recorded or `timeout` passes; true if reached.
  bool WaitForCallbacks(size_t n, absl::Duration timeout) const;
  bool WaitForRegistrations(size_t n, absl::Duration timeout) const;
  bool WaitForRemovals(size_t n, absl::Duration timeout) const;

 private:
  // The gRPC service (nested, so it may call the On* methods).
  class Service;

  // What a call gets, decided (and recorded) when it arrives.
  struct Answer {
    grpc::Status status;
    // Response code and msg, when `status` is OK.
    int32_t code = 200;
    std::string msg;
    // How long to hold the answer back.
    absl::Duration delay;
  };
  enum class RegistryKind { kRegistry, kRemove };

  explicit AdminSimulator(AdminSimulatorOptions options);

  // The token and mode check. A refusal is counted and emitted here:
  // "refused <what> (<why>)", with `json_fields` in its JSON line.
  Answer DecideLocked(std::optional<absl::string_view> token,
                      absl::string_view event, absl::string_view what,
                      absl::string_view json_fields)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A call, whichever transport brought it: `token` as presented (nullopt:
  // none), `peer` for the log.
  Answer OnRegistry(std::optional<absl::string_view> token,
                    const std::string& peer, RegistryKind kind,
                    RecordedRegistry record);
  Answer OnCallback(std::optional<absl::string_view> token,
                    const std::string& peer,
                    std::vector<RecordedCallback> items);
  // The HTTP face (admin_http.cc), nested for the On* methods.
  class HttpFace;
  absl::Status StartHttpFace();
  void StopHttpFace();

  // Queues a line for the printer (and its JSON twin for the record file).
  void EmitLocked(std::string line, std::string json)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PrinterLoop();

  const AdminSimulatorOptions options_;
  std::string address_;
  int port_ = 0;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpFace> http_;
  // Set up in Start() before the server runs; after that only the printer
  // writes to the file.
  std::ofstream record_file_;
  bool emit_ = false;  // `out` or the record file is set

  mutable absl::Mutex mu_;
  AdminSimMode mode_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRegistry> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRegistry> removals_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedCallback> callbacks_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  // Lines waiting for the printer: (human line, JSON line).
  std::deque<std::pair<std::string, std::string>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_printer_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex shutdown_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  std::thread printer_;
};

}  // namespace xxljob

#endif  // XXLJOB_TOOLS_ADMIN_SIM_ADMIN_SIMULATOR_H_

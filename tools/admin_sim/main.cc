// xxl-admin-sim: a stand-in XXL-JOB admin for trying the executor without a
// scheduler, and for integration tests. Serves xxljob.v1.Admin, prints
// "xxl-admin-sim listening on HOST:PORT" and then one line per registration
// and callback on stdout (flushed per line), optionally recording JSON lines.
//
//   xxl-admin-sim [--listen=127.0.0.1:8090] [--access_token=T]
//                 [--refuse=none|code500|unavailable] [--record=FILE]
//                 [--response_delay=2s] [--quiet]
//                 [--tls_cert_file=C --tls_key_file=K
//                 [--tls_client_ca_file=CA]]
//   xxl-executor --admin_addresses=127.0.0.1:8090 ...
//
// The default listen address is loopback-only, since the simulator checks no
// token unless given one, and port 8090 rather than 8080 (the real admin's
// usual port, and every other dev server's) so both can run side by side.
//
// Exit codes: 0 after SIGTERM/SIGINT, 2 for bad flags or a failed start
// (port in use, record file not writable).
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cli.h"
#include "glog/logging.h"
#include "tools/admin_sim/admin_simulator.h"

// Flag names must not collide with glog's gflags (v, logtostderr, log_dir,
// ...); glog is configured through GLOG_* environment variables instead.
ABSL_FLAG(std::string, listen, "127.0.0.1:8090",
          "host:port to listen on; port 0 picks a free port (printed on the "
          "first line)");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP face: a stock xxl-job-admin's executor API "
          "(<context>/api/registry, /api/registryRemove, /api/callback); "
          "empty: off");
ABSL_FLAG(std::string, access_token, "",
          "when set, calls without this xxl-job-access-token metadata get "
          "UNAUTHENTICATED; empty: the XXL_JOB_ACCESS_TOKEN environment "
          "variable, if set");
ABSL_FLAG(std::string, access_token_file, "",
          "read the access token from this file (trailing line breaks "
          "removed); not together with --access_token");
ABSL_FLAG(std::string, tls_cert_file, "",
          "serve TLS with this PEM certificate chain (needs --tls_key_file); "
          "empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "",
          "the PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "mutual TLS: callers must present a certificate issued by a CA in "
          "this PEM bundle");
ABSL_FLAG(std::string, refuse, "none",
          "how to answer calls: none (accept), code500 (business refusal), "
          "unavailable (gRPC UNAVAILABLE)");
ABSL_FLAG(std::string, record, "",
          "append every event to this file as a JSON line");
ABSL_FLAG(absl::Duration, response_delay, absl::ZeroDuration(),
          "answer each call this long after it arrives (to try client "
          "deadlines)");
ABSL_FLAG(bool, quiet, false,
          "print only the listening line, not one line per event");

namespace xxljob {
namespace {

constexpr char kProgram[] = "xxl-admin-sim";

// Fills `options` from the flags; INVALID_ARGUMENT names a bad one.
absl::Status ReadOptions(AdminSimulatorOptions* options) {
  options->name = kProgram;
  options->listen = absl::GetFlag(FLAGS_listen);
  options->http_listen = absl::GetFlag(FLAGS_http_listen);
  absl::StatusOr<std::string> token = ResolveAccessToken(
      "access_token", absl::GetFlag(FLAGS_access_token), "access_token_file",
      absl::GetFlag(FLAGS_access_token_file));
  if (!token.ok()) return token.status();
  options->access_token = *std::move(token);
  options->tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options->tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options->tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  if (absl::Status s = ValidateServerTls(options->tls); !s.ok()) return s;
  absl::StatusOr<AdminSimMode> mode =
      ParseAdminSimMode(absl::GetFlag(FLAGS_refuse));
  if (!mode.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--refuse: ", mode.status().message()));
  }
  options->mode = *mode;
  options->record_path = absl::GetFlag(FLAGS_record);
  options->response_delay = absl::GetFlag(FLAGS_response_delay);
  if (options->response_delay < absl::ZeroDuration() ||
      options->response_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "--response_delay must be a finite duration >= 0");
  }
  if (!absl::GetFlag(FLAGS_quiet)) options->out = &std::cout;
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  SetUsage(
      "A stand-in XXL-JOB admin: prints and records registrations and "
      "callbacks.\nUsage: xxl-admin-sim [--flag=value ...]",
      "admin_sim/main.cc");
  std::vector<char*> args = ParseFlagsOrExit(argc, argv);
  if (args.size() > 1) {
    std::cerr << kProgram << ": unexpected argument \"" << args[1]
              << "\" (flags are --name=value; see --help)\n";
    return kExitBadConfig;
  }
  AdminSimulatorOptions options;
  if (absl::Status s = ReadOptions(&options); !s.ok()) {
    std::cerr << kProgram << ": " << s.message() << " (see --help)\n";
    return kExitBadConfig;
  }
  // Logs go to stderr: stdout carries the events.
  InitLoggingToStderr(argv[0]);

  // Before any thread starts (gRPC's included), so every thread inherits
  // the mask and only the SignalWaiter below receives them.
  BlockShutdownSignals();

  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start(options);
  if (!sim.ok()) {
    std::cerr << kProgram << ": cannot start: " << sim.status().message()
              << "\n";
    return kExitBadConfig;
  }
  if (options.out == nullptr) {
    // Quiet: the simulator prints nothing, but scripts still need the port.
    std::cout << kProgram << " listening on " << (*sim)->address() << std::endl;
  }

  // The simulator's shutdown is immediate (no grace to cut short), so a
  // second signal has nothing to hurry: still exit 0.
  SignalWaiter waiter(SignalWaiter::SecondSignal::kIgnore);
  const int received = waiter.WaitForSignal();
  LOG(INFO) << "received " << strsignal(received) << ": shutting down";
  (*sim)->Shutdown();
  waiter.Stop();
  return 0;
}

}  // namespace
}  // namespace xxljob

int main(int argc, char** argv) { return xxljob::Main(argc, argv); }

// xxl-executor: an XXL-JOB executor served over gRPC. Parses flags into
// AppOptions, starts the ExecutorApp, and shuts it down gracefully on SIGTERM
// or SIGINT. Exit codes: 0 after a graceful shutdown, 2 for bad flags or a
// failed start (port in use, unusable data directory).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/cli.h"
#include "common/host_port.h"
#include "common/java_properties.h"
#include "common/xxl_protocol.h"
#include "glog/logging.h"
#include "handlers/builtin_handlers.h"
#include "handlers/handler_registry.h"
#include "security/tls_credentials.h"
#include "server/api/api_handler.h"
#include "server/app/executor_app.h"

// Flag names must not collide with glog's gflags (v, logtostderr, log_dir,
// ...); glog is configured through GLOG_* environment variables instead.
ABSL_FLAG(std::string, listen, xxljob::GrpcOptions().listen,
          "host:port to listen on; port 0 picks a free port");
ABSL_FLAG(std::string, address, "",
          "host:port to advertise (Beat, registration); empty: the first "
          "non-loopback IPv4 address and the bound port");
ABSL_FLAG(std::string, app_name, xxljob::ApiOptions().app_name,
          "the executor's app name (XXL-JOB AppName)");
ABSL_FLAG(std::string, admin_addresses, "",
          "comma-separated admins, tried in order: host:port for a gRPC "
          "admin, http(s)://host:port[/xxl-job-admin] for a stock "
          "xxl-job-admin over HTTP; empty = standalone");
ABSL_FLAG(
    std::string, xxl_protocol,
    std::string(xxljob::XxlProtocolName(xxljob::AppOptions().xxl_protocol)),
    "XXL-JOB protocol generation of the admins: 2 (admin 2.3.0 - "
    "3.2.x), 3 (3.3.0 - 3.4.x) or 3.5 (3.5.0 and later: the app-name "
    "header is sent, and required of callers of the HTTP face)");
ABSL_FLAG(std::string, access_token, "",
          "token every call must carry in xxl-job-access-token metadata; "
          "empty: --access_token_file, else the XXL_JOB_ACCESS_TOKEN "
          "environment variable, if set");
ABSL_FLAG(std::string, access_token_file, "",
          "read the access token from this file (trailing line breaks "
          "removed); not together with --access_token");
ABSL_FLAG(std::string, tls_cert_file, "",
          "serve TLS with this PEM certificate chain (needs --tls_key_file), "
          "on gRPC and on the HTTP face (HTTPS only); empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "",
          "the PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "mutual TLS: clients must present a certificate issued by a CA in "
          "this PEM bundle; empty: no client certificate asked");
ABSL_FLAG(absl::Duration, tls_refresh_interval,
          xxljob::kDefaultTlsRefreshInterval,
          "how often the TLS files (server and admin) are re-read, so that "
          "rotated certificates apply to new connections without a restart; "
          "at least 1s");
ABSL_FLAG(bool, admin_tls, false,
          "call the admins over TLS, trusting the system's CAs unless "
          "--admin_tls_ca_file is given; implied by any --admin_tls_* flag");
ABSL_FLAG(std::string, admin_tls_ca_file, "",
          "PEM bundle of the CAs the admins' certificates must chain to; "
          "empty: the system's CAs");
ABSL_FLAG(std::string, admin_tls_cert_file, "",
          "mutual TLS to the admins: this PEM certificate chain (needs "
          "--admin_tls_key_file)");
ABSL_FLAG(std::string, admin_tls_key_file, "",
          "the PEM private key of --admin_tls_cert_file");
ABSL_FLAG(std::string, admin_tls_server_name, "",
          "the name the admins' certificates must carry; empty: the host of "
          "each admin address (set it when admins are addressed by IP)");
ABSL_FLAG(std::string, log_path, xxljob::ExecutorOptions().log_path,
          "data directory: run logs and executor state");
ABSL_FLAG(int, log_retention_days, xxljob::ExecutorOptions().log_retention_days,
          "run-log date folders older than this many days are removed; "
          "values below 3 keep everything");
ABSL_FLAG(absl::Duration, registry_interval,
          xxljob::AppOptions().registry_interval,
          "how often to register with the admin");
ABSL_FLAG(bool, enable_scripts, xxljob::ExecutorOptions().enable_scripts,
          "run GLUE script jobs (remote code execution by design)");
ABSL_FLAG(int, max_queue_depth, xxljob::ExecutorOptions().max_queue_depth,
          "triggers waiting in one job's queue; one more is refused");
ABSL_FLAG(int, max_job_threads, xxljob::ExecutorOptions().max_job_threads,
          "job threads (job ids with a queue) alive at once");
ABSL_FLAG(int, max_running, xxljob::ExecutorOptions().max_running,
          "runs executing at once; more wait in their job's queue");
ABSL_FLAG(int, max_request_bytes, xxljob::ApiOptions().max_request_bytes,
          "largest request accepted, in bytes; a larger one is refused "
          "(RESOURCE_EXHAUSTED)");
ABSL_FLAG(int64_t, max_params_bytes,
          static_cast<int64_t>(xxljob::FieldLimits().max_params_bytes),
          "largest executor_params of a Run, in bytes (INVALID_ARGUMENT past "
          "it)");
ABSL_FLAG(int64_t, max_glue_source_bytes,
          static_cast<int64_t>(xxljob::FieldLimits().max_glue_source_bytes),
          "largest glue_source (script) of a Run, in bytes (INVALID_ARGUMENT "
          "past it)");
ABSL_FLAG(int, max_tail_streams, xxljob::ApiOptions().max_tail_streams,
          "TailLog streams open at once; one more is refused "
          "(RESOURCE_EXHAUSTED)");
ABSL_FLAG(int64_t, max_run_log_bytes,
          static_cast<int64_t>(xxljob::ExecutorOptions().max_run_log_bytes),
          "what one run may write to its log, in bytes (at least 1024); past "
          "it output is dropped and one line says how much");
ABSL_FLAG(absl::Duration, job_idle_timeout,
          xxljob::ExecutorOptions().idle_timeout,
          "an idle job thread is reclaimed after this long");
ABSL_FLAG(absl::Duration, admin_timeout, xxljob::AppOptions().admin_timeout,
          "deadline of each call to an admin");
ABSL_FLAG(absl::Duration, script_kill_grace,
          xxljob::ExecutorOptions().script_kill_grace,
          "a killed script's process group gets SIGTERM, then SIGKILL after "
          "this long");
// Script sandbox: the user scripts run as, their limits and cgroups.
ABSL_FLAG(std::string, script_user, "",
          "run scripts as this user (needs root or CAP_SETUID+CAP_SETGID); "
          "empty: as the executor's user");
ABSL_FLAG(absl::Duration, script_max_cpu, absl::ZeroDuration(),
          "CPU time of each script process (RLIMIT_CPU); 0: no limit");
ABSL_FLAG(int64_t, script_max_memory_bytes,
          xxljob::ExecutorOptions().script_max_memory_bytes,
          "memory of a script run (cgroup memory.max; without a memory "
          "cgroup, RLIMIT_AS per process); 0: no limit");
ABSL_FLAG(int64_t, script_max_processes,
          xxljob::ExecutorOptions().script_max_processes,
          "processes of a script run (cgroup pids.max; without a pids "
          "cgroup, RLIMIT_NPROC of --script_user); 0: no limit");
ABSL_FLAG(int64_t, script_max_file_bytes,
          xxljob::ExecutorOptions().script_max_file_bytes,
          "largest file a script process may write (RLIMIT_FSIZE); 0: no "
          "limit");
ABSL_FLAG(std::string, script_cgroup, xxljob::ExecutorOptions().script_cgroup,
          "cgroups per script run: auto (under the executor's own cgroup "
          "where writable), off, or a delegated cgroup v2 directory");
ABSL_FLAG(std::string, outbox_sync,
          xxljob::SyncModeName(xxljob::OutboxOptions().sync_mode),
          "when the result outbox is fdatasync'ed: group (before each "
          "delivery and every 50 ms; a crash loses nothing, power loss at "
          "most that interval), every_record (survives power loss; ~100 "
          "runs/s), none (the kernel decides)");
ABSL_FLAG(absl::Duration, result_flush_timeout,
          xxljob::AppOptions().result_flush_timeout,
          "at shutdown, how long pending results may take to reach an admin; "
          "the rest stays in the outbox for the next start");
ABSL_FLAG(absl::Duration, shutdown_grace, xxljob::AppOptions().shutdown_grace,
          "on SIGTERM/SIGINT, how long running jobs get to finish before "
          "they are killed");
ABSL_FLAG(std::string, xxl_properties, "",
          "a Java executor's application.properties: its xxl.job.* keys "
          "become flag values (flags given on the command line win); "
          "xxl.job.executor.port turns the HTTP face on at that port");
// XXL-JOB's own HTTP protocol (docs/xxl-job-admin.md).
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP face (XXL-JOB's own protocol, for a stock "
          "xxl-job-admin); empty: off");
ABSL_FLAG(std::string, http_address, "",
          "the URL registered with HTTP admins; empty: http(s)://<the first "
          "non-loopback IPv4 address or the listen host>:<port>/ (https "
          "with --tls_cert_file)");
ABSL_FLAG(absl::Duration, http_io_timeout, xxljob::HttpOptions().io_timeout,
          "an HTTP connection that takes longer to send a request, or stays "
          "idle between requests, or does not read an answer, is closed");
// Prometheus metrics (docs/operations.md, "Metrics").
ABSL_FLAG(bool, metrics, xxljob::MetricsOptions().enabled,
          "collect Prometheus metrics and serve GET /metrics on the HTTP face "
          "(--http_listen); no token is asked, so firewall it");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of a listener serving only GET /metrics (turns "
          "--metrics on); empty: none. Best on loopback or firewalled");
// Descriptors (docs/operations.md, "Bounds"; docs/design.md, "Descriptors").
ABSL_FLAG(int, max_connections, xxljob::GrpcOptions().max_connections,
          "connections open at once on --listen; one more is accepted and "
          "closed. 0: the descriptor limit minus --reserved_fds (at least a "
          "quarter of the limit)");
ABSL_FLAG(int64_t, reserved_fds, xxljob::AppOptions().reserved_fds,
          "descriptors kept free of connections for run logs, scripts and "
          "the outbox. 0: 256 + 4 per --max_running");
ABSL_FLAG(absl::Duration, handshake_timeout,
          xxljob::GrpcOptions().handshake_timeout,
          "a connection that has not completed its TLS handshake and sent "
          "its HTTP/2 preface within this is closed");

namespace xxljob {
namespace {

absl::Status BadFlag(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", why));
}

absl::Status CheckPositive(absl::string_view flag, absl::Duration d) {
  if (d > absl::ZeroDuration() && d != absl::InfiniteDuration()) {
    return absl::OkStatus();
  }
  return BadFlag(flag, absl::StrCat("must be a positive duration, got ",
                                    absl::FormatDuration(d)));
}

absl::Status CheckAtLeast(absl::string_view flag, int64_t value, int64_t min) {
  if (value >= min) return absl::OkStatus();
  return BadFlag(flag, absl::StrCat("must be >= ", min, ", got ", value));
}

absl::StatusOr<SyncMode> ParseSyncMode(absl::string_view name) {
  if (name == "none") return SyncMode::kNone;
  if (name == "group") return SyncMode::kGroup;
  if (name == "every_record") return SyncMode::kEveryRecord;
  return BadFlag("outbox_sync", absl::StrCat("must be none, group or "
                                             "every_record, got \"",
                                             name, "\""));
}

// The HTTP face's flags, into `app`.
absl::Status ReadHttpFlags(AppOptions* app) {
  app->http.listen = absl::GetFlag(FLAGS_http_listen);
  app->http_address = absl::GetFlag(FLAGS_http_address);
  app->http.io_timeout = absl::GetFlag(FLAGS_http_io_timeout);
  app->metrics.listen = absl::GetFlag(FLAGS_metrics_listen);
  app->metrics.enabled =
      absl::GetFlag(FLAGS_metrics) || !app->metrics.listen.empty();
  return CheckPositive("http_io_timeout", app->http.io_timeout);
}

// The descriptor flags, into `app`.
absl::Status ReadDescriptorFlags(AppOptions* app) {
  app->grpc.max_connections = absl::GetFlag(FLAGS_max_connections);
  app->reserved_fds = absl::GetFlag(FLAGS_reserved_fds);
  app->grpc.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  if (app->grpc.max_connections < 0) {
    return BadFlag("max_connections", "must be >= 0");
  }
  if (app->reserved_fds < 0) return BadFlag("reserved_fds", "must be >= 0");
  return CheckPositive("handshake_timeout", app->grpc.handshake_timeout);
}

// Reads and checks the flags. Format checks that ExecutorApp::Start also
// makes (listen, address) are left to it; its message is as clear.
absl::Status ReadConfig(AppOptions* options) {
  AppOptions& app = *options;
  ApiOptions& api = app.api;
  GrpcOptions& grpc = app.grpc;
  grpc.listen = absl::GetFlag(FLAGS_listen);
  app.address = absl::GetFlag(FLAGS_address);
  api.app_name = absl::GetFlag(FLAGS_app_name);
  absl::StatusOr<std::string> token = ResolveAccessToken(
      "access_token", absl::GetFlag(FLAGS_access_token), "access_token_file",
      absl::GetFlag(FLAGS_access_token_file));
  if (!token.ok()) return token.status();
  api.access_token = *std::move(token);
  const absl::Duration tls_refresh = absl::GetFlag(FLAGS_tls_refresh_interval);
  grpc.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  grpc.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  grpc.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  grpc.tls.refresh_interval = tls_refresh;
  ClientTlsOptions& admin_tls = app.admin_tls;
  admin_tls.ca_file = absl::GetFlag(FLAGS_admin_tls_ca_file);
  admin_tls.cert_file = absl::GetFlag(FLAGS_admin_tls_cert_file);
  admin_tls.key_file = absl::GetFlag(FLAGS_admin_tls_key_file);
  admin_tls.server_name = absl::GetFlag(FLAGS_admin_tls_server_name);
  admin_tls.enabled =
      absl::GetFlag(FLAGS_admin_tls) || !admin_tls.ca_file.empty() ||
      !admin_tls.cert_file.empty() || !admin_tls.key_file.empty() ||
      !admin_tls.server_name.empty();
  admin_tls.refresh_interval = tls_refresh;
  ExecutorOptions& e = app.executor;
  e.log_path = absl::GetFlag(FLAGS_log_path);
  e.log_retention_days = absl::GetFlag(FLAGS_log_retention_days);
  e.enable_scripts = absl::GetFlag(FLAGS_enable_scripts);
  e.max_queue_depth = absl::GetFlag(FLAGS_max_queue_depth);
  e.max_job_threads = absl::GetFlag(FLAGS_max_job_threads);
  e.max_running = absl::GetFlag(FLAGS_max_running);
  api.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  api.max_tail_streams = absl::GetFlag(FLAGS_max_tail_streams);
  const int64_t max_params = absl::GetFlag(FLAGS_max_params_bytes);
  const int64_t max_glue = absl::GetFlag(FLAGS_max_glue_source_bytes);
  api.field_limits.max_params_bytes =
      static_cast<size_t>(std::max<int64_t>(max_params, 0));
  api.field_limits.max_glue_source_bytes =
      static_cast<size_t>(std::max<int64_t>(max_glue, 0));
  const int64_t max_run_log = absl::GetFlag(FLAGS_max_run_log_bytes);
  e.max_run_log_bytes =
      static_cast<uint64_t>(std::max<int64_t>(max_run_log, 0));
  e.idle_timeout = absl::GetFlag(FLAGS_job_idle_timeout);
  e.script_kill_grace = absl::GetFlag(FLAGS_script_kill_grace);
  e.script_user = absl::GetFlag(FLAGS_script_user);
  e.script_max_cpu = absl::GetFlag(FLAGS_script_max_cpu);
  e.script_max_memory_bytes = absl::GetFlag(FLAGS_script_max_memory_bytes);
  e.script_max_processes = absl::GetFlag(FLAGS_script_max_processes);
  e.script_max_file_bytes = absl::GetFlag(FLAGS_script_max_file_bytes);
  e.script_cgroup = absl::GetFlag(FLAGS_script_cgroup);
  app.registry_interval = absl::GetFlag(FLAGS_registry_interval);
  app.admin_timeout = absl::GetFlag(FLAGS_admin_timeout);
  app.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  app.result_flush_timeout = absl::GetFlag(FLAGS_result_flush_timeout);
  absl::StatusOr<SyncMode> sync =
      ParseSyncMode(absl::GetFlag(FLAGS_outbox_sync));
  if (!sync.ok()) return sync.status();
  app.reporter.outbox.sync_mode = *sync;
  for (absl::string_view a : absl::StrSplit(
           absl::GetFlag(FLAGS_admin_addresses), ',', absl::SkipWhitespace())) {
    a = absl::StripAsciiWhitespace(a);
    // A URL is an HTTP admin, checked whole when the app builds its client
    // (a bad one is still a start-up error, exit code 2).
    const bool url = absl::StartsWithIgnoreCase(a, "http://") ||
                     absl::StartsWithIgnoreCase(a, "https://");
    if (absl::StatusOr<HostPort> admin = ParseHostPort(a, "entries");
        !url && !admin.ok()) {
      return BadFlag("admin_addresses", admin.status().message());
    }
    app.admin_addresses.emplace_back(a);
  }
  absl::StatusOr<XxlProtocol> protocol =
      ParseXxlProtocol(absl::GetFlag(FLAGS_xxl_protocol));
  if (!protocol.ok()) {
    return BadFlag("xxl_protocol", protocol.status().message());
  }
  app.xxl_protocol = *protocol;

  const absl::Status checks[] = {
      grpc.listen.empty() ? BadFlag("listen", "must not be empty")
                          : absl::OkStatus(),
      e.log_path.empty() ? BadFlag("log_path", "must not be empty")
                         : absl::OkStatus(),
      CheckAtLeast("log_retention_days", e.log_retention_days, 0),
      CheckAtLeast("max_queue_depth", e.max_queue_depth, 1),
      CheckAtLeast("max_job_threads", e.max_job_threads, 1),
      CheckAtLeast("max_running", e.max_running, 1),
      CheckAtLeast("max_request_bytes", api.max_request_bytes, 1024),
      CheckAtLeast("max_params_bytes", max_params, 1),
      CheckAtLeast("max_glue_source_bytes", max_glue, 1),
      CheckAtLeast("max_tail_streams", api.max_tail_streams, 1),
      CheckAtLeast("max_run_log_bytes", max_run_log, 1024),
      CheckPositive("job_idle_timeout", e.idle_timeout),
      CheckPositive("registry_interval", app.registry_interval),
      CheckPositive("admin_timeout", app.admin_timeout),
      e.script_kill_grace >= absl::ZeroDuration() &&
              e.script_kill_grace != absl::InfiniteDuration()
          ? absl::OkStatus()
          : BadFlag("script_kill_grace", "must be a finite duration >= 0"),
      app.shutdown_grace >= absl::ZeroDuration() &&
              app.shutdown_grace != absl::InfiniteDuration()
          ? absl::OkStatus()
          : BadFlag("shutdown_grace", "must be a finite duration >= 0"),
      app.result_flush_timeout >= absl::ZeroDuration() &&
              app.result_flush_timeout != absl::InfiniteDuration()
          ? absl::OkStatus()
          : BadFlag("result_flush_timeout", "must be a finite duration >= 0"),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  if (absl::Status status = ReadHttpFlags(&app); !status.ok()) {
    return status;
  }
  if (absl::Status status = ReadDescriptorFlags(&app); !status.ok()) {
    return status;
  }
  // Here rather than at start only, so a bad file reads as a flag error.
  if (absl::Status status = ValidateServerTls(grpc.tls); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server TLS (--tls_*): ", status.message()));
  }
  if (absl::Status status = ValidateClientTls(app.admin_tls); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin TLS (--admin_tls_*): ", status.message()));
  }
  // Whatever else the core requires, named as it names it.
  return ValidateExecutorOptions(e);
}

void InitLogging(const char* argv0) {
  // Operators see logs on stderr unless they asked glog for files.
  InitLoggingToStderr(argv0);
  // Stack traces on crashes, but SIGTERM is ours: glog's handler would treat
  // it as a crash and dump, instead of a graceful shutdown.
  google::InstallFailureSignalHandler();
  signal(SIGTERM, SIG_DFL);
}

// Every run keeps its log file open, so the default soft limit (often 1024)
// would cap concurrent runs well below max_running.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur == limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    LOG(WARNING) << "cannot raise the open-file limit from " << before << ": "
                 << std::strerror(errno);
    return;
  }
  LOG(INFO) << "open-file limit raised from " << before << " to "
            << limit.rlim_cur;
}

// Whether `listen` (host:port) accepts connections from this host only.
bool IsLoopbackListen(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  absl::StatusOr<HostPort> parsed = ParseHostPort(listen, "listen");
  return parsed.ok() && IsLoopbackHost(parsed->host);
}

void LogConfig(const AppOptions& app) {
  const ApiOptions& api = app.api;
  const GrpcOptions& grpc = app.grpc;
  const ExecutorOptions& e = app.executor;
  LOG(INFO)
      << "xxl-executor " << kExecutorVersion << ": listen=" << grpc.listen
      << " address=" << (app.address.empty() ? "(auto)" : app.address)
      << " app_name=" << api.app_name << " admin_addresses="
      << (app.admin_addresses.empty() ? "(standalone)"
                                      : absl::StrJoin(app.admin_addresses, ","))
      << " access_token=" << (api.access_token.empty() ? "none" : "set")
      << " tls="
      << (!grpc.tls.enabled()               ? "off"
          : grpc.tls.client_ca_file.empty() ? "on"
                                            : "mutual")
      << " admin_tls="
      << (!app.admin_tls.enabled            ? "off"
          : app.admin_tls.cert_file.empty() ? "on"
                                            : "mutual")
      << " metrics="
      << (!app.metrics.enabled         ? "off"
          : app.metrics.listen.empty() ? "on"
                                       : app.metrics.listen)
      << " log_path=" << e.log_path
      << " log_retention_days=" << e.log_retention_days
      << " enable_scripts=" << e.enable_scripts
      << " max_queue_depth=" << e.max_queue_depth
      << " max_job_threads=" << e.max_job_threads
      << " max_running=" << e.max_running
      << " max_request_bytes=" << api.max_request_bytes
      << " max_params_bytes=" << api.field_limits.max_params_bytes
      << " max_glue_source_bytes=" << api.field_limits.max_glue_source_bytes
      << " max_tail_streams=" << api.max_tail_streams
      << " max_run_log_bytes=" << e.max_run_log_bytes << " max_connections="
      << (app.grpc.max_connections == 0
              ? "(auto)"
              : std::to_string(app.grpc.max_connections))
      << " reserved_fds="
      << (app.reserved_fds == 0 ? "(auto)" : std::to_string(app.reserved_fds))
      << " handshake_timeout=" << app.grpc.handshake_timeout
      << " job_idle_timeout=" << e.idle_timeout
      << " script_kill_grace=" << e.script_kill_grace << " script_user="
      << (e.script_user.empty() ? "(executor's)" : e.script_user)
      << " script_max_cpu=" << e.script_max_cpu
      << " script_max_memory_bytes=" << e.script_max_memory_bytes
      << " script_max_processes=" << e.script_max_processes
      << " script_max_file_bytes=" << e.script_max_file_bytes
      << " script_cgroup=" << e.script_cgroup
      << " registry_interval=" << app.registry_interval
      << " admin_timeout=" << app.admin_timeout
      << " outbox_sync=" << SyncModeName(app.reporter.outbox.sync_mode)
      << " shutdown_grace=" << app.shutdown_grace
      << " result_flush_timeout=" << app.result_flush_timeout;
  if (e.enable_scripts && api.access_token.empty() &&
      !IsLoopbackListen(grpc.listen)) {
    LOG(WARNING) << "*** SECURITY: --enable_scripts is on, no access token "
                    "is set (--access_token / XXL_JOB_ACCESS_TOKEN) and "
                    "--listen="
                 << grpc.listen
                 << " is not a loopback address: anyone who can reach this "
                    "port can run arbitrary commands as uid "
                 << getuid()
                 << " on this host. Set a token, listen on 127.0.0.1, or "
                    "turn scripts off. ***";
  }
}

// The Java executor's keys (SPEC §9, "Migration") and the flags they set:
// `flag` empty means the key is handled by hand below.
struct XxlKey {
  const char* key;
  const char* flag;
};
constexpr XxlKey kXxlKeys[] = {
    {"xxl.job.admin.addresses", "admin_addresses"},
    {"xxl.job.admin.accessToken", "access_token"},
    {"xxl.job.accessToken", "access_token"},
    {"xxl.job.admin.timeout", ""},
    {"xxl.job.executor.appname", "app_name"},
    {"xxl.job.executor.address", "http_address"},
    {"xxl.job.executor.ip", ""},
    {"xxl.job.executor.port", ""},
    {"xxl.job.executor.logpath", "log_path"},
    {"xxl.job.executor.logretentiondays", "log_retention_days"},
};

// Applies --xxl_properties (if given) as flag values, before the command
// line is parsed so that it wins. Keys with no meaning here are returned
// for one warning once logging is up.
absl::Status ApplyXxlProperties(int argc, char** argv,
                                std::vector<std::string>* unknown) {
  const std::string path = PeekFlag(argc, argv, "xxl_properties");
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return BadFlag("xxl_properties",
                   absl::StrCat("\"", path, "\": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      ParseJavaProperties(text.str());
  if (!pairs.ok()) {
    return BadFlag("xxl_properties",
                   absl::StrCat("\"", path, "\": ", pairs.status().message()));
  }
  std::string ip, port;
  bool address_given = false;
  for (const auto& [key, raw] : *pairs) {
    const std::string value(absl::StripAsciiWhitespace(raw));
    if (!absl::StartsWith(key, "xxl.job.")) continue;
    const XxlKey* known = nullptr;
    for (const XxlKey& k : kXxlKeys) {
      if (key == k.key) known = &k;
    }
    if (known == nullptr) {
      unknown->push_back(key);
      continue;
    }
    // Java reads an empty value as unset.
    if (value.empty()) continue;
    absl::Status s;
    if (key == "xxl.job.admin.timeout") {
      s = SetFlagBeforeParsing("admin_timeout", absl::StrCat(value, "s"));
    } else if (key == "xxl.job.executor.ip") {
      ip = value;
    } else if (key == "xxl.job.executor.port") {
      port = value;
      s = SetFlagBeforeParsing("http_listen", absl::StrCat("0.0.0.0:", value));
    } else {
      address_given |= key == "xxl.job.executor.address";
      s = SetFlagBeforeParsing(known->flag, value);
    }
    if (!s.ok()) {
      return BadFlag("xxl_properties",
                     absl::StrCat("\"", path, "\": ", key, ": ", s.message()));
    }
  }
  // Without xxl.job.executor.address the Java executor registers
  // http://ip:port/; so does this one (https:// with --tls_cert_file, since
  // the face then serves HTTPS only; port 0, a free port, is known only
  // once bound: then the automatic address is registered).
  int p = 0;
  if (!ip.empty() && !address_given && absl::SimpleAtoi(port, &p) && p > 0) {
    const bool tls = !PeekFlag(argc, argv, "tls_cert_file").empty();
    return SetFlagBeforeParsing(
        "http_address",
        absl::StrCat(tls ? "https://" : "http://", FormatHostPort(ip, p), "/"));
  }
  return absl::OkStatus();
}

// The HTTP face and gRPC can't share a port (a migrated Java configuration
// brings its executor port, 9999 by default, which is gRPC's default too).
absl::Status CheckPortClash(const AppOptions& app) {
  if (app.http.listen.empty()) return absl::OkStatus();
  absl::StatusOr<HostPort> grpc = ParseHostPort(app.grpc.listen, "listen");
  absl::StatusOr<HostPort> http = ParseHostPort(app.http.listen, "http_listen");
  if (!grpc.ok() || !http.ok() || grpc->port == 0 || grpc->port != http->port) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "the HTTP face (--http_listen, or xxl.job.executor.port of "
      "--xxl_properties) and gRPC (--listen) both want port ",
      grpc->port, ": give gRPC another one, e.g. --listen=0.0.0.0:",
      grpc->port == 9990 ? 9991 : 9990));
}

int Main(int argc, char** argv) {
  SetUsage(
      "An XXL-JOB executor served over gRPC.\n"
      "Usage: xxl-executor [--flag=value ...]\n"
      "Logging is glog's, configured by environment: GLOG_v=1 for per-run\n"
      "detail, GLOG_log_dir=DIR for log files instead of stderr.",
      "server/main.cc", absl::StrCat("xxl-executor ", kExecutorVersion));
  std::vector<std::string> unknown_keys;
  if (absl::Status s = ApplyXxlProperties(argc, argv, &unknown_keys); !s.ok()) {
    std::cerr << "xxl-executor: " << s.message() << "\n";
    return kExitBadConfig;
  }
  std::vector<char*> args = ParseFlagsOrExit(argc, argv);
  if (args.size() > 1) {
    std::cerr << "xxl-executor: unexpected argument \"" << args[1]
              << "\" (flags are --name=value; see --help)\n";
    return kExitBadConfig;
  }
  AppOptions options;
  if (absl::Status s = ReadConfig(&options); !s.ok()) {
    std::cerr << "xxl-executor: " << s.message() << " (see --help)\n";
    return kExitBadConfig;
  }
  if (absl::Status s = CheckPortClash(options); !s.ok()) {
    std::cerr << "xxl-executor: " << s.message() << "\n";
    return kExitBadConfig;
  }

  InitLogging(argv[0]);
  LOG_IF(WARNING, !unknown_keys.empty())
      << "--xxl_properties: keys with no meaning here, ignored: "
      << absl::StrJoin(unknown_keys, ", ");
  // Debian's abseil is built with mutex deadlock detection on: a graph update
  // on every lock, a few percent of CPU. It is a debugging aid; the test
  // suite keeps it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  RaiseOpenFileLimit();
  // Before any thread starts, so every thread inherits the mask and only
  // the SignalWaiter below receives them.
  BlockShutdownSignals();

  HandlerRegistry registry;
  if (absl::Status s = RegisterBuiltinHandlers(&registry); !s.ok()) {
    LOG(FATAL) << "registering the built-in handlers: " << s;
  }
  LogConfig(options);
  absl::StatusOr<std::unique_ptr<ExecutorApp>> app =
      ExecutorApp::Start(options, &registry);
  if (!app.ok()) {
    std::cerr << "xxl-executor: cannot start: " << app.status().message()
              << "\n";
    return kExitBadConfig;
  }
  SignalWaiter waiter;
  const int sig = waiter.WaitForSignal();
  LOG(INFO) << "received " << strsignal(sig) << ": shutting down gracefully";
  (*app)->Shutdown(options.shutdown_grace);
  waiter.Stop();
  app->reset();
  LOG(INFO) << "exiting";
  return 0;
}

}  // namespace
}  // namespace xxljob

int main(int argc, char** argv) { return xxljob::Main(argc, argv); }

// xxl-ctl: the manual-trigger command line of xxl-executor (SPEC §7). Flags
// are parsed here and turned into ctl::CtlOptions; the commands themselves
// are in ctl.h. See kUsage for commands, exit codes and examples.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "common/cli.h"
#include "glog/logging.h"
#include "security/tls_credentials.h"
#include "tools/ctl/ctl.h"

// Flag names must not collide with glog's gflags (v, logtostderr, log_dir,
// ...); glog is configured through GLOG_* environment variables instead.
ABSL_FLAG(std::string, target, "localhost:9999", "executor host:port");
ABSL_FLAG(std::string, token, "",
          "access token sent as xxl-job-access-token metadata; empty: the "
          "XXL_JOB_ACCESS_TOKEN environment variable, if set (which keeps "
          "it out of `ps`)");
ABSL_FLAG(std::string, token_file, "",
          "read the access token from this file (trailing line breaks "
          "removed); not together with --token");
ABSL_FLAG(bool, tls, false,
          "connect with TLS, trusting the system's CAs unless --ca_file is "
          "given; implied by --ca_file, --cert_file, --key_file and "
          "--tls_server_name");
ABSL_FLAG(std::string, ca_file, "",
          "TLS: PEM bundle of the CAs the executor's certificate must chain "
          "to");
ABSL_FLAG(std::string, cert_file, "",
          "mutual TLS: this PEM client certificate chain (needs --key_file)");
ABSL_FLAG(std::string, key_file, "", "the PEM private key of --cert_file");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name the executor's certificate must carry; empty: the "
          "host of --target");
ABSL_FLAG(bool, json, false,
          "print one JSON object per response (proto3 JSON, proto field "
          "names), and failed calls as {\"error\": {...}}");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "deadline of each call (not of a --follow stream)");
ABSL_FLAG(absl::Duration, follow_timeout, absl::InfiniteDuration(),
          "deadline of a whole --follow stream (default: none)");
ABSL_FLAG(bool, follow, false,
          "run, log: stream the run's log until it ends, then exit with its "
          "result");
ABSL_FLAG(int64_t, job_id, 0, "idle-beat, run, kill: the job id (> 0)");
ABSL_FLAG(int64_t, log_id, 0,
          "run: the run's log id (default: a fresh one, epoch ms * 1000 + "
          "random); kill: only this run (default: the whole job); log: the "
          "run");
ABSL_FLAG(int64_t, log_date_time, 0,
          "run, log: epoch ms naming the run's log date (default: now, which "
          "finds runs triggered today)");
ABSL_FLAG(int32_t, from, 1, "log: the first line to print (1-based)");
ABSL_FLAG(std::string, handler, "",
          "run: bean handler name (required for bean jobs)");
ABSL_FLAG(std::string, params, "", "run: executor_params");
ABSL_FLAG(std::string, block_strategy, "serial",
          "run: serial, discard_later or cover_early");
ABSL_FLAG(int32_t, executor_timeout, 0,
          "run: seconds the run may execute, 0 = no limit");
ABSL_FLAG(std::string, glue_type, "bean",
          "run: bean, shell, python, python2, nodejs, php or powershell");
ABSL_FLAG(std::string, glue_source, "", "run: the script, for glue types");
ABSL_FLAG(std::string, glue_source_file, "",
          "run: read the script from this file instead");
ABSL_FLAG(int64_t, glue_updatetime, 0,
          "run: the script's version (default: a hash of the source, so an "
          "edited script replaces the old one and the same one is reused)");
ABSL_FLAG(int32_t, broadcast_index, 0, "run: shard index");
ABSL_FLAG(int32_t, broadcast_total, 0,
          "run: shard total (0 = not a broadcast run)");

namespace xxljob::ctl {
namespace {

constexpr char kProgram[] = "xxl-ctl";

constexpr char kUsage[] = R"(calls an xxl-executor by hand.

Usage: xxl-ctl [--target=HOST:PORT] [--token=T | --token_file=F]
               [--tls] [--ca_file=CA.pem] [--cert_file=C --key_file=K]
               [--json] COMMAND [--flag=value ...]

Commands:
  beat                               is the executor up? its load
  idle-beat --job_id=J               is job J idle (nothing running or queued)?
  run --job_id=J --handler=H         trigger one run (every RunRequest field is
      [--params=P] [--follow] ...    a flag); --follow streams its log and
                                     exits with its result
  kill --job_id=J [--log_id=L]       stop job J's runs, or only run L
  log --log_id=L [--log_date_time=MS] [--from=N] [--follow]
                                     print a run's log; --follow streams it
                                     until the run ends

Exit codes:
  0  done; with --follow, the run succeeded (200)
  1  refused (code 500: busy, discard later, unknown handler, ...), or the
     followed run failed
  2  bad command line, or the call failed (connection, token, deadline,
     malformed request)
  3  the followed run timed out (502)

Examples:
  xxl-ctl beat
  xxl-ctl --target=10.0.0.5:9999 idle-beat --job_id=7
  xxl-ctl run --job_id=1 --handler=demoJobHandler --params=hello
  xxl-ctl run --job_id=2 --handler=sleepJobHandler --params=5000 \
      --executor_timeout=2 --follow
  xxl-ctl run --job_id=3 --glue_type=shell --glue_source_file=job.sh --follow
  xxl-ctl kill --job_id=2
  xxl-ctl log --log_id=1732190000123001 --log_date_time=1732190000123 --follow
  XXL_JOB_ACCESS_TOKEN=s3cret xxl-ctl --json beat
  xxl-ctl --target=10.0.0.5:9999 --ca_file=ca.pem --tls_server_name=executor1 \
      --token_file=/etc/xxl/token beat)";

absl::Status ReadRunRequest(v1::RunRequest* run) {
  run->set_job_id(absl::GetFlag(FLAGS_job_id));
  run->set_executor_handler(absl::GetFlag(FLAGS_handler));
  run->set_executor_params(absl::GetFlag(FLAGS_params));
  absl::StatusOr<v1::BlockStrategy> strategy =
      ParseBlockStrategy(absl::GetFlag(FLAGS_block_strategy));
  if (!strategy.ok()) return strategy.status();
  run->set_executor_block_strategy(*strategy);
  run->set_executor_timeout(absl::GetFlag(FLAGS_executor_timeout));
  // 0 (not given): the executor picks a fresh log id and the current time,
  // and says which in its answer.
  run->set_log_id(absl::GetFlag(FLAGS_log_id));
  run->set_log_date_time(absl::GetFlag(FLAGS_log_date_time));
  absl::StatusOr<v1::GlueType> glue_type =
      ParseGlueType(absl::GetFlag(FLAGS_glue_type));
  if (!glue_type.ok()) return glue_type.status();
  run->set_glue_type(*glue_type);
  std::string source = absl::GetFlag(FLAGS_glue_source);
  const std::string source_file = absl::GetFlag(FLAGS_glue_source_file);
  if (!source_file.empty()) {
    if (!source.empty()) {
      return absl::InvalidArgumentError(
          "give --glue_source or --glue_source_file, not both");
    }
    std::ifstream in(source_file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --glue_source_file ", source_file));
    }
    source = content.str();
  }
  const bool bean = *glue_type == v1::BEAN;
  if (bean && run->executor_handler().empty()) {
    return absl::InvalidArgumentError("run needs --handler for bean jobs");
  }
  if (!bean && source.empty()) {
    return absl::InvalidArgumentError(
        "glue jobs need --glue_source or --glue_source_file");
  }
  const int64_t version = absl::GetFlag(FLAGS_glue_updatetime);
  run->set_glue_updatetime(version != 0 || bean ? version
                                                : GlueVersionOf(source));
  run->set_glue_source(std::move(source));
  run->set_broadcast_index(absl::GetFlag(FLAGS_broadcast_index));
  run->set_broadcast_total(absl::GetFlag(FLAGS_broadcast_total));
  return absl::OkStatus();
}

// Fills `options` from the command and the flags; INVALID_ARGUMENT says
// what is wrong.
absl::Status ReadOptions(absl::string_view command, CtlOptions* options) {
  absl::StatusOr<Command> parsed = ParseCommand(command);
  if (!parsed.ok()) return parsed.status();
  options->command = *parsed;
  options->json = absl::GetFlag(FLAGS_json);
  options->timeout = absl::GetFlag(FLAGS_timeout);
  options->follow_timeout = absl::GetFlag(FLAGS_follow_timeout);
  if (options->timeout <= absl::ZeroDuration() ||
      options->follow_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--timeout and --follow_timeout must be > 0");
  }
  options->follow = absl::GetFlag(FLAGS_follow);
  if (options->follow && options->command != Command::kRun &&
      options->command != Command::kLog) {
    return absl::InvalidArgumentError("--follow is for run and log only");
  }
  options->job_id = absl::GetFlag(FLAGS_job_id);
  options->log_id = absl::GetFlag(FLAGS_log_id);
  const absl::Time now = absl::Now();
  switch (options->command) {
    case Command::kBeat:
      return absl::OkStatus();
    case Command::kIdleBeat:
    case Command::kKill:
      if (options->job_id <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(command, " needs --job_id (> 0)"));
      }
      return absl::OkStatus();
    case Command::kRun:
      if (options->job_id <= 0) {
        return absl::InvalidArgumentError("run needs --job_id (> 0)");
      }
      return ReadRunRequest(&options->run);
    case Command::kLog: {
      if (options->log_id <= 0) {
        return absl::InvalidArgumentError("log needs --log_id (> 0)");
      }
      const int64_t log_date_time = absl::GetFlag(FLAGS_log_date_time);
      options->log.set_log_id(options->log_id);
      options->log.set_log_date_time(
          log_date_time != 0 ? log_date_time : absl::ToUnixMillis(now));
      options->log.set_from_line_num(absl::GetFlag(FLAGS_from));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

ClientTlsOptions ReadTlsOptions() {
  ClientTlsOptions tls;
  tls.ca_file = absl::GetFlag(FLAGS_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_key_file);
  tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  tls.enabled = absl::GetFlag(FLAGS_tls) || !tls.ca_file.empty() ||
                !tls.cert_file.empty() || !tls.key_file.empty() ||
                !tls.server_name.empty();
  return tls;
}

int Main(int argc, char** argv) {
  SetUsage(kUsage, "ctl/main.cc");
  // Bad flags exit with 2 (kExitUsage), --help with 0.
  std::vector<char*> args = ParseFlagsOrExit(argc, argv);
  if (args.size() != 2) {
    std::cerr << kProgram << ": "
              << (args.size() < 2
                      ? "no command given"
                      : absl::StrCat("unexpected argument \"", args[2], "\""))
              << " (see --help)" << std::endl;
    return kExitUsage;
  }
  CtlOptions options;
  if (absl::Status s = ReadOptions(args[1], &options); !s.ok()) {
    std::cerr << kProgram << ": " << s.message() << " (see --help)"
              << std::endl;
    return kExitUsage;
  }
  // glog only speaks up when something is wrong: to stderr.
  InitLoggingToStderr(argv[0]);
  absl::StatusOr<std::string> token =
      ResolveAccessToken("token", absl::GetFlag(FLAGS_token), "token_file",
                         absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) {
    std::cerr << kProgram << ": " << token.status().message() << std::endl;
    return kExitUsage;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(absl::GetFlag(FLAGS_target), ReadTlsOptions());
  if (!channel.ok()) {
    std::cerr << kProgram << ": " << channel.status().message() << std::endl;
    return kExitUsage;
  }
  ExecutorClient client(*std::move(channel), *std::move(token));
  return RunCommand(options, client, std::cout, std::cerr);
}

}  // namespace
}  // namespace xxljob::ctl

int main(int argc, char** argv) { return xxljob::ctl::Main(argc, argv); }

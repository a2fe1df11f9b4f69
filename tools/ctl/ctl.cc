#include "tools/ctl/ctl.h"

#include <string>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/response_code.h"
#include "tools/ctl/output.h"

namespace xxljob::ctl {
namespace {

constexpr char kProgram[] = "xxl-ctl";

// Reports a failed call (the call itself, not a refusal) and returns its
// exit code. In JSON mode the error is also an object on `out`, so a script
// reading one stream sees every outcome.
int CallFailed(const CtlOptions& options, absl::string_view what,
               const absl::Status& status, std::ostream& out,
               std::ostream& err) {
  if (options.json) out << ErrorToJson(status) << std::endl;
  err << kProgram << ": " << what << ": "
      << absl::StatusCodeToString(status.code()) << ": " << status.message()
      << std::endl;
  return kExitUsage;
}

CallOptions Unary(const CtlOptions& options) {
  return CallOptions{options.timeout};
}

int Beat(const CtlOptions& options, ExecutorClient& client, std::ostream& out,
         std::ostream& err) {
  absl::StatusOr<v1::BeatResponse> beat = client.Beat({}, Unary(options));
  if (!beat.ok()) return CallFailed(options, "beat", beat.status(), out, err);
  const bool ok = beat->code() == kResponseCodeSuccess;
  if (options.json) {
    out << ToJson(*beat) << std::endl;
  } else {
    out << (ok ? DescribeBeat(*beat)
               : DescribeRefusal(beat->code(), beat->msg()))
        << std::endl;
  }
  return ok ? kExitOk : kExitFailed;
}

int IdleBeat(const CtlOptions& options, ExecutorClient& client,
             std::ostream& out, std::ostream& err) {
  v1::IdleBeatRequest request;
  request.set_job_id(options.job_id);
  absl::StatusOr<v1::IdleBeatResponse> idle =
      client.IdleBeat(request, Unary(options));
  if (!idle.ok()) {
    return CallFailed(options, "idle-beat", idle.status(), out, err);
  }
  const bool ok = idle->code() == kResponseCodeSuccess;
  if (options.json) {
    out << ToJson(*idle) << std::endl;
  } else if (ok) {
    out << "idle: job " << options.job_id << std::endl;
  } else {
    out << "busy (" << idle->code() << "): " << idle->msg() << std::endl;
  }
  return ok ? kExitOk : kExitFailed;
}

// Streams run `request`'s log to `out` until it ends; the exit code follows
// the run's result.
int Follow(const CtlOptions& options, ExecutorClient& client,
           const v1::LogRequest& request, std::ostream& out,
           std::ostream& err) {
  absl::StatusOr<v1::LogResponse> last = client.TailLog(
      request,
      [&](const v1::LogResponse& page) {
        if (options.json) {
          out << ToJson(page) << std::endl;
        } else {
          // Pages hold whole lines, each with its '\n'. Flushed per page so
          // that a pipe shows lines as they are written.
          out << page.log_content() << std::flush;
        }
        return true;
      },
      CallOptions{options.follow_timeout});
  if (!last.ok()) return CallFailed(options, "follow", last.status(), out, err);
  if (last->code() != kResponseCodeSuccess) {
    if (!options.json) {
      err << DescribeRefusal(last->code(), last->msg()) << std::endl;
    }
    return kExitFailed;
  }
  if (!options.json) {
    err << DescribeResult(last->handle_code(), last->handle_msg()) << std::endl;
  }
  return ExitCodeForResult(last->handle_code());
}

int Run(const CtlOptions& options, ExecutorClient& client, std::ostream& out,
        std::ostream& err) {
  const v1::RunRequest& request = options.run;
  absl::StatusOr<v1::RunResponse> run = client.Run(request, Unary(options));
  if (!run.ok()) return CallFailed(options, "run", run.status(), out, err);
  const bool accepted = run->code() == kResponseCodeSuccess;
  if (options.json) {
    out << RunToJson(request, *run) << std::endl;
  } else {
    // With --follow, stdout carries the log alone.
    std::ostream& status_out = options.follow ? err : out;
    if (accepted) {
      status_out << "accepted job " << request.job_id() << " log "
                 << run->log_id() << " (log_date_time " << run->log_date_time()
                 << ")" << std::endl;
    } else {
      status_out << DescribeRefusal(run->code(), run->msg()) << std::endl;
    }
  }
  if (!accepted) return kExitFailed;
  if (!options.follow) return kExitOk;
  // Where the executor says the run's log is (it picks the ids of a manual
  // trigger).
  v1::LogRequest log;
  log.set_log_date_time(run->log_date_time());
  log.set_log_id(run->log_id());
  log.set_from_line_num(1);
  return Follow(options, client, log, out, err);
}

int Kill(const CtlOptions& options, ExecutorClient& client, std::ostream& out,
         std::ostream& err) {
  v1::KillRequest request;
  request.set_job_id(options.job_id);
  request.set_log_id(options.log_id);
  absl::StatusOr<v1::KillResponse> kill = client.Kill(request, Unary(options));
  if (!kill.ok()) return CallFailed(options, "kill", kill.status(), out, err);
  const bool ok = kill->code() == kResponseCodeSuccess;
  if (options.json) {
    out << ToJson(*kill) << std::endl;
  } else if (ok) {
    out << "ok: " << kill->msg() << std::endl;
  } else {
    out << DescribeRefusal(kill->code(), kill->msg()) << std::endl;
  }
  return ok ? kExitOk : kExitFailed;
}

// Prints the log from options.log's line to its current end, a page per
// call.
int Log(const CtlOptions& options, ExecutorClient& client, std::ostream& out,
        std::ostream& err) {
  if (options.follow) return Follow(options, client, options.log, out, err);
  v1::LogRequest request = options.log;
  for (;;) {
    absl::StatusOr<v1::LogResponse> page = client.Log(request, Unary(options));
    if (!page.ok()) return CallFailed(options, "log", page.status(), out, err);
    if (options.json) {
      out << ToJson(*page) << std::endl;
    } else {
      out << page->log_content() << std::flush;
    }
    if (page->code() != kResponseCodeSuccess) {
      if (!options.json) {
        err << DescribeRefusal(page->code(), page->msg()) << std::endl;
      }
      return kExitFailed;
    }
    if (page->is_end()) return kExitOk;
    if (page->to_line_num() < page->from_line_num()) {
      // The current end of a run still going.
      if (!options.json) {
        err << "-- run still going: " << page->to_line_num()
            << " lines so far (--follow keeps reading)" << std::endl;
      }
      return kExitOk;
    }
    request.set_from_line_num(page->to_line_num() + 1);
  }
}

}  // namespace

absl::StatusOr<Command> ParseCommand(absl::string_view name) {
  if (name == "beat") return Command::kBeat;
  if (name == "idle-beat" || name == "idle_beat") return Command::kIdleBeat;
  if (name == "run") return Command::kRun;
  if (name == "kill") return Command::kKill;
  if (name == "log") return Command::kLog;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command \"", name,
                   "\" (commands: beat, idle-beat, run, kill, log)"));
}

absl::StatusOr<v1::BlockStrategy> ParseBlockStrategy(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (upper == "SERIAL") upper = "SERIAL_EXECUTION";
  v1::BlockStrategy strategy;
  if (!v1::BlockStrategy_Parse(upper, &strategy)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown block strategy \"", name,
                     "\" (serial, discard_later, cover_early)"));
  }
  return strategy;
}

absl::StatusOr<v1::GlueType> ParseGlueType(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (upper != "BEAN" && !absl::StartsWith(upper, "GLUE_")) {
    upper = absl::StrCat("GLUE_", upper);
  }
  v1::GlueType type;
  if (!v1::GlueType_Parse(upper, &type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown glue type \"", name,
        "\" (bean, shell, python, python2, nodejs, php, powershell)"));
  }
  return type;
}

int64_t GlueVersionOf(absl::string_view source) {
  // FNV-1a: stable across builds and processes (absl::Hash is not), which
  // is the point: the same source must map to the same version every time.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : source) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash % (uint64_t{1} << 47)) + 1;
}

int ExitCodeForResult(int32_t handle_code) {
  switch (handle_code) {
    case 200:
      return kExitOk;
    case 502:
      return kExitTimedOut;
    default:
      return kExitFailed;
  }
}

int RunCommand(const CtlOptions& options, ExecutorClient& client,
               std::ostream& out, std::ostream& err) {
  switch (options.command) {
    case Command::kBeat:
      return Beat(options, client, out, err);
    case Command::kIdleBeat:
      return IdleBeat(options, client, out, err);
    case Command::kRun:
      return Run(options, client, out, err);
    case Command::kKill:
      return Kill(options, client, out, err);
    case Command::kLog:
      return Log(options, client, out, err);
  }
  return kExitUsage;
}

}  // namespace xxljob::ctl

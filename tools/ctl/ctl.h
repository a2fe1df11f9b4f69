// xxl-ctl's commands (SPEC §7), apart from flag parsing (main.cc): each
// takes a client and options, calls the executor, prints what happened and
// returns the process exit code. Kept out of main.cc so that the pieces with
// rules in them (defaults, names, exit codes) are plain functions.
#ifndef XXLJOB_TOOLS_CTL_CTL_H_
#define XXLJOB_TOOLS_CTL_CTL_H_

#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob::ctl {

// Exit codes: scripts branch on these.
inline constexpr int kExitOk = 0;
// A business refusal (code 500), or the followed run failed.
inline constexpr int kExitFailed = 1;
// Bad command line, or the call itself failed (connection, token, deadline,
// a request the executor called malformed).
inline constexpr int kExitUsage = 2;
// The followed run timed out (handle_code 502).
inline constexpr int kExitTimedOut = 3;

enum class Command { kBeat, kIdleBeat, kRun, kKill, kLog };

// "beat", "idle-beat", "run", "kill", "log"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Command> ParseCommand(absl::string_view name);

// Case-insensitive; the contract's enum names ("DISCARD_LATER",
// "GLUE_SHELL") and short ones ("discard_later", "shell") both work.
// INVALID_ARGUMENT lists the accepted names.
absl::StatusOr<v1::BlockStrategy> ParseBlockStrategy(absl::string_view name);
absl::StatusOr<v1::GlueType> ParseGlueType(absl::string_view name);

// The glue version (glue_updatetime) xxl-ctl sends when none is given: a
// hash of the source, in 1..2^47. The executor keeps one script file and
// job thread per version, so the same source reuses them and an edited
// source replaces them, as an admin's edit would.
int64_t GlueVersionOf(absl::string_view source);

// What a command needs; main.cc fills it from flags.
struct CtlOptions {
  Command command = Command::kBeat;
  // One JSON object per response on `out` (proto3 JSON, field names as in
  // the proto), and failed calls as {"error": {...}}, instead of text.
  bool json = false;
  // Bounds each unary call.
  absl::Duration timeout = absl::Seconds(10);
  // run and log: follow the run's log until it ends, then exit with its
  // result (ExitCodeForResult).
  bool follow = false;
  // Bounds a whole follow; runs can take hours, so no bound by default.
  absl::Duration follow_timeout = absl::InfiniteDuration();
  // idle-beat and kill: the job; kill: the run (0 = the whole job).
  int64_t job_id = 0;
  int64_t log_id = 0;
  // run: the complete request (defaults already applied).
  v1::RunRequest run;
  // log: the run and the first line.
  v1::LogRequest log;
};

// 0 for 200, kExitTimedOut for 502, kExitFailed for anything else
// (including 0, a result the executor no longer remembers).
int ExitCodeForResult(int32_t handle_code);

// Runs `options.command` on `client`. Responses and log lines go to `out`,
// status lines of a follow (accepted, result) and errors to `err`, so that
// `xxl-ctl run --follow > job.log` captures just the log. Returns the exit
// code. Blocks until the call (or the follow) ends.
int RunCommand(const CtlOptions& options, ExecutorClient& client,
               std::ostream& out, std::ostream& err);

}  // namespace xxljob::ctl

#endif  // XXLJOB_TOOLS_CTL_CTL_H_

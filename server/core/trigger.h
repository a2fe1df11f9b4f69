// A trigger (one request to run a job) and the result of a run, as the
// executor core sees them: plain values, independent of the gRPC contract.
#ifndef XXLJOB_SERVER_CORE_TRIGGER_H_
#define XXLJOB_SERVER_CORE_TRIGGER_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace xxljob {

enum class BlockStrategy { kSerial, kDiscardLater, kCoverEarly };

enum class GlueType {
  kBean,
  kGroovy,
  kShell,
  kPython,
  kPython2,
  kNodejs,
  kPhp,
  kPowershell,
};

// "BEAN", "GLUE_SHELL", ...: the contract's enum names, for messages.
const char* GlueTypeName(GlueType type);

struct Trigger {
  int64_t job_id = 0;
  int64_t log_id = 0;
  // Epoch milliseconds when the admin fired the trigger.
  int64_t log_date_time = 0;
  // Bean handler name (kBean only).
  std::string handler;
  std::string params;
  BlockStrategy block_strategy = BlockStrategy::kSerial;
  // Bounds the run's execution time (queue wait excluded); zero = no limit.
  absl::Duration timeout = absl::ZeroDuration();
  GlueType glue_type = GlueType::kBean;
  std::string glue_source;
  // Epoch milliseconds of the glue source's last edit: its version.
  int64_t glue_updatetime = 0;
  // Broadcast shard; 0/1 for a non-broadcast run.
  int32_t shard_index = 0;
  int32_t shard_total = 1;
};

// Why a run ended as it did: what the code alone does not say (a 500 may be
// the job's own failure or a kill). For monitoring; not part of the
// contract's result.
enum class RunCause {
  kOk,             // The job succeeded (code 200).
  kFailed,         // The job failed, threw, or its handler's init failed.
  kTimeout,        // The run's timeout passed (code 502).
  kKilled,         // Killed by the admin (Kill), running or queued.
  kCoverEarly,     // Replaced by a later trigger (COVER_EARLY).
  kHandlerChange,  // Replaced by a trigger with another handler or glue.
  kShutdown,       // Killed or not executed because the executor stopped.
  kRestarted,      // Accepted before a crash; never finished.
};
inline constexpr int kRunCauses = 8;

// "ok", "failed", "timeout", "killed", "cover_early", "handler_change",
// "shutdown", "restarted".
const char* RunCauseName(RunCause cause);

// The one result every accepted trigger gets.
struct RunResult {
  int64_t job_id = 0;
  int64_t log_id = 0;
  int64_t log_date_time = 0;
  int handle_code = 0;
  std::string handle_msg;
  // What follows is for monitoring only: it is not delivered nor journaled.
  RunCause cause = RunCause::kOk;
  // What ran: the glue type and, for kBean, the registered handler's name.
  GlueType glue_type = GlueType::kBean;
  std::string handler = {};
  // Whether the run executed (false: discarded from its queue, or restarted);
  // the timings below are zero when it did not.
  bool executed = false;
  // From acceptance to the start of execution.
  absl::Duration queue_wait = absl::ZeroDuration();
  // Execution time (queue wait excluded).
  absl::Duration run_time = absl::ZeroDuration();
};

// Result messages longer than this are truncated (SPEC §3.9).
inline constexpr size_t kMaxHandleMsgChars = 50000;

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_TRIGGER_H_

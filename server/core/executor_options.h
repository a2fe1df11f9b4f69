// Options of the executor core. main.cc fills them from flags; embedding
// applications fill them directly.
#ifndef XXLJOB_SERVER_CORE_EXECUTOR_OPTIONS_H_
#define XXLJOB_SERVER_CORE_EXECUTOR_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace xxljob {

// Page caps for ReadLogPage. Values below 1 count as 1.
struct LogPageLimits {
  int max_lines = 2000;
  // Of content, '\n' terminators included.
  size_t max_bytes = 256 * 1024;
};

struct ExecutorOptions {
  // Data directory: run logs (<log_path>/<yyyy-MM-dd>/), and later the result
  // outbox and glue scripts in folders of their own. Created if missing.
  std::string log_path = "./data/xxl-executor";
  // Date folders older than this are removed at start and daily; < 3 keeps
  // everything.
  int log_retention_days = 30;
  // A job thread with nothing running or queued for this long is reclaimed.
  absl::Duration idle_timeout = absl::Seconds(90);
  // Job threads alive at once; a trigger that would create one more is
  // refused with RESOURCE_EXHAUSTED.
  int max_job_threads = 20000;
  // Triggers waiting in one job's queue; one more is RESOURCE_EXHAUSTED.
  int max_queue_depth = 1000;
  // Runs executing at once (the size of the worker pool). Further runs wait
  // in their job's queue; they are not refused.
  int max_running = 1024;
  // A pool thread with no work for this long exits (it is re-created on
  // demand).
  absl::Duration worker_keepalive = absl::Seconds(60);
  // Page caps of Log.
  LogPageLimits log_page;
  // What one run may write to its log (its handler's lines and a script's
  // output), in bytes; past it output is dropped and one line at the end of
  // the run says how much. The executor's own lines (start, end) are always
  // written. 64 MiB: far more than a job's log is meant to hold (256 Log
  // pages), small enough that runaway output costs a bounded part of the
  // disk: at most max_running times this at once. At least 1024.
  uint64_t max_run_log_bytes = uint64_t{64} << 20;
  // Glue (script) jobs are remote code execution by design: off by default.
  // Scripts are kept in <log_path>/glue.
  bool enable_scripts = false;
  // A stopped script (kill, timeout, cover-early, handler change, shutdown)
  // gets SIGTERM, and its remaining processes SIGKILL this much later: time
  // for a trap handler to clean up, short enough for a prompt kill. Negative
  // counts as zero.
  absl::Duration script_kill_grace = absl::Seconds(2);
  // Run scripts as this user (setgroups/setgid/setuid in the child); empty:
  // as the executor's own user. Needs root or CAP_SETUID + CAP_SETGID.
  std::string script_user;
  // Per-run bounds of scripts; 0 = none. See ScriptLimits
  // (handlers/script_sandbox.h) for how each is enforced: processes and
  // memory per run by a cgroup where one can be made, else per process
  // (memory) or per user (processes) by rlimits; CPU time and file size
  // per process by rlimits.
  absl::Duration script_max_cpu = absl::ZeroDuration();
  int64_t script_max_memory_bytes = 0;
  int64_t script_max_processes = 4096;
  int64_t script_max_file_bytes = 0;
  // Per-run cgroups: "auto" (under the executor's own cgroup, where it may
  // create them), "off", or a delegated cgroup v2 directory.
  std::string script_cgroup = "auto";
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateExecutorOptions(const ExecutorOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_EXECUTOR_OPTIONS_H_

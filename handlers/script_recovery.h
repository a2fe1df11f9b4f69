// At start-up, before anything reports runs of a previous process: kill
// what scripts that process left running when it died (kill -9, a crash, an
// OOM kill), so that a run reported as "executor restarted before the run
// finished" is really over and a new trigger of its job never runs beside
// it (SPEC §3.2, §3.7).
//
// The runner leaves one record per running script (run_record.h). For each
// record whose executor is gone (a live executor sharing the directory keeps
// its runs), everything of the run is sent SIGCONT then SIGKILL, until none
// is left: its cgroups (cgroup.kill), its session (when the program's pid
// and start time show the session id is still the run's), and every process
// whose environment carries the run's tag. A stopped (SIGSTOP) or frozen
// group dies all the same. Records of an earlier boot are just removed.
#ifndef XXLJOB_HANDLERS_SCRIPT_RECOVERY_H_
#define XXLJOB_HANDLERS_SCRIPT_RECOVERY_H_

#include <string>

#include "absl/time/time.h"

namespace xxljob {

// Where running scripts are recorded: <log_path>/glue/running.
std::string ScriptRunsDir(const std::string& log_path);

struct ScriptRecovery {
  int runs = 0;           // Records of dead executors found.
  int processes = 0;      // Processes killed.
  int left = 0;           // Runs with processes alive after `timeout`.
  int live_executor = 0;  // Records of a live executor, left alone.
};

// Kills the leftovers of the runs recorded in `dir` and waits until they
// are gone (up to `timeout`; past it, those left, in uninterruptible sleep
// with SIGKILL pending, are logged and their records kept for the next
// start). A missing `dir` is nothing to do. Blocks; logs what it did.
ScriptRecovery RecoverScriptRuns(const std::string& dir,
                                 absl::Duration timeout = absl::Seconds(10));

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_SCRIPT_RECOVERY_H_

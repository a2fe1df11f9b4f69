// What bounds a script run: the user it runs as and its resource limits.
// Filled by the executor from its options and handed to the ProcessRunner
// (ProcessRunnerOptions::sandbox); enforced in the child before exec
// (process.cc) and, for the whole run, by its cgroup (run_cgroup.h).
#ifndef XXLJOB_HANDLERS_SCRIPT_SANDBOX_H_
#define XXLJOB_HANDLERS_SCRIPT_SANDBOX_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xxljob {

// Limits of one run. Zero means "no limit" for each.
struct ScriptLimits {
  // CPU time of each process (RLIMIT_CPU, whole seconds, rounded up): SIGXCPU
  // at the limit, SIGKILL 5 s of CPU later.
  absl::Duration cpu = absl::ZeroDuration();
  // Memory: per run, cgroup memory.max where a cgroup with the memory
  // controller can be made (the OOM killer ends the run); and always per
  // process, RLIMIT_AS (allocations past it fail).
  int64_t memory_bytes = 0;
  // Processes (and threads): per run, cgroup pids.max where a cgroup with
  // the pids controller can be made (forks past it fail, and the run is
  // ended); and RLIMIT_NPROC, which counts every process of the script's
  // user, so it is set only when scripts run as a user of their own
  // (--script_user, not root, not the executor's user).
  int64_t processes = 0;
  // Size of any file a process writes (RLIMIT_FSIZE): SIGXFSZ past it.
  int64_t file_bytes = 0;
};

// The user scripts run as.
struct ScriptUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // Supplementary groups (initgroups' list).
  std::string home;
};

struct ScriptSandbox {
  // nullopt: scripts run as the executor's own user.
  std::optional<ScriptUser> user;
  ScriptLimits limits;
  // Per-run cgroups: "auto", "off", or a cgroup v2 directory
  // (run_cgroup.h's DiscoverCgroups).
  std::string cgroup = "auto";
  // Where running scripts are recorded (script_recovery.h); "" for nowhere
  // (a crash then leaves them running).
  std::string records_dir;
};

// Looks `name` up (getpwnam_r, getgrouplist) and checks that this process
// may switch to it: root, or CAP_SETUID and CAP_SETGID (and CAP_SETGID
// covers setgroups). Errors: NOT_FOUND for an unknown user;
// FAILED_PRECONDITION naming what is missing when this process can't.
absl::StatusOr<ScriptUser> ResolveScriptUser(absl::string_view name);

// OK if `mode` is "auto", "off" or a cgroup v2 directory this process can
// create cgroups in (checked by creating and removing one); else
// INVALID_ARGUMENT (not a cgroup v2 directory) or FAILED_PRECONDITION (not
// writable) saying so.
absl::Status CheckScriptCgroupMode(absl::string_view mode);

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_SCRIPT_SANDBOX_H_

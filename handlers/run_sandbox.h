// Internal to the script runner: what a run's sandbox (script_sandbox.h)
// means for its child, and which limit ended a run, in words. Which rlimit
// is set when, and why, is written down at the top of process.cc.
#ifndef XXLJOB_HANDLERS_RUN_SANDBOX_H_
#define XXLJOB_HANDLERS_RUN_SANDBOX_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "handlers/process.h"
#include "handlers/run_cgroup.h"
#include "handlers/script_sandbox.h"
#include "handlers/spawn_child.h"

namespace xxljob {
namespace process_internal {

// "NAME=value" strings: this process's environment, then `spec.env`, then
// `tag_entry` ("XXL_EXECUTOR_RUN=<tag>"), each replacing a variable of the
// same name; HOME, USER and LOGNAME are `user`'s when there is one.
std::vector<std::string> SandboxedEnv(const ProcessSpec& spec,
                                      const std::string& tag_entry,
                                      const std::optional<ScriptUser>& user);

// The child that runs `spec` in `sandbox`: its environment, its cgroups
// (`cgroup` may be null), its rlimits (never above the current hard
// limits) and its user.
ChildSpec SandboxedChild(const ProcessSpec& spec, const ScriptSandbox& sandbox,
                         const RunCgroup* cgroup, const std::string& tag_entry,
                         int output_fd);

// The limit `cgroup` saw hit (a fork refused by pids.max, an OOM kill), in
// words; "" if none.
std::string CgroupLimitHit(const RunCgroup& cgroup);

// The limit that ended a program that ended as `exit` after `cpu_used`:
// SIGXCPU (or SIGKILL past the CPU limit), SIGXFSZ, or a shell's 128 + either;
// "" if none.
std::string ExitLimitHit(const ScriptLimits& limits, const ProcessExit& exit,
                         absl::Duration cpu_used);

}  // namespace process_internal
}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_RUN_SANDBOX_H_

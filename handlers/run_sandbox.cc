// The sandbox of a run, in the child's terms and in words; see
// run_sandbox.h.
#include "handlers/run_sandbox.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace xxljob {
namespace process_internal {

std::vector<std::string> SandboxedEnv(const ProcessSpec& spec,
                                      const std::string& tag_entry,
                                      const std::optional<ScriptUser>& user) {
  std::vector<std::pair<std::string, std::string>> extra = spec.env;
  if (user.has_value()) {
    extra.insert(
        extra.begin(),
        {{"HOME", user->home}, {"USER", user->name}, {"LOGNAME", user->name}});
  }
  absl::flat_hash_set<std::string> replaced = {
      std::string(tag_entry.substr(0, tag_entry.find('=')))};
  for (const auto& [name, value] : extra) replaced.insert(name);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (!replaced.contains(entry.substr(0, entry.find('=')))) {
      env.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : extra) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  env.push_back(tag_entry);
  return env;
}

ChildSpec SandboxedChild(const ProcessSpec& spec, const ScriptSandbox& sandbox,
                         const RunCgroup* cgroup, const std::string& tag_entry,
                         int output_fd) {
  ChildSpec child;
  child.program = spec.program;
  child.argv = {spec.program};
  child.argv.insert(child.argv.end(), spec.args.begin(), spec.args.end());
  child.env = SandboxedEnv(spec, tag_entry, sandbox.user);
  child.output_fd = output_fd;
  if (cgroup != nullptr) {
    child.cgroup_fds = cgroup->join_fds();
    child.cgroup_dir_fd = cgroup->v2_dir_fd();
  }
  const ScriptLimits& limits = sandbox.limits;
  auto add = [&child](int resource, uint64_t value) {
    rlimit current{};
    getrlimit(resource, &current);
    // A soft limit may be set anywhere up to the hard one; never above.
    rlimit wanted{std::min<rlim_t>(value, current.rlim_max),
                  std::min<rlim_t>(value, current.rlim_max)};
    child.limits.push_back({resource, wanted});
  };
  if (limits.cpu > absl::ZeroDuration()) {
    const rlim_t seconds =
        absl::ToInt64Seconds(absl::Ceil(limits.cpu, absl::Seconds(1)));
    rlimit current{};
    getrlimit(RLIMIT_CPU, &current);
    // SIGXCPU at the soft limit; SIGKILL 5 s of CPU later if it is caught.
    const rlim_t hard = std::min<rlim_t>(seconds + 5, current.rlim_max);
    child.limits.push_back({RLIMIT_CPU, {std::min(seconds, hard), hard}});
  }
  if (limits.file_bytes > 0) add(RLIMIT_FSIZE, limits.file_bytes);
  const bool cgroupmemory = cgroup != nullptr && cgroup->memory_limited();
  if (limits.memory_bytes > 0 && !cgroupmemory) {
    add(RLIMIT_AS, limits.memory_bytes);
  }
  const std::optional<ScriptUser>& user = sandbox.user;
  const bool own_user =
      user.has_value() && user->uid != 0 && user->uid != getuid();
  const bool cgrouppids = cgroup != nullptr && cgroup->pids_limited();
  if (limits.processes > 0 && own_user && !cgrouppids) {
    add(RLIMIT_NPROC, limits.processes);
  }
  if (user.has_value()) {
    child.switch_user = true;
    child.uid = user->uid;
    child.gid = user->gid;
    child.groups = user->groups;
  }
  return child;
}

std::string CgroupLimitHit(const RunCgroup& cgroup) {
  const RunCgroup::Limits& limits = cgroup.limits();
  if (cgroup.pids_limited() && cgroup.ForksRefused() > 0) {
    return absl::StrCat("process limit (", limits.processes,
                        " per run) reached: a fork was refused");
  }
  if (cgroup.memory_limited() && cgroup.OomKills() > 0) {
    return absl::StrCat("memory limit (", limits.memory_bytes,
                        " bytes per run) reached: the kernel's OOM killer "
                        "ended a process");
  }
  return "";
}

std::string ExitLimitHit(const ScriptLimits& limits, const ProcessExit& exit,
                         absl::Duration cpu_used) {
  // A shell reports a child killed by a signal as 128 + the signal.
  auto ended_by = [&exit](int sig) {
    return exit.signaled ? exit.signal == sig : exit.exit_code == 128 + sig;
  };
  if (limits.cpu > absl::ZeroDuration() &&
      (ended_by(SIGXCPU) ||
       (exit.signaled && exit.signal == SIGKILL && cpu_used >= limits.cpu))) {
    return absl::StrCat(
        "CPU time limit (",
        absl::FormatDuration(absl::Ceil(limits.cpu, absl::Seconds(1))),
        " per process) reached");
  }
  if (limits.file_bytes > 0 && ended_by(SIGXFSZ)) {
    return absl::StrCat("file size limit (", limits.file_bytes,
                        " bytes per file) reached");
  }
  return "";
}

}  // namespace process_internal
}  // namespace xxljob

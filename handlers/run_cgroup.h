// Internal to the script runner: one control group (cgroup) per script run,
// the kernel's own way to find, bound and kill every process of a run.
//
// cgroup v2 is preferred: a run's cgroup holds every process the run
// starts, whatever it does (setsid, double fork, an emptied environment),
// `cgroup.kill` kills them all at once (a frozen group included), and
// `memory.max` / `pids.max` bound the run as a whole when those controllers
// are enabled for its parent. On hybrid hosts (v2 mounted with no
// controllers, memory and pids on v1 hierarchies) the limits come from v1
// memory and pids cgroups created beside it. Where neither can be created
// (no delegation, not root, a read-only /sys/fs/cgroup) runs go without:
// the runner then tracks processes through /proc and limits them with
// rlimits only. docs/operations.md says how to delegate a cgroup.
#ifndef XXLJOB_HANDLERS_RUN_CGROUP_H_
#define XXLJOB_HANDLERS_RUN_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xxljob {
namespace process_internal {

// What the runs' cgroups can do here, found once by DiscoverCgroups.
struct CgroupSetup {
  // The v2 cgroup runs are created under ("" : no v2 cgroup per run).
  std::string v2_parent;
  // Controllers enabled for the runs' v2 cgroups.
  bool v2_memory = false;
  bool v2_pids = false;
  // v1 hierarchies used for the limits v2 can't apply ("" : not used).
  std::string v1_memory_parent;
  std::string v1_pids_parent;

  bool any() const {
    return !v2_parent.empty() || !v1_memory_parent.empty() ||
           !v1_pids_parent.empty();
  }
  bool memory_limit() const { return v2_memory || !v1_memory_parent.empty(); }
  bool pids_limit() const { return v2_pids || !v1_pids_parent.empty(); }
  // One line for the start-up log.
  std::string Describe() const;
};

// `mode` is "off" (no cgroups), "auto" (under this process's own cgroups,
// where they are writable) or the path of a cgroup v2 directory to create
// runs under. A v1 hierarchy is used only for a limit that is set
// (`want_memory`, `want_pids`) and that v2 can't apply. Whatever can't be
// used is left out (logged); errors only for an explicit path that is not
// a writable cgroup v2 directory (FAILED_PRECONDITION).
absl::StatusOr<CgroupSetup> DiscoverCgroups(absl::string_view mode,
                                            bool want_memory, bool want_pids);

// Whether `path` is a directory on a cgroup v2 file system.
bool IsCgroup2Dir(const std::string& path);

// The cgroups of one run. Not thread-safe: the run's thread owns it. The
// destructor does not remove them: Remove() does, once they are empty.
class RunCgroup {
 public:
  struct Limits {
    int64_t memory_bytes = 0;  // 0: none.
    int64_t processes = 0;     // 0: none.
  };

  // Creates "<parent>/<name>" in each hierarchy of `setup` and applies
  // `limits` where the setup can. The files the child must write "0" to
  // (join_fds) are opened here, O_CLOEXEC. Errors: the OS error of the
  // first cgroup that can't be created or limited (nothing is left).
  static absl::StatusOr<std::unique_ptr<RunCgroup>> Create(
      const CgroupSetup& setup, const std::string& name, const Limits& limits);
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  // cgroup.procs of every cgroup of the run, open for writing: the child
  // writes "0" to each before exec, so the program is a member from its
  // first instruction.
  const std::vector<int>& join_fds() const { return join_fds_; }
  // The v2 cgroup's directory, open for clone3's CLONE_INTO_CGROUP (the
  // child is then born in it, which saves a migration: an RCU grace period
  // under cgroup_threadgroup_rwsem); -1 without a v2 cgroup. Its
  // cgroup.procs is join_fds()[0].
  int v2_dir_fd() const { return v2_dir_fd_; }
  // Closes join_fds and v2_dir_fd (the parent's copies) once the child has
  // started.
  void CloseJoinFds();
  // Every directory of the run (v2 first), for the run's record.
  const std::vector<std::string>& dirs() const { return dirs_; }
  bool has_v2() const { return !v2_.empty(); }

  // Processes in the run's v2 cgroup now (empty without one).
  std::vector<pid_t> Members() const;
  // Whether the v2 cgroup still holds a live process (false without one).
  bool Populated() const;
  // cgroup.freeze (v2, kernel 5.2+); false if it can't.
  bool Freeze(bool frozen);
  // Kills every process of the run: cgroup.kill (v2, 5.14+), else SIGKILL
  // to each member of every cgroup of the run.
  void KillAll();

  // Limit events so far: processes the OOM killer ended, forks refused by
  // pids.max.
  int64_t OomKills() const;
  int64_t ForksRefused() const;
  const Limits& limits() const { return limits_; }
  bool memory_limited() const { return memory_limited_; }
  bool pids_limited() const { return pids_limited_; }

  // rmdir of every cgroup of the run (they must be empty); failures are
  // logged.
  void Remove();

 private:
  RunCgroup() = default;

  std::string v2_;
  std::string v1_memory_;
  std::string v1_pids_;
  std::vector<std::string> dirs_;
  std::vector<int> join_fds_;
  int v2_dir_fd_ = -1;
  Limits limits_;
  bool memory_limited_ = false;
  bool pids_limited_ = false;
};

// Kills whatever is left in the cgroup directories `dirs` (as recorded by
// a run) and removes those that are empty. True when every one is gone or
// empty. Used at start-up on runs a previous process left.
bool KillCgroupDirs(const std::vector<std::string>& dirs);

// "key N" from a flat-keyed cgroup file (memory.events, pids.events,
// memory.oom_control, cgroup.events); 0 if absent or unreadable.
int64_t ReadCgroupKey(const std::string& path, absl::string_view key);

}  // namespace process_internal
}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_RUN_CGROUP_H_

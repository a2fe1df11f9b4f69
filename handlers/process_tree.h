// Internal to handlers/process.cc: what the real ProcessRunner knows about
// processes beyond the one it spawned. Reading /proc (ProcStat,
// ScanProcesses, EnvironHas), the process-wide table of children that runs
// have claimed (ChildTable, with the stray reaper and the subreaper flag),
// and ProcessTree: the processes attributed to one run, and signalling them
// without hitting a reused pid. Why the runner is built this way (which
// processes belong to a run, the stop sequence, what is out of reach) is
// written down at the top of process.cc.
#ifndef XXLJOB_HANDLERS_PROCESS_TREE_H_
#define XXLJOB_HANDLERS_PROCESS_TREE_H_

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"

namespace xxljob {
namespace process_internal {

// pidfd_open(2) and pidfd_send_signal(2) as raw system calls: -1 with errno
// set on failure (ENOSYS on kernels without pidfds).
int PidfdOpen(pid_t pid);
int PidfdSendSignal(int pidfd, int sig);

using Fd = UniqueFd;

// What /proc/<pid>/stat says about a process.
struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t sid = 0;
  char state = '?';
  // Clock ticks after boot: with the pid, names one process for good.
  uint64_t start_time = 0;
  bool dead() const { return state == 'Z' || state == 'X'; }
};

// Process `pid` as /proc shows it now; nullopt if it is gone or unreadable.
std::optional<ProcStat> ReadProcStat(pid_t pid);

// Every process (not thread) visible now. Empty, with a rate-limited ERROR,
// if /proc can't be listed.
std::vector<ProcStat> ScanProcesses();

// Whether process `pid`'s initial environment holds `entry` ("NAME=value").
// Unreadable (gone, or not ours to read) counts as no.
bool EnvironHas(pid_t pid, const std::string& entry);

// Makes this process a child subreaper, once per process (later calls do
// nothing); a failure is a WARNING, since runs still work without it, only
// orphans that left their session can't be reaped.
void BecomeSubreaper();

// The children this process is responsible for, shared by every runner:
// children and re-parented orphans are a process-wide resource. One
// instance, never destroyed; thread-safe (`mu` guards the table, and is
// held while a run spawns so a new program is never seen unclaimed).
class ChildTable {
 public:
  static ChildTable& Get();

  // Pids some run tracks: its program, and processes attributed to it. Only
  // that run reaps them; the stray reaper leaves them alone.
  absl::Mutex mu;
  absl::flat_hash_set<pid_t> claimed ABSL_GUARDED_BY(mu);

  // Reaps zombies in `procs` that are our children, claimed by no run and
  // outside our own session (so not another component's children). Never
  // blocks on a child.
  void ReapStrays(const std::vector<ProcStat>& procs);

 private:
  ChildTable() = default;
};

// The processes of one run, pid -> start time: its program (which leads its
// own session), the members of that session, orphans re-parented to us that
// carry the run's tag, and the descendants of all of them. Membership is
// rebuilt from /proc by Collect(); every member is claimed in ChildTable
// from when it is found until it is gone or Release() is called.
// Not thread-safe: one run's thread owns it. The program is reaped by the
// caller, never here.
class ProcessTree {
 public:
  struct Collected {
    int alive = 0;  // Members not yet dead.
    int added = 0;  // Members found by this scan.
  };

  ProcessTree();
  ProcessTree(const ProcessTree&) = delete;
  ProcessTree& operator=(const ProcessTree&) = delete;

  // Starts tracking `program`, just spawned and already claimed in
  // ChildTable; `tag_entry` ("XXL_EXECUTOR_RUN=<tag>") is in its
  // environment. Its start time is filled in by the first Collect.
  void SetProgram(pid_t program, std::string tag_entry);

  // Rescans /proc: adds the run's new processes to the members (signalling
  // each with `sig` unless 0), drops those gone, reaps dead ones that are
  // our children (except the program). REQUIRES: SetProgram was called.
  Collected Collect(int sig);
  // Sends `sig` to every member: the program by pid (unreaped, it can't
  // have been reused), the others through a pidfd checked against the
  // start time seen in /proc.
  void SignalMembers(int sig);
  // Unclaims every member (the program included) and reaps the strays of
  // the last scan. Call once, when the run is over.
  void Release();

 private:
  // The run's processes in last_scan_: members_ still there (same start
  // time), the run's session, orphans re-parented to us carrying the run's
  // tag, and the descendants of all of them. pid -> start time.
  absl::flat_hash_map<pid_t, uint64_t> AttributeLocked(
      const ChildTable& table) const ABSL_SHARED_LOCKS_REQUIRED(table.mu);
  void Signal(pid_t pid, uint64_t start_time, int sig);

  const pid_t self_;
  const pid_t own_sid_;
  pid_t program_ = -1;
  std::string tag_entry_;
  // Processes of the run, pid -> start time; the program included.
  absl::flat_hash_map<pid_t, uint64_t> members_;
  std::vector<ProcStat> last_scan_;
};

}  // namespace process_internal
}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_PROCESS_TREE_H_

// Internal to the script runner: starting the program of a run. Why not
// posix_spawn: a run's child must join the run's cgroups, take its rlimits
// and switch user (setgroups, setgid, setuid) after fork and before exec,
// and glibc 2.36's posix_spawn can do none of these.
//
// So the child is made with a raw clone3 (into the run's v2 cgroup when
// there is one) or clone(SIGCHLD) (a fork that runs no
// pthread_atfork handlers: gRPC's would wait for its threads to quiesce) and
// makes only raw system calls until exec: no libc lock, no allocation, no
// sanitizer interceptor can be hit in a copy of a multithreaded process. In
// order, in the child:
//   1. every signal to its default disposition (ignored signals survive
//      exec: SIGPIPE ignored would change how `cmd | head` behaves);
//   2. setsid: the program leads a new session and process group;
//   3. "0" into each cgroup.procs given: it is in the run's cgroups from
//      its first instruction, so nothing it starts escapes them;
//   4. the rlimits;
//   5. the pipe on 1 and 2, /dev/null on 0, every other descriptor
//      close-on-exec (close_range), so nothing of ours leaks into a script;
//   6. setgroups, setresgid, setresuid (after the cgroup writes, which need
//      the executor's privileges);
//   7. an empty signal mask (the executor blocks SIGTERM for its sigwait
//      thread; the forking thread blocks everything around the clone);
//   8. execve.
// A failing step writes {step, errno} to a close-on-exec pipe and exits
// 127; the parent reads that pipe until EOF (exec done) or a report.
#ifndef XXLJOB_HANDLERS_SPAWN_CHILD_H_
#define XXLJOB_HANDLERS_SPAWN_CHILD_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace xxljob {
namespace process_internal {

struct ChildSpec {
  std::string program;
  std::vector<std::string> argv;  // argv[0] included.
  std::vector<std::string> env;   // "NAME=value".
  int output_fd = -1;             // Becomes 1 and 2.
  std::vector<int> cgroup_fds;    // cgroup.procs files open for writing.
  // A v2 cgroup directory to be born in (clone3 CLONE_INTO_CGROUP, 5.7+);
  // its cgroup.procs is cgroup_fds[0], written only if clone3 can't.
  int cgroup_dir_fd = -1;
  std::vector<std::pair<int, rlimit>> limits;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Starts `spec`; the child is claimed in ChildTable under its lock as it is
// created, so the stray reaper never sees it unclaimed. Blocks until the
// child has exec'd (or failed to). Returns its pid. Errors: the exec's
// errno (NOT_FOUND, PERMISSION_DENIED, ...) or, for an earlier step,
// INTERNAL naming it; a failed child has been reaped and unclaimed.
absl::StatusOr<pid_t> SpawnChild(const ChildSpec& spec);

}  // namespace process_internal
}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_SPAWN_CHILD_H_

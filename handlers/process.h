// Starting a program, streaming its output and waiting for it together with
// everything it started: the seam between script jobs and the operating
// system (SPEC §3.8, §3.12). Job-thread logic is written against the
// ProcessRunner interface; NewProcessRunner() is the real (Linux)
// implementation, and tests substitute fakes.
//
// What the real runner guarantees, and what it cannot, is written down at
// the top of process.cc; the short version is at NewProcessRunner().
#ifndef XXLJOB_HANDLERS_PROCESS_H_
#define XXLJOB_HANDLERS_PROCESS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "handlers/cancellation.h"
#include "handlers/script_sandbox.h"

namespace xxljob {

// What to start. No shell is involved: `program` is executed with `args`.
struct ProcessSpec {
  // The program's path (a bare name is not searched for: resolve it with
  // FindExecutable first, so "not found" is the caller's message to word).
  std::string program;
  // argv[1..]; argv[0] is `program`.
  std::vector<std::string> args;
  // Added to the executor's own environment, replacing a variable of the
  // same name.
  std::vector<std::pair<std::string, std::string>> env;
  // What the run is, for logs and the run's record ("job 5 log 12").
  std::string name;
};

// How a started process ended.
struct ProcessExit {
  // True: ended by `signal`; false: exited with `exit_code`.
  bool signaled = false;
  int exit_code = 0;
  int signal = 0;
  // The run's cancellation fired and the runner killed the process (so a
  // signal here is most likely ours, not the program's own doing).
  bool killed = false;
  // Non-empty when a limit of the sandbox ended the run (the runner then
  // stopped all of it): which, in words, e.g. "process limit (32 per run)
  // reached: a fork was refused".
  std::string limit;
};

// Runs programs. Implementations are thread-safe: job threads call Run
// concurrently.
class ProcessRunner {
 public:
  // Receives output, in order, in chunks cut anywhere (not at lines).
  using OutputFn = std::function<void(absl::string_view chunk)>;

  virtual ~ProcessRunner() = default;

  // Starts `spec` with stdin from /dev/null and stdout and stderr both into
  // `output` (one stream, so their relative order is kept), called on the
  // calling thread as output arrives. Blocks until the process has ended
  // and everything it started that the runner can attribute to it is gone
  // and reaped. When `cancel` fires (Cancel() or its deadline), the process
  // and its descendants are stopped: SIGTERM, then SIGKILL after the
  // runner's grace. Returns how the process itself ended.
  // Errors (nothing left running): CANCELLED if `cancel` had fired before
  // the start (nothing was started); NOT_FOUND / PERMISSION_DENIED when the
  // program can't be executed; INTERNAL for other system failures, and
  // DEADLINE_EXCEEDED if processes outlived SIGKILL for the runner's reap
  // timeout (stuck in the kernel; they are reaped later if they ever end).
  virtual absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec,
                                          const Cancellation& cancel,
                                          const OutputFn& output) = 0;
};

struct ProcessRunnerOptions {
  // After SIGTERM, how long the processes of a stopped run get to exit
  // before SIGKILL. Long enough for a trap handler to clean up, short
  // enough that a kill is prompt. Negative counts as zero.
  absl::Duration kill_grace = absl::Seconds(2);
  // After SIGKILL, how long to wait for the processes to disappear before
  // giving up with DEADLINE_EXCEEDED (only a process stuck in uninterruptible
  // sleep, e.g. on a dead NFS server, takes that long).
  absl::Duration reap_timeout = absl::Seconds(10);
  // Make this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
  // orphaned descendants of the programs it starts are re-parented to it
  // instead of to init, where the runner can still find, kill and reap
  // them. A process-wide setting: once on, it stays on.
  bool subreaper = true;
  // The user, limits, cgroups and crash records of every run.
  ScriptSandbox sandbox;
};

// The real runner (Linux: a raw clone and exec, pidfds, /proc, cgroups).
// Each program runs as the leader of a new session and process group, in
// the run's cgroup when one can be made (then every process in it belongs
// to the run), under the sandbox's user and limits; the processes of a run
// are also that session, every descendant of the program
// (found through /proc while the tree is intact, even those that called
// setsid), and orphans re-parented to this process that carry the run's tag
// (XXL_EXECUTOR_RUN, an environment variable the runner adds). When the
// program exits on its own, remaining processes of its run are stopped the
// same way as on cancellation: a run leaves nothing running behind.
//
// Every process-wide side effect (the subreaper flag, reaping re-parented
// orphans no run claims) is shared by all runners in the process.
std::unique_ptr<ProcessRunner> NewProcessRunner(
    ProcessRunnerOptions options = {});

// The first executable regular file named `name` in the directories of
// `search_path` (a PATH-style, colon-separated list; empty entries, which
// would mean the working directory, are skipped). A `name` with a '/' is
// checked as is. NOT_FOUND when there is none.
absl::StatusOr<std::string> FindExecutable(absl::string_view name,
                                           absl::string_view search_path);

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_PROCESS_H_

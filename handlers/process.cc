// The real ProcessRunner (Linux). Why it is built the way it is:
//
// Spawning. posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) and exec, only
// async-signal-safe work in the child; argv and envp are built before) with
//   POSIX_SPAWN_SETSID      the program leads a new session and process
//                           group, both with its pid as id;
//   POSIX_SPAWN_SETSIGMASK  an empty mask: the server blocks SIGTERM in every
//                           thread for its sigwait thread, and a script that
//                           inherited that mask could not be stopped by it;
//   POSIX_SPAWN_SETSIGDEF   every signal at its default (ignored signals
//                           survive exec: SIGPIPE ignored would change how
//                           `cmd | head` behaves); glibc's own 32 and 33 it
//                           leaves ignored, and glibc programs reset them;
//   file actions            the pipe on 1 and 2, /dev/null on 0, and
//                           closefrom(3) on top of O_CLOEXEC everywhere, so
//                           no descriptor of ours (a gRPC socket, another
//                           run's pipe) leaks into a script.
// stdout and stderr share one pipe: the log keeps their relative order, and
// a partial stdout line can't be glued to a stderr chunk.
//
// Waiting. The caller's thread poll()s the pipe, a pidfd of the program
// (readable when it exits) and an eventfd that the run's Cancellation writes
// on Cancel(); the poll timeout comes from the cancellation deadline. The
// pipe is read in bounded chunks that go straight to the caller, so memory
// stays bounded and a chatty program never blocks on a full pipe. The
// program is not reaped until the run is over: while it is a zombie, its pid
// (also its session and process group id) can't be reused, so kill(-pgid)
// and "session id == the run's" stay exact.
//
// Stopping (on cancellation; and when the program exited but processes of
// its run remain):
//   1. freeze: SIGSTOP the group, then collect the run's processes from
//      /proc (its session, descendants of members by PPid, and orphans
//      re-parented to us that carry the run's tag in their environment),
//      SIGSTOP-ing each newcomer and rescanning until none shows up, so
//      nothing forks away while the tree is being read;
//   2. SIGTERM the group and every member, then SIGCONT them all;
//   3. rescan every few ms (nothing signals "a grandchild exited") until
//      all are gone or kill_grace has passed; newcomers are tracked but not
//      sent SIGTERM (they are most likely a trap handler's clean-up, which
//      the grace is for);
//   4. SIGKILL the group and every member, rescanning until no newcomer
//      shows up (a process with SIGKILL pending can't fork), then until all
//      are gone (giving up after reap_timeout);
//   5. reap the program and every member that became our child (orphans are
//      re-parented to us, the child subreaper).
// Single processes are signalled through a pidfd, checked against the start
// time seen in /proc, so a pid reused since the scan is never hit.
//
// Reaping strays. waitpid(-1) would steal other runs' exit statuses, so
// the runner never uses it. Zombies re-parented to us that no run claims (an
// orphan that escaped attribution and died later) are reaped by pid at the
// end of every run; only those outside our own session, which leaves alone
// children that other code in this process may spawn.
//
// Out of reach, by design or by necessity: a descendant that left the
// session AND dropped the tag (`env -i setsid cmd &`) AND whose parent
// exited before the run was stopped (re-parented, it could belong to any
// run: it is left running, and reaped when it dies); anything started
// through another service (systemd-run, at, ssh); a process stuck in
// uninterruptible sleep (dies when the kernel lets it). Other code in this
// process calling waitpid(-1), or ignoring SIGCHLD, breaks exit statuses.
//
// Where it lives. This file: spawning, the wait loop and the stop sequence
// (Supervisor), reaping the program, NewProcessRunner and FindExecutable.
// process_tree.h/.cc: reading /proc, attributing processes to a run and
// signalling them by pidfd (ProcessTree), the process-wide table of claimed
// children with the stray reaper, and the subreaper flag.
#include "handlers/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "handlers/process_tree.h"

extern char** environ;

namespace xxljob {
namespace {

using process_internal::BecomeSubreaper;
using process_internal::ChildTable;
using process_internal::Fd;
using process_internal::PidfdOpen;
using process_internal::ProcessTree;

constexpr char kRunTagVar[] = "XXL_EXECUTOR_RUN";
constexpr size_t kReadChunkBytes = 64 * 1024;
// Read per wake-up before looking at the cancellation again, so a chatty
// program can't delay a kill.
constexpr size_t kReadPerWakeBytes = 1024 * 1024;
// Read after the run's processes are gone: what they left in the pipe. The
// bound stops an escaped process that keeps writing from holding us.
constexpr size_t kFinalReadBytes = 4 * 1024 * 1024;
// Rescans while stopping start at the first and back off to the second.
constexpr absl::Duration kFirstScanInterval = absl::Milliseconds(2);
constexpr absl::Duration kMaxScanInterval = absl::Milliseconds(50);
// Without pidfds the program's exit has no event: checked this often.
constexpr absl::Duration kExitCheckInterval = absl::Milliseconds(20);
// Freeze and kill rescans stop after this many rounds; each round stops
// every process found, so only a tree deeper than this outruns it.
constexpr int kMaxCollectRounds = 64;

// "NAME=value" strings: ours, then `spec.env`, then the run's tag.
std::vector<std::string> BuildEnv(const ProcessSpec& spec,
                                  const std::string& tag) {
  absl::flat_hash_set<std::string> replaced = {kRunTagVar};
  for (const auto& [name, value] : spec.env) replaced.insert(name);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (!replaced.contains(entry.substr(0, entry.find('=')))) {
      env.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : spec.env) {
    env.push_back(absl::StrCat(name, "=", value));
  }
  env.push_back(absl::StrCat(kRunTagVar, "=", tag));
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int PollTimeoutMs(absl::Time until) {
  if (until == absl::InfiniteFuture()) return -1;
  const absl::Duration left = until - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Rounded up: waking before `until` would only spin.
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left + absl::Milliseconds(1) -
                                                  absl::Nanoseconds(1)),
                        INT_MAX));
}

// One run: spawns the program, pumps its output, stops and reaps its
// processes. Lives on the calling thread for the duration of Run.
class Supervisor {
 public:
  Supervisor(const ProcessRunnerOptions& options, const Cancellation& cancel,
             const ProcessRunner::OutputFn& output)
      : options_(options),
        cancel_(cancel),
        output_(output),
        buf_(kReadChunkBytes, '\0') {}
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec);

 private:
  enum class Phase { kRunning, kTerminating, kKilling };

  absl::Status Spawn(const ProcessSpec& spec);
  // Loops until the run's processes are gone; error if they outlive SIGKILL.
  absl::Status Supervise();
  // Waits for output, the program's exit, a wake-up, or `until`.
  void PollOnce(absl::Time until, bool watch_wake);
  void ReadOutput(size_t limit);
  // Notes whether the program has exited, without reaping it.
  void CheckProgramExit();
  // Steps 1-2 and 4 of the header: freeze, collect, TERM, thaw; and KILL.
  void BeginStop();
  void Escalate();
  // Reaps the program; its exit.
  absl::StatusOr<ProcessExit> ReapProgram();

  const ProcessRunnerOptions& options_;
  const Cancellation& cancel_;
  const ProcessRunner::OutputFn& output_;
  std::string buf_;
  pid_t program_ = -1;
  Fd out_;    // Read end of the output pipe; -1 after EOF.
  Fd pidfd_;  // -1 without pidfd support.
  Fd wake_;   // eventfd written by the cancellation callback.
  bool program_exited_ = false;
  bool killed_ = false;
  // The program and every process attributed to its run.
  ProcessTree tree_;
};

absl::StatusOr<ProcessExit> Supervisor::Run(const ProcessSpec& spec) {
  if (cancel_.cancelled()) {
    return absl::CancelledError("cancelled before the program started");
  }
  if (absl::Status s = Spawn(spec); !s.ok()) return s;
  absl::Cleanup release = [this] { tree_.Release(); };
  const int wake_fd = wake_.get();
  const Cancellation::CallbackId callback = cancel_.AddCallback([wake_fd] {
    const uint64_t one = 1;
    // Can't fail in a way that matters: a full counter is still readable.
    (void)!write(wake_fd, &one, sizeof(one));
  });
  absl::Cleanup remove_callback = [&] { cancel_.RemoveCallback(callback); };
  if (absl::Status s = Supervise(); !s.ok()) return s;
  ReadOutput(kFinalReadBytes);
  return ReapProgram();
}

absl::Status Supervisor::Spawn(const ProcessSpec& spec) {
  static std::atomic<uint64_t> serial{0};
  const std::string tag = absl::StrCat(getpid(), "-", ++serial);
  std::vector<std::string> env = BuildEnv(spec, tag);
  std::vector<std::string> args = {spec.program};
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0)
    return absl::ErrnoToStatus(errno, "pipe2");
  out_.Reset(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);
  if (fcntl(out_.get(), F_SETFL, O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "fcntl O_NONBLOCK");
  }
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake_.get() < 0) return absl::ErrnoToStatus(errno, "eventfd");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  absl::Cleanup destroy_actions = [&] {
    posix_spawn_file_actions_destroy(&actions);
  };
  // dup2 before opening fd 0: the pipe itself may be fd 0 if the executor
  // runs with stdin closed.
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  absl::Cleanup destroy_attr = [&] { posix_spawnattr_destroy(&attr); };
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  ChildTable& table = ChildTable::Get();
  int error = 0;
  {
    // Claimed under the lock it is spawned under: the stray reaper never
    // sees it unclaimed, however fast it exits.
    absl::MutexLock lock(&table.mu);
    error = posix_spawn(&program_, spec.program.c_str(), &actions, &attr,
                        argv.data(), envp.data());
    if (error == 0) table.claimed.insert(program_);
  }
  if (error != 0) {
    program_ = -1;
    return absl::ErrnoToStatus(error,
                               absl::StrCat("cannot execute ", spec.program));
  }
  tree_.SetProgram(program_, absl::StrCat(kRunTagVar, "=", tag));
  pidfd_.Reset(PidfdOpen(program_));
  if (pidfd_.get() < 0) {
    LOG_FIRST_N(WARNING, 1)
        << "pidfd_open unavailable (" << std::strerror(errno)
        << "); script exits are checked every " << kExitCheckInterval;
  }
  return absl::OkStatus();
}

absl::Status Supervisor::Supervise() {
  Phase phase = Phase::kRunning;
  absl::Time phase_end = absl::InfiniteFuture();
  absl::Time next_scan = absl::InfiniteFuture();
  absl::Duration scan_interval = kFirstScanInterval;
  for (;;) {
    CheckProgramExit();
    absl::Time now = absl::Now();
    if (phase == Phase::kRunning) {
      if (cancel_.cancelled() && !program_exited_) {
        killed_ = true;
        BeginStop();
      } else if (program_exited_) {
        // What it printed before exiting goes in before any trap output.
        ReadOutput(kReadPerWakeBytes);
        if (tree_.Collect(0).alive == 0) return absl::OkStatus();
        BeginStop();
      }
      if (killed_ || program_exited_) {
        phase = Phase::kTerminating;
        now = absl::Now();
        phase_end = now + std::max(options_.kill_grace, absl::ZeroDuration());
        next_scan = now;
      }
    }
    if (phase != Phase::kRunning && now >= next_scan) {
      // Newcomers during the grace are not sent SIGTERM: they are most
      // likely a trap handler's clean-up, which the grace is for. They get
      // SIGKILL with the rest when it ends.
      if (tree_.Collect(phase == Phase::kKilling ? SIGKILL : 0).alive == 0) {
        CheckProgramExit();
        if (program_exited_) return absl::OkStatus();
      }
      next_scan = now + scan_interval;
      scan_interval = std::min(scan_interval * 2, kMaxScanInterval);
    }
    if (phase == Phase::kTerminating && now >= phase_end) {
      Escalate();
      phase = Phase::kKilling;
      phase_end = now + options_.reap_timeout;
      next_scan = now;
      scan_interval = kFirstScanInterval;
      continue;
    }
    if (phase == Phase::kKilling && now >= phase_end) {
      return absl::DeadlineExceededError(absl::StrCat(
          "processes of the script (session ", program_, ") still exist ",
          absl::FormatDuration(options_.reap_timeout), " after SIGKILL"));
    }
    absl::Time until = phase == Phase::kRunning
                           ? cancel_.deadline()
                           : std::min(next_scan, phase_end);
    if (pidfd_.get() < 0 && !program_exited_) {
      until = std::min(until, absl::Now() + kExitCheckInterval);
    }
    PollOnce(until, phase == Phase::kRunning);
  }
}

void Supervisor::PollOnce(absl::Time until, bool watch_wake) {
  pollfd fds[3];
  nfds_t n = 0;
  int out_index = -1, wake_index = -1;
  if (out_.get() >= 0) {
    out_index = n;
    fds[n++] = {out_.get(), POLLIN, 0};
  }
  if (pidfd_.get() >= 0 && !program_exited_)
    fds[n++] = {pidfd_.get(), POLLIN, 0};
  if (watch_wake) {
    wake_index = n;
    fds[n++] = {wake_.get(), POLLIN, 0};
  }
  const int ready = poll(fds, n, PollTimeoutMs(until));
  if (ready < 0) {
    // EINTR: loop again. Anything else (ENOMEM) is transient at best; the
    // caller's loop re-polls with its deadlines, so log and go on.
    if (errno != EINTR) {
      PLOG_EVERY_N(ERROR, 100) << "poll";
    }
    return;
  }
  if (out_index >= 0 && fds[out_index].revents != 0) {
    ReadOutput(kReadPerWakeBytes);
  }
  if (wake_index >= 0 && fds[wake_index].revents != 0) {
    uint64_t count;
    (void)!read(wake_.get(), &count, sizeof(count));
  }
}

void Supervisor::ReadOutput(size_t limit) {
  for (size_t total = 0; out_.get() >= 0 && total < limit;) {
    const ssize_t n = read(out_.get(), buf_.data(), buf_.size());
    if (n > 0) {
      output_(absl::string_view(buf_.data(), n));
      total += n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      if (n < 0) PLOG(ERROR) << "reading script output";
      out_.Reset();  // EOF: every writer is gone.
    }
  }
}

void Supervisor::CheckProgramExit() {
  if (program_exited_) return;
  siginfo_t info;
  info.si_pid = 0;
  if (waitid(P_PID, program_, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
    program_exited_ = info.si_pid == program_;
  } else if (errno == ECHILD) {
    // Reaped behind our back (SIGCHLD ignored, or a waitpid(-1) elsewhere):
    // gone all the same; ReapProgram reports the lost status.
    program_exited_ = true;
  }
}

void Supervisor::BeginStop() {
  VLOG(1) << "stopping the processes of session " << program_
          << (killed_ ? " (cancelled)" : " (left behind)");
  // The group is stopped at once by the kernel; the rest as found.
  kill(-program_, SIGSTOP);
  tree_.SignalMembers(SIGSTOP);
  for (int round = 0;
       round < kMaxCollectRounds && tree_.Collect(SIGSTOP).added > 0; ++round) {
  }
  kill(-program_, SIGTERM);
  tree_.SignalMembers(SIGTERM);
  // TERM stays pending in a stopped process; CONT lets it act on it (run
  // its trap, or die).
  kill(-program_, SIGCONT);
  tree_.SignalMembers(SIGCONT);
}

void Supervisor::Escalate() {
  VLOG(1) << "SIGKILL to the processes of session " << program_;
  kill(-program_, SIGKILL);
  tree_.SignalMembers(SIGKILL);
  for (int round = 0;
       round < kMaxCollectRounds && tree_.Collect(SIGKILL).added > 0; ++round) {
  }
}

absl::StatusOr<ProcessExit> Supervisor::ReapProgram() {
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(program_, &status, 0)) < 0 && errno == EINTR) {
  }
  if (reaped != program_) {
    return absl::InternalError(
        absl::StrCat("the exit status of process ", program_,
                     " was taken by someone else (is SIGCHLD ignored?)"));
  }
  ProcessExit exit;
  exit.killed = killed_;
  if (WIFSIGNALED(status)) {
    exit.signaled = true;
    exit.signal = WTERMSIG(status);
  } else {
    exit.exit_code = WEXITSTATUS(status);
  }
  program_ = -1;
  return exit;
}

class PosixProcessRunner : public ProcessRunner {
 public:
  explicit PosixProcessRunner(ProcessRunnerOptions options)
      : options_(std::move(options)) {}

  absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec,
                                  const Cancellation& cancel,
                                  const OutputFn& output) override {
    Supervisor supervisor(options_, cancel, output);
    return supervisor.Run(spec);
  }

 private:
  const ProcessRunnerOptions options_;
};

}  // namespace

std::unique_ptr<ProcessRunner> NewProcessRunner(ProcessRunnerOptions options) {
  if (options.subreaper) BecomeSubreaper();
  return std::make_unique<PosixProcessRunner>(std::move(options));
}

absl::StatusOr<std::string> FindExecutable(absl::string_view name,
                                           absl::string_view search_path) {
  auto executable = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           access(path.c_str(), X_OK) == 0;
  };
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (name.find('/') != absl::string_view::npos) {
    std::string path(name);
    if (executable(path)) return path;
  } else {
    for (absl::string_view dir :
         absl::StrSplit(search_path, ':', absl::SkipEmpty())) {
      std::string path = absl::StrCat(dir, dir.back() == '/' ? "" : "/", name);
      if (executable(path)) return path;
    }
  }
  return absl::NotFoundError(absl::StrCat(name, " not found"));
}

}  // namespace xxljob
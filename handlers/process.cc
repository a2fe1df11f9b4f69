// The real ProcessRunner (Linux). Why it is built the way it is:
//
// Spawning (spawn_child.h): a raw clone and only raw system calls in the
// child until exec, which puts the program in a new session and process
// group (both with its pid as id), in the run's cgroups, under the run's
// rlimits and as the script user, with default signal dispositions, an
// empty signal mask, the pipe on 1 and 2, /dev/null on 0 and no other
// descriptor of ours.
// stdout and stderr share one pipe: the log keeps their relative order, and
// a partial stdout line can't be glued to a stderr chunk.
//
// Records and cgroups. Before the program starts, the run's record (the
// tag and cgroups, run_record.h) is written to the records directory, and
// the program's pid and start time are added once it runs, so that an
// executor that dies mid-run has its leftovers killed at the next start
// (script_recovery.h). The run's cgroup (run_cgroup.h), when there is one,
// holds every process the run starts: the stop sequence below also
// freezes it and ends with cgroup.kill, and a run is over only once it is
// empty, so nothing escapes, whatever it does to its session or
// environment.
//
// Limits. rlimits in the child (RLIMIT_CPU, RLIMIT_FSIZE always;
// RLIMIT_AS and RLIMIT_NPROC only where no cgroup applies that bound: an
// address space is never smaller than the memory in use, and the uid-wide
// process count never smaller than the run's, so either would always fail
// first and the cgroup would never see the run exceed). The cgroup's
// pids.events and memory.events are read every kLimitCheckInterval: a
// refused fork or an OOM kill ends the whole run (stopped like a kill),
// and ProcessExit::limit says which limit did; so does SIGXCPU / SIGXFSZ
// (or a shell's exit status 128 + either).
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
// Out of reach, by design or by necessity: without a cgroup, a descendant
// that left the session AND dropped the tag (`env -i setsid cmd &`) AND
// whose parent exited before the run was stopped (re-parented, it could
// belong to any run: it is left running, and reaped when it dies); anything
// started through another service (systemd-run, at, ssh); a process stuck in
// uninterruptible sleep (dies when the kernel lets it). Other code in this
// process calling waitpid(-1), or ignoring SIGCHLD, breaks exit statuses.
//
// Where it lives. This file: spawning, the wait loop and the stop sequence
// (Supervisor), reaping the program, NewProcessRunner and FindExecutable.
// process_tree.h/.cc: reading /proc, attributing processes to a run and
// signalling them by pidfd (ProcessTree), the process-wide table of claimed
// children with the stray reaper, and the subreaper flag. spawn_child.h:
// the child. run_sandbox.h: its environment, rlimits and user, and naming
// the limit that ended a run. run_cgroup.h, run_record.h: cgroups, records.
#include "handlers/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
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
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "handlers/process_tree.h"
#include "handlers/run_cgroup.h"
#include "handlers/run_record.h"
#include "handlers/run_sandbox.h"
#include "handlers/spawn_child.h"

namespace xxljob {
namespace {

using process_internal::BecomeSubreaper;
using process_internal::CgroupSetup;
using process_internal::ChildTable;
using process_internal::Fd;
using process_internal::PidfdOpen;
using process_internal::ProcessTree;
using process_internal::RunCgroup;
using process_internal::RunRecord;
using process_internal::RunRecordFile;

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
// How often a run with cgroup limits has its limit events read.
constexpr absl::Duration kLimitCheckInterval = absl::Milliseconds(100);
// Freeze and kill rescans stop after this many rounds; each round stops
// every process found, so only a tree deeper than this outruns it.
constexpr int kMaxCollectRounds = 64;

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
  Supervisor(const ProcessRunnerOptions& options, const CgroupSetup& cgroups,
             const Cancellation& cancel, const ProcessRunner::OutputFn& output)
      : options_(options),
        cgroups_(cgroups),
        cancel_(cancel),
        output_(output),
        buf_(kReadChunkBytes, '\0') {}
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec);

 private:
  enum class Phase { kRunning, kTerminating, kKilling };

  absl::Status Spawn(const ProcessSpec& spec);
  // The run's cgroup (cgroup_ stays null without one) and record.
  void MakeCgroup(const std::string& tag, const ProcessSpec& spec);
  absl::Status WriteRecord(const std::string& tag, const ProcessSpec& spec);
  // Whether a cgroup limit was hit (sets limit_).
  bool CheckCgroupLimits();
  // Whether every process of the run is gone: `tree_alive` says for the
  // tree, and the cgroup must be empty.
  bool AllGone(int tree_alive) const;
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
  const CgroupSetup& cgroups_;
  const Cancellation& cancel_;
  const ProcessRunner::OutputFn& output_;
  std::string buf_;
  pid_t program_ = -1;
  Fd out_;    // Read end of the output pipe; -1 after EOF.
  Fd pidfd_;  // -1 without pidfd support.
  Fd wake_;   // eventfd written by the cancellation callback.
  bool program_exited_ = false;
  bool killed_ = false;
  // Which limit ended the run; "" if none did.
  std::string limit_;
  // The program and every process attributed to its run.
  ProcessTree tree_;
  std::unique_ptr<RunCgroup> cgroup_;
  std::unique_ptr<RunRecordFile> record_;
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
  if (absl::Status s = Supervise(); !s.ok()) {
    // Processes outlived SIGKILL: the record and cgroup stay, so the next
    // start of the executor tries again.
    return s;
  }
  ReadOutput(kFinalReadBytes);
  absl::StatusOr<ProcessExit> exit = ReapProgram();
  if (cgroup_ != nullptr) cgroup_->Remove();
  if (record_ != nullptr) record_->Remove();
  return exit;
}

absl::Status Supervisor::Spawn(const ProcessSpec& spec) {
  static std::atomic<uint64_t> serial{0};
  // Unique across restarts too (the start time), so a record or an orphan's
  // tag never names a run of another executor process.
  const std::string tag = absl::StrCat(
      getpid(), "-", process_internal::OwnStartTime(), "-", ++serial);
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
  MakeCgroup(tag, spec);
  auto undo = absl::MakeCleanup([this] {
    if (cgroup_ != nullptr) cgroup_->Remove();
    if (record_ != nullptr) record_->Remove();
  });
  if (absl::Status s = WriteRecord(tag, spec); !s.ok()) return s;

  absl::StatusOr<pid_t> pid =
      process_internal::SpawnChild(process_internal::SandboxedChild(
          spec, options_.sandbox, cgroup_.get(),
          absl::StrCat(kRunTagVar, "=", tag), write_end.get()));
  if (!pid.ok()) return pid.status();
  std::move(undo).Cancel();
  program_ = *pid;
  if (cgroup_ != nullptr) cgroup_->CloseJoinFds();
  tree_.SetProgram(program_, absl::StrCat(kRunTagVar, "=", tag));
  if (record_ != nullptr) {
    const std::optional<process_internal::ProcStat> st =
        process_internal::ReadProcStat(program_);
    absl::Status s = record_->SetProgram(program_, st ? st->start_time : 0);
    LOG_IF(WARNING, !s.ok())
        << "[" << spec.name << "] " << s
        << "; a crash would find the run by its cgroup and tag only";
  }
  pidfd_.Reset(PidfdOpen(program_));
  if (pidfd_.get() < 0) {
    LOG_FIRST_N(WARNING, 1)
        << "pidfd_open unavailable (" << std::strerror(errno)
        << "); script exits are checked every " << kExitCheckInterval;
  }
  return absl::OkStatus();
}

void Supervisor::MakeCgroup(const std::string& tag, const ProcessSpec& spec) {
  if (!cgroups_.any()) return;
  RunCgroup::Limits limits;
  limits.memory_bytes = options_.sandbox.limits.memory_bytes;
  limits.processes = options_.sandbox.limits.processes;
  absl::StatusOr<std::unique_ptr<RunCgroup>> cgroup =
      RunCgroup::Create(cgroups_, absl::StrCat("xxl-run-", tag), limits);
  if (cgroup.ok()) {
    cgroup_ = *std::move(cgroup);
    return;
  }
  // The run goes on with rlimits (SandboxedChild sees no cgroup) and /proc
  // tracking, as on a host without cgroups.
  LOG_EVERY_N(WARNING, 100)
      << "[" << spec.name << "] no cgroup for the run: " << cgroup.status();
}

absl::Status Supervisor::WriteRecord(const std::string& tag,
                                     const ProcessSpec& spec) {
  if (options_.sandbox.records_dir.empty()) return absl::OkStatus();
  RunRecord record;
  record.boot_id = process_internal::BootId();
  record.executor_pid = getpid();
  record.executor_start = process_internal::OwnStartTime();
  record.tag = tag;
  record.name = spec.name;
  if (cgroup_ != nullptr) record.cgroups = cgroup_->dirs();
  absl::StatusOr<std::unique_ptr<RunRecordFile>> file =
      RunRecordFile::Create(options_.sandbox.records_dir, record);
  // Unrecorded, a crash of the executor would leave the script running
  // beside the next run of its job: refuse to start it instead.
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat("cannot record the running script: ",
                                     file.status().message()));
  }
  record_ = *std::move(file);
  return absl::OkStatus();
}

absl::Status Supervisor::Supervise() {
  Phase phase = Phase::kRunning;
  absl::Time phase_end = absl::InfiniteFuture();
  absl::Time next_scan = absl::InfiniteFuture();
  absl::Duration scan_interval = kFirstScanInterval;
  const bool watch_limits = cgroup_ != nullptr && (cgroup_->memory_limited() ||
                                                   cgroup_->pids_limited());
  absl::Time next_limit_check =
      watch_limits ? absl::Now() + kLimitCheckInterval : absl::InfiniteFuture();
  for (;;) {
    CheckProgramExit();
    absl::Time now = absl::Now();
    if (phase == Phase::kRunning) {
      if (now >= next_limit_check) {
        CheckCgroupLimits();
        next_limit_check = now + kLimitCheckInterval;
      }
      if (cancel_.cancelled() && !program_exited_) {
        killed_ = true;
        BeginStop();
      } else if (!limit_.empty() && !program_exited_) {
        BeginStop();
      } else if (program_exited_) {
        // What it printed before exiting goes in before any trap output.
        ReadOutput(kReadPerWakeBytes);
        if (watch_limits) CheckCgroupLimits();
        if (AllGone(tree_.Collect(0).alive)) return absl::OkStatus();
        BeginStop();
      }
      if (killed_ || program_exited_ || !limit_.empty()) {
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
      const int alive =
          tree_.Collect(phase == Phase::kKilling ? SIGKILL : 0).alive;
      if (phase == Phase::kKilling && cgroup_ != nullptr &&
          cgroup_->Populated()) {
        cgroup_->KillAll();
      }
      if (AllGone(alive)) {
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
                           ? std::min(cancel_.deadline(), next_limit_check)
                           : std::min(next_scan, phase_end);
    if (pidfd_.get() < 0 && !program_exited_) {
      until = std::min(until, absl::Now() + kExitCheckInterval);
    }
    PollOnce(until, phase == Phase::kRunning);
  }
}

bool Supervisor::CheckCgroupLimits() {
  if (limit_.empty()) limit_ = process_internal::CgroupLimitHit(*cgroup_);
  return !limit_.empty();
}

bool Supervisor::AllGone(int tree_alive) const {
  return tree_alive == 0 && (cgroup_ == nullptr || !cgroup_->Populated());
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
  // The cgroup and the group are stopped at once by the kernel; the rest
  // as found.
  const bool frozen = cgroup_ != nullptr && cgroup_->Freeze(true);
  kill(-program_, SIGSTOP);
  tree_.SignalMembers(SIGSTOP);
  for (int round = 0;
       round < kMaxCollectRounds && tree_.Collect(SIGSTOP).added > 0; ++round) {
  }
  kill(-program_, SIGTERM);
  tree_.SignalMembers(SIGTERM);
  if (cgroup_ != nullptr) {
    // Frozen members can't exit, so their pids can't be reused meanwhile.
    for (pid_t pid : cgroup_->Members()) {
      kill(pid, SIGSTOP);
      kill(pid, SIGTERM);
    }
    if (frozen) cgroup_->Freeze(false);
  }
  // TERM stays pending in a stopped process; CONT lets it act on it (run
  // its trap, or die).
  kill(-program_, SIGCONT);
  tree_.SignalMembers(SIGCONT);
  if (cgroup_ != nullptr) {
    for (pid_t pid : cgroup_->Members()) kill(pid, SIGCONT);
  }
}

void Supervisor::Escalate() {
  VLOG(1) << "SIGKILL to the processes of session " << program_;
  kill(-program_, SIGKILL);
  tree_.SignalMembers(SIGKILL);
  if (cgroup_ != nullptr) cgroup_->KillAll();
  for (int round = 0;
       round < kMaxCollectRounds && tree_.Collect(SIGKILL).added > 0; ++round) {
  }
}

absl::StatusOr<ProcessExit> Supervisor::ReapProgram() {
  int status = 0;
  rusage usage{};
  pid_t reaped;
  while ((reaped = wait4(program_, &status, 0, &usage)) < 0 && errno == EINTR) {
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
  if (limit_.empty() && !killed_) {
    limit_ = process_internal::ExitLimitHit(
        options_.sandbox.limits, exit,
        absl::DurationFromTimeval(usage.ru_utime) +
            absl::DurationFromTimeval(usage.ru_stime));
  }
  exit.limit = limit_;
  program_ = -1;
  return exit;
}

class PosixProcessRunner : public ProcessRunner {
 public:
  PosixProcessRunner(ProcessRunnerOptions options, CgroupSetup cgroups)
      : options_(std::move(options)), cgroups_(std::move(cgroups)) {}

  absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec,
                                  const Cancellation& cancel,
                                  const OutputFn& output) override {
    Supervisor supervisor(options_, cgroups_, cancel, output);
    return supervisor.Run(spec);
  }

 private:
  const ProcessRunnerOptions options_;
  const CgroupSetup cgroups_;
};

CgroupSetup DiscoverOrNone(const ScriptSandbox& sandbox) {
  absl::StatusOr<CgroupSetup> setup = process_internal::DiscoverCgroups(
      sandbox.cgroup, sandbox.limits.memory_bytes > 0,
      sandbox.limits.processes > 0);
  if (!setup.ok()) {
    LOG(ERROR) << setup.status() << "; scripts run without cgroups";
    return CgroupSetup();
  }
  return *std::move(setup);
}

}  // namespace

std::unique_ptr<ProcessRunner> NewProcessRunner(ProcessRunnerOptions options) {
  if (options.subreaper) BecomeSubreaper();
  CgroupSetup cgroups = DiscoverOrNone(options.sandbox);
  LOG_FIRST_N(INFO, 1) << "script cgroups: " << cgroups.Describe();
  return std::make_unique<PosixProcessRunner>(std::move(options),
                                              std::move(cgroups));
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
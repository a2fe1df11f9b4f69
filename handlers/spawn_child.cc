// SpawnChild; see spawn_child.h for the child's steps and why raw calls.
#include "handlers/spawn_child.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "handlers/process_tree.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace xxljob {
namespace process_internal {
namespace {

enum Step : int {
  kSignals = 1,
  kSetsid,
  kCgroup,
  kRlimit,
  kDescriptors,
  kUser,
  kExec,
};

const char* StepName(int step) {
  switch (step) {
    case kSignals:
      return "resetting signals";
    case kSetsid:
      return "setsid";
    case kCgroup:
      return "joining the run's cgroup";
    case kRlimit:
      return "setting the run's limits";
    case kDescriptors:
      return "setting up descriptors";
    case kUser:
      return "switching to the script user";
    default:
      return "exec";
  }
}

struct Failure {
  int step;
  int err;
};

// The kernel's struct sigaction (x86-64 and arm64 both have sa_restorer).
struct KernelSigaction {
  void* handler;
  unsigned long flags;  // NOLINT(runtime/int): the kernel's type.
  void* restorer;
  uint64_t mask;
};

// Everything the child reads, laid out before the clone.
struct Plan {
  const char* program;
  char* const* argv;
  char* const* envp;
  int output_fd;
  int error_fd;
  const int* cgroup_fds;
  size_t cgroup_count;
  size_t cgroup_first;  // 1 when born in the cgroup of cgroup_fds[0].
  const std::pair<int, rlimit>* limits;
  size_t limit_count;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t group_count;
};

long Sys(long number, long a = 0, long b = 0, long c = 0,  // NOLINT
         long d = 0) {                                     // NOLINT
  return syscall(number, a, b, c, d);
}

[[noreturn]] __attribute__((no_sanitize("address", "thread"))) void ChildFail(
    const Plan& p, int step) {
  Failure f{step, errno};
  Sys(SYS_write, p.error_fd, reinterpret_cast<long>(&f),  // NOLINT
      sizeof(f));
  Sys(SYS_exit_group, 127);
  __builtin_unreachable();
}

// Moves `fd` onto `target` without close-on-exec.
__attribute__((no_sanitize("address", "thread"))) bool Install(int fd,
                                                               int target) {
  if (fd == target) return Sys(SYS_fcntl, fd, F_SETFD, 0) == 0;
  return Sys(SYS_dup3, fd, target, 0) == target;
}

[[noreturn]] __attribute__((no_sanitize("address", "thread"))) void ChildMain(
    const Plan& p) {
  KernelSigaction dfl{};
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    Sys(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0,  // NOLINT
        sizeof(dfl.mask));
  }
  if (Sys(SYS_setsid) < 0) ChildFail(p, kSetsid);
  for (size_t i = p.cgroup_first; i < p.cgroup_count; ++i) {
    if (Sys(SYS_write, p.cgroup_fds[i], reinterpret_cast<long>("0"), 1) != 1)
      ChildFail(p, kCgroup);
  }
  for (size_t i = 0; i < p.limit_count; ++i) {
    if (Sys(SYS_prlimit64, 0, p.limits[i].first,
            reinterpret_cast<long>(&p.limits[i].second), 0) != 0)  // NOLINT
      ChildFail(p, kRlimit);
  }
  // The parent made both descriptors >= 3, so these can't clobber them.
  if (!Install(p.output_fd, 1) || !Install(p.output_fd, 2)) {
    ChildFail(p, kDescriptors);
  }
  const long null_fd = Sys(SYS_openat, AT_FDCWD,  // NOLINT
                           reinterpret_cast<long>("/dev/null"), O_RDONLY);
  if (null_fd < 0 || !Install(static_cast<int>(null_fd), 0)) {
    ChildFail(p, kDescriptors);
  }
  if (Sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    // Before 5.11: close all but the error pipe (close_range: 5.9).
    if ((p.error_fd > 3 && Sys(SYS_close_range, 3, p.error_fd - 1, 0) != 0) ||
        Sys(SYS_close_range, p.error_fd + 1, ~0U, 0) != 0) {
      for (int fd = 3; fd < 65536; ++fd) {
        if (fd != p.error_fd) Sys(SYS_close, fd);
      }
    }
  }
  if (p.switch_user) {
    if (Sys(SYS_setgroups, p.group_count,
            reinterpret_cast<long>(p.groups)) != 0 ||  // NOLINT
        Sys(SYS_setresgid, p.gid, p.gid, p.gid) != 0 ||
        Sys(SYS_setresuid, p.uid, p.uid, p.uid) != 0) {
      ChildFail(p, kUser);
    }
  }
  const uint64_t empty = 0;
  Sys(SYS_rt_sigprocmask, SIG_SETMASK,
      reinterpret_cast<long>(&empty),  // NOLINT
      0, sizeof(empty));
  Sys(SYS_execve, reinterpret_cast<long>(p.program),  // NOLINT
      reinterpret_cast<long>(p.argv), reinterpret_cast<long>(p.envp));
  ChildFail(p, kExec);
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// `fd`, or a close-on-exec copy of it at 3 or above (the executor may run
// with 0-2 closed, and the child's dup3s onto 0-2 must not hit it).
int AboveStdio(int fd, Fd& holder) {
  if (fd > 2) return fd;
  holder.Reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  return holder.get();
}

}  // namespace

absl::StatusOr<pid_t> SpawnChild(const ChildSpec& spec) {
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = spec.env;
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  Fd error_read(error_pipe[0]);
  Fd error_write(error_pipe[1]);
  Fd output_copy, error_copy;
  const int output_fd = AboveStdio(spec.output_fd, output_copy);
  const int error_fd = AboveStdio(error_write.get(), error_copy);
  if (output_fd < 0 || error_fd < 0) {
    return absl::ErrnoToStatus(errno, "fcntl F_DUPFD_CLOEXEC");
  }
  Plan plan{spec.program.c_str(),
            argv.data(),
            envp.data(),
            output_fd,
            error_fd,
            spec.cgroup_fds.data(),
            spec.cgroup_fds.size(),
            0,
            spec.limits.data(),
            spec.limits.size(),
            spec.switch_user,
            spec.uid,
            spec.gid,
            spec.groups.data(),
            spec.groups.size()};

  // All signals blocked in this thread across the clone: no handler of
  // ours may run in the child before step 1 resets them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  ChildTable& table = ChildTable::Get();
  pid_t pid;
  {
    absl::MutexLock lock(&table.mu);
    pid = -1;
    if (spec.cgroup_dir_fd >= 0 && !spec.cgroup_fds.empty()) {
      clone_args args{};
      args.flags = CLONE_INTO_CGROUP;
      args.exit_signal = SIGCHLD;
      args.cgroup = static_cast<uint64_t>(spec.cgroup_dir_fd);
      plan.cgroup_first = 1;
      pid = static_cast<pid_t>(Sys(SYS_clone3,
                                   reinterpret_cast<long>(&args),  // NOLINT
                                   sizeof(args)));
      if (pid == 0) ChildMain(plan);
    }
    if (pid < 0) {
      // No clone3 or CLONE_INTO_CGROUP (before 5.7): join by writing.
      plan.cgroup_first = 0;
      pid = static_cast<pid_t>(Sys(SYS_clone, SIGCHLD, 0, 0, 0));
      if (pid == 0) ChildMain(plan);
    }
    if (pid > 0) table.claimed.insert(pid);
  }
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return absl::ErrnoToStatus(clone_errno, "clone");
  error_write.Reset();
  error_copy.Reset();

  Failure failure{};
  ssize_t n;
  while ((n = read(error_read.get(), &failure, sizeof(failure))) < 0 &&
         errno == EINTR) {
  }
  if (n == 0) return pid;  // EOF: the exec closed the pipe.
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  {
    absl::MutexLock lock(&table.mu);
    table.claimed.erase(pid);
  }
  if (n != sizeof(failure)) {
    return absl::InternalError("the script's child failed before exec");
  }
  if (failure.step == kExec) {
    return absl::ErrnoToStatus(failure.err,
                               absl::StrCat("cannot execute ", spec.program));
  }
  return absl::InternalError(
      absl::StrCat(StepName(failure.step), ": ", std::strerror(failure.err)));
}

}  // namespace process_internal
}  // namespace xxljob

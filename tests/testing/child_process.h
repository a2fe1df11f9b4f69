// A command-line tool (xxl-ctl) as a real child process: its exit code and
// its stdout and stderr, kept apart, readable while it runs.
//
//   ChildProcess ctl({XXL_CTL_PATH, "--target=" + address, "beat"});
//   ASSERT_TRUE(ctl.WaitForStdout("up: "));
//   EXPECT_THAT(ctl.WaitForExit(), IsOkAndHolds(0));   // or *ctl.WaitForExit()
//
// A reader thread drains both pipes (so the child never blocks on a full
// pipe) and wakes waiters as text arrives. Spawned with posix_spawn, which is
// safe in a threaded test process. The child's environment is the test's
// minus XXL_JOB_ACCESS_TOKEN, so a developer's token never leaks into a test.
//
// Every child is reaped: WaitForExit reaps it; the destructor SIGKILLs and
// reaps one still running, then joins the reader.
//
// Thread-compatible: one test thread drives it; the reader shares only the
// captured text, under a mutex.
#ifndef XXLJOB_TESTS_TESTING_CHILD_PROCESS_H_
#define XXLJOB_TESTS_TESTING_CHILD_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

namespace xxljob::testing {

// Generous: CI is a busy 2-core machine; only a failing test waits this long.
inline constexpr absl::Duration kChildTimeout = absl::Seconds(60);

class ChildProcess {
 public:
  // Starts argv[0] with `argv`. A failure to start is a test failure
  // (ADD_FAILURE) and leaves the object with no child (WaitForExit fails).
  explicit ChildProcess(std::vector<std::string> argv) {
    Spawn(std::move(argv));
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap(/*block=*/true);
    }
    if (reader_.joinable()) reader_.join();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Blocks until the child exits or `timeout` passes, reaps it and waits
  // for the rest of its output. Returns its exit code, or 128 + the signal
  // that ended it; DEADLINE_EXCEEDED if it is still running (it is then
  // SIGKILLed by the destructor).
  absl::StatusOr<int> WaitForExit(absl::Duration timeout = kChildTimeout) {
    if (pid_ <= 0 && exit_code_ < 0) {
      return absl::FailedPreconditionError("the child never started");
    }
    if (pid_ > 0) {
      // The output closes when the child exits (the tools under test never
      // close stdout early): a condition to wait on, where waitpid has none.
      bool closed;
      {
        absl::MutexLock lock(&mu_);
        closed =
            mu_.AwaitWithTimeout(absl::Condition(&output_closed_), timeout);
      }
      if (!closed) {
        return absl::DeadlineExceededError(absl::StrCat(
            "child still running after ", absl::FormatDuration(timeout)));
      }
      // Exiting: its files are closed a moment before it can be reaped.
      Reap(/*block=*/true);
    }
    if (reader_.joinable()) reader_.join();
    return exit_code_;
  }

  // Blocks until the child's stdout (or stderr) contains `text`, the
  // stream closes, or `timeout` passes. True if it contains `text`.
  bool WaitForStdout(absl::string_view text,
                     absl::Duration timeout = kChildTimeout) const {
    return WaitFor(&stdout_, text, timeout);
  }
  bool WaitForStderr(absl::string_view text,
                     absl::Duration timeout = kChildTimeout) const {
    return WaitFor(&stderr_, text, timeout);
  }

  // Sends `sig` to the child if it is still running (a server told to
  // stop, say, before WaitForExit).
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  std::string Stdout() const {
    absl::MutexLock lock(&mu_);
    return stdout_;
  }
  std::string Stderr() const {
    absl::MutexLock lock(&mu_);
    return stderr_;
  }

 private:
  void Spawn(std::vector<std::string> argv) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "XXL_JOB_ACCESS_TOKEN=")) env.push_back(*e);
    }
    env.push_back(nullptr);
    pid_t pid = -1;
    const int rc =
        posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      close(out[0]);
      close(err[0]);
      return;
    }
    pid_ = pid;
    reader_ = std::thread([this, o = out[0], e = err[0]] { Read(o, e); });
  }

  // Drains both pipes until both are closed.
  void Read(int out_fd, int err_fd) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&stdout_, &stderr_};
    int open = 2;
    char buf[4096];
    while (open > 0) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open;
          continue;
        }
        absl::MutexLock lock(&mu_);
        sinks[i]->append(buf, n);
      }
    }
    for (const pollfd& p : fds) {
      if (p.fd >= 0) close(p.fd);
    }
    absl::MutexLock lock(&mu_);
    output_closed_ = true;
  }

  bool WaitFor(const std::string* stream, absl::string_view text,
               absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return output_closed_ || absl::StrContains(*stream, text);
    };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return absl::StrContains(*stream, text);
  }

  // Reaps the child; false if `block` is false and it is still running.
  bool Reap(bool block) {
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    exit_code_ = r < 0                 ? -1
                 : WIFEXITED(status)   ? WEXITSTATUS(status)
                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                       : -1;
    pid_ = -1;
    return true;
  }

  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  bool output_closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_CHILD_PROCESS_H_

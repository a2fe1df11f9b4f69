// The xxl-executor binary as a real child process, for end-to-end tests of
// what only a process shows: exit codes, SIGTERM handling, kill -9 and a
// restart on the same data directory.
//
//   ExecutorProcess executor({"--listen=127.0.0.1:0", "--log_path=" + dir});
//   ASSERT_THAT(executor.WaitUntilServing(), IsOk());
//   ExecutorClient client(executor.address());
//   ...
//   EXPECT_THAT(executor.Terminate(), IsOkAndHolds(0));
//
// The child's stdout and stderr go to a pipe that a reader thread drains, so
// the child never blocks on its logging; the text is kept in memory (for
// WaitForStderr and the port) and copied to a file. The port comes from the
// executor's "serving on <listen> (port N)" line, so --listen may use port 0
// and no port is ever guessed. When the test has failed, the destructor
// keeps the file and prints where it is with the last few KB of the text.
//
// Every child is reaped: Terminate/Kill9/WaitForExit reap it, and the
// destructor SIGKILLs and reaps one still running, then joins the reader.
// The child also gets SIGKILL if the test process dies first
// (PR_SET_PDEATHSIG), so an aborted test leaves no executor behind.
//
// Thread-compatible: one test thread drives an ExecutorProcess; the reader
// thread shares only the captured text, under a mutex.
#ifndef XXLJOB_TESTS_TESTING_EXECUTOR_PROCESS_H_
#define XXLJOB_TESTS_TESTING_EXECUTOR_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

namespace xxljob::testing {

// Generous: CI is a busy 2-core machine; only a failing test waits this long.
inline constexpr absl::Duration kProcessTimeout = absl::Seconds(60);

class ExecutorProcess {
 public:
  // The binary under test: $XXL_EXECUTOR_BINARY when set (to run the
  // suite against another build, e.g. a sanitizer one), else
  // XXL_EXECUTOR_PATH, which CMake defines for the test target as the
  // xxl-executor target's file.
  static std::string BinaryPath() {
    if (const char* binary = std::getenv("XXL_EXECUTOR_BINARY");
        binary != nullptr && *binary != '\0') {
      return binary;
    }
#ifdef XXL_EXECUTOR_PATH
    return XXL_EXECUTOR_PATH;
#else
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() /
            "../server/xxl-executor")
        .lexically_normal()
        .string();
#endif
  }

  // Starts BinaryPath() with `flags` ("--name=value" each). Failures to
  // start are test failures (ADD_FAILURE) and leave the object not
  // running. The environment is the test's, minus what would change where
  // glog writes or which token is used (GLOG_log_dir, XXL_JOB_ACCESS_TOKEN,
  // ...), with GLOG_logtostderr=1 so the log reaches the pipe.
  explicit ExecutorProcess(std::vector<std::string> flags)
      : stderr_path_(NewStderrPath()) {
    Spawn(std::move(flags), {});
  }
  // The same, started through `launcher` (a program and its arguments that
  // exec the rest of the command line in the same process, e.g.
  // {"/usr/bin/prlimit", "--nofile=256:256", "--"}): pid() is still the
  // executor's once the launcher has exec'ed it.
  ExecutorProcess(std::vector<std::string> flags,
                  std::vector<std::string> launcher)
      : stderr_path_(NewStderrPath()) {
    Spawn(std::move(flags), std::move(launcher));
  }

  ~ExecutorProcess() {
    if (pid_ > 0) Kill9();
    StopReader();
    const bool failed = ::testing::Test::HasFailure();
    if (failed) {
      const std::string text = Stderr();
      constexpr size_t kTail = 6000;
      std::cerr << "---- xxl-executor (pid " << spawned_pid_ << ") stderr, "
                << (text.size() > kTail ? "last part; whole text in " : "in ")
                << stderr_path_ << " ----\n"
                << (text.size() > kTail ? text.substr(text.size() - kTail)
                                        : text)
                << "---- end of xxl-executor stderr ----" << std::endl;
    } else {
      std::error_code ec;
      std::filesystem::remove(stderr_path_, ec);
    }
  }
  ExecutorProcess(const ExecutorProcess&) = delete;
  ExecutorProcess& operator=(const ExecutorProcess&) = delete;

  // Blocks until the executor has logged its port (it is then serving),
  // it has exited, or `timeout` passes. OK once port() is known;
  // FAILED_PRECONDITION if the process ended first (its output closed);
  // DEADLINE_EXCEEDED on timeout.
  absl::Status WaitUntilServing(absl::Duration timeout = kProcessTimeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return port_ > 0 || output_closed_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    if (port_ > 0) return absl::OkStatus();
    if (output_closed_) {
      return absl::FailedPreconditionError(
          "xxl-executor ended before serving; stderr in " + stderr_path_);
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "xxl-executor did not log its port within ",
        absl::FormatDuration(timeout), "; stderr in ", stderr_path_));
  }

  // The port it serves on (0 before WaitUntilServing succeeded), and
  // "127.0.0.1:<port>".
  int port() const {
    absl::MutexLock lock(&mu_);
    return port_;
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port()); }
  // The child's pid while it has not been reaped, else -1.
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Sends `sig` to the process (if not yet reaped); does not wait.
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // SIGTERM, then WaitForExit(timeout). The process is left running (and
  // killed by the destructor) if it does not exit in time.
  absl::StatusOr<int> Terminate(absl::Duration timeout = kProcessTimeout) {
    if (pid_ > 0) kill(pid_, SIGTERM);
    return WaitForExit(timeout);
  }

  // Blocks until the process exits or `timeout` passes, and reaps it; then
  // Stderr() holds all it wrote. Returns its exit code, or 128 + the signal
  // that ended it (the shell's convention). DEADLINE_EXCEEDED if it is still
  // running. After the process was reaped, returns the same result again.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout = kProcessTimeout) {
    if (pid_ <= 0) {
      if (exit_code_ < 0) {
        return absl::FailedPreconditionError("xxl-executor never started");
      }
      return exit_code_;
    }
    if (!AwaitExit(absl::Now() + timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("xxl-executor (pid ", pid_, ") still running after ",
                       absl::FormatDuration(timeout)));
    }
    return exit_code_;
  }

  // SIGKILL (kill -9) and reap: when this returns the process is gone and
  // the kernel has released its files and locks (the outbox's flock).
  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    if (!AwaitExit(absl::Now() + kProcessTimeout)) {
      ADD_FAILURE() << "cannot reap xxl-executor pid " << pid_;
    }
  }

  // Everything the process wrote to stdout and stderr so far.
  std::string Stderr() const {
    absl::MutexLock lock(&mu_);
    return output_;
  }
  // The HTTP face's port (HTTP or HTTPS), from its "(XXL-JOB protocol ...)
  // serving on ... (port N)" line; 0 if that line is not (yet) there.
  int HttpFacePort() const { return ParsePort(Stderr(), "XXL-JOB protocol "); }
  // Blocks until the output contains `text`, or the output is closed, or
  // `timeout` passes. True if it contains `text`.
  bool WaitForStderr(absl::string_view text,
                     absl::Duration timeout = kProcessTimeout) const {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return output_closed_ || absl::StrContains(output_, text);
    };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return absl::StrContains(output_, text);
  }
  // Where the output is copied (kept after a failed test).
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  static std::string NewStderrPath() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return (std::filesystem::path(::testing::TempDir()) /
            absl::StrCat("xxl-executor-", getpid(), "-", counter++, "-",
                         info != nullptr ? info->name() : "none", ".stderr"))
        .string();
  }

  static bool DropFromChildEnv(absl::string_view entry) {
    for (absl::string_view name :
         {"GLOG_logtostderr=", "GLOG_alsologtostderr=", "GLOG_log_dir=",
          "GLOG_stderrthreshold=", "GLOG_minloglevel=",
          "XXL_JOB_ACCESS_TOKEN="}) {
      if (absl::StartsWith(entry, name)) return true;
    }
    return false;
  }

  void Spawn(std::vector<std::string> flags,
             std::vector<std::string> launcher) {
    // Everything the child needs is prepared before fork(): between fork
    // and exec a child of a multithreaded process may only make
    // async-signal-safe calls.
    std::vector<std::string> args = std::move(launcher);
    args.push_back(BinaryPath());
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!DropFromChildEnv(*e)) env.emplace_back(*e);
    }
    env.emplace_back("GLOG_logtostderr=1");
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int out[2], wake[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    if (pipe2(wake, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      close(out[0]);
      close(out[1]);
      return;
    }
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // The child: async-signal-safe calls only.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // The test already died.
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      dup2(out[1], STDOUT_FILENO);
      dup2(out[1], STDERR_FILENO);
      // No descriptor of the test (sockets of an in-process admin, other
      // children's pipes) leaks into the executor.
      syscall(SYS_close_range, 3u, ~0u, 0u);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execve(argv[0], argv.data(), envp.data());
      static constexpr char kMsg[] = "ExecutorProcess: execve failed\n";
      (void)!write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
      _exit(127);
    }
    const int fork_errno = errno;
    if (devnull >= 0) close(devnull);
    close(out[1]);
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(fork_errno);
      close(out[0]);
      close(wake[0]);
      close(wake[1]);
      return;
    }
    pid_ = pid;
    spawned_pid_ = pid;
    out_read_ = out[0];
    wake_read_ = wake[0];
    wake_write_ = wake[1];
    reader_ = std::thread([this] { ReadOutput(out_read_, wake_read_); });
  }

  // The reader thread: drains the child's output until EOF or a wake-up.
  void ReadOutput(int fd, int wake_fd) {
    std::ofstream file(stderr_path_, std::ios::binary);
    char chunk[4096];
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0) break;
      const ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      file.write(chunk, n);
      file.flush();
      absl::MutexLock lock(&mu_);
      output_.append(chunk, static_cast<size_t>(n));
      if (port_ == 0) port_ = ParsePort(output_);
    }
    absl::MutexLock lock(&mu_);
    output_closed_ = true;
  }

  // The port in "serving on <listen> (port N)" (the first after `after`),
  // or 0 if not (yet) there.
  static int ParsePort(absl::string_view text, absl::string_view after = "") {
    const size_t from = text.find(after);
    if (from == absl::string_view::npos) return 0;
    const size_t serving = text.find("serving on ", from);
    if (serving == absl::string_view::npos) return 0;
    const absl::string_view marker = " (port ";
    const size_t at = text.find(marker, serving);
    if (at == absl::string_view::npos) return 0;
    const size_t begin = at + marker.size();
    const size_t end = text.find(')', begin);
    if (end == absl::string_view::npos) return 0;
    int port = 0;
    if (!absl::SimpleAtoi(text.substr(begin, end - begin), &port)) return 0;
    return port;
  }

  // Waits for the child to exit until `deadline` and reaps it. A pidfd
  // makes it a wait on an event; kernels without pidfd_open get a waitpid
  // poll (a few ms apart) with the same deadline.
  bool AwaitExit(absl::Time deadline) {
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0u));
    while (true) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : 255;
        pid_ = -1;
        break;
      }
      if (r < 0 && errno != EINTR) {
        ADD_FAILURE() << "waitpid " << pid_ << ": " << std::strerror(errno);
        pid_ = -1;
        break;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      const int wait_ms = pidfd >= 0
                              ? static_cast<int>(std::min<int64_t>(
                                    absl::ToInt64Milliseconds(left) + 1, 60000))
                              : 5;
      if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        poll(&p, 1, wait_ms);
      } else {
        absl::SleepFor(absl::Milliseconds(wait_ms));
      }
    }
    if (pidfd >= 0) close(pidfd);
    if (pid_ > 0) return false;
    // What the process wrote before it exited may still be in the pipe; let
    // the reader take it all, so Stderr() is complete from here on. The
    // output closes with the process unless a descendant still holds it.
    absl::MutexLock lock(&mu_);
    auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return output_closed_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(10));
    return true;
  }

  // Lets the reader drain what the child wrote, then stops it. The output
  // normally closes when the child exits; the wake-up covers a descendant
  // that still holds the pipe.
  void StopReader() {
    if (!reader_.joinable()) return;
    {
      absl::MutexLock lock(&mu_);
      auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return output_closed_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(10));
    }
    // The reader's end stays open until the join, so this write can't
    // raise SIGPIPE.
    const char byte = 0;
    (void)!write(wake_write_, &byte, 1);
    reader_.join();
    close(out_read_);
    close(wake_read_);
    close(wake_write_);
    out_read_ = wake_read_ = wake_write_ = -1;
  }

  const std::string stderr_path_;
  pid_t pid_ = -1;
  pid_t spawned_pid_ = -1;
  int exit_code_ = -1;
  // The output pipe's read end, and a pipe that wakes the reader to stop.
  int out_read_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::thread reader_;

  mutable absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool output_closed_ ABSL_GUARDED_BY(mu_) = false;
  int port_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_EXECUTOR_PROCESS_H_

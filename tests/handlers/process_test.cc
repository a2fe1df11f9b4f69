// The real ProcessRunner, with real processes: spawning (session, stdin,
// descriptors, signal state, environment), output, exits, and stopping a
// program with everything it started (SPEC §3.8). Waits are on the
// runner's own return or on output; "is this pid gone" has no event and is
// polled with a generous deadline.
#include "handlers/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/run_cgroup.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

// ------------------------------------------------ inspecting processes

struct Stat {
  pid_t ppid = 0;
  pid_t sid = 0;
  char state = '?';
  uint64_t start_time = 0;
};

std::optional<Stat> ReadStat(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> f =
      absl::StrSplit(line.substr(paren + 2), ' ', absl::SkipEmpty());
  if (f.size() < 20) return std::nullopt;
  Stat st;
  st.state = f[0][0];
  st.ppid = std::stoi(f[1]);
  st.sid = std::stoi(f[3]);
  st.start_time = std::stoull(f[19]);
  return st;
}

// A process named for good: pid plus start time (pids get reused).
struct ProcId {
  pid_t pid = 0;
  uint64_t start_time = 0;
};

std::optional<ProcId> Identify(pid_t pid) {
  std::optional<Stat> st = ReadStat(pid);
  if (!st.has_value()) return std::nullopt;
  return ProcId{pid, st->start_time};
}

// Gone and reaped: no such process (a zombie still counts as present).
bool Gone(const ProcId& id) {
  std::optional<Stat> st = ReadStat(id.pid);
  return !st.has_value() || st->start_time != id.start_time;
}

// Our zombie children: what a subreaper that forgot to reap leaves.
std::vector<pid_t> OurZombies() {
  std::vector<pid_t> zombies;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::optional<Stat> st = ReadStat(pid);
    if (st.has_value() && st->ppid == getpid() && st->state == 'Z') {
      zombies.push_back(pid);
    }
  }
  return zombies;
}

// --------------------------------------------------------- running things

std::string Which(const char* name) {
  absl::StatusOr<std::string> path = FindExecutable(name, getenv("PATH"));
  EXPECT_THAT(path, IsOk());
  return path.value_or(name);
}

ProcessSpec Bash(std::string script, std::vector<std::string> more_args = {}) {
  ProcessSpec spec;
  spec.program = Which("bash");
  spec.args = {"-c", std::move(script), "script"};
  for (std::string& a : more_args) spec.args.push_back(std::move(a));
  return spec;
}

// Collects output; lets a test wait for it.
class Output {
 public:
  ProcessRunner::OutputFn fn() {
    return [this](absl::string_view chunk) {
      absl::MutexLock lock(&mu_);
      text_.append(chunk.data(), chunk.size());
      ++chunks_;
    };
  }
  // Waits until `n` complete lines arrived; false on timeout.
  bool WaitForLines(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<size_t>(
                 std::count(text_.begin(), text_.end(), '\n')) >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough),
                                testing::kWaitTimeout);
  }
  std::string text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  std::vector<std::string> lines() const {
    return absl::StrSplit(text(), '\n', absl::SkipEmpty());
  }
  int chunks() const {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  int chunks_ ABSL_GUARDED_BY(mu_) = 0;
};

// Runs a spec on a thread of its own, so the test can act meanwhile.
class Background {
 public:
  Background(ProcessRunner* runner, ProcessSpec spec, Cancellation* cancel,
             Output* output)
      : thread_([this, runner, spec, cancel, output] {
          auto result = runner->Run(spec, *cancel, output->fn());
          absl::MutexLock lock(&mu_);
          result_ = std::move(result);
          ended_at_ = absl::Now();
        }) {}
  ~Background() { Wait(); }
  // Waits for Run to return; its result.
  absl::StatusOr<ProcessExit> Join() {
    Wait();
    absl::MutexLock lock(&mu_);
    return result_.value_or(absl::UnknownError("not run"));
  }
  absl::Time ended_at() {
    Wait();
    absl::MutexLock lock(&mu_);
    return ended_at_;
  }

 private:
  void Wait() {
    if (thread_.joinable()) thread_.join();
  }

  absl::Mutex mu_;
  std::optional<absl::StatusOr<ProcessExit>> result_ ABSL_GUARDED_BY(mu_);
  absl::Time ended_at_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Pids printed one per line by a script, identified at once.
std::vector<ProcId> PidsFrom(const std::vector<std::string>& lines) {
  std::vector<ProcId> ids;
  for (const std::string& line : lines) {
    int pid = 0;
    if (!absl::SimpleAtoi(line, &pid)) continue;
    std::optional<ProcId> id = Identify(pid);
    EXPECT_TRUE(id.has_value()) << "pid " << pid << " already gone";
    if (id.has_value()) ids.push_back(*id);
  }
  return ids;
}

void ExpectAllGone(const std::vector<ProcId>& ids) {
  for (const ProcId& id : ids) {
    EXPECT_TRUE(Eventually([&] { return Gone(id); }))
        << "process " << id.pid << " survived";
  }
  EXPECT_THAT(OurZombies(), ::testing::IsEmpty());
}

class ProcessRunnerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ProcessRunner> runner_ = NewProcessRunner({});
};

// ------------------------------------- Cancellation callbacks (the wake-up)

TEST(CancellationCallbackTest, RunsOnceOnCancelAndAtOnceWhenAlreadyKilled) {
  Cancellation cancel;
  int calls = 0;
  const Cancellation::CallbackId id = cancel.AddCallback([&] { ++calls; });
  EXPECT_EQ(calls, 0);
  cancel.Cancel("stop");
  cancel.Cancel("again");  // Not a new cancellation: no second call.
  EXPECT_EQ(calls, 1);
  cancel.RemoveCallback(id);
  int late = 0;
  cancel.AddCallback([&] { ++late; });
  EXPECT_EQ(late, 1);
}

TEST(CancellationCallbackTest, RemovedCallbackNeverRunsAndDeadlineRunsNone) {
  Cancellation cancel;
  bool called = false;
  cancel.RemoveCallback(cancel.AddCallback([&] { called = true; }));
  cancel.RemoveCallback(12345);  // Unknown: ignored.
  cancel.Cancel("stop");
  EXPECT_FALSE(called);

  // A passed deadline is a timeout with no Cancel(): no callback, waiters
  // use deadline() instead.
  Cancellation expired(absl::Now() - absl::Milliseconds(1));
  expired.AddCallback([&] { called = true; });
  EXPECT_FALSE(expired.Cancel("late"));
  EXPECT_FALSE(called);
}

// ------------------------------------------------------------- FindExecutable

TEST(FindExecutableTest, SearchesThePathInOrderAndSkipsNonExecutables) {
  testing::TempDir a, b;
  const std::string plain = a.path() + "/tool";
  std::ofstream(plain) << "not executable";
  const std::string exe = b.path() + "/tool";
  std::ofstream(exe) << "#!/bin/sh\n";
  ASSERT_EQ(chmod(exe.c_str(), 0755), 0);
  EXPECT_EQ(FindExecutable("tool", a.path() + "::" + b.path()).value_or(""),
            exe);
  EXPECT_THAT(FindExecutable("tool", a.path()),
              StatusIs(absl::StatusCode::kNotFound, "tool not found"));
  EXPECT_EQ(FindExecutable(exe, "").value_or(""), exe);
  // A directory is not an executable, whatever its mode.
  EXPECT_THAT(FindExecutable("tool", b.path() + "/..:" + a.path()),
              StatusIs(absl::StatusCode::kNotFound, "tool not found"));
}

// ------------------------------------------------------------------ spawning

TEST_F(ProcessRunnerTest, PassesArgumentsAndEnvironmentWithoutAShell) {
  ProcessSpec spec = Bash(R"(printf '%s|' "$@"; echo; echo "$FOO/$HOME_SET")",
                          {"a b", "$HOME", "'q'"});
  spec.env = {{"FOO", "bar baz"}, {"HOME_SET", "yes"}};
  Cancellation cancel;
  Output out;
  absl::StatusOr<ProcessExit> exit = runner_->Run(spec, cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_FALSE(exit->signaled);
  EXPECT_EQ(out.text(), "a b|$HOME|'q'|\nbar baz/yes\n");
}

TEST_F(ProcessRunnerTest, RunsWithStdinFromDevNullInANewSession) {
  Cancellation cancel;
  Output out;
  absl::StatusOr<ProcessExit> exit = runner_->Run(
      Bash("readlink /proc/self/fd/0; cat; echo $$ $(ps -o pgid= -o sid= $$)"),
      cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 2u) << out.text();
  EXPECT_EQ(lines[0], "/dev/null");
  std::vector<std::string> ids =
      absl::StrSplit(lines[1], ' ', absl::SkipEmpty());
  ASSERT_EQ(ids.size(), 3u) << lines[1];
  EXPECT_EQ(ids[0], ids[1]) << "not a process group leader";
  EXPECT_EQ(ids[0], ids[2]) << "not a session leader";
  EXPECT_NE(ids[2], absl::StrCat(getsid(0)));
}

TEST_F(ProcessRunnerTest, LeaksNoDescriptorAndResetsSignalState) {
  // A descriptor without O_CLOEXEC, a blocked SIGTERM and an ignored
  // SIGPIPE: what a server may well have, and none of it may reach a script.
  const int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  struct sigaction ignore = {}, old_pipe = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old_pipe), 0);

  ProcessSpec spec;
  spec.program = Which("cat");
  spec.args = {"/proc/self/status"};
  Cancellation cancel;
  Output status_out;
  absl::StatusOr<ProcessExit> exit =
      runner_->Run(spec, cancel, status_out.fn());
  spec.program = Which("ls");
  spec.args = {"/proc/self/fd"};
  Output fd_out;
  absl::StatusOr<ProcessExit> ls_exit = runner_->Run(spec, cancel, fd_out.fn());

  sigaction(SIGPIPE, &old_pipe, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  close(leaky);
  ASSERT_THAT(exit, IsOk());
  ASSERT_THAT(ls_exit, IsOk());
  EXPECT_THAT(status_out.text(), HasSubstr("SigBlk:\t0000000000000000"));
  // Nothing ignored, except 32 and 33: glibc reserves them for itself and
  // its posix_spawn leaves them ignored in every child, on purpose (a glibc
  // program installs its own handlers at start).
  const std::string text = status_out.text();
  const size_t ign = text.find("SigIgn:\t");
  ASSERT_NE(ign, std::string::npos);
  uint64_t ignored = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(text.substr(ign + 8, 16), &ignored));
  EXPECT_EQ(ignored & ~((uint64_t{1} << 31) | (uint64_t{1} << 32)), 0u)
      << std::hex << ignored;
  // 0-2, and the one ls opened to list the directory.
  EXPECT_THAT(fd_out.lines(), ::testing::ElementsAre("0", "1", "2", "3"));
}

TEST_F(ProcessRunnerTest, MissingProgramIsNotFound) {
  ProcessSpec spec;
  spec.program = "/nonexistent/interpreter";
  Cancellation cancel;
  Output out;
  EXPECT_THAT(runner_->Run(spec, cancel, out.fn()),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("cannot execute /nonexistent/interpreter")));
}

TEST_F(ProcessRunnerTest, AlreadyCancelledStartsNothing) {
  Cancellation cancel;
  cancel.Cancel("early");
  Output out;
  EXPECT_THAT(runner_->Run(Bash("echo ran"), cancel, out.fn()),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_EQ(out.text(), "");
}

// ------------------------------------------------------------ exits, output

TEST_F(ProcessRunnerTest, ReportsExitCodesAndSignals) {
  Cancellation cancel;
  Output out;
  absl::StatusOr<ProcessExit> exit =
      runner_->Run(Bash("exit 3"), cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  EXPECT_FALSE(exit->signaled);
  EXPECT_EQ(exit->exit_code, 3);

  exit = runner_->Run(Bash("kill -SEGV $$"), cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->signal, SIGSEGV);
  EXPECT_FALSE(exit->killed);
}

TEST_F(ProcessRunnerTest, StreamsStdoutAndStderrInOrder) {
  // ~1.4 MB, alternating streams, far more than a pipe holds.
  Cancellation cancel;
  Output out;
  absl::StatusOr<ProcessExit> exit = runner_->Run(
      Bash("for ((i = 0; i < 100000; i++)); do "
           "if ((i % 2)); then echo \"line $i\" >&2; else echo \"line $i\"; "
           "fi; done"),
      cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  const std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 100000u);
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], absl::StrCat("line ", i));
  }
  EXPECT_GT(out.chunks(), 1);
}

// ----------------------------------------------------------------- stopping

// The scenario of SPEC §3.8: a script with a background child and a child
// that left the session (setsid); a kill leaves none of them.
constexpr char kFamily[] =
    "sleep 1000 & echo $!; setsid sleep 1000 & echo $!; echo $$; wait";

TEST_F(ProcessRunnerTest, CancelStopsTheWholeTreeIncludingSetsidChildren) {
  Cancellation cancel;
  Output out;
  Background run(runner_.get(), Bash(kFamily), &cancel, &out);
  ASSERT_TRUE(out.WaitForLines(3));
  const std::vector<ProcId> ids = PidsFrom(out.lines());
  ASSERT_EQ(ids.size(), 3u);
  // The setsid'd one really leaves the session: only the tree finds it.
  EXPECT_TRUE(
      Eventually([&] { return ReadStat(ids[1].pid)->sid != ids[2].pid; }));

  cancel.Cancel("test kill");
  absl::StatusOr<ProcessExit> exit = run.Join();
  ASSERT_THAT(exit, IsOk());
  EXPECT_TRUE(exit->killed);
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->signal, SIGTERM);
  ExpectAllGone(ids);
}

TEST_F(ProcessRunnerTest, DeadlineStopsTheTreeWithoutAKill) {
  // No Cancel(): only the deadline, which has no timer of its own.
  // Long enough for bash to start its children on a busy machine.
  Cancellation cancel(absl::Now() + absl::Seconds(3));
  Output out;
  Background run(runner_.get(), Bash(kFamily), &cancel, &out);
  ASSERT_TRUE(out.WaitForLines(3));
  const std::vector<ProcId> ids = PidsFrom(out.lines());
  absl::StatusOr<ProcessExit> exit = run.Join();
  ASSERT_THAT(exit, IsOk());
  EXPECT_TRUE(exit->killed);
  EXPECT_EQ(cancel.cause(), CancelCause::kTimedOut);
  ExpectAllGone(ids);
}

TEST_F(ProcessRunnerTest, ProcessesIgnoringSigtermGetSigkillAfterTheGrace) {
  ProcessRunnerOptions options;
  options.kill_grace = absl::Milliseconds(300);
  std::unique_ptr<ProcessRunner> runner = NewProcessRunner(options);
  Cancellation cancel;
  Output out;
  // Ignored dispositions survive fork and exec: the sleeps ignore TERM too.
  Background run(runner.get(),
                 Bash("trap '' TERM; sleep 1000 & echo $!; "
                      "setsid sleep 1000 & echo $!; echo $$; wait"),
                 &cancel, &out);
  ASSERT_TRUE(out.WaitForLines(3));
  const std::vector<ProcId> ids = PidsFrom(out.lines());
  const absl::Time killed_at = absl::Now();
  cancel.Cancel("test kill");
  absl::StatusOr<ProcessExit> exit = run.Join();
  const absl::Duration took = run.ended_at() - killed_at;
  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_GE(took, options.kill_grace);
  EXPECT_LT(took, options.kill_grace + absl::Seconds(5));
  ExpectAllGone(ids);
}

TEST_F(ProcessRunnerTest, TrapHandlersRunDuringTheGrace) {
  Cancellation cancel;
  Output out;
  Background run(runner_.get(),
                 Bash("trap 'echo cleaning up; sleep 0.2; echo cleaned; "
                      "exit 7' TERM; echo ready; sleep 1000 & wait"),
                 &cancel, &out);
  ASSERT_TRUE(out.WaitForLines(1));
  cancel.Cancel("test kill");
  absl::StatusOr<ProcessExit> exit = run.Join();
  ASSERT_THAT(exit, IsOk());
  EXPECT_TRUE(exit->killed);
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_EQ(out.text(), "ready\ncleaning up\ncleaned\n");
}

TEST_F(ProcessRunnerTest, ChattyProgramIsStoppedPromptly) {
  Cancellation cancel;
  Output out;
  Background run(runner_.get(), Bash("echo go; yes"), &cancel, &out);
  ASSERT_TRUE(out.WaitForLines(1000));
  const absl::Time killed_at = absl::Now();
  cancel.Cancel("test kill");
  ASSERT_THAT(run.Join(), IsOk());
  EXPECT_LT(run.ended_at() - killed_at, absl::Seconds(1));
}

TEST_F(ProcessRunnerTest, LeftoversOfAFinishedProgramAreStopped) {
  // Exits at once, leaving a background child (holding the pipe) and an
  // orphan that left the session and lost its parent: found by its tag.
  Cancellation cancel;
  Output out;
  absl::StatusOr<ProcessExit> exit = runner_->Run(
      Bash("sleep 1000 & echo $!; (setsid sleep 1000 & echo $!); exit 0"),
      cancel, out.fn());
  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_FALSE(exit->killed);
  std::vector<std::string> lines = out.lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    int pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line, &pid));
    // Gone already when Run returned: killed and reaped.
    EXPECT_FALSE(ReadStat(pid).has_value()) << "pid " << pid;
  }
  EXPECT_THAT(OurZombies(), ::testing::IsEmpty());
}

// What stays out of reach without a cgroup: an orphan that left the
// session and dropped the run's tag can't be told from other runs' orphans.
// It is left running, and reaped (it is our child, as subreaper) when it
// dies.
TEST_F(ProcessRunnerTest, UntaggedEscapedOrphanIsLeftAloneAndReapedLater) {
  ProcessRunnerOptions options;
  options.sandbox.cgroup = "off";
  std::unique_ptr<ProcessRunner> runner_ = NewProcessRunner(options);
  Cancellation cancel;
  Output out;
  // $( ) returns once the subshell has exited (so the orphan is ours); the
  // loop waits until setsid has taken it out of the session (field 6 of
  // /proc/<pid>/stat), which otherwise races the runner's last scan.
  ASSERT_THAT(
      runner_->Run(Bash("pid=$( (env -i /usr/bin/setsid /usr/bin/sleep 1000 "
                        ">/dev/null 2>&1 & echo $!) ); "
                        "while [ \"$(cut -d' ' -f6 /proc/$pid/stat)\" = $$ "
                        "]; do :; done; echo $pid"),
                   cancel, out.fn()),
      IsOk());
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.lines().at(0), &pid)) << out.text();
  std::optional<Stat> st = ReadStat(pid);
  ASSERT_TRUE(st.has_value()) << "the escaped orphan was killed";
  EXPECT_EQ(st->ppid, getpid()) << "not re-parented to the subreaper";
  // Once it dies, it is a zombie child of ours until the next run reaps it.
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] {
    std::optional<Stat> now = ReadStat(pid);
    return now.has_value() && now->state == 'Z';
  }));
  Output more;
  ASSERT_THAT(runner_->Run(Bash("true"), cancel, more.fn()), IsOk());
  EXPECT_FALSE(ReadStat(pid).has_value());
}

// With a cgroup per run, the same orphan is in the run's cgroup: killed.
TEST_F(ProcessRunnerTest, WithACgroupEvenAnUntaggedEscapedOrphanIsKilled) {
  absl::StatusOr<process_internal::CgroupSetup> setup =
      process_internal::DiscoverCgroups("auto", false, false);
  if (!setup.ok() || setup->v2_parent.empty()) {
    GTEST_SKIP() << "no writable cgroup v2 here";
  }
  Cancellation cancel;
  Output out;
  ASSERT_THAT(
      runner_->Run(Bash("pid=$( (env -i /usr/bin/setsid /usr/bin/sleep 1000 "
                        ">/dev/null 2>&1 & echo $!) ); "
                        "while [ \"$(cut -d' ' -f6 /proc/$pid/stat)\" = $$ "
                        "]; do :; done; echo $pid"),
                   cancel, out.fn()),
      IsOk());
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.lines().at(0), &pid)) << out.text();
  EXPECT_TRUE(Eventually([&] {
    std::optional<Stat> st = ReadStat(pid);
    return !st.has_value() || st->state == 'Z';
  })) << "the escaped orphan survived its run";
  Output more;
  ASSERT_THAT(runner_->Run(Bash("true"), cancel, more.fn()), IsOk());
  EXPECT_FALSE(ReadStat(pid).has_value());
}

// Two runs at once: stopping one leaves the other (and its exit status)
// alone.
TEST_F(ProcessRunnerTest, ConcurrentRunsKeepTheirOwnProcesses) {
  Cancellation cancel_a, cancel_b;
  Output out_a, out_b;
  Background a(runner_.get(), Bash(kFamily), &cancel_a, &out_a);
  Background b(runner_.get(),
               Bash("sleep 1000 & echo $!; echo $$; wait; exit 5"), &cancel_b,
               &out_b);
  ASSERT_TRUE(out_a.WaitForLines(3));
  ASSERT_TRUE(out_b.WaitForLines(2));
  const std::vector<ProcId> ids_a = PidsFrom(out_a.lines());
  const std::vector<ProcId> ids_b = PidsFrom(out_b.lines());
  cancel_a.Cancel("kill a");
  ASSERT_THAT(a.Join(), IsOk());
  ExpectAllGone(ids_a);
  for (const ProcId& id : ids_b) EXPECT_FALSE(Gone(id)) << id.pid;
  // b's background sleep is its own: ending it lets b finish normally.
  ASSERT_EQ(kill(ids_b[0].pid, SIGTERM), 0);
  absl::StatusOr<ProcessExit> exit_b = b.Join();
  ASSERT_THAT(exit_b, IsOk());
  EXPECT_EQ(exit_b->exit_code, 5);
  EXPECT_FALSE(exit_b->killed);
}

// Not a check but a measurement, for the record: time from Cancel() to the
// last process of the run gone and reaped.
TEST_F(ProcessRunnerTest, MeasuresKillLatency) {
  struct Case {
    const char* name;
    const char* script;
  };
  const Case cases[] = {
      {"children that die on SIGTERM",
       "sleep 1000 & sleep 1000 & setsid sleep 1000 & echo ready; wait"},
      {"children that trap SIGTERM and exit",
       "trap 'exit 0' TERM; (trap 'exit 0' TERM; sleep 1000 & wait) & "
       "echo ready; wait"},
      {"children that ignore SIGTERM (grace 2 s, then SIGKILL)",
       "trap '' TERM; sleep 1000 & setsid sleep 1000 & echo ready; wait"},
  };
  for (const Case& c : cases) {
    Cancellation cancel;
    Output out;
    Background run(runner_.get(), Bash(c.script), &cancel, &out);
    ASSERT_TRUE(out.WaitForLines(1));
    const absl::Time killed_at = absl::Now();
    cancel.Cancel("measure");
    ASSERT_THAT(run.Join(), IsOk());
    const absl::Duration took = run.ended_at() - killed_at;
    std::cout << "[ MEASURE  ] kill to last process gone, " << c.name << ": "
              << absl::FormatDuration(took) << "\n";
    RecordProperty(c.name, absl::FormatDuration(took));
  }
  EXPECT_THAT(OurZombies(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace xxljob

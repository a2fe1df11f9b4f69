// Glue (script) jobs through the executor core (SPEC §3.7, §3.8, §3.12):
// real scripts, real run logs in a temp dir, a recording result sink. Kill,
// timeout, shutdown and a glue-version change must each leave no process
// of the run behind; pids are checked (with their start time, as pids get
// reused) by polling with a generous deadline, the only wait without an
// event.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/process.h"
#include "server/core/executor.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/proc_identity.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

// A script that starts a background child and one that leaves the session,
// prints their pids and its own, and waits forever.
constexpr char kFamily[] =
    "sleep 1000 & echo \"PID $!\"; setsid sleep 1000 & echo \"PID $!\"; "
    "echo \"PID $$\"; wait\n";

using testing::Gone;
using testing::ProcId;
using testing::StateAndStart;

std::vector<int> OurZombies() {
  std::vector<int> zombies;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    if (!std::getline(in, line)) continue;
    std::vector<std::string> f = absl::StrSplit(
        line.substr(line.rfind(')') + 2), ' ', absl::SkipEmpty());
    if (f.size() > 1 && f[0] == "Z" && f[1] == absl::StrCat(getpid())) {
      zombies.push_back(pid);
    }
  }
  return zombies;
}

class ScriptJobsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Executor> Start(bool enable_scripts = true) {
    ExecutorOptions options;
    options.log_path = dir_.path();
    options.enable_scripts = enable_scripts;
    options.script_kill_grace = absl::Milliseconds(500);
    auto executor = Executor::Create(options, &registry_, &sink_);
    EXPECT_THAT(executor, IsOk());
    return executor.ok() ? *std::move(executor) : nullptr;
  }

  static Trigger Script(int64_t job_id, int64_t log_id, std::string source,
                        GlueType type = GlueType::kShell,
                        int64_t updatetime = 100) {
    Trigger t;
    t.job_id = job_id;
    t.log_id = log_id;
    t.log_date_time = absl::ToUnixMillis(absl::Now());
    t.glue_type = type;
    t.glue_source = std::move(source);
    t.glue_updatetime = updatetime;
    return t;
  }

  RunResult ResultOf(int64_t log_id) {
    std::optional<RunResult> r = sink_.WaitFor(log_id);
    EXPECT_TRUE(r.has_value()) << "no result for log " << log_id;
    return r.value_or(RunResult{});
  }

  std::string LogText(const Trigger& t) {
    std::ifstream in(RunLogPath(dir_.path(), t.log_date_time, t.log_id));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // The log as the Log RPC serves it, first page.
  std::string LogPage(const Executor& executor, const Trigger& t) {
    auto read = executor.ReadLog(t.log_date_time, t.log_id, 1);
    return read.ok() ? read->page.content : "";
  }

  // Waits (through the Log path, during the run) for `n` "PID <pid>" lines;
  // identifies them while they are alive.
  std::vector<ProcId> WaitForPids(const Executor& executor, const Trigger& t,
                                  size_t n) {
    std::vector<ProcId> ids;
    EXPECT_TRUE(Eventually([&] {
      ids.clear();
      for (absl::string_view line :
           absl::StrSplit(LogPage(executor, t), '\n')) {
        int pid = 0;
        if (absl::ConsumePrefix(&line, "PID ") &&
            absl::SimpleAtoi(line, &pid)) {
          if (auto st = StateAndStart(pid)) ids.push_back({pid, st->second});
        }
      }
      return ids.size() == n;
    })) << LogPage(executor, t);
    return ids;
  }

  void ExpectAllGone(const std::vector<ProcId>& ids) {
    for (const ProcId& id : ids) {
      EXPECT_TRUE(Eventually([&] { return Gone(id); }))
          << "process " << id.pid << " survived";
    }
    EXPECT_THAT(OurZombies(), IsEmpty());
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
};

TEST_F(ScriptJobsTest, ScriptsAreRefusedUnlessEnabled) {
  auto executor = Start(/*enable_scripts=*/false);
  int64_t log_id = 1;
  for (GlueType type :
       {GlueType::kShell, GlueType::kPython, GlueType::kPython2,
        GlueType::kNodejs, GlueType::kPhp, GlueType::kPowershell}) {
    EXPECT_THAT(executor->Run(Script(1, log_id++, "echo hi", type)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         "script jobs are disabled on this executor"));
  }
  EXPECT_THAT(sink_.accepted(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/glue"));
}

TEST_F(ScriptJobsTest, ShellScriptGetsParamsShardsAndEnvAndLogsItsOutput) {
  auto executor = Start();
  Trigger t = Script(3, 30,
                     "echo \"args:$1|$2|$3\"; echo "
                     "\"env:$XXL_JOB_ID|$XXL_LOG_ID|$XXL_SHARD_INDEX|"
                     "$XXL_SHARD_TOTAL\"; echo to stderr >&2\n");
  t.params = "a b";
  t.shard_index = 1;
  t.shard_total = 3;
  ASSERT_THAT(executor->Run(t), IsOk());
  RunResult r = ResultOf(30);
  EXPECT_EQ(r.handle_code, 200) << r.handle_msg;
  const std::string log = LogText(t);
  // Output lines go in as printed, without timestamps.
  EXPECT_THAT(log, HasSubstr("\nargs:a b|1|3\nenv:3|30|1|3\nto stderr\n"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/glue/3_100.sh"));
}

TEST_F(ScriptJobsTest, ExitCodesAndSignalsBecomeFailures) {
  auto executor = Start();
  // Each source is a new glue version (a new updatetime): a version's file
  // is written once, so a new source under an old updatetime would not run.
  ASSERT_THAT(executor->Run(Script(1, 1, "exit 3", GlueType::kShell, 1)),
              IsOk());
  EXPECT_EQ(ResultOf(1).handle_msg, "script exit value(3) is failed");
  EXPECT_EQ(ResultOf(1).handle_code, 500);
  ASSERT_THAT(executor->Run(Script(1, 2, "kill -KILL $$", GlueType::kShell, 2)),
              IsOk());
  EXPECT_EQ(ResultOf(2).handle_msg, "script killed by signal 9 (SIGKILL)");
  ASSERT_THAT(executor->Run(Script(1, 3, "exit 0", GlueType::kShell, 3)),
              IsOk());
  EXPECT_EQ(ResultOf(3).handle_code, 200);
}

TEST_F(ScriptJobsTest, MissingInterpreterIsNamed) {
  if (FindExecutable("pwsh", getenv("PATH")).ok()) {
    GTEST_SKIP() << "pwsh is installed; the engine test covers a missing "
                    "interpreter with a fake PATH";
  }
  auto executor = Start();
  ASSERT_THAT(
      executor->Run(Script(1, 1, "Write-Output hi", GlueType::kPowershell)),
      IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, "interpreter pwsh not found for GLUE_POWERSHELL");
}

TEST_F(ScriptJobsTest, StdinIsClosed) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Script(1, 1, "cat; read x; echo \"read: $?\"")),
              IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 200) << r.handle_msg;
}

TEST_F(ScriptJobsTest, KillLeavesNoProcessBehind) {
  auto executor = Start();
  Trigger t = Script(1, 1, kFamily);
  ASSERT_THAT(executor->Run(t), IsOk());
  const std::vector<ProcId> ids = WaitForPids(*executor, t, 3);
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, "scheduling center kill job [job running, killed]");
  ExpectAllGone(ids);
}

TEST_F(ScriptJobsTest, TimeoutLeavesNoProcessBehind) {
  auto executor = Start();
  Trigger t = Script(1, 1, kFamily);
  t.timeout = absl::Seconds(3);
  ASSERT_THAT(executor->Run(t), IsOk());
  const std::vector<ProcId> ids = WaitForPids(*executor, t, 3);
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 502);
  EXPECT_EQ(r.handle_msg, "job execute timeout");
  ExpectAllGone(ids);
}

TEST_F(ScriptJobsTest, ShutdownLeavesNoProcessBehind) {
  auto executor = Start();
  Trigger t = Script(1, 1, kFamily);
  ASSERT_THAT(executor->Run(t), IsOk());
  const std::vector<ProcId> ids = WaitForPids(*executor, t, 3);
  executor->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(ResultOf(1).handle_msg,
            "executor shutting down [job running, killed]");
  ExpectAllGone(ids);
}

TEST_F(ScriptJobsTest, NewGlueVersionReplacesTheRunningOneAndItsFile) {
  auto executor = Start();
  Trigger v1 = Script(1, 1, kFamily, GlueType::kShell, 100);
  ASSERT_THAT(executor->Run(v1), IsOk());
  const std::vector<ProcId> ids = WaitForPids(*executor, v1, 3);
  const std::string glue = dir_.path() + "/glue/";
  ASSERT_TRUE(std::filesystem::exists(glue + "1_100.sh"));

  ASSERT_THAT(executor->Run(Script(1, 2, "echo v2", GlueType::kShell, 200)),
              IsOk());
  EXPECT_EQ(ResultOf(1).handle_msg,
            "change jobhandler or glue type [job running, killed]");
  ExpectAllGone(ids);
  EXPECT_EQ(ResultOf(2).handle_code, 200);
  EXPECT_TRUE(std::filesystem::exists(glue + "1_200.sh"));
  EXPECT_FALSE(std::filesystem::exists(glue + "1_100.sh"));

  // The same version again: its file is reused, not rewritten.
  struct stat before, after;
  ASSERT_EQ(stat((glue + "1_200.sh").c_str(), &before), 0);
  ASSERT_THAT(executor->Run(Script(1, 3, "echo v2", GlueType::kShell, 200)),
              IsOk());
  EXPECT_EQ(ResultOf(3).handle_code, 200);
  ASSERT_EQ(stat((glue + "1_200.sh").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

// A Log call during the run sees what the script printed so far, for bash
// and for python (whose stdout would be block-buffered into a pipe were it
// not for PYTHONUNBUFFERED).
TEST_F(ScriptJobsTest, LogShowsOutputWhileTheScriptRuns) {
  auto executor = Start();
  const std::string fifo = dir_.path() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const Trigger runs[] = {
      Script(
          1, 1,
          absl::StrCat("echo first; read x < ", fifo, "; echo \"second $x\"")),
      Script(2, 2,
             absl::StrCat("print('first')\nx = open('", fifo,
                          "').readline().strip()\nprint('second ' + x)\n"),
             GlueType::kPython),
  };
  for (const Trigger& t : runs) {
    SCOPED_TRACE(GlueTypeName(t.glue_type));
    ASSERT_THAT(executor->Run(t), IsOk());
    EXPECT_TRUE(Eventually(
        [&] { return absl::StrContains(LogPage(*executor, t), "\nfirst\n"); }));
    EXPECT_FALSE(executor->ReadLog(t.log_date_time, t.log_id, 1)->is_end);
    // Opens once the script has opened its end (ENXIO until then).
    int fd = -1;
    ASSERT_TRUE(Eventually([&] {
      fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      return fd >= 0;
    }));
    ASSERT_EQ(write(fd, "go\n", 3), 3);
    close(fd);
    EXPECT_EQ(ResultOf(t.log_id).handle_code, 200);
    EXPECT_THAT(LogText(t), HasSubstr("\nfirst\nsecond go\n"));
  }
}

TEST_F(ScriptJobsTest, AMegabyteOfOutputArrivesWholeAndInOrder) {
  auto executor = Start();
  constexpr int kLines = 50000;  // 24 bytes each: 1.2 MB.
  Trigger t = Script(1, 1,
                     absl::StrCat("import sys\nfor i in range(", kLines,
                                  "):\n    sys.stdout.write('line %06d "
                                  "..........\\n' % i)\n"),
                     GlueType::kPython);
  ASSERT_THAT(executor->Run(t), IsOk());
  EXPECT_EQ(ResultOf(1).handle_code, 200);
  int next = 0;
  for (absl::string_view line : absl::StrSplit(LogText(t), '\n')) {
    if (!absl::StartsWith(line, "line ")) continue;
    ASSERT_EQ(line, absl::StrFormat("line %06d ..........", next));
    ++next;
  }
  EXPECT_EQ(next, kLines);
}

}  // namespace
}  // namespace xxljob

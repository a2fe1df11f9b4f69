// Script limits and the script user through the executor core: a fork bomb,
// a memory hog, a CPU spinner and a file filler each end with a 500 naming
// the limit, the executor takes the next run as usual, and --script_user
// runs scripts as that user. Real scripts, a real executor in process, run
// logs in a temp dir; every bomb is bounded before it starts (a low process
// limit), and every trigger has a timeout as a backstop.
#include <pwd.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/run_cgroup.h"
#include "server/core/executor.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::IsOk;

// A fork bomb that keeps forking whatever fails: only the limit stops it.
constexpr char kForkBomb[] = "b() { b & b & wait; }; b\n";
// Grows by 16 MiB a step, forever.
constexpr char kMemoryHog[] =
    "import sys\nchunks = []\nwhile True:\n"
    "    chunks.append(bytearray(16 << 20))\n";

class ScriptLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Executor> Start(
      const std::function<void(ExecutorOptions&)>& configure) {
    ExecutorOptions options;
    options.log_path = dir_.path();
    options.enable_scripts = true;
    options.script_kill_grace = absl::Milliseconds(200);
    configure(options);
    auto executor = Executor::Create(options, &registry_, &sink_);
    EXPECT_THAT(executor, IsOk());
    return executor.ok() ? *std::move(executor) : nullptr;
  }

  static Trigger Script(int64_t job_id, int64_t log_id, std::string source,
                        GlueType type = GlueType::kShell) {
    Trigger t;
    t.job_id = job_id;
    t.log_id = log_id;
    t.log_date_time = absl::ToUnixMillis(absl::Now());
    t.glue_type = type;
    t.glue_source = std::move(source);
    t.glue_updatetime = log_id;  // A new version each time.
    // A backstop only: each run here ends long before.
    t.timeout = absl::Seconds(60);
    return t;
  }

  RunResult ResultOf(int64_t log_id) {
    std::optional<RunResult> r = sink_.WaitFor(log_id);
    EXPECT_TRUE(r.has_value()) << "no result for log " << log_id;
    return r.value_or(RunResult{});
  }

  // The next run of the job is unaffected: it runs and succeeds.
  void ExpectNextRunSucceeds(Executor& executor, int64_t job_id,
                             int64_t log_id) {
    ASSERT_THAT(executor.Run(Script(job_id, log_id, "echo fine")), IsOk());
    RunResult r = ResultOf(log_id);
    EXPECT_EQ(r.handle_code, 200) << r.handle_msg;
  }

  static process_internal::CgroupSetup Cgroups(bool memory, bool pids) {
    auto setup = process_internal::DiscoverCgroups("auto", memory, pids);
    return setup.ok() ? *setup : process_internal::CgroupSetup();
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
};

TEST_F(ScriptLimitsTest, ForkBombEndsWithAProcessLimitResult) {
  if (!Cgroups(false, true).pids_limit()) {
    GTEST_SKIP() << "no pids cgroup can be made here (needs a writable cgroup "
                    "v2 with the pids controller, or a v1 pids hierarchy); "
                    "see ForkBombAsAScriptUserIsBoundedByItsProcessLimit";
  }
  auto executor =
      Start([](ExecutorOptions& o) { o.script_max_processes = 32; });
  ASSERT_NE(executor, nullptr);
  ASSERT_THAT(executor->Run(Script(1, 1, kForkBomb)), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_THAT(r.handle_msg, HasSubstr("script ended: process limit (32 per "
                                      "run) reached"));
  ExpectNextRunSucceeds(*executor, 1, 2);
}

TEST_F(ScriptLimitsTest, MemoryHogEndsWithAMemoryLimitResult) {
  if (!Cgroups(true, false).memory_limit()) {
    GTEST_SKIP() << "no memory cgroup can be made here (needs a writable "
                    "cgroup v2 with the memory controller, or a v1 memory "
                    "hierarchy); see MemoryHogWithoutACgroupFailsItsAllocation";
  }
  auto executor =
      Start([](ExecutorOptions& o) { o.script_max_memory_bytes = 128 << 20; });
  ASSERT_NE(executor, nullptr);
  ASSERT_THAT(executor->Run(Script(1, 1, kMemoryHog, GlueType::kPython)),
              IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_THAT(r.handle_msg,
              HasSubstr("script ended: memory limit (134217728 bytes per run) "
                        "reached"));
  ExpectNextRunSucceeds(*executor, 1, 2);
}

TEST_F(ScriptLimitsTest, MemoryHogWithoutACgroupFailsItsAllocation) {
  auto executor = Start([](ExecutorOptions& o) {
    o.script_cgroup = "off";
    o.script_max_memory_bytes = 256 << 20;
  });
  ASSERT_NE(executor, nullptr);
  ASSERT_THAT(executor->Run(Script(1, 1, kMemoryHog, GlueType::kPython)),
              IsOk());
  RunResult r = ResultOf(1);
  // RLIMIT_AS: the allocation fails and the script exits with its error.
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, "script exit value(1) is failed");
  ExpectNextRunSucceeds(*executor, 1, 2);
}

TEST_F(ScriptLimitsTest, CpuSpinnerEndsWithACpuLimitResult) {
  auto executor =
      Start([](ExecutorOptions& o) { o.script_max_cpu = absl::Seconds(1); });
  ASSERT_NE(executor, nullptr);
  ASSERT_THAT(executor->Run(Script(1, 1, "while :; do :; done")), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg,
            "script ended: CPU time limit (1s per process) reached");
  ExpectNextRunSucceeds(*executor, 1, 2);
}

TEST_F(ScriptLimitsTest, FileFillerEndsWithAFileSizeLimitResult) {
  auto executor =
      Start([](ExecutorOptions& o) { o.script_max_file_bytes = 1 << 20; });
  ASSERT_NE(executor, nullptr);
  const std::string file = dir_.path() + "/big";
  // bash reports its child's SIGXFSZ as 128 + 25.
  ASSERT_THAT(executor->Run(Script(
                  1, 1, absl::StrCat("head -c 4000000 /dev/zero > ", file))),
              IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg,
            "script ended: file size limit (1048576 bytes per file) reached");
  ExpectNextRunSucceeds(*executor, 1, 2);
}

// The user and its limits, when tests run as root: "nobody" is a user of
// its own, so RLIMIT_NPROC applies (root ignores it).
class ScriptUserTest : public ScriptLimitsTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    const passwd* pw = getpwnam("nobody");
    if (pw == nullptr) GTEST_SKIP() << "no user \"nobody\" here";
    nobody_uid_ = pw->pw_uid;
  }
  uid_t nobody_uid_ = 0;
};

TEST_F(ScriptUserTest, ScriptsRunAsTheScriptUser) {
  auto executor = Start([](ExecutorOptions& o) { o.script_user = "nobody"; });
  ASSERT_NE(executor, nullptr);
  ASSERT_THAT(
      executor->Run(Script(1, 1,
                           absl::StrCat("[ \"$(id -u)\" = ", nobody_uid_,
                                        " ] && [ \"$(id -ru)\" = ", nobody_uid_,
                                        " ] && [ \"$USER\" = nobody ]"))),
      IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 200) << r.handle_msg;
}

TEST_F(ScriptUserTest, ForkBombAsAScriptUserIsBoundedByItsProcessLimit) {
  // No cgroup: RLIMIT_NPROC alone bounds it (per user), and the run's
  // timeout ends it.
  auto executor = Start([](ExecutorOptions& o) {
    o.script_user = "nobody";
    o.script_cgroup = "off";
    o.script_max_processes = 32;
  });
  ASSERT_NE(executor, nullptr);
  Trigger bomb = Script(1, 1, kForkBomb);
  bomb.timeout = absl::Seconds(3);
  ASSERT_THAT(executor->Run(bomb), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 502) << r.handle_msg;
  ExpectNextRunSucceeds(*executor, 1, 2);
}

TEST(ScriptUserOptionTest, AnUnknownUserIsRefusedAtCreate) {
  testing::TempDir dir;
  HandlerRegistry registry;
  testing::RecordingResultSink sink;
  ExecutorOptions options;
  options.log_path = dir.path();
  options.enable_scripts = true;
  options.script_user = "no-such-user-here";
  EXPECT_THAT(Executor::Create(options, &registry, &sink).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("script_user")));
}

TEST(ScriptCgroupOptionTest, ADirectoryThatIsNotACgroupIsRefusedAtCreate) {
  testing::TempDir dir;
  HandlerRegistry registry;
  testing::RecordingResultSink sink;
  ExecutorOptions options;
  options.log_path = dir.path();
  options.enable_scripts = true;
  options.script_cgroup = dir.path();
  EXPECT_THAT(Executor::Create(options, &registry, &sink).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("script_cgroup: must be auto, off "
                                          "or a cgroup v2 directory")));
}

}  // namespace
}  // namespace xxljob

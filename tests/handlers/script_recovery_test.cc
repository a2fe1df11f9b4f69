// RecoverScriptRuns and the run records it reads (handlers/script_recovery.h,
// handlers/run_record.h): real processes left as a crashed executor leaves
// them (own session, some stopped with SIGSTOP, some only tagged, some only
// in a cgroup), records written in the documented format, and /proc read
// to check who is left (pid + start time, since pids get reused).
#include "handlers/script_recovery.h"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/process_tree.h"
#include "handlers/run_cgroup.h"
#include "handlers/run_record.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace xxljob {
namespace {

using process_internal::FormatRunRecord;
using process_internal::ParseRunRecord;
using process_internal::ReadProcStat;
using process_internal::RunRecord;
using ::xxljob::testing::Eventually;

struct Proc {
  pid_t pid = 0;
  uint64_t start = 0;
};

// Gone: no such process, another under its pid, or a zombie.
bool Gone(const Proc& p) {
  auto st = ReadProcStat(p.pid);
  return !st.has_value() || st->start_time != p.start || st->dead();
}

// Starts `bash -c script` leading a new session, with `env_entry` added to
// its environment (if not empty).
Proc StartSession(const std::string& script, const std::string& env_entry) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  if (!env_entry.empty()) env.push_back(env_entry);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string bash = "/bin/bash", c = "-c", body = script;
  char* argv[] = {bash.data(), c.data(), body.data(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, bash.c_str(), nullptr, &attr, argv, envp.data()),
            0);
  posix_spawnattr_destroy(&attr);
  auto st = ReadProcStat(pid);
  return {pid, st.has_value() ? st->start_time : 0};
}

// The processes of session `sid` (the leader included) once there are `n`.
std::vector<Proc> WaitForSession(pid_t sid, size_t n) {
  std::vector<Proc> out;
  EXPECT_TRUE(Eventually([&] {
    out.clear();
    for (const auto& p : process_internal::ScanProcesses()) {
      if (p.sid == sid && !p.dead()) out.push_back({p.pid, p.start_time});
    }
    return out.size() == n;
  }));
  return out;
}

class ScriptRecoveryTest : public ::testing::Test {
 protected:
  ~ScriptRecoveryTest() override {
    for (const Proc& p : started_) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, nullptr, 0);
    }
  }

  // A record of a run of an executor that is gone (this process's pid with
  // another start time can't be alive).
  RunRecord DeadExecutorRecord(const std::string& tag) {
    RunRecord r;
    r.boot_id = process_internal::BootId();
    r.executor_pid = getpid();
    r.executor_start = process_internal::OwnStartTime() + 1;
    r.tag = tag;
    r.name = "job 1 log 1";
    return r;
  }

  std::string Write(const RunRecord& r) {
    std::filesystem::create_directories(dir());
    const std::string path = absl::StrCat(dir(), "/", r.tag, ".run");
    std::ofstream(path) << FormatRunRecord(r);
    return path;
  }

  Proc Start(const std::string& script, const std::string& env_entry = "") {
    Proc p = StartSession(script, env_entry);
    started_.push_back(p);
    return p;
  }

  std::string dir() const { return dir_.path() + "/running"; }

  testing::TempDir dir_;
  std::vector<Proc> started_;
};

TEST(RunRecordTest, RoundTripsAndRefusesATornHead) {
  RunRecord r;
  r.boot_id = "b";
  r.executor_pid = 10;
  r.executor_start = 20;
  r.tag = "10-20-1";
  r.name = "job 1 log 2";
  r.cgroups = {"/sys/fs/cgroup/x", "/sys/fs/cgroup/pids/x"};
  r.program = 30;
  r.program_start = 40;
  const std::string text = FormatRunRecord(r);
  std::optional<RunRecord> back = ParseRunRecord(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->boot_id, "b");
  EXPECT_EQ(back->executor_pid, 10);
  EXPECT_EQ(back->executor_start, 20u);
  EXPECT_EQ(back->tag, "10-20-1");
  EXPECT_EQ(back->cgroups, r.cgroups);
  EXPECT_EQ(back->program, 30);
  EXPECT_EQ(back->program_start, 40u);
  // Cut inside the program line: the rest still names the run.
  back = ParseRunRecord(text.substr(0, text.size() - 3));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tag, "10-20-1");
  // Cut before the tag: nothing to go by.
  EXPECT_FALSE(ParseRunRecord(text.substr(0, text.find("tag="))).has_value());
  EXPECT_FALSE(ParseRunRecord("garbage").has_value());
}

TEST_F(ScriptRecoveryTest, KillsTheStoppedSessionOfARunWhoseExecutorIsGone) {
  const Proc leader = Start("sleep 1000 & sleep 1000 & wait");
  const std::vector<Proc> session = WaitForSession(leader.pid, 3);
  ASSERT_EQ(kill(-leader.pid, SIGSTOP), 0);
  RunRecord r = DeadExecutorRecord("dead-1");
  r.program = leader.pid;
  r.program_start = leader.start;
  const std::string path = Write(r);

  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.runs, 1);
  EXPECT_EQ(report.left, 0);
  EXPECT_EQ(report.processes, 3);
  for (const Proc& p : session) EXPECT_TRUE(Gone(p)) << p.pid;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScriptRecoveryTest, KillsTaggedProcessesThatLeftTheSession) {
  // Recorded before its program started (no program line): the tag finds it.
  const std::string tag = absl::StrCat("dead-tag-", getpid());
  const Proc escaped = Start("exec sleep 1000", "XXL_EXECUTOR_RUN=" + tag);
  WaitForSession(escaped.pid, 1);
  // Once `exec sleep` is done: its environment is the one recovery reads.
  ASSERT_TRUE(Eventually([&] {
    std::ifstream in(absl::StrCat("/proc/", escaped.pid, "/comm"));
    std::string comm;
    return std::getline(in, comm) && comm == "sleep";
  }));
  const std::string path = Write(DeadExecutorRecord(tag));
  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.processes, 1);
  EXPECT_TRUE(Gone(escaped));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScriptRecoveryTest, KillsWhatIsInTheRunsCgroup) {
  auto setup = process_internal::DiscoverCgroups("auto", false, false);
  if (!setup.ok() || setup->v2_parent.empty()) {
    GTEST_SKIP() << "no writable cgroup v2 here";
  }
  const std::string cgroup =
      absl::StrCat(setup->v2_parent, "/xxl-recovery-test-", getpid());
  ASSERT_EQ(mkdir(cgroup.c_str(), 0755), 0);
  // Neither in a recorded session nor tagged: only the cgroup knows it.
  const Proc member = Start("exec sleep 1000");
  WaitForSession(member.pid, 1);
  std::ofstream(cgroup + "/cgroup.procs") << member.pid << std::flush;
  RunRecord r = DeadExecutorRecord("dead-cgroup");
  r.cgroups = {cgroup};
  Write(r);
  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.left, 0);
  EXPECT_TRUE(Eventually([&] { return Gone(member); }));
  EXPECT_FALSE(std::filesystem::exists(cgroup));
}

TEST_F(ScriptRecoveryTest, ARecordedCgroupThatIsNotACgroupIsLeftAlone) {
  const std::string plain = dir_.path() + "/not-a-cgroup";
  ASSERT_TRUE(std::filesystem::create_directory(plain));
  RunRecord r = DeadExecutorRecord("forged");
  r.cgroups = {plain};
  const std::string path = Write(r);
  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.left, 0);
  EXPECT_TRUE(std::filesystem::exists(plain));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScriptRecoveryTest, LeavesTheRunsOfALiveExecutorAlone) {
  const Proc leader = Start("exec sleep 1000");
  WaitForSession(leader.pid, 1);
  RunRecord r = DeadExecutorRecord("live-1");
  r.executor_start = process_internal::OwnStartTime();  // This process.
  r.program = leader.pid;
  r.program_start = leader.start;
  const std::string path = Write(r);
  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.live_executor, 1);
  EXPECT_EQ(report.runs, 0);
  EXPECT_FALSE(Gone(leader));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(ScriptRecoveryTest, RecordsOfAnotherBootAreRemovedAndKillNothing) {
  const std::string tag = absl::StrCat("old-boot-", getpid());
  const Proc tagged = Start("exec sleep 1000", "XXL_EXECUTOR_RUN=" + tag);
  WaitForSession(tagged.pid, 1);
  RunRecord r = DeadExecutorRecord(tag);
  r.boot_id = "another-boot";
  const std::string path = Write(r);
  const ScriptRecovery report = RecoverScriptRuns(dir());
  EXPECT_EQ(report.runs, 0);
  EXPECT_FALSE(Gone(tagged));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScriptRecoveryTest, AMissingDirectoryIsNothingToDo) {
  const ScriptRecovery report = RecoverScriptRuns(dir() + "/none");
  EXPECT_EQ(report.runs, 0);
  EXPECT_EQ(report.processes, 0);
}

}  // namespace
}  // namespace xxljob

// End to end: no script outlives the executor's crash. The real
// xxl-executor binary runs GLUE_SHELL scripts that start background and
// setsid'd children, one of them with its process group stopped (SIGSTOP);
// it is killed with SIGKILL and restarted on the same data directory. By
// the time the admin receives the "executor restarted before the run
// finished" results, not one process of those runs may be left, and a new
// trigger of the job runs. Processes are named by pid and start time
// (pids get reused) and read from /proc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/script_recovery.h"
#include "server/delivery/outbox.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/proc_identity.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::xxljob::testing::Eventually;
using ::xxljob::testing::ExecutorProcess;
using ::xxljob::testing::IsOk;

constexpr absl::Duration kTimeout = absl::Seconds(60);

using testing::ProcId;
using testing::StateAndStart;

// Gone: no such process, another one under its pid, or a zombie (its
// parent, the crashed executor, is not there to reap it).
bool GoneOrZombie(const ProcId& id) {
  return testing::Gone(id, /*zombies_too=*/true);
}

// The script: its own pid, a background child's, a setsid'd child's, each
// on a line of `file`; then it waits.
std::string Family(const std::string& file) {
  return absl::StrCat("echo $$ >> ", file, "; sleep 1000 & echo $! >> ", file,
                      "; setsid sleep 1000 & echo $! >> ", file, "; wait\n");
}

// The three processes named in `file`, once it names them.
std::vector<ProcId> WaitForFamily(const std::string& file) {
  std::vector<ProcId> ids;
  EXPECT_TRUE(Eventually(
      [&] {
        ids.clear();
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);) {
          int pid = 0;
          if (!absl::SimpleAtoi(line, &pid)) continue;
          if (auto st = StateAndStart(pid)) ids.push_back({pid, st->second});
        }
        return ids.size() == 3;
      },
      kTimeout))
      << file;
  return ids;
}

// The cgroup v2 directory of `pid` when it is in a cgroup of its own run
// (below the root: "xxl-run-..."); "" otherwise.
std::string RunCgroupOf(int pid) {
  std::string mount;
  std::ifstream mounts("/proc/self/mountinfo");
  for (std::string line; std::getline(mounts, line);) {
    const size_t dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> f = absl::StrSplit(line.substr(0, dash), ' ');
    if (f.size() > 4) mount = f[4];
    break;
  }
  std::ifstream in(absl::StrCat("/proc/", pid, "/cgroup"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string path = line.substr(3);
    if (mount.empty() || path.find("xxl-run-") == std::string::npos) break;
    return mount + path;
  }
  return "";
}

v1::RunRequest ShellRun(int64_t job_id, int64_t log_id, std::string source) {
  v1::RunRequest r;
  r.set_job_id(job_id);
  r.set_log_id(log_id);
  r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
  r.set_glue_type(v1::GLUE_SHELL);
  r.set_glue_source(std::move(source));
  r.set_glue_updatetime(log_id);
  return r;
}

CallOptions Patient() {
  CallOptions options;
  options.timeout = absl::Seconds(30);
  return options;
}

// With a cgroup per run where this machine allows one ("auto"), and with
// none ("off"): records of the session and tag alone.
class ScriptCrashE2eTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(ExecutorProcess::BinaryPath())) {
      GTEST_SKIP() << "xxl-executor not built at "
                   << ExecutorProcess::BinaryPath();
    }
    AdminSimulatorOptions options;
    absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
        AdminSimulator::Start(std::move(options));
    ASSERT_THAT(sim, IsOk());
    sim_ = *std::move(sim);
  }

  // A failed test may leave scripts of an executor that was not restarted:
  // clean them up (by then every executor of the test is gone).
  void TearDown() override {
    RecoverScriptRuns(ScriptRunsDir(dir_.path() + "/data"));
  }

  std::unique_ptr<ExecutorProcess> StartExecutor() {
    auto executor = std::make_unique<ExecutorProcess>(std::vector<std::string>{
        "--listen=127.0.0.1:0", "--app_name=script-crash-e2e",
        "--log_path=" + dir_.path() + "/data", "--enable_scripts",
        "--admin_timeout=5s", "--admin_addresses=" + sim_->address(),
        absl::StrCat("--script_cgroup=", GetParam())});
    absl::Status serving = executor->WaitUntilServing();
    EXPECT_THAT(serving, IsOk());
    return serving.ok() ? std::move(executor) : nullptr;
  }

  void Trigger(ExecutorClient& client, const v1::RunRequest& request) {
    absl::StatusOr<v1::RunResponse> response = client.Run(request, Patient());
    ASSERT_THAT(response, IsOk());
    ASSERT_EQ(response->code(), 200) << response->msg();
  }

  testing::TempDir dir_;
  std::unique_ptr<AdminSimulator> sim_;
};

TEST_P(ScriptCrashE2eTest, KillNineLeavesNoScriptProcessAfterRestart) {
  const std::string running = dir_.path() + "/running.pids";
  const std::string stopped = dir_.path() + "/stopped.pids";
  std::vector<ProcId> ids;
  {
    auto executor = StartExecutor();
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    ASSERT_NO_FATAL_FAILURE(Trigger(client, ShellRun(1, 10, Family(running))));
    ASSERT_NO_FATAL_FAILURE(Trigger(client, ShellRun(2, 20, Family(stopped))));
    ids = WaitForFamily(running);
    std::vector<ProcId> frozen = WaitForFamily(stopped);
    ASSERT_EQ(ids.size(), 3u);
    ASSERT_EQ(frozen.size(), 3u);
    // As an executor that died while stopping a script leaves it: the
    // group stopped and, with a cgroup, the cgroup frozen too.
    ASSERT_EQ(kill(-frozen[0].pid, SIGSTOP), 0);
    // Stopped first: a frozen task is not seen to stop until it thaws.
    ASSERT_TRUE(Eventually([&] {
      auto st = StateAndStart(frozen[0].pid);
      return st.has_value() && st->first == 'T';
    }));
    if (const std::string cgroup = RunCgroupOf(frozen[0].pid);
        !cgroup.empty()) {
      std::ofstream(cgroup + "/cgroup.freeze") << "1" << std::flush;
      EXPECT_TRUE(Eventually([&] {
        std::ifstream events(cgroup + "/cgroup.events");
        std::stringstream text;
        text << events.rdbuf();
        return text.str().find("frozen 1") != std::string::npos;
      })) << cgroup;
    }
    ids.insert(ids.end(), frozen.begin(), frozen.end());
    executor->Kill9();
  }
  for (const ProcId& id : ids) {
    ASSERT_FALSE(GoneOrZombie(id))
        << "process " << id.pid << " died with the executor";
  }

  auto restarted = StartExecutor();
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(sim_->WaitForCallbacks(2, kTimeout));
  // The leftovers are killed before the runs are reported: none may be
  // left by the time the admin hears of them.
  for (const ProcId& id : ids) {
    EXPECT_TRUE(GoneOrZombie(id))
        << "process " << id.pid << " outlived the executor's crash";
  }
  for (const RecordedCallback& c : sim_->callbacks()) {
    EXPECT_EQ(c.handle_code, 500);
    EXPECT_EQ(c.handle_msg, kRestartedBeforeFinishedMsg);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/data/glue/running"));

  // The job runs again, alone.
  ExecutorClient client(restarted->address());
  ASSERT_NO_FATAL_FAILURE(Trigger(client, ShellRun(1, 11, "echo again")));
  ASSERT_TRUE(sim_->WaitForCallbacks(3, kTimeout));
  bool found = false;
  for (const RecordedCallback& c : sim_->callbacks()) {
    if (c.log_id != 11) continue;
    found = true;
    EXPECT_EQ(c.handle_code, 200) << c.handle_msg;
  }
  EXPECT_TRUE(found);
  EXPECT_THAT(restarted->Terminate(), IsOk());
}

// --script_user needs root or CAP_SETUID + CAP_SETGID: without them the
// executor refuses to start, with exit code 2 and a message saying so.
TEST(ScriptUserStartTest, WithoutThePrivilegeToSwitchUsersTheStartFails) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  if (!std::filesystem::exists("/usr/bin/setpriv")) {
    GTEST_SKIP() << "no setpriv (util-linux) here";
  }
  testing::TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  const std::string command = absl::StrCat(
      "/usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups ",
      ExecutorProcess::BinaryPath(),
      " --listen=127.0.0.1:0 --log_path=", dir.path(),
      "/data --enable_scripts --script_user=root 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) {
    output.append(buf, n);
  }
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 2) << output;
  EXPECT_THAT(output, ::testing::HasSubstr(
                          "script_user: running scripts as user \"root\" "
                          "needs root or the CAP_SETUID and CAP_SETGID "
                          "capabilities"));
}

INSTANTIATE_TEST_SUITE_P(Cgroups, ScriptCrashE2eTest,
                         ::testing::Values("auto", "off"));

}  // namespace
}  // namespace xxljob

// End to end, a full data directory (SPEC §5): the real xxl-executor binary
// with its data directory on a small real tmpfs that the test fills, an
// in-process AdminSimulator as its admin. A trigger whose acceptance can't
// be journaled is refused with RESOURCE_EXHAUSTED saying why, runs accepted
// before still get their results, and once there is room again triggers are
// accepted. With the disk full, the admin down and the executor killed with
// SIGKILL, no trigger that was answered 200 goes without a callback.
//
// Mounting a tmpfs needs CAP_SYS_ADMIN; without it the tests skip, saying
// so. Nothing sleeps to synchronise: waits are on the simulator's records,
// on the executor's output and exit, or polls with generous deadlines.
#include <signal.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/e2e_helpers.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/small_tmpfs.h"
#include "tests/testing/status_matchers.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::xxljob::testing::ExecutorProcess;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::SmallTmpfs;
using ::xxljob::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(60);
// Room for the executor's start (outbox, first run logs); filled after.
constexpr size_t kDiskBytes = 2 << 20;
// The outbox's last page may take a few more records once the filler has
// the rest, so a full disk shows after at most a page's worth of ACCEPTED
// records (33 bytes each); this many attempts is well past that.
constexpr int kMaxAttemptsUntilRefused = 300;
constexpr char kForever[] = "600000";

using testing::Patient;
using testing::RunReq;
using testing::StartSim;

class FullDiskE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(ExecutorProcess::BinaryPath())) {
      GTEST_SKIP() << "xxl-executor not built at "
                   << ExecutorProcess::BinaryPath();
    }
    if (!disk_.mounted()) GTEST_SKIP() << disk_.why();
  }

  std::string LogPath() const { return disk_.path() + "/data"; }

  std::unique_ptr<ExecutorProcess> StartExecutor(const AdminSimulator& sim) {
    auto executor = std::make_unique<ExecutorProcess>(std::vector<std::string>{
        "--listen=127.0.0.1:0", "--app_name=full-disk-e2e",
        "--log_path=" + LogPath(), "--admin_timeout=5s",
        "--admin_addresses=" + sim.address()});
    absl::Status serving = executor->WaitUntilServing();
    EXPECT_THAT(serving, IsOk());
    return serving.ok() ? std::move(executor) : nullptr;
  }

  // Triggers runs of job `job_id` from `*next_log_id` on until one is
  // refused; appends the accepted log ids to `accepted`. Returns the
  // refusal (OK if none came within kMaxAttemptsUntilRefused).
  absl::Status RunUntilRefused(ExecutorClient& client, int64_t job_id,
                               int64_t* next_log_id,
                               std::vector<int64_t>* accepted) {
    for (int i = 0; i < kMaxAttemptsUntilRefused; ++i) {
      const int64_t log_id = (*next_log_id)++;
      absl::StatusOr<v1::RunResponse> r =
          client.Run(RunReq(job_id, log_id), Patient());
      if (!r.ok()) return r.status();
      EXPECT_EQ(r->code(), 200) << r->msg();
      accepted->push_back(log_id);
    }
    return absl::OkStatus();
  }

  // Declared first, so it is unmounted after the executor is gone.
  SmallTmpfs disk_{kDiskBytes};
};

TEST_F(FullDiskE2eTest, RunIsRefusedWhileFullAndAcceptedOnceThereIsRoom) {
  auto sim = StartSim(AdminSimMode::kAccept);
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor(*sim);
  ASSERT_NE(executor, nullptr);
  ExecutorClient client(executor->address());

  // Accepted while there is room, still running when the disk fills.
  absl::StatusOr<v1::RunResponse> running =
      client.Run(RunReq(1, 1, "sleepJobHandler", kForever), Patient());
  ASSERT_THAT(running, IsOk());
  ASSERT_EQ(running->code(), 200) << running->msg();

  ASSERT_TRUE(disk_.Fill());
  int64_t next_log_id = 100;
  std::vector<int64_t> accepted;
  const absl::Status refused =
      RunUntilRefused(client, 2, &next_log_id, &accepted);
  // A failed call, naming the cause, not a 200 or a code 500.
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("data directory full: ")));
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("No space left on device"));
  // Still full: still refused.
  EXPECT_THAT(client.Run(RunReq(2, next_log_id++), Patient()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("data directory full: ")));

  // The run accepted before gets its result, though it can't be journaled.
  v1::KillRequest kill;
  kill.set_job_id(1);
  ASSERT_THAT(client.Kill(kill, Patient()), IsOk());
  ASSERT_TRUE(::xxljob::testing::Eventually(
      [&] { return sim->CountOf(1) == 1; }, kTimeout));
  for (int64_t id : accepted) {
    EXPECT_TRUE(::xxljob::testing::Eventually(
        [&] { return sim->CountOf(id) == 1; }, kTimeout))
        << "log " << id;
  }

  disk_.Free();
  const int64_t after = next_log_id++;
  absl::StatusOr<v1::RunResponse> again =
      client.Run(RunReq(2, after), Patient());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->code(), 200) << again->msg();
  EXPECT_TRUE(::xxljob::testing::Eventually(
      [&] { return sim->CountOf(after) == 1; }, kTimeout));
  EXPECT_EQ(executor->Terminate().value_or(-1), 0);
  for (const RecordedCallback& c : sim->callbacks()) {
    if (c.log_id == 1) {
      EXPECT_EQ(c.handle_msg,
                "scheduling center kill job [job running, killed]");
    }
  }
}

// Full disk, admin down, then kill -9: every trigger answered 200 (before
// and during the full disk, finished or in flight) gets a callback after a
// restart, and none that was refused does.
TEST_F(FullDiskE2eTest, DoubleFaultLosesNoAcceptedRun) {
  auto sim = StartSim(AdminSimMode::kUnavailable);
  ASSERT_NE(sim, nullptr);
  std::vector<int64_t> accepted;
  std::vector<int64_t> refused;
  {
    auto executor = StartExecutor(*sim);
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    // Before the disk fills: finished runs (results journaled) and runs in
    // flight at the crash.
    for (int64_t i = 1; i <= 20; ++i) {
      absl::StatusOr<v1::RunResponse> r =
          i % 4 == 0
              ? client.Run(RunReq(i, i, "sleepJobHandler", kForever), Patient())
              : client.Run(RunReq(i, i), Patient());
      ASSERT_THAT(r, IsOk());
      ASSERT_EQ(r->code(), 200) << r->msg();
      accepted.push_back(i);
    }
    ASSERT_TRUE(disk_.Fill());
    int64_t next_log_id = 1000;
    const absl::Status first_refusal =
        RunUntilRefused(client, 50, &next_log_id, &accepted);
    EXPECT_THAT(first_refusal, StatusIs(absl::StatusCode::kResourceExhausted,
                                        HasSubstr("data directory full: ")));
    if (!first_refusal.ok()) refused.push_back(next_log_id - 1);
    // 50 more triggers on the full disk, each accepted or refused.
    for (int i = 0; i < 50; ++i) {
      const int64_t log_id = next_log_id++;
      absl::StatusOr<v1::RunResponse> r =
          client.Run(RunReq(60 + i % 10, log_id), Patient());
      if (r.ok()) {
        EXPECT_EQ(r->code(), 200) << r->msg();
        accepted.push_back(log_id);
      } else {
        EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                         HasSubstr("data directory full: ")));
        refused.push_back(log_id);
      }
    }
    EXPECT_GE(refused.size(), 51u);
    executor->Kill9();
    EXPECT_EQ(executor->WaitForExit().value_or(-1), 128 + SIGKILL);
  }
  EXPECT_TRUE(sim->callbacks().empty());

  disk_.Free();
  sim->SetMode(AdminSimMode::kAccept);
  auto restarted = StartExecutor(*sim);
  ASSERT_NE(restarted, nullptr);
  EXPECT_TRUE(::xxljob::testing::Eventually(
      [&] {
        for (int64_t id : accepted) {
          if (sim->CountOf(id) == 0) return false;
        }
        return true;
      },
      kTimeout));
  EXPECT_EQ(restarted->Terminate().value_or(-1), 0);
  // The executor is gone: the counts are final.
  std::vector<int64_t> lost;
  for (int64_t id : accepted) {
    if (sim->CountOf(id) == 0) lost.push_back(id);
  }
  EXPECT_THAT(lost, IsEmpty()) << lost.size() << " of " << accepted.size()
                               << " runs answered 200 got no callback";
  for (int64_t id : refused) {
    EXPECT_EQ(sim->CountOf(id), 0) << "refused log " << id;
  }
}

}  // namespace
}  // namespace xxljob

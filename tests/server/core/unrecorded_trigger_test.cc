// Admission when the result sink can't record a trigger (a full disk under
// the outbox): the trigger is refused with the sink's error and leaves the
// executor exactly as it was, while runs accepted earlier go on and get
// their results. On the real core with a recording sink told to refuse.
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/core/executor.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::ElementsAre;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

constexpr char kForever[] = "600000";
constexpr char kFull[] = "data directory full: write outbox.log: no space";

class UnrecordedTriggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RegisterBuiltinHandlers(&registry_), IsOk());
    ASSERT_THAT(registry_.Register("probe", probe_.AsHandler()), IsOk());
    ExecutorOptions options;
    options.log_path = dir_.path();
    auto executor = Executor::Create(options, &registry_, &sink_);
    ASSERT_THAT(executor, IsOk());
    executor_ = *std::move(executor);
  }
  void TearDown() override {
    if (executor_ != nullptr) executor_->Shutdown(absl::ZeroDuration());
  }

  static Trigger Make(int64_t job_id, int64_t log_id,
                      std::string handler = "probe", std::string params = "0",
                      BlockStrategy strategy = BlockStrategy::kSerial) {
    Trigger t;
    t.job_id = job_id;
    t.log_id = log_id;
    t.log_date_time = absl::ToUnixMillis(absl::Now());
    t.handler = std::move(handler);
    t.params = std::move(params);
    t.block_strategy = strategy;
    return t;
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::ProbeHandler probe_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<Executor> executor_;
};

TEST_F(UnrecordedTriggerTest, IsRefusedWithTheSinksErrorAndLeavesNothing) {
  sink_.RefuseAcceptedWith(absl::ResourceExhaustedError(kFull));
  EXPECT_THAT(executor_->Run(Make(1, 10, "demoJobHandler")),
              StatusIs(absl::StatusCode::kResourceExhausted, kFull));
  const Executor::Load load = executor_->load();
  EXPECT_EQ(load.job_threads, 0);
  EXPECT_EQ(load.queued, 0);
  EXPECT_FALSE(executor_->IsActive(10));

  // Its log id is not held: the admin's retry of the same trigger, once
  // the disk has room, is accepted and runs once.
  sink_.RefuseAcceptedWith(absl::OkStatus());
  ASSERT_THAT(executor_->Run(Make(1, 10, "demoJobHandler")), IsOk());
  std::optional<RunResult> r = sink_.WaitFor(10);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->handle_code, 200);
  EXPECT_EQ(sink_.count(10), 1);
  EXPECT_THAT(sink_.accepted(), ElementsAre(10));
}

// The sink is asked before the block strategy acts: a cover-early or a
// handler change that can't be recorded kills and discards nothing.
TEST_F(UnrecordedTriggerTest, ReplacingTriggerKillsAndDiscardsNothing) {
  ASSERT_THAT(executor_->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_THAT(executor_->Run(Make(1, 2)), IsOk());
  sink_.RefuseAcceptedWith(absl::ResourceExhaustedError(kFull));
  EXPECT_THAT(
      executor_->Run(Make(1, 3, "probe", "0", BlockStrategy::kCoverEarly)),
      StatusIs(absl::StatusCode::kResourceExhausted, kFull));
  EXPECT_THAT(executor_->Run(Make(1, 4, "demoJobHandler")),
              StatusIs(absl::StatusCode::kResourceExhausted, kFull));
  EXPECT_EQ(executor_->load().running, 1);
  EXPECT_EQ(executor_->load().queued, 1);
  EXPECT_TRUE(sink_.finished().empty());
  EXPECT_FALSE(probe_.has_ended(1));

  // The runs accepted before still end the way they would have, each with
  // its one result, and the job's order is kept.
  sink_.RefuseAcceptedWith(absl::OkStatus());
  ASSERT_THAT(executor_->Kill(1, 1), IsOk());
  ASSERT_TRUE(sink_.WaitForCount(2));
  EXPECT_EQ(sink_.WaitFor(1)->handle_code, 500);
  EXPECT_EQ(sink_.WaitFor(2)->handle_code, 200);
  EXPECT_THAT(probe_.started(), ElementsAre(1, 2));
  EXPECT_THAT(sink_.accepted(), ElementsAre(1, 2));
  EXPECT_EQ(sink_.count(3), 0);
  EXPECT_EQ(sink_.count(4), 0);
}

}  // namespace
}  // namespace xxljob

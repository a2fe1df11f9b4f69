#include "handlers/cancellation.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "handlers/run_context.h"

namespace xxljob {
namespace {

TEST(CancellationTest, StartsNotCancelled) {
  Cancellation c;
  EXPECT_FALSE(c.cancelled());
  EXPECT_EQ(c.cause(), CancelCause::kNone);
  EXPECT_FALSE(c.WaitFor(absl::ZeroDuration()));
}

TEST(CancellationTest, FirstCancelWinsAndKeepsItsReason) {
  Cancellation c;
  EXPECT_TRUE(c.Cancel("first"));
  EXPECT_FALSE(c.Cancel("second"));
  EXPECT_EQ(c.cause(), CancelCause::kKilled);
  EXPECT_EQ(c.reason(), "first");
}

TEST(CancellationTest, PassedDeadlineIsATimeoutThatAKillCannotOverride) {
  Cancellation c(absl::Now() - absl::Milliseconds(1));
  EXPECT_TRUE(c.cancelled());
  EXPECT_EQ(c.cause(), CancelCause::kTimedOut);
  EXPECT_FALSE(c.Cancel("late kill"));
  EXPECT_EQ(c.cause(), CancelCause::kTimedOut);
  EXPECT_TRUE(c.WaitFor(absl::Hours(1)));  // Returns at once.
}

TEST(CancellationTest, WaitReturnsAtOnceWhenCancelledFromAnotherThread) {
  Cancellation c;
  absl::Notification waiting;
  bool result = false;
  std::thread waiter([&] {
    waiting.Notify();
    result = c.WaitFor(absl::Hours(1));
  });
  waiting.WaitForNotification();
  c.Cancel("stop");
  waiter.join();  // Would hang for an hour if the wait ignored Cancel.
  EXPECT_TRUE(result);
}

TEST(CancellationTest, WaitEndsAtTheDeadline) {
  Cancellation c(absl::Now() + absl::Milliseconds(20));
  EXPECT_TRUE(c.WaitFor(absl::Hours(1)));
  EXPECT_EQ(c.cause(), CancelCause::kTimedOut);
}

class CollectingSink : public RunLogSink {
 public:
  void Log(absl::string_view message) override { lines.emplace_back(message); }
  std::vector<std::string> lines;
};

TEST(RunContextTest, ExposesTheRunAndDefaultsToSuccess) {
  CollectingSink sink;
  Cancellation c;
  RunContext ctx(RunInfo{3, 4, "p", 1, 2}, &sink, &c);
  EXPECT_EQ(ctx.job_id(), 3);
  EXPECT_EQ(ctx.log_id(), 4);
  EXPECT_EQ(ctx.params(), "p");
  EXPECT_EQ(ctx.shard_index(), 1);
  EXPECT_EQ(ctx.shard_total(), 2);
  EXPECT_EQ(ctx.handle_code(), kHandleCodeSuccess);
  ctx.Logf("x=%d", 5);
  EXPECT_EQ(sink.lines, std::vector<std::string>{"x=5"});
}

TEST(RunContextTest, ResultSettersLastOneWins) {
  CollectingSink sink;
  Cancellation c;
  RunContext ctx(RunInfo{}, &sink, &c);
  ctx.Fail("bad");
  EXPECT_EQ(ctx.handle_code(), kHandleCodeFail);
  EXPECT_EQ(ctx.handle_msg(), "bad");
  ctx.Timeout();
  EXPECT_EQ(ctx.handle_code(), kHandleCodeTimeout);
  ctx.SetResult(299, "custom");
  EXPECT_EQ(ctx.handle_code(), 299);
  ctx.Success("ok");
  EXPECT_EQ(ctx.handle_code(), kHandleCodeSuccess);
  EXPECT_EQ(ctx.handle_msg(), "ok");
}

TEST(RunContextTest, SleepReturnsFalseOnceCancelled) {
  CollectingSink sink;
  Cancellation c;
  RunContext ctx(RunInfo{}, &sink, &c);
  EXPECT_TRUE(ctx.SleepFor(absl::Milliseconds(1)));
  c.Cancel("stop");
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_FALSE(ctx.SleepFor(absl::Hours(1)));
}

}  // namespace
}  // namespace xxljob

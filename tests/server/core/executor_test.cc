// The job-thread semantics of SPEC §3 (items 1-11), on the real core: real
// worker threads, real run logs in a temp dir, a recording result sink.
#include "server/core/executor.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

constexpr char kKilledRunning[] =
    "scheduling center kill job [job running, killed]";
constexpr char kKilledQueued[] =
    "scheduling center kill job [job not executed, in the job queue, killed]";
// Long enough that only a kill, timeout or shutdown ends it.
constexpr char kForever[] = "600000";

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RegisterBuiltinHandlers(&registry_), IsOk());
    ASSERT_THAT(registry_.Register("probe", probe_.AsHandler()), IsOk());
  }

  std::unique_ptr<Executor> Start(ExecutorOptions options = {}) {
    options.log_path = dir_.path();
    auto executor = Executor::Create(options, &registry_, &sink_);
    EXPECT_THAT(executor, IsOk());
    return executor.ok() ? *std::move(executor) : nullptr;
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

  // The result of `log_id`, failing the test if it never comes.
  RunResult ResultOf(int64_t log_id) {
    std::optional<RunResult> r = sink_.WaitFor(log_id);
    EXPECT_TRUE(r.has_value()) << "no result for log " << log_id;
    return r.value_or(RunResult{});
  }

  std::string LogText(int64_t log_date_time, int64_t log_id) {
    std::ifstream in(RunLogPath(dir_.path(), log_date_time, log_id));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::ProbeHandler probe_;
  testing::RecordingResultSink sink_;
};

TEST_F(ExecutorTest, RunsBeanHandlerAndLogsStartParamsAndEnd) {
  auto executor = Start();
  Trigger t = Make(1, 10, "demoJobHandler", "hello");
  ASSERT_THAT(executor->Run(t), IsOk());
  RunResult r = ResultOf(10);
  EXPECT_EQ(r.handle_code, 200);
  EXPECT_EQ(r.job_id, 1);
  EXPECT_EQ(r.log_date_time, t.log_date_time);
  EXPECT_THAT(sink_.accepted(), ElementsAre(10));
  const std::string log = LogText(t.log_date_time, 10);
  EXPECT_THAT(log, HasSubstr("Param: hello"));
  EXPECT_THAT(log, HasSubstr("demoJobHandler: params [hello]"));
  EXPECT_THAT(log, HasSubstr("handleCode=200"));
}

TEST_F(ExecutorTest, RefusesUnknownHandlerGroovyAndDisabledScripts) {
  auto executor = Start();
  EXPECT_THAT(executor->Run(Make(1, 1, "noSuchHandler")),
              StatusIs(absl::StatusCode::kNotFound,
                       "job handler [noSuchHandler] not found."));
  Trigger groovy = Make(1, 2);
  groovy.glue_type = GlueType::kGroovy;
  EXPECT_THAT(executor->Run(groovy),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("not supported by this executor")));
  Trigger shell = Make(1, 3);
  shell.glue_type = GlueType::kShell;
  EXPECT_THAT(executor->Run(shell),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "script jobs are disabled on this executor"));
  EXPECT_TRUE(sink_.accepted().empty());
}

// SPEC §3.1: one FIFO per job id, runs in arrival order, one at a time.
TEST_F(ExecutorTest, SerialTriggersRunInArrivalOrderWithoutOverlap) {
  auto executor = Start();
  std::vector<int64_t> log_ids;
  for (int64_t log = 1; log <= 20; ++log) {
    ASSERT_THAT(executor->Run(Make(7, log, "probe", "3")), IsOk());
    log_ids.push_back(log);
  }
  ASSERT_TRUE(sink_.WaitForCount(20));
  EXPECT_EQ(probe_.started(), log_ids);
  EXPECT_EQ(probe_.max_overlap(), 1);
  for (int64_t log : log_ids) EXPECT_EQ(sink_.count(log), 1);
  EXPECT_EQ(executor->load().job_threads, 1);
}

// Unrelated job ids don't wait on each other.
TEST_F(ExecutorTest, UnrelatedJobsRunConcurrently) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_THAT(executor->Run(Make(2, 2, "demoJobHandler")), IsOk());
  EXPECT_EQ(ResultOf(2).handle_code, 200);
  EXPECT_FALSE(probe_.has_ended(1));
  EXPECT_EQ(executor->load().running, 1);
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
}

// SPEC §3.3.
TEST_F(ExecutorTest, DuplicateLogIdIsRefusedWhileQueuedOrRunning) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 5, "probe", kForever)), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 6, "probe", "0")), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(5));
  EXPECT_THAT(executor->Run(Make(1, 5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "repeat trigger job, logId:5"));
  EXPECT_THAT(executor->Run(Make(2, 6)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "repeat trigger job, logId:6"));
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  EXPECT_EQ(ResultOf(5).handle_msg, kKilledRunning);
  EXPECT_EQ(ResultOf(6).handle_msg, kKilledQueued);
  EXPECT_EQ(sink_.count(5), 1);
  EXPECT_EQ(sink_.count(6), 1);
}

// SPEC §3.4, DISCARD_LATER.
TEST_F(ExecutorTest, DiscardLaterRefusesOnlyWhenBusy) {
  auto executor = Start();
  ASSERT_THAT(
      executor->Run(Make(1, 1, "probe", "0", BlockStrategy::kDiscardLater)),
      IsOk());
  EXPECT_EQ(ResultOf(1).handle_code, 200);

  ASSERT_THAT(executor->Run(Make(1, 2, "probe", kForever)), IsOk());
  EXPECT_THAT(
      executor->Run(Make(1, 3, "probe", "0", BlockStrategy::kDiscardLater)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               "block strategy effect: Discard Later"));
  EXPECT_EQ(executor->load().queued + executor->load().running, 1);
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  ResultOf(2);
  EXPECT_EQ(sink_.count(3), 0);
}

// SPEC §3.4, COVER_EARLY, and §3.2: the new run starts after the killed one
// has returned, even when the killed one takes a while to stop.
TEST_F(ExecutorTest, CoverEarlyKillsRunningFailsQueuedThenRuns) {
  auto executor = Start();
  probe_.set_stop_delay(absl::Milliseconds(100));
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_THAT(executor->Run(Make(1, 2, "probe", "0")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 3, "probe", "0")), IsOk());
  ASSERT_THAT(
      executor->Run(Make(1, 4, "probe", "0", BlockStrategy::kCoverEarly)),
      IsOk());

  EXPECT_EQ(ResultOf(1).handle_msg,
            "block strategy effect: Cover Early [job running, killed]");
  for (int64_t log : {2, 3}) {
    RunResult r = ResultOf(log);
    EXPECT_EQ(r.handle_code, 500);
    EXPECT_EQ(r.handle_msg,
              "block strategy effect: Cover Early [job not executed, in the "
              "job queue, killed]");
  }
  EXPECT_EQ(ResultOf(4).handle_code, 200);
  EXPECT_THAT(probe_.started(), ElementsAre(1, 4));
  EXPECT_THAT(probe_.ended(), ElementsAre(1, 4));
  EXPECT_EQ(probe_.max_overlap(), 1);
}

// SPEC §3.5.
TEST_F(ExecutorTest, HandlerChangeReplacesTheJobThread) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_THAT(executor->Run(Make(1, 2, "probe", "0")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 3, "demoJobHandler")), IsOk());
  EXPECT_EQ(ResultOf(1).handle_msg,
            "change jobhandler or glue type [job running, killed]");
  EXPECT_EQ(ResultOf(2).handle_msg,
            "change jobhandler or glue type [job not executed, in the job "
            "queue, killed]");
  EXPECT_EQ(ResultOf(3).handle_code, 200);
}

// SPEC §3.6, §3.8: kill of a job.
TEST_F(ExecutorTest, KillStopsTheRunningRunAndFailsQueuedOnes) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "sleepJobHandler", kForever)), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2, "sleepJobHandler", "0")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 3, "sleepJobHandler", "0")), IsOk());
  ASSERT_TRUE(Eventually([&] { return executor->load().running == 1; }));
  absl::StatusOr<std::string> msg = executor->Kill(1, 0);
  ASSERT_THAT(msg, IsOk());
  EXPECT_THAT(*msg, HasSubstr("1 running, 2 queued"));
  EXPECT_EQ(ResultOf(1).handle_msg, kKilledRunning);
  EXPECT_EQ(ResultOf(2).handle_msg, kKilledQueued);
  EXPECT_EQ(ResultOf(3).handle_msg, kKilledQueued);
  ASSERT_TRUE(Eventually([&] { return executor->load().running == 0; }));
  EXPECT_THAT(executor->IdleBeat(1), IsOk());
  // The job thread serves the next trigger.
  ASSERT_THAT(executor->Run(Make(1, 4, "demoJobHandler")), IsOk());
  EXPECT_EQ(ResultOf(4).handle_code, 200);
}

TEST_F(ExecutorTest, KillByLogIdStopsOnlyThatRun) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2, "probe", "0")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 3, "probe", "0")), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));

  ASSERT_THAT(executor->Kill(1, 3), IsOk());  // Queued.
  EXPECT_EQ(ResultOf(3).handle_msg, kKilledQueued);
  EXPECT_FALSE(probe_.has_ended(1));
  ASSERT_THAT(executor->Kill(1, 1), IsOk());  // Running.
  EXPECT_EQ(ResultOf(1).handle_msg, kKilledRunning);
  EXPECT_EQ(ResultOf(2).handle_code, 200);
  EXPECT_THAT(probe_.started(), ElementsAre(1, 2));

  EXPECT_THAT(executor->Kill(1, 99),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("log id 99")));
  EXPECT_THAT(executor->Kill(42, 0), IsOk());  // No job thread: stopped.
  EXPECT_THAT(executor->Kill(42, 7),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("log id 7")));
}

// SPEC §3.7.
TEST_F(ExecutorTest, TimeoutReports502AfterTheRunHasStopped) {
  auto executor = Start();
  Trigger t = Make(1, 1, "probe", kForever);
  t.timeout = absl::Milliseconds(200);
  ASSERT_THAT(executor->Run(t), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 502);
  EXPECT_EQ(r.handle_msg, "job execute timeout");
  EXPECT_TRUE(probe_.has_ended(1));
}

TEST_F(ExecutorTest, TimeoutExcludesTimeSpentQueued) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", "1500")), IsOk());
  Trigger t = Make(1, 2, "probe", "10");
  t.timeout = absl::Seconds(1);
  ASSERT_THAT(executor->Run(t), IsOk());
  EXPECT_EQ(ResultOf(1).handle_code, 200);
  EXPECT_EQ(ResultOf(2).handle_code, 200);
}

// SPEC §3.9.
TEST_F(ExecutorTest, ThrowingHandlerFailsTheRunAndTheJobThreadGoesOn) {
  auto executor = Start();
  ASSERT_THAT(registry_.Register("thrower",
                                 [](RunContext&) -> void {
                                   throw std::runtime_error("boom");
                                 }),
              IsOk());
  ASSERT_THAT(executor->Run(Make(1, 1, "thrower")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2, "thrower")), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_THAT(r.handle_msg, HasSubstr("boom"));
  EXPECT_EQ(ResultOf(2).handle_code, 500);
  ASSERT_THAT(executor->Run(Make(1, 3, "failJobHandler", "nope")), IsOk());
  r = ResultOf(3);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, "nope");
}

TEST_F(ExecutorTest, LongResultMessageIsTruncated) {
  auto executor = Start();
  ASSERT_THAT(
      executor->Run(Make(1, 1, "failJobHandler", std::string(60000, 'x'))),
      IsOk());
  EXPECT_EQ(ResultOf(1).handle_msg.size(), kMaxHandleMsgChars);
}

TEST_F(ExecutorTest, HandlerResultSettersAndInvalidUtf8) {
  auto executor = Start();
  ASSERT_THAT(
      registry_.Register(
          "custom", [](RunContext& ctx) { ctx.SetResult(201, "odd\xff"); }),
      IsOk());
  ASSERT_THAT(executor->Run(Make(1, 1, "custom")), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 201);
  EXPECT_EQ(r.handle_msg, "odd?");
}

// SPEC §3.10.
TEST_F(ExecutorTest, ShardValuesReachTheHandler) {
  auto executor = Start();
  Trigger t = Make(1, 1, "shardingJobHandler");
  t.shard_index = 2;
  t.shard_total = 5;
  ASSERT_THAT(executor->Run(t), IsOk());
  EXPECT_EQ(ResultOf(1).handle_msg, "shard 2/5");
  EXPECT_THAT(LogText(t.log_date_time, 1),
              HasSubstr("shard index 2, shard total 5"));
}

// SPEC §3.11: init when a job thread starts using a handler, destroy when it
// ends (handler change, idle reclaim, shutdown).
TEST_F(ExecutorTest, InitAndDestroyFollowTheJobThread) {
  std::atomic<int> inits{0}, destroys{0};
  ASSERT_THAT(
      registry_.Register("lifecycle", JobHandler{[](RunContext&) {},
                                                 [&] {
                                                   ++inits;
                                                   return absl::OkStatus();
                                                 },
                                                 [&] { ++destroys; }}),
      IsOk());
  ExecutorOptions options;
  options.idle_timeout = absl::Milliseconds(50);
  auto executor = Start(options);

  ASSERT_THAT(executor->Run(Make(1, 1, "lifecycle")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2, "lifecycle")), IsOk());
  ResultOf(2);
  EXPECT_EQ(inits, 1);
  EXPECT_EQ(destroys, 0);
  // Handler change.
  ASSERT_THAT(executor->Run(Make(1, 3, "demoJobHandler")), IsOk());
  ResultOf(3);
  EXPECT_EQ(destroys, 1);
  // Idle reclaim.
  ASSERT_THAT(executor->Run(Make(2, 4, "lifecycle")), IsOk());
  ResultOf(4);
  EXPECT_EQ(inits, 2);
  ASSERT_TRUE(Eventually([&] { return destroys == 2; }));
  // Shutdown.
  ASSERT_THAT(executor->Run(Make(3, 5, "lifecycle")), IsOk());
  ResultOf(5);
  executor->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(inits, 3);
  EXPECT_EQ(destroys, 3);
}

TEST_F(ExecutorTest, FailedInitFailsTheRunAndIsRetried) {
  std::atomic<int> attempts{0};
  ASSERT_THAT(
      registry_.Register("flaky", JobHandler{[](RunContext&) {},
                                             [&] {
                                               return ++attempts == 1
                                                          ? absl::InternalError(
                                                                "db down")
                                                          : absl::OkStatus();
                                             },
                                             nullptr}),
      IsOk());
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "flaky")), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2, "flaky")), IsOk());
  RunResult r = ResultOf(1);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_THAT(r.handle_msg, HasSubstr("db down"));
  EXPECT_EQ(ResultOf(2).handle_code, 200);
}

// SPEC §3.1: reclaim, and a trigger racing it.
TEST_F(ExecutorTest, IdleJobThreadIsReclaimed) {
  ExecutorOptions options;
  options.idle_timeout = absl::Milliseconds(20);
  auto executor = Start(options);
  ASSERT_THAT(executor->Run(Make(1, 1, "demoJobHandler")), IsOk());
  ResultOf(1);
  ASSERT_TRUE(Eventually([&] { return executor->load().job_threads == 0; }));
}

TEST_F(ExecutorTest, TriggerRacingReclaimIsStillRun) {
  ExecutorOptions options;
  options.idle_timeout = absl::Milliseconds(1);
  auto executor = Start(options);
  for (int64_t log = 1; log <= 300; ++log) {
    ASSERT_THAT(executor->Run(Make(1, log, "demoJobHandler")), IsOk());
    ASSERT_EQ(ResultOf(log).handle_code, 200) << log;
  }
}

TEST_F(ExecutorTest, ConcurrentFirstTriggersMakeOneJobThread) {
  auto executor = Start();
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int64_t log = 1; log <= 100; ++log) {
    threads.emplace_back([&, log] {
      if (executor->Run(Make(9, log, "probe", "1")).ok()) ++accepted;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(executor->load().job_threads, 1);
  ASSERT_TRUE(sink_.WaitForCount(100));
  EXPECT_EQ(probe_.max_overlap(), 1);
  for (int64_t log = 1; log <= 100; ++log) EXPECT_EQ(sink_.count(log), 1);
}

TEST_F(ExecutorTest, KillDuringABurstGivesEveryAcceptedTriggerOneResult) {
  auto executor = Start();
  std::atomic<bool> done{false};
  std::thread killer([&] {
    while (!done) ASSERT_THAT(executor->Kill(1, 0), IsOk());
  });
  std::vector<std::thread> triggers;
  std::atomic<int> accepted{0};
  for (int w = 0; w < 4; ++w) {
    triggers.emplace_back([&, w] {
      for (int64_t i = 0; i < 100; ++i) {
        if (executor->Run(Make(1, w * 1000 + i + 1, "probe", "1")).ok()) {
          ++accepted;
        }
      }
    });
  }
  for (std::thread& t : triggers) t.join();
  done = true;
  killer.join();
  EXPECT_EQ(accepted, 400);
  ASSERT_TRUE(sink_.WaitForCount(400));
  for (int64_t id : sink_.accepted()) EXPECT_EQ(sink_.count(id), 1) << id;
  // Never two runs of the job at once. (None at all is possible: the killer
  // may empty the queue before each run starts.)
  EXPECT_LE(probe_.max_overlap(), 1);
}

TEST_F(ExecutorTest, QueueAndJobThreadBoundsAreResourceExhausted) {
  ExecutorOptions options;
  options.max_queue_depth = 2;
  options.max_job_threads = 2;
  auto executor = Start(options);
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_THAT(executor->Run(Make(1, 2)), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 3)), IsOk());
  EXPECT_THAT(executor->Run(Make(1, 4)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_queue_depth")));
  ASSERT_THAT(executor->Run(Make(2, 5, "demoJobHandler")), IsOk());
  EXPECT_THAT(executor->Run(Make(3, 6, "demoJobHandler")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_job_threads")));
  // A refused trigger leaves its log id free.
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  ResultOf(1);
  ASSERT_THAT(executor->Run(Make(1, 4, "demoJobHandler")), IsOk());
  EXPECT_EQ(ResultOf(4).handle_code, 200);
}

// max_running bounds execution, not admission: past it, runs of other jobs
// are accepted and wait in their queues until a worker is free.
TEST_F(ExecutorTest, RunsPastMaxRunningWaitInTheirQueueAndAreNotRefused) {
  ExecutorOptions options;
  options.max_running = 2;
  auto executor = Start(options);
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_THAT(executor->Run(Make(2, 2, "probe", kForever)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_TRUE(probe_.WaitStarted(2));
  for (int64_t job = 3; job <= 5; ++job) {
    EXPECT_THAT(executor->Run(Make(job, job, "probe", "0")), IsOk());
  }
  EXPECT_TRUE(Eventually([&] {
    const Executor::Load load = executor->load();
    return load.running == 2 && load.queued == 3;
  }));
  EXPECT_THAT(probe_.started(), ::testing::UnorderedElementsAre(1, 2));
  // A free worker takes the waiting runs; every one of them runs.
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  for (int64_t log = 3; log <= 5; ++log) {
    EXPECT_EQ(ResultOf(log).handle_code, 200) << log;
  }
  EXPECT_TRUE(Eventually([&] { return executor->load().running == 1; }));
  ASSERT_THAT(executor->Kill(2, 0), IsOk());
}

TEST_F(ExecutorTest, IdleBeatReportsARunningOrQueuedJob) {
  auto executor = Start();
  EXPECT_THAT(executor->IdleBeat(1), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  EXPECT_THAT(executor->IdleBeat(1),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "job thread is running or has trigger queue"));
  EXPECT_THAT(executor->IdleBeat(2), IsOk());
  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  ResultOf(1);
  EXPECT_THAT(executor->IdleBeat(1), IsOk());
}

TEST_F(ExecutorTest, ShutdownKillsRunningAfterGraceAndReportsQueued) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", kForever)), IsOk());
  ASSERT_THAT(executor->Run(Make(1, 2)), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  executor->Shutdown(absl::Milliseconds(50));
  EXPECT_EQ(ResultOf(1).handle_msg,
            "executor shutting down [job running, killed]");
  EXPECT_EQ(ResultOf(2).handle_msg,
            "executor shutting down [job not executed, in the job queue, "
            "killed]");
  EXPECT_THAT(executor->Run(Make(1, 3)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting")));
}

TEST_F(ExecutorTest, ShutdownGraceLetsAShortRunFinish) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", "200")), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  executor->Shutdown(absl::Seconds(60));
  EXPECT_EQ(ResultOf(1).handle_code, 200);
}

TEST_F(ExecutorTest, DrainRefusesNewTriggersButFinishesAdmittedOnes) {
  auto executor = Start();
  ASSERT_THAT(executor->Run(Make(1, 1, "probe", "20")), IsOk());
  executor->Drain();
  EXPECT_THAT(executor->Run(Make(1, 2)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting")));
  EXPECT_EQ(ResultOf(1).handle_code, 200);
}

TEST_F(ExecutorTest, LogIsEndOnlyOnceTheRunHasFinished) {
  auto executor = Start();
  Trigger t = Make(1, 1, "probe", kForever);
  ASSERT_THAT(executor->Run(t), IsOk());
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_TRUE(Eventually([&] {
    auto read = executor->ReadLog(t.log_date_time, 1, 1);
    return read.ok() &&
           read->page.content.find("probe sleeping") != std::string::npos;
  }));
  auto running = executor->ReadLog(t.log_date_time, 1, 1);
  ASSERT_THAT(running, IsOk());
  EXPECT_FALSE(running->is_end);

  ASSERT_THAT(executor->Kill(1, 0), IsOk());
  ResultOf(1);
  auto done = executor->ReadLog(t.log_date_time, 1, 1);
  ASSERT_THAT(done, IsOk());
  EXPECT_TRUE(done->is_end);
  EXPECT_THAT(done->page.content, HasSubstr("handleCode=500"));

  EXPECT_THAT(executor->ReadLog(t.log_date_time, 404, 1),
              StatusIs(absl::StatusCode::kNotFound, "log file not found"));
}

TEST_F(ExecutorTest, CreateFailsOnAnUnusableDataDirectory) {
  ExecutorOptions options;
  options.log_path = "/dev/null/xxl";
  EXPECT_THAT(Executor::Create(options, &registry_, &sink_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/dev/null/xxl")));
  options.log_path = dir_.path();
  options.max_running = 0;
  EXPECT_THAT(
      Executor::Create(options, &registry_, &sink_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_running")));
}

}  // namespace
}  // namespace xxljob

// The metrics' logic: what the counters and histograms say after real
// accepts, refusals and finishes through the edge and the core, which
// label values exist, and how callers' values are escaped.
#include "server/metrics/metrics.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/handler_registry.h"
#include "server/api/api_handler.h"
#include "server/core/executor.h"
#include "server/metrics/metered.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of the series written exactly as `series` (name and labels in
// the order prometheus-cpp writes them: sorted by label name); -1 if the
// exposition has no such series.
double Sample(const std::string& text, absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series) && line.size() > series.size() &&
        line[series.size()] == ' ') {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

v1::RunRequest RunReq(int64_t job_id, int64_t log_id, std::string handler,
                      v1::BlockStrategy strategy = v1::SERIAL_EXECUTION,
                      int timeout_s = 0) {
  v1::RunRequest r;
  r.set_job_id(job_id);
  r.set_log_id(log_id);
  r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
  r.set_executor_handler(std::move(handler));
  r.set_executor_block_strategy(strategy);
  r.set_executor_timeout(timeout_s);
  return r;
}

TEST(RefusalOfTest, NamesTheReasonOfEachRefusal) {
  struct Case {
    absl::Status status;
    const char* reason;
  };
  const Case cases[] = {
      {absl::UnauthenticatedError("missing or wrong access token"),
       "unauthenticated"},
      {absl::InvalidArgumentError("job_id must be > 0"), "invalid"},
      {absl::NotFoundError("job handler [x] not found."), "unknown_handler"},
      {absl::FailedPreconditionError("repeat trigger job, logId:3"),
       "duplicate"},
      {absl::FailedPreconditionError("block strategy effect: Discard Later"),
       "discard_later"},
      {absl::FailedPreconditionError("script jobs are disabled on this "
                                     "executor"),
       "invalid"},
      {absl::UnimplementedError("GLUE_GROOVY is not supported"), "invalid"},
      {absl::ResourceExhaustedError("job 1 already has 3 triggers queued"),
       "bound"},
      {absl::ResourceExhaustedError("data directory full: ENOSPC"), "data_dir"},
      {absl::UnavailableError("executor is shutting down"), "draining"},
  };
  for (const Case& c : cases) {
    EXPECT_STREQ(RefusalName(RefusalOf(c.status)), c.reason) << c.status;
  }
}

TEST(MetricsTest, EveryFamilyHasHelpAndTheFixedSeriesStartAtZero) {
  Metrics metrics("1.2.3");
  const std::string text = metrics.Render();
  for (const char* name :
       {"xxl_executor_runs_accepted_total", "xxl_executor_runs_refused_total",
        "xxl_executor_runs_finished_total",
        "xxl_executor_request_duration_seconds",
        "xxl_executor_callback_batches_total",
        "xxl_executor_callback_duration_seconds", "xxl_executor_build_info",
        "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
        "process_cpu_seconds_total", "process_start_time_seconds",
        "process_threads"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " ")));
  }
  EXPECT_EQ(Sample(text, R"(xxl_executor_build_info{version="1.2.3"})"), 1);
  EXPECT_EQ(
      Sample(text, R"(xxl_executor_runs_refused_total{reason="data_dir"})"), 0);
  EXPECT_EQ(
      Sample(text,
             R"(xxl_executor_runs_accepted_total{glue_type="GLUE_SHELL"})"),
      0);
  EXPECT_EQ(
      Sample(
          text,
          R"(xxl_executor_runs_finished_total{cause="restarted",code="500"})"),
      0);
  // Combinations that can't happen are not series.
  EXPECT_THAT(text, Not(HasSubstr(R"({cause="killed",code="200"})")));
  // Latency series exist for each pair the edge times, and only for those.
  constexpr char kLatency[] = "xxl_executor_request_duration_seconds_count";
  for (const char* pair : {R"({method="beat",transport="grpc"})",
                           R"({method="run",transport="http"})",
                           R"({method="tail_log",transport="grpc"})",
                           R"({method="trigger",transport="http"})",
                           R"({method="metrics",transport="http"})"}) {
    EXPECT_EQ(Sample(text, absl::StrCat(kLatency, pair)), 0) << pair;
  }
  for (const char* pair : {R"({method="tail_log",transport="http"})",
                           R"({method="trigger",transport="grpc"})",
                           R"({method="metrics",transport="grpc"})",
                           R"({method="other",transport="grpc"})",
                           R"({method="other",transport="http"})"}) {
    EXPECT_THAT(text, Not(HasSubstr(absl::StrCat(kLatency, pair)))) << pair;
  }
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(Sample(text, "process_threads"), 0);
  // Nothing about runs of a handler until one ran.
  EXPECT_THAT(text, Not(HasSubstr("xxl_executor_run_duration_seconds_count")));
}

TEST(MetricsTest, OnlyExecutedRunsAreObservedAndHandlerNamesAreEscaped) {
  Metrics metrics("test");
  RunResult executed;
  executed.handle_code = 200;
  executed.handler = "odd\"name\\\n";
  executed.executed = true;
  executed.run_time = absl::Milliseconds(20);
  executed.queue_wait = absl::Milliseconds(1);
  metrics.RunFinished(executed);
  RunResult script = executed;
  script.glue_type = GlueType::kShell;
  script.handler = "";
  metrics.RunFinished(script);
  RunResult discarded;
  discarded.handle_code = 500;
  discarded.cause = RunCause::kKilled;
  discarded.handler = "neverRan";
  metrics.RunFinished(discarded);
  metrics.RunsRestarted(3);

  const std::string text = metrics.Render();
  EXPECT_EQ(
      Sample(
          text,
          R"(xxl_executor_run_duration_seconds_count{handler="odd\"name\\\n"})"),
      1)
      << text;
  EXPECT_EQ(
      Sample(
          text,
          R"(xxl_executor_run_queue_wait_seconds_count{handler="GLUE_SHELL"})"),
      1);
  EXPECT_THAT(text, Not(HasSubstr("neverRan")));
  EXPECT_EQ(
      Sample(text,
             R"(xxl_executor_runs_finished_total{cause="ok",code="200"})"),
      2);
  EXPECT_EQ(
      Sample(text,
             R"(xxl_executor_runs_finished_total{cause="killed",code="500"})"),
      1);
  EXPECT_EQ(
      Sample(
          text,
          R"(xxl_executor_runs_finished_total{cause="restarted",code="500"})"),
      3);
}

TEST(MetricsTest, HandlerLabelsAreBounded) {
  Metrics metrics("test");
  RunResult r;
  r.handle_code = 200;
  r.executed = true;
  for (size_t i = 0; i < Metrics::kMaxHandlerLabels + 10; ++i) {
    r.handler = absl::StrCat("h", i);
    metrics.RunFinished(r);
  }
  const std::string text = metrics.Render();
  size_t series = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "xxl_executor_run_duration_seconds_count{")) {
      ++series;
    }
  }
  EXPECT_EQ(series, Metrics::kMaxHandlerLabels);
  // Every result is still counted.
  EXPECT_EQ(
      Sample(text,
             R"(xxl_executor_runs_finished_total{cause="ok",code="200"})"),
      Metrics::kMaxHandlerLabels + 10);
}

TEST(MetricsTest, SnapshotGaugesAreReadAtScrapeTime) {
  Metrics metrics("test");
  int64_t running = 1;
  metrics.SetSnapshotSource([&] {
    MetricsSnapshot s;
    s.running = running;
    s.max_running = 64;
    s.connections.push_back({"http", 2, 10, 5});
    s.since_registration = absl::InfiniteDuration();
    s.admins.push_back({"127.0.0.1:8080", true});
    return s;
  });
  EXPECT_EQ(Sample(metrics.Render(), "xxl_executor_runs_running"), 1);
  running = 7;
  const std::string text = metrics.Render();
  EXPECT_EQ(Sample(text, "xxl_executor_runs_running"), 7);
  EXPECT_EQ(Sample(text, "xxl_executor_worker_threads_limit"), 64);
  EXPECT_EQ(
      Sample(text,
             R"(xxl_executor_connections_refused_total{transport="http"})"),
      5);
  EXPECT_EQ(Sample(text, R"(xxl_executor_admin_up{admin="127.0.0.1:8080"})"),
            1);
  EXPECT_THAT(text, HasSubstr("xxl_executor_registration_age_seconds +Inf"));
  metrics.SetSnapshotSource(nullptr);
  EXPECT_EQ(Sample(metrics.Render(), "xxl_executor_runs_running"), -1);
}

// The edge and the core with the metered sink: real triggers.
class MeteredExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        registry_.Register("ok", [](RunContext& ctx) { ctx.Success(); }).ok());
    ASSERT_TRUE(
        registry_.Register("fail", [](RunContext& ctx) { ctx.Fail("no"); })
            .ok());
    // Runs until cancelled (killed, replaced, timed out), unless its params
    // are "quick".
    ASSERT_TRUE(registry_
                    .Register("block",
                              [this](RunContext& ctx) {
                                if (ctx.params() == "quick") return;
                                if (!started_.HasBeenNotified()) {
                                  started_.Notify();
                                }
                                ctx.SleepFor(absl::Minutes(5));
                              })
                    .ok());
    ExecutorOptions options;
    options.log_path = dir_.path();
    auto executor = Executor::Create(options, &registry_, &metered_);
    ASSERT_TRUE(executor.ok()) << executor.status();
    executor_ = *std::move(executor);
    ApiOptions api;
    api.access_token = "secret-token";
    api_ = std::make_unique<ApiHandler>(executor_.get(), api, &metrics_);
  }
  void TearDown() override {
    api_.reset();
    if (executor_ != nullptr) executor_->Shutdown(absl::ZeroDuration());
  }

  // The run's code (200/500) or the failed call's status.
  absl::Status Run(const v1::RunRequest& request,
                   std::optional<absl::string_view> token = "secret-token") {
    Caller caller;
    caller.token = token;
    v1::RunResponse response;
    absl::Status s = api_->Run(caller, request, &response);
    if (s.ok() && response.code() != 200) {
      return absl::FailedPreconditionError(response.msg());
    }
    return s;
  }
  double Value(absl::string_view series) {
    return Sample(metrics_.Render(), series);
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
  Metrics metrics_{"test"};
  MeteredResultSink metered_{&sink_, &metrics_};
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<ApiHandler> api_;
  absl::Notification started_;
};

TEST_F(MeteredExecutorTest, CountsAcceptsRefusalsAndFinishesByCause) {
  ASSERT_TRUE(Run(RunReq(1, 11, "ok")).ok());
  ASSERT_TRUE(Run(RunReq(2, 12, "fail")).ok());
  ASSERT_TRUE(sink_.WaitFor(11).has_value());
  ASSERT_TRUE(sink_.WaitFor(12).has_value());
  // Refusals, one per reason the edge and the core give.
  EXPECT_FALSE(Run(RunReq(3, 13, "nope")).ok());
  EXPECT_FALSE(Run(RunReq(1, 14, "ok"), "wrong").ok());
  EXPECT_FALSE(Run(RunReq(0, 15, "ok")).ok());

  // A blocking run, refused duplicates and DISCARD_LATER, then COVER_EARLY.
  ASSERT_TRUE(Run(RunReq(5, 20, "block")).ok());
  ASSERT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(Run(RunReq(5, 20, "block")).ok());
  EXPECT_FALSE(Run(RunReq(5, 21, "block", v1::DISCARD_LATER)).ok());
  v1::RunRequest cover = RunReq(5, 22, "block", v1::COVER_EARLY);
  cover.set_executor_params("quick");
  ASSERT_TRUE(Run(cover).ok());
  ASSERT_TRUE(sink_.WaitFor(20).has_value());
  ASSERT_TRUE(sink_.WaitFor(22).has_value());
  // Another handler on the same job replaces a blocking run.
  ASSERT_TRUE(Run(RunReq(5, 23, "block")).ok());
  ASSERT_TRUE(Run(RunReq(5, 24, "ok")).ok());
  ASSERT_TRUE(sink_.WaitFor(23).has_value());
  ASSERT_TRUE(sink_.WaitFor(24).has_value());

  EXPECT_EQ(Value(R"(xxl_executor_runs_accepted_total{glue_type="BEAN"})"), 6);
  EXPECT_EQ(
      Value(R"(xxl_executor_runs_refused_total{reason="unknown_handler"})"), 1);
  EXPECT_EQ(
      Value(R"(xxl_executor_runs_refused_total{reason="unauthenticated"})"), 1);
  EXPECT_EQ(Value(R"(xxl_executor_runs_refused_total{reason="invalid"})"), 1);
  EXPECT_EQ(Value(R"(xxl_executor_runs_refused_total{reason="duplicate"})"), 1);
  EXPECT_EQ(Value(R"(xxl_executor_runs_refused_total{reason="discard_later"})"),
            1);
  EXPECT_EQ(Value(R"(xxl_executor_runs_finished_total{cause="ok",code="200"})"),
            3);
  EXPECT_EQ(
      Value(R"(xxl_executor_runs_finished_total{cause="failed",code="500"})"),
      1);
  EXPECT_EQ(
      Value(
          R"(xxl_executor_runs_finished_total{cause="handler_change",code="500"})"),
      1);
  // A handler returning normally after a replacement reports the replacement.
  EXPECT_EQ(
      Value(
          R"(xxl_executor_runs_finished_total{cause="cover_early",code="500"})"),
      1);
  // 20 and 22; 23 too if it started before 24 replaced it.
  EXPECT_GE(
      Value(R"(xxl_executor_run_duration_seconds_count{handler="block"})"), 2);
  EXPECT_EQ(Value(R"(xxl_executor_run_queue_wait_seconds_count{handler="ok"})"),
            2);
  // Unknown handlers are never a label.
  EXPECT_THAT(metrics_.Render(), Not(HasSubstr("nope")));
  // Every call to Run is a request with its gRPC code: the business
  // refusals are OK calls with code 500.
  EXPECT_EQ(
      Value(
          R"(xxl_executor_requests_total{method="run",status="OK",transport="grpc"})"),
      9);
  EXPECT_EQ(
      Value(
          R"(xxl_executor_requests_total{method="run",status="UNAUTHENTICATED",transport="grpc"})"),
      1);
  EXPECT_EQ(
      Value(
          R"(xxl_executor_requests_total{method="run",status="INVALID_ARGUMENT",transport="grpc"})"),
      1);
}

TEST_F(MeteredExecutorTest, CountsKillsTimeoutsAndDraining) {
  ASSERT_TRUE(Run(RunReq(7, 30, "block")).ok());
  ASSERT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  v1::RunRequest queued = RunReq(7, 31, "block");  // Queued behind it.
  queued.set_executor_params("quick");
  ASSERT_TRUE(Run(queued).ok());
  Caller caller;
  caller.token = "secret-token";
  v1::KillRequest kill;
  kill.set_job_id(7);
  v1::KillResponse killed;
  ASSERT_TRUE(api_->Kill(caller, kill, &killed).ok());
  ASSERT_TRUE(sink_.WaitFor(30).has_value());
  ASSERT_TRUE(sink_.WaitFor(31).has_value());
  ASSERT_TRUE(Run(RunReq(8, 32, "block", v1::SERIAL_EXECUTION, 1)).ok());
  const auto timed_out = sink_.WaitFor(32);
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ(timed_out->handle_code, 502);
  executor_->Drain();
  EXPECT_FALSE(Run(RunReq(9, 33, "ok")).ok());

  EXPECT_EQ(
      Value(R"(xxl_executor_runs_finished_total{cause="killed",code="500"})"),
      2);
  EXPECT_EQ(
      Value(R"(xxl_executor_runs_finished_total{cause="timeout",code="502"})"),
      1);
  EXPECT_EQ(Value(R"(xxl_executor_runs_refused_total{reason="draining"})"), 1);
  EXPECT_EQ(
      Value(
          R"(xxl_executor_requests_total{method="kill",status="OK",transport="grpc"})"),
      1);
  // The queued run that was killed never executed: not observed (30 and
  // 32 were).
  EXPECT_EQ(
      Value(R"(xxl_executor_run_duration_seconds_count{handler="block"})"), 2);
}

}  // namespace
}  // namespace xxljob

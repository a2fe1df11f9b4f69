#include "server/api/api_handler.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::xxljob::testing::IsOk;
using ::xxljob::testing::RecordingResultSink;
using ::xxljob::testing::StatusIs;
using ::xxljob::testing::TempDir;

class ApiHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
  }

  void Start(ApiOptions options = {}) {
    ExecutorOptions core;
    core.log_path = dir_.path();
    auto executor = Executor::Create(core, &registry_, &sink_);
    ASSERT_TRUE(executor.ok()) << executor.status();
    executor_ = *std::move(executor);
    api_ = std::make_unique<ApiHandler>(executor_.get(), options);
  }

  static Caller WithToken(const std::string* token) {
    Caller caller;
    if (token != nullptr) caller.token = *token;
    caller.peer = [] { return std::string("ipv4:10.0.0.1:5000"); };
    return caller;
  }

  static v1::RunRequest Demo(int64_t job_id, int64_t log_id,
                             int64_t log_date_time) {
    v1::RunRequest request;
    request.set_job_id(job_id);
    request.set_executor_handler("demoJobHandler");
    request.set_log_id(log_id);
    request.set_log_date_time(log_date_time);
    return request;
  }

  TempDir dir_;
  HandlerRegistry registry_;
  RecordingResultSink sink_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<ApiHandler> api_;
};

TEST_F(ApiHandlerTest, NoConfiguredTokenLetsEveryCallIn) {
  Start();
  const std::string any = "anything";
  v1::BeatResponse beat;
  EXPECT_THAT(api_->Beat(WithToken(nullptr), &beat), IsOk());
  EXPECT_THAT(api_->Beat(WithToken(&any), &beat), IsOk());
  EXPECT_EQ(api_->token_refusals(), 0);
}

TEST_F(ApiHandlerTest, MissingOrWrongTokenIsRefusedOnEveryMethod) {
  ApiOptions options;
  options.access_token = "s3cret";
  Start(options);
  const std::string right = "s3cret";
  const std::vector<std::string> wrong = {"", "s3cre", "s3cret2", "S3CRET"};
  std::vector<Caller> callers = {WithToken(nullptr)};
  for (const std::string& w : wrong) callers.push_back(WithToken(&w));
  const auto refused = StatusIs(absl::StatusCode::kUnauthenticated,
                                "missing or wrong access token");
  for (const Caller& caller : callers) {
    v1::BeatResponse beat;
    EXPECT_THAT(api_->Beat(caller, &beat), refused);
    v1::IdleBeatRequest idle;
    idle.set_job_id(1);
    v1::IdleBeatResponse idle_response;
    EXPECT_THAT(api_->IdleBeat(caller, idle, &idle_response), refused);
    v1::RunResponse run;
    EXPECT_THAT(api_->Run(caller, Demo(1, 1, 1), &run), refused);
    v1::KillRequest kill;
    kill.set_job_id(1);
    v1::KillResponse kill_response;
    EXPECT_THAT(api_->Kill(caller, kill, &kill_response), refused);
    v1::LogRequest log;
    log.set_log_id(1);
    log.set_log_date_time(1);
    log.set_from_line_num(1);
    v1::LogResponse log_response;
    EXPECT_THAT(api_->Log(caller, log, &log_response), refused);
    EXPECT_THAT(api_->OpenTailStream(caller, log).status(), refused);
  }
  EXPECT_EQ(api_->token_refusals(), 6 * static_cast<int64_t>(callers.size()));
  // Nothing reached the core.
  EXPECT_TRUE(sink_.finished().empty());
  v1::BeatResponse beat;
  EXPECT_THAT(api_->Beat(WithToken(&right), &beat), IsOk());
}

TEST_F(ApiHandlerTest, ManualTriggerGetsAFreshLogIdAndTheCurrentTime) {
  Start();
  const int64_t before = absl::ToUnixMillis(absl::Now());
  v1::RunResponse first;
  ASSERT_THAT(api_->Run(WithToken(nullptr), Demo(1, 0, 0), &first), IsOk());
  v1::RunResponse second;
  ASSERT_THAT(api_->Run(WithToken(nullptr), Demo(1, 0, 0), &second), IsOk());
  const int64_t after = absl::ToUnixMillis(absl::Now());
  EXPECT_EQ(first.code(), 200) << first.msg();
  EXPECT_EQ(second.code(), 200) << second.msg();
  // Above every id an admin would hand out, and never the same twice.
  EXPECT_GE(first.log_id(), int64_t{1} << 62);
  EXPECT_GT(second.log_id(), first.log_id());
  EXPECT_GE(first.log_date_time(), before);
  EXPECT_LE(second.log_date_time(), after);
  // The ids given back are the run's: its result and its log say so.
  std::optional<RunResult> result = sink_.WaitFor(second.log_id());
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->handle_code, 200);
  EXPECT_EQ(result->log_date_time, second.log_date_time());
  v1::LogRequest log;
  log.set_log_id(second.log_id());
  log.set_log_date_time(second.log_date_time());
  log.set_from_line_num(1);
  v1::LogResponse page;
  ASSERT_THAT(api_->Log(WithToken(nullptr), log, &page), IsOk());
  EXPECT_EQ(page.code(), 200) << page.msg();
  EXPECT_NE(page.log_content().find("xxl-executor job execute start"),
            std::string::npos);
}

TEST_F(ApiHandlerTest, AGivenLogIdAndTimeAreKeptAndEchoed) {
  Start();
  v1::RunResponse response;
  ASSERT_THAT(
      api_->Run(WithToken(nullptr), Demo(2, 77, 1700000000000), &response),
      IsOk());
  EXPECT_EQ(response.code(), 200);
  EXPECT_EQ(response.log_id(), 77);
  EXPECT_EQ(response.log_date_time(), 1700000000000);
  // Only the missing one is filled in.
  ASSERT_THAT(api_->Run(WithToken(nullptr), Demo(3, 78, 0), &response), IsOk());
  EXPECT_EQ(response.log_id(), 78);
  EXPECT_GT(response.log_date_time(), 1700000000000);
}

TEST_F(ApiHandlerTest, NegativeLogIdIsStillInvalid) {
  Start();
  v1::RunResponse response;
  EXPECT_THAT(api_->Run(WithToken(nullptr), Demo(1, -1, 0), &response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "log_id must be >= 0, got -1"));
}

TEST_F(ApiHandlerTest, BusinessRefusalIsCode500AndCallFailureIsAStatus) {
  Start();
  v1::RunRequest unknown = Demo(1, 5, 1);
  unknown.set_executor_handler("noSuchHandler");
  v1::RunResponse response;
  ASSERT_THAT(api_->Run(WithToken(nullptr), unknown, &response), IsOk());
  EXPECT_EQ(response.code(), 500);
  EXPECT_EQ(response.msg(), "job handler [noSuchHandler] not found.");
  EXPECT_EQ(response.log_id(), 0);
  executor_->Drain();
  EXPECT_THAT(
      api_->Run(WithToken(nullptr), Demo(1, 6, 1), &response),
      StatusIs(absl::StatusCode::kUnavailable, "executor is shutting down"));
}

TEST_F(ApiHandlerTest, BeatReportsIdentityAddressAndBounds) {
  ApiOptions options;
  options.app_name = "edge-app";
  options.max_tail_streams = 7;
  Start(options);
  v1::BeatResponse beat;
  ASSERT_THAT(api_->Beat(WithToken(nullptr), &beat), IsOk());
  EXPECT_EQ(beat.app_name(), "edge-app");
  EXPECT_EQ(beat.address(), "");
  api_->set_address("10.1.2.3:9999");
  ASSERT_THAT(api_->Beat(WithToken(nullptr), &beat), IsOk());
  EXPECT_EQ(beat.address(), "10.1.2.3:9999");
  EXPECT_EQ(beat.max_tail_streams(), 7);
  EXPECT_EQ(beat.tail_streams(), 0);
  EXPECT_EQ(beat.version(), kExecutorVersion);
}

TEST_F(ApiHandlerTest, TailStreamSlotsAreBoundedAndComeBack) {
  ApiOptions options;
  options.max_tail_streams = 2;
  Start(options);
  v1::LogRequest log;
  log.set_log_id(1);
  log.set_log_date_time(1);
  log.set_from_line_num(1);
  auto a = api_->OpenTailStream(WithToken(nullptr), log);
  auto b = api_->OpenTailStream(WithToken(nullptr), log);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT(api_->OpenTailStream(WithToken(nullptr), log).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "too many TailLog streams: 2 are open "
                       "(max_tail_streams=2)"));
  a->Release();
  EXPECT_TRUE(api_->OpenTailStream(WithToken(nullptr), log).ok());
}

}  // namespace
}  // namespace xxljob

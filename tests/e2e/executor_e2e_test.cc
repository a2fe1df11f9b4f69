// End to end: the real server on 127.0.0.1:0, driven through the generated
// stub, with real worker threads and run logs in a temp dir.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/app/executor_app.h"
#include "server/core/executor.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/reflection_client.h"
#include "tests/testing/temp_dir.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::xxljob::testing::Eventually;

constexpr char kForever[] = "600000";

class ExecutorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
    ASSERT_TRUE(registry_.Register("probe", probe_.AsHandler()).ok());
    ASSERT_TRUE(registry_
                    .Register("spam",
                              [](RunContext& ctx) {
                                int n = std::stoi(ctx.params());
                                for (int i = 1; i <= n; ++i) {
                                  ctx.Logf("spam line %d", i);
                                }
                              })
                    .ok());
  }

  void StartServer(AppOptions options = {}) {
    options.grpc.listen = "127.0.0.1:0";
    options.executor.log_path = dir_.path();
    auto server = ExecutorApp::StartWithSink(options, &registry_, &sink_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    token_ = options.api.access_token;
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->grpc_port()),
                            grpc::InsecureChannelCredentials());
    stub_ = v1::Executor::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    if (!token.empty()) context->AddMetadata("xxl-job-access-token", token);
    return context;
  }

  static v1::RunRequest Req(
      int64_t job_id, int64_t log_id, std::string handler = "probe",
      std::string params = "0",
      v1::BlockStrategy strategy = v1::BLOCK_STRATEGY_UNSPECIFIED) {
    v1::RunRequest r;
    r.set_job_id(job_id);
    r.set_log_id(log_id);
    r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
    r.set_executor_handler(std::move(handler));
    r.set_executor_params(std::move(params));
    r.set_executor_block_strategy(strategy);
    return r;
  }

  // Calls Run and returns the response; the call itself must succeed.
  v1::RunResponse Run(const v1::RunRequest& request) {
    v1::RunResponse response;
    grpc::Status s = stub_->Run(Context(token_).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  grpc::Status RunStatus(const v1::RunRequest& request) {
    v1::RunResponse response;
    return stub_->Run(Context(token_).get(), request, &response);
  }
  v1::KillResponse Kill(int64_t job_id, int64_t log_id = 0) {
    v1::KillRequest request;
    request.set_job_id(job_id);
    request.set_log_id(log_id);
    v1::KillResponse response;
    grpc::Status s = stub_->Kill(Context(token_).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  v1::LogResponse Log(int64_t log_date_time, int64_t log_id, int32_t from) {
    v1::LogRequest request;
    request.set_log_date_time(log_date_time);
    request.set_log_id(log_id);
    request.set_from_line_num(from);
    v1::LogResponse response;
    grpc::Status s = stub_->Log(Context(token_).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  v1::BeatResponse Beat() {
    v1::BeatResponse response;
    grpc::Status s =
        stub_->Beat(Context(token_).get(), v1::BeatRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  int32_t IdleBeat(int64_t job_id) {
    v1::IdleBeatRequest request;
    request.set_job_id(job_id);
    v1::IdleBeatResponse response;
    grpc::Status s = stub_->IdleBeat(Context(token_).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.code();
  }
  RunResult ResultOf(int64_t log_id) {
    std::optional<RunResult> r = sink_.WaitFor(log_id);
    EXPECT_TRUE(r.has_value()) << "no result for log " << log_id;
    return r.value_or(RunResult{});
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::ProbeHandler probe_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<ExecutorApp> server_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Executor::Stub> stub_;
};

TEST_F(ExecutorE2eTest, ReflectionListsAndDescribesExecutorAndHealth) {
  StartServer();
  testing::ReflectionClient reflection(channel_);
  auto services = reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("xxljob.v1.Executor"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
  for (const char* symbol : {"xxljob.v1.Executor", "grpc.health.v1.Health"}) {
    auto files = reflection.FilesContainingSymbol(symbol);
    ASSERT_TRUE(files.ok()) << symbol << ": " << files.status();
    bool found = false;
    for (const auto& file : *files) {
      for (const auto& service : file.service()) {
        found |= absl::StrCat(file.package(), ".", service.name()) == symbol;
      }
    }
    EXPECT_TRUE(found) << symbol;
  }
}

TEST_F(ExecutorE2eTest, HealthIsServingUntilShutdownBegins) {
  StartServer();
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto status_of = [&](const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = health->Check(Context("").get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.status();
  };
  EXPECT_EQ(status_of(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(status_of("xxljob.v1.Executor"),
            grpc::health::v1::HealthCheckResponse::SERVING);

  // A running job holds the shutdown in its grace period, long enough to
  // see the executor stop serving while it drains.
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  std::thread shutdown([&] { server_->Shutdown(absl::Seconds(5)); });
  EXPECT_TRUE(Eventually([&] {
    return status_of("") == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }));
  // Health goes NOT_SERVING first (SPEC §6); refusing triggers follows.
  int64_t log_id = 2;
  EXPECT_TRUE(Eventually([&] {
    return RunStatus(Req(1, log_id++)).error_code() ==
           grpc::StatusCode::UNAVAILABLE;
  }));
  shutdown.join();
  EXPECT_EQ(ResultOf(1).handle_msg,
            "executor shutting down [job running, killed]");
}

// What `grpcurl -plaintext -d '{"job_id":1,"executor_handler":
// "demoJobHandler"}' localhost:9999 xxljob.v1.Executor/Run` sends: the same
// JSON, mapped to the request the way grpcurl maps it.
TEST_F(ExecutorE2eTest, ManualTriggerNeedsOnlyAJobAndAHandler) {
  StartServer();
  v1::RunRequest request;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(
          R"({"job_id":1,"executor_handler":"demoJobHandler"})", &request)
          .ok());
  const int64_t before = absl::ToUnixMillis(absl::Now());
  const v1::RunResponse response = Run(request);
  ASSERT_EQ(response.code(), 200) << response.msg();
  // A log id no admin hands out, and the time of the call.
  EXPECT_GE(response.log_id(), int64_t{1} << 62);
  EXPECT_GE(response.log_date_time(), before);
  EXPECT_LE(response.log_date_time(), absl::ToUnixMillis(absl::Now()));
  // The answer says where the log is.
  EXPECT_EQ(ResultOf(response.log_id()).handle_code, 200);
  const v1::LogResponse page =
      Log(response.log_date_time(), response.log_id(), 1);
  EXPECT_EQ(page.code(), 200) << page.msg();
  EXPECT_TRUE(page.is_end());
  EXPECT_THAT(page.log_content(),
              ::testing::HasSubstr("xxl-executor job execute start"));
  // A second manual trigger gets another id.
  EXPECT_GT(Run(request).log_id(), response.log_id());
}

TEST_F(ExecutorE2eTest, BeatReportsIdentityAndLoad) {
  AppOptions options;
  options.api.app_name = "e2e-app";
  options.address = "10.1.2.3:9999";
  StartServer(options);
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_EQ(Run(Req(1, 2)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  v1::BeatResponse beat = Beat();
  EXPECT_EQ(beat.code(), 200);
  EXPECT_EQ(beat.app_name(), "e2e-app");
  EXPECT_EQ(beat.address(), "10.1.2.3:9999");
  EXPECT_FALSE(beat.version().empty());
  EXPECT_GE(beat.uptime_ms(), 0);
  EXPECT_EQ(beat.job_threads(), 1);
  EXPECT_EQ(beat.running(), 1);
  EXPECT_EQ(beat.queued(), 1);
  Kill(1);
}

// SPEC §3.1 and §3.2 through the API.
TEST_F(ExecutorE2eTest, SerialRunsInOrderAndReportsEachResult) {
  StartServer();
  for (int64_t log = 1; log <= 10; ++log) {
    ASSERT_EQ(Run(Req(3, log, "probe", "2")).code(), 200);
  }
  ASSERT_TRUE(sink_.WaitForCount(10));
  EXPECT_EQ(probe_.started(),
            (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(probe_.max_overlap(), 1);
}

// SPEC §3.3.
TEST_F(ExecutorE2eTest, DuplicateLogIdIsRefusedWithCode500) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 7, "probe", kForever)).code(), 200);
  v1::RunResponse dup = Run(Req(1, 7));
  EXPECT_EQ(dup.code(), 500);
  EXPECT_EQ(dup.msg(), "repeat trigger job, logId:7");
  Kill(1);
  ResultOf(7);
  EXPECT_EQ(sink_.count(7), 1);
}

// SPEC §3.4.
TEST_F(ExecutorE2eTest, BlockStrategiesThroughTheApi) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  v1::RunResponse discarded = Run(Req(1, 2, "probe", "0", v1::DISCARD_LATER));
  EXPECT_EQ(discarded.code(), 500);
  EXPECT_EQ(discarded.msg(), "block strategy effect: Discard Later");
  ASSERT_EQ(Run(Req(1, 3, "probe", "0", v1::SERIAL_EXECUTION)).code(), 200);
  ASSERT_EQ(Run(Req(1, 4, "probe", "0", v1::COVER_EARLY)).code(), 200);
  EXPECT_EQ(ResultOf(1).handle_msg,
            "block strategy effect: Cover Early [job running, killed]");
  EXPECT_EQ(ResultOf(3).handle_msg,
            "block strategy effect: Cover Early [job not executed, in the "
            "job queue, killed]");
  EXPECT_EQ(ResultOf(4).handle_code, 200);
  EXPECT_EQ(sink_.count(2), 0);
}

// SPEC §3.5.
TEST_F(ExecutorE2eTest, HandlerChangeReplacesTheJobThread) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_EQ(Run(Req(1, 2, "demoJobHandler", "x")).code(), 200);
  EXPECT_EQ(ResultOf(1).handle_msg,
            "change jobhandler or glue type [job running, killed]");
  EXPECT_EQ(ResultOf(2).handle_code, 200);
}

// SPEC §3.6, §3.8.
TEST_F(ExecutorE2eTest, KillStopsSleepingRunAtOnceAndFailsQueued) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "sleepJobHandler", kForever)).code(), 200);
  ASSERT_EQ(Run(Req(1, 2, "sleepJobHandler", "0")).code(), 200);
  ASSERT_TRUE(Eventually([&] { return Beat().running() == 1; }));
  EXPECT_EQ(IdleBeat(1), 500);
  v1::KillResponse kill = Kill(1);
  EXPECT_EQ(kill.code(), 200);
  EXPECT_EQ(ResultOf(1).handle_msg,
            "scheduling center kill job [job running, killed]");
  EXPECT_EQ(ResultOf(2).handle_msg,
            "scheduling center kill job [job not executed, in the job queue, "
            "killed]");
  ASSERT_TRUE(Eventually([&] { return IdleBeat(1) == 200; }));
}

TEST_F(ExecutorE2eTest, KillByLogIdAndUnknownRun) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_EQ(Run(Req(1, 2, "probe", "0")).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  EXPECT_EQ(Kill(1, 2).code(), 200);
  EXPECT_THAT(ResultOf(2).handle_msg, HasSubstr("[job not executed"));
  v1::KillResponse unknown = Kill(1, 99);
  EXPECT_EQ(unknown.code(), 500);
  EXPECT_THAT(unknown.msg(), HasSubstr("99"));
  EXPECT_EQ(Kill(1, 1).code(), 200);
  EXPECT_THAT(ResultOf(1).handle_msg, HasSubstr("[job running, killed]"));
}

// SPEC §3.7.
TEST_F(ExecutorE2eTest, TimeoutIs502AndTheRunHasStopped) {
  StartServer();
  v1::RunRequest r = Req(1, 1, "probe", kForever);
  r.set_executor_timeout(1);
  ASSERT_EQ(Run(r).code(), 200);
  RunResult result = ResultOf(1);
  EXPECT_EQ(result.handle_code, 502);
  EXPECT_EQ(result.handle_msg, "job execute timeout");
  EXPECT_TRUE(probe_.has_ended(1));
}

// SPEC §3.9, §3.10.
TEST_F(ExecutorE2eTest, FailuresShardsAndUnknownHandlers) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "failJobHandler", "bad thing")).code(), 200);
  EXPECT_EQ(ResultOf(1).handle_msg, "bad thing");
  v1::RunRequest shard = Req(2, 2, "shardingJobHandler");
  shard.set_broadcast_index(3);
  shard.set_broadcast_total(4);
  ASSERT_EQ(Run(shard).code(), 200);
  EXPECT_EQ(ResultOf(2).handle_msg, "shard 3/4");
  ASSERT_EQ(Run(Req(3, 3, "shardingJobHandler")).code(), 200);
  EXPECT_EQ(ResultOf(3).handle_msg, "shard 0/1");  // Non-broadcast.
  v1::RunResponse unknown = Run(Req(4, 4, "nope"));
  EXPECT_EQ(unknown.code(), 500);
  EXPECT_EQ(unknown.msg(), "job handler [nope] not found.");
  v1::RunRequest groovy = Req(5, 5);
  groovy.set_glue_type(v1::GLUE_GROOVY);
  EXPECT_EQ(Run(groovy).code(), 500);
  v1::RunRequest shell = Req(6, 6);
  shell.set_glue_type(v1::GLUE_SHELL);
  v1::RunResponse refused = Run(shell);
  EXPECT_EQ(refused.code(), 500);
  EXPECT_EQ(refused.msg(), "script jobs are disabled on this executor");
}

TEST_F(ExecutorE2eTest, AccessTokenIsRequiredOnEveryMethod) {
  AppOptions options;
  options.api.access_token = "s3cret";
  StartServer(options);
  for (const std::string& token :
       {std::string(""), std::string("wrong"), std::string("s3cre"),
        std::string("s3cret!")}) {
    v1::BeatResponse beat;
    EXPECT_EQ(stub_->Beat(Context(token).get(), {}, &beat).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::IdleBeatRequest idle;
    idle.set_job_id(1);
    v1::IdleBeatResponse idle_response;
    EXPECT_EQ(stub_->IdleBeat(Context(token).get(), idle, &idle_response)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::RunResponse run;
    EXPECT_EQ(stub_->Run(Context(token).get(), Req(1, 1), &run).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::KillRequest kill;
    kill.set_job_id(1);
    v1::KillResponse kill_response;
    EXPECT_EQ(
        stub_->Kill(Context(token).get(), kill, &kill_response).error_code(),
        grpc::StatusCode::UNAUTHENTICATED);
    v1::LogRequest log;
    log.set_log_id(1);
    log.set_log_date_time(1);
    log.set_from_line_num(1);
    v1::LogResponse log_response;
    EXPECT_EQ(stub_->Log(Context(token).get(), log, &log_response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(sink_.accepted().empty());
  EXPECT_EQ(Beat().code(), 200);  // With the right token.
}

// SPEC §2: each INVALID_ARGUMENT case names its field.
TEST_F(ExecutorE2eTest, MalformedRunRequestsAreInvalidArgument) {
  StartServer();
  struct Case {
    const char* field;
    std::function<void(v1::RunRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"job_id", [](v1::RunRequest& r) { r.set_job_id(0); }},
      {"job_id", [](v1::RunRequest& r) { r.set_job_id(-5); }},
      {"log_id", [](v1::RunRequest& r) { r.set_log_id(-1); }},
      {"executor_timeout",
       [](v1::RunRequest& r) { r.set_executor_timeout(-1); }},
      {"broadcast_index", [](v1::RunRequest& r) { r.set_broadcast_index(-1); }},
      {"broadcast_total", [](v1::RunRequest& r) { r.set_broadcast_total(-1); }},
      {"broadcast_index",
       [](v1::RunRequest& r) {
         r.set_broadcast_index(2);
         r.set_broadcast_total(2);
       }},
      {"executor_handler",
       [](v1::RunRequest& r) { r.set_executor_handler(""); }},
      {"executor_handler",
       [](v1::RunRequest& r) {
         r.set_executor_handler(std::string(300, 'h'));
       }},
      {"executor_block_strategy",
       [](v1::RunRequest& r) {
         r.set_executor_block_strategy(static_cast<v1::BlockStrategy>(42));
       }},
      {"glue_type",
       [](v1::RunRequest& r) {
         r.set_glue_type(static_cast<v1::GlueType>(99));
       }},
      {"executor_params",
       [](v1::RunRequest& r) {
         r.set_executor_params(std::string(64 * 1024 + 1, 'p'));
       }},
      {"glue_source",
       [](v1::RunRequest& r) {
         r.set_glue_type(v1::GLUE_SHELL);
         r.set_glue_source(std::string(1024 * 1024 + 1, 's'));
       }},
  };
  int64_t log = 100;
  for (const Case& c : cases) {
    v1::RunRequest r = Req(1, ++log, "demoJobHandler");
    c.mutate(r);
    grpc::Status s = RunStatus(r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(s.error_message(), HasSubstr(c.field));
  }
  // The other methods.
  v1::IdleBeatResponse idle;
  EXPECT_EQ(stub_->IdleBeat(Context("").get(), {}, &idle).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::KillRequest kill;
  kill.set_job_id(1);
  kill.set_log_id(-1);
  v1::KillResponse kill_response;
  EXPECT_EQ(stub_->Kill(Context("").get(), kill, &kill_response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::LogRequest bad_log;
  bad_log.set_log_id(1);
  bad_log.set_log_date_time(1);
  bad_log.set_from_line_num(0);
  v1::LogResponse log_response;
  grpc::Status s = stub_->Log(Context("").get(), bad_log, &log_response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("from_line_num"));
  EXPECT_TRUE(sink_.accepted().empty());
  EXPECT_EQ(Beat().code(), 200);  // Still serving.
}

TEST_F(ExecutorE2eTest, QueueBoundIsResourceExhausted) {
  AppOptions options;
  options.executor.max_queue_depth = 1;
  StartServer(options);
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  ASSERT_EQ(Run(Req(1, 2)).code(), 200);
  EXPECT_EQ(RunStatus(Req(1, 3)).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  Kill(1);
}

TEST_F(ExecutorE2eTest, DrainingServerAnswersUnavailable) {
  StartServer();
  server_->executor().Drain();
  EXPECT_EQ(RunStatus(Req(1, 1)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Races, through the API.
TEST_F(ExecutorE2eTest, HundredConcurrentFirstTriggersMakeOneJobThread) {
  StartServer();
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int64_t log = 1; log <= 100; ++log) {
    threads.emplace_back([&, log] {
      if (Run(Req(42, log, "probe", "1")).code() == 200) ++accepted;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(Beat().job_threads(), 1);
  ASSERT_TRUE(sink_.WaitForCount(100));
  for (int64_t log = 1; log <= 100; ++log) EXPECT_EQ(sink_.count(log), 1);
  EXPECT_EQ(probe_.max_overlap(), 1);
}

TEST_F(ExecutorE2eTest, KillDuringABurstLeavesOneResultPerAcceptedTrigger) {
  StartServer();
  std::atomic<bool> done{false};
  std::thread killer([&] {
    while (!done) Kill(5);
  });
  std::vector<std::thread> triggers;
  for (int w = 0; w < 4; ++w) {
    triggers.emplace_back([&, w] {
      for (int64_t i = 1; i <= 50; ++i) Run(Req(5, w * 100 + i, "probe", "1"));
    });
  }
  for (std::thread& t : triggers) t.join();
  done = true;
  killer.join();
  const std::vector<int64_t> accepted = sink_.accepted();
  EXPECT_EQ(accepted.size(), 200u);
  ASSERT_TRUE(sink_.WaitForCount(accepted.size()));
  for (int64_t log : accepted) EXPECT_EQ(sink_.count(log), 1) << log;
}

TEST_F(ExecutorE2eTest, TriggerRacingIdleReclaimIsStillRun) {
  AppOptions options;
  options.executor.idle_timeout = absl::Milliseconds(1);
  StartServer(options);
  for (int64_t log = 1; log <= 100; ++log) {
    ASSERT_EQ(Run(Req(1, log, "demoJobHandler")).code(), 200);
    ASSERT_EQ(ResultOf(log).handle_code, 200);
  }
  ASSERT_TRUE(Eventually([&] { return Beat().job_threads() == 0; }));
}

// SPEC §4 through the API: paging a 200,000-line log.
TEST_F(ExecutorE2eTest, PagesThroughA200000LineLog) {
  StartServer();
  v1::RunRequest r = Req(1, 1, "spam", "200000");
  ASSERT_EQ(Run(r).code(), 200);
  ASSERT_EQ(ResultOf(1).handle_code, 200);
  int32_t from = 1;
  int spam_seen = 0;
  int pages = 0;
  while (true) {
    v1::LogResponse page = Log(r.log_date_time(), 1, from);
    ASSERT_EQ(page.code(), 200) << page.msg();
    ASSERT_EQ(page.from_line_num(), from);
    ++pages;
    // Each line is "<date> <time> spam line N" except the start/end lines.
    size_t pos = 0;
    while ((pos = page.log_content().find("spam line ", pos)) !=
           std::string::npos) {
      pos += 10;
      const size_t end = page.log_content().find('\n', pos);
      ASSERT_EQ(std::stoi(page.log_content().substr(pos, end - pos)),
                ++spam_seen);
    }
    if (page.is_end()) break;
    ASSERT_GE(page.to_line_num(), from) << "no progress";
    from = page.to_line_num() + 1;
  }
  EXPECT_EQ(spam_seen, 200000);
  EXPECT_GT(pages, 50);  // Capped pages, not one huge answer.
  // Beyond the end: an empty page.
  v1::LogResponse beyond = Log(r.log_date_time(), 1, 1000000);
  EXPECT_EQ(beyond.to_line_num(), 999999);
  EXPECT_TRUE(beyond.log_content().empty());
  // Unknown run: 500, nothing created.
  v1::LogResponse unknown = Log(r.log_date_time(), 2, 1);
  EXPECT_EQ(unknown.code(), 500);
  EXPECT_EQ(unknown.msg(), "log file not found");
}

TEST_F(ExecutorE2eTest, ShutdownReportsRunningAndQueuedRuns) {
  StartServer();
  ASSERT_EQ(Run(Req(1, 1, "probe", kForever)).code(), 200);
  ASSERT_EQ(Run(Req(1, 2)).code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(1));
  server_->Shutdown(absl::Milliseconds(100));
  EXPECT_EQ(ResultOf(1).handle_msg,
            "executor shutting down [job running, killed]");
  EXPECT_THAT(ResultOf(2).handle_msg, HasSubstr("[job not executed"));
}

TEST_F(ExecutorE2eTest, BusyPortIsUnavailable) {
  StartServer();
  AppOptions options;
  options.grpc.listen = absl::StrCat("127.0.0.1:", server_->grpc_port());
  options.executor.log_path = dir_.path();
  auto second = ExecutorApp::StartWithSink(options, &registry_, &sink_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace xxljob

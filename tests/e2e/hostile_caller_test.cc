// Hostile callers (SPEC §8): oversize requests, absurd field values, log id
// collisions, TailLog streams past their bound or never read, connection
// churn and token guessing, against the real server on 127.0.0.1 (in this
// process, or as a real xxl-executor process where only a process shows
// the effect: its descriptors, threads and log). In every test a
// well-behaved caller keeps being served during and after the abuse.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/app/executor_app.h"
#include "server/core/executor.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/temp_dir.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::kWaitTimeout;

constexpr char kToken[] = "s3cret";
constexpr char kForever[] = "600000";
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

using testing::kRssIsMeaningful;

// What /proc says about a process.
struct ProcessUse {
  int fds = 0;
  int threads = 0;
  int64_t rss_kb = 0;
};

ProcessUse UseOf(pid_t pid) {
  const std::filesystem::path proc =
      std::filesystem::path("/proc") / std::to_string(pid);
  ProcessUse use;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(proc / "fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++use.fds;
  }
  std::ifstream status(proc / "status");
  std::string line;
  while (std::getline(status, line)) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t:"), absl::SkipEmpty());
    if (parts.size() < 2) continue;
    if (parts[0] == "Threads") (void)absl::SimpleAtoi(parts[1], &use.threads);
    if (parts[0] == "VmRSS") (void)absl::SimpleAtoi(parts[1], &use.rss_kb);
  }
  return use;
}

std::string Describe(const ProcessUse& u) {
  return absl::StrCat(u.fds, " fds, ", u.threads, " threads, ", u.rss_kb,
                      " kB RSS");
}

// A channel with a connection of its own: channels with the same target
// and arguments otherwise share one connection.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& token, absl::Duration timeout = kWaitTimeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token.empty()) context->AddMetadata("xxl-job-access-token", token);
  return context;
}

// A Beat from a well-behaved caller, on a connection of its own, with a
// deadline short enough to show that the executor answers promptly.
grpc::Status GoodBeat(const std::string& target, const std::string& token,
                      v1::BeatResponse* response = nullptr) {
  v1::BeatResponse ignored;
  auto stub = v1::Executor::NewStub(OwnChannel(target));
  return stub->Beat(Context(token, absl::Seconds(10)).get(), v1::BeatRequest(),
                    response != nullptr ? response : &ignored);
}

// Calls `method` with `bytes` as the request, whatever they are.
grpc::Status RawCall(const std::string& target, const std::string& method,
                     const std::string& bytes, const std::string& token) {
  grpc::GenericStub generic(OwnChannel(target));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer reply;
  auto context = Context(token);
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                    &reply, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  if (!done.WaitForNotificationWithTimeout(kWaitTimeout * 2)) {
    context->TryCancel();
    done.WaitForNotification();
  }
  return status;
}

class HostileCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
    ASSERT_TRUE(registry_.Register("probe", probe_.AsHandler()).ok());
    ASSERT_TRUE(registry_
                    .Register("spam",
                              [](RunContext& ctx) {
                                const int n = std::stoi(ctx.params());
                                for (int i = 1; i <= n; ++i) {
                                  ctx.Logf("spam line %d of a long log", i);
                                }
                              })
                    .ok());
  }

  void StartServer(AppOptions options = {}) {
    options.grpc.listen = "127.0.0.1:0";
    options.api.access_token = kToken;
    options.executor.log_path = dir_.path();
    auto server = ExecutorApp::StartWithSink(options, &registry_, &sink_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    target_ = absl::StrCat("127.0.0.1:", server_->grpc_port());
    stub_ = v1::Executor::NewStub(OwnChannel(target_));
  }

  v1::RunRequest Req(int64_t job_id, int64_t log_id,
                     std::string handler = "demoJobHandler",
                     std::string params = "") {
    v1::RunRequest r;
    r.set_job_id(job_id);
    r.set_log_id(log_id);
    r.set_log_date_time(now_ms_);
    r.set_executor_handler(std::move(handler));
    r.set_executor_params(std::move(params));
    return r;
  }
  grpc::Status Run(const v1::RunRequest& request,
                   v1::RunResponse* response = nullptr) {
    v1::RunResponse ignored;
    return stub_->Run(Context(kToken).get(), request,
                      response != nullptr ? response : &ignored);
  }
  v1::BeatResponse Beat() {
    v1::BeatResponse response;
    grpc::Status s = GoodBeat(target_, kToken, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  // A well-behaved caller's whole trigger: accepted, run, reported.
  void ExpectGoodRunWorks(int64_t job_id, int64_t log_id) {
    v1::RunResponse response;
    grpc::Status s = Run(Req(job_id, log_id), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.code(), 200) << response.msg();
    std::optional<RunResult> result = sink_.WaitFor(log_id);
    ASSERT_TRUE(result.has_value()) << "no result for log " << log_id;
    EXPECT_EQ(result->handle_code, 200) << result->handle_msg;
  }

  const int64_t now_ms_ = absl::ToUnixMillis(absl::Now());
  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::ProbeHandler probe_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<ExecutorApp> server_;
  std::string target_;
  std::unique_ptr<v1::Executor::Stub> stub_;
};

// Requests past --max_request_bytes are refused by gRPC before they reach
// the service, naming the limit; fields past their own limit are
// INVALID_ARGUMENT naming the field. Meanwhile others are served.
TEST_F(HostileCallerTest, OversizeRequestsAreRefusedAndOthersServed) {
  AppOptions options;
  options.api.max_request_bytes = 256 * 1024;
  options.api.field_limits.max_params_bytes = 1000;
  StartServer(options);

  std::atomic<int> refused{0};
  std::vector<std::thread> abusers;
  for (int t = 0; t < 4; ++t) {
    abusers.emplace_back([&, t] {
      auto stub = v1::Executor::NewStub(OwnChannel(target_));
      for (int i = 0; i < 10; ++i) {
        v1::RunRequest r = Req(1, 1000 + t * 100 + i);
        r.set_glue_type(v1::GLUE_SHELL);
        r.set_glue_source(std::string(1024 * 1024, 'x'));
        v1::RunResponse response;
        grpc::Status s = stub->Run(Context(kToken).get(), r, &response);
        EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
            << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr("262144"));
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
      }
    });
  }
  // A well-behaved caller, while the abuse goes on.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Beat().code(), 200);
  }
  for (std::thread& t : abusers) t.join();
  EXPECT_EQ(refused, 40);

  // Raw bytes past the limit, to a method with an empty request.
  grpc::Status raw = RawCall(target_, "/xxljob.v1.Executor/Beat",
                             std::string(512 * 1024, '\x01'), kToken);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << raw.error_message();

  // Within the message limit, past a field's.
  grpc::Status s = Run(Req(1, 1, "demoJobHandler", std::string(1001, 'p')));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "executor_params is 1001 bytes; the limit is 1000");

  EXPECT_TRUE(sink_.accepted().empty());
  ExpectGoodRunWorks(2, 2);
}

// Every absurd value gets INVALID_ARGUMENT naming its field; nothing is
// queued, no result is produced, and the executor goes on serving.
TEST_F(HostileCallerTest, AbsurdFieldValuesGetAClearErrorAndLoseNothing) {
  StartServer();
  using R = v1::RunRequest;
  struct Case {
    const char* field;
    std::function<void(R&)> mutate;
  };
  const std::vector<Case> cases = {
      {"job_id", [](R& r) { r.set_job_id(kInt64Min); }},
      {"job_id", [](R& r) { r.set_job_id(-1); }},
      {"job_id", [](R& r) { r.set_job_id(0); }},
      {"log_id", [](R& r) { r.set_log_id(kInt64Min); }},
      {"log_date_time", [](R& r) { r.set_log_date_time(kInt64Max); }},
      {"log_date_time", [](R& r) { r.set_log_date_time(kInt64Min); }},
      {"log_date_time", [](R& r) { r.set_log_date_time(-1); }},
      {"executor_timeout", [](R& r) { r.set_executor_timeout(kInt32Min); }},
      {"glue_updatetime", [](R& r) { r.set_glue_updatetime(kInt64Min); }},
      {"broadcast_index", [](R& r) { r.set_broadcast_index(kInt32Min); }},
      {"broadcast_total", [](R& r) { r.set_broadcast_total(kInt32Min); }},
      {"broadcast_index",
       [](R& r) {
         r.set_broadcast_total(kInt32Max);
         r.set_broadcast_index(kInt32Max);
       }},
      {"broadcast_index", [](R& r) { r.set_broadcast_index(kInt32Max); }},
      {"executor_block_strategy",
       [](R& r) {
         r.set_executor_block_strategy(static_cast<v1::BlockStrategy>(99));
       }},
      {"executor_block_strategy",
       [](R& r) {
         r.set_executor_block_strategy(
             static_cast<v1::BlockStrategy>(kInt32Min));
       }},
      {"glue_type",
       [](R& r) { r.set_glue_type(static_cast<v1::GlueType>(1000)); }},
      {"glue_type",
       [](R& r) { r.set_glue_type(static_cast<v1::GlueType>(-1)); }},
      {"executor_handler", [](R& r) { r.set_executor_handler(""); }},
      {"executor_handler",
       [](R& r) { r.set_executor_handler(std::string(256, 'h')); }},
      {"executor_handler",
       [](R& r) { r.set_executor_handler(std::string(3 << 20, 'h')); }},
      {"executor_handler",
       [](R& r) { r.set_executor_handler("demoJobHandler\n[job 1 log 2]"); }},
      {"executor_handler",
       [](R& r) { r.set_executor_handler(std::string("demo\0x", 6)); }},
      {"executor_handler", [](R& r) { r.set_executor_handler("\x1b[2Jdemo"); }},
      {"executor_params",
       [](R& r) { r.set_executor_params(std::string(64 * 1024 + 1, 'p')); }},
      {"glue_source",
       [](R& r) {
         r.set_glue_type(v1::GLUE_SHELL);
         r.set_glue_source(std::string((1 << 20) + 1, 's'));
       }},
  };
  int64_t log_id = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("case ", log_id, " (", c.field, ")"));
    v1::RunRequest r = Req(1, log_id++);
    c.mutate(r);
    grpc::Status s = Run(r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(c.field));
    EXPECT_LT(s.error_message().size(), 200u);  // Never echoes a huge field.
  }

  // The other methods.
  v1::IdleBeatRequest idle;
  idle.set_job_id(kInt64Min);
  v1::IdleBeatResponse idle_response;
  EXPECT_EQ(
      stub_->IdleBeat(Context(kToken).get(), idle, &idle_response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  v1::KillRequest kill;
  kill.set_job_id(1);
  kill.set_log_id(kInt64Min);
  v1::KillResponse kill_response;
  grpc::Status kill_status =
      stub_->Kill(Context(kToken).get(), kill, &kill_response);
  EXPECT_EQ(kill_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(kill_status.error_message(), HasSubstr("log_id"));
  for (auto mutate : std::vector<std::function<void(v1::LogRequest&)>>{
           [](v1::LogRequest& l) { l.set_from_line_num(kInt32Min); },
           [](v1::LogRequest& l) { l.set_log_id(kInt64Min); },
           [](v1::LogRequest& l) { l.set_log_date_time(kInt64Max); }}) {
    v1::LogRequest log;
    log.set_log_id(1);
    log.set_log_date_time(now_ms_);
    log.set_from_line_num(1);
    mutate(log);
    v1::LogResponse log_response;
    EXPECT_EQ(
        stub_->Log(Context(kToken).get(), log, &log_response).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
    auto context = Context(kToken);
    auto reader = stub_->TailLog(context.get(), log);
    while (reader->Read(&log_response)) {
    }
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // A string that is not UTF-8 makes the request unparsable (proto3
  // strings), and so do bytes that are no protobuf at all.
  {
    v1::RunRequest r = Req(1, 900, "demo\xff\xfeJobHandler");
    grpc::Status s = Run(r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(),
                HasSubstr("request is not a valid xxljob.v1.RunRequest"));
    // Field 1 as a length-delimited field of 0x7f bytes, of which only 2
    // follow: truncated.
    const std::string garbage = "\x0a\x7f\x01\x02";
    for (const char* method :
         {"/xxljob.v1.Executor/Log", "/xxljob.v1.Executor/Run"}) {
      grpc::Status status = RawCall(target_, method, garbage, kToken);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << ": " << status.error_message();
    }
    // An unknown method stays UNIMPLEMENTED.
    EXPECT_EQ(RawCall(target_, "/xxljob.v1.Executor/NoSuchMethod", "", kToken)
                  .error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }

  EXPECT_TRUE(sink_.accepted().empty());
  EXPECT_EQ(Beat().job_threads(), 0);
  // Extreme but valid values work.
  v1::RunRequest extreme = Req(kInt64Max, kInt64Max);
  extreme.set_executor_timeout(kInt32Max);
  extreme.set_glue_updatetime(kInt64Max);
  extreme.set_broadcast_total(kInt32Max);
  extreme.set_broadcast_index(kInt32Max - 1);
  v1::RunResponse response;
  ASSERT_TRUE(Run(extreme, &response).ok());
  EXPECT_EQ(response.code(), 200) << response.msg();
  std::optional<RunResult> result = sink_.WaitFor(kInt64Max);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->handle_code, 200);
  ExpectGoodRunWorks(2, 2);
}

// A log id reused while its run is active is refused whatever the job or
// block strategy, and the run it collides with is untouched.
TEST_F(HostileCallerTest, CollidingLogIdsAreRefusedAndLoseNothing) {
  StartServer();
  v1::RunResponse response;
  ASSERT_TRUE(Run(Req(1, 7, "probe", kForever), &response).ok());
  ASSERT_EQ(response.code(), 200);
  ASSERT_TRUE(probe_.WaitStarted(7));
  v1::RunRequest cover = Req(1, 7, "probe", "0");
  cover.set_executor_block_strategy(v1::COVER_EARLY);
  v1::RunRequest other_handler = Req(1, 7, "demoJobHandler");
  for (const v1::RunRequest& r :
       {Req(2, 7), Req(1, 7, "probe", "0"), cover, other_handler}) {
    ASSERT_TRUE(Run(r, &response).ok());
    EXPECT_EQ(response.code(), 500);
    EXPECT_EQ(response.msg(), "repeat trigger job, logId:7");
  }
  EXPECT_TRUE(probe_.ended().empty());  // Still running.
  EXPECT_EQ(Beat().job_threads(), 1);   // Job 2 got no thread.
  v1::KillRequest kill;
  kill.set_job_id(1);
  v1::KillResponse kill_response;
  ASSERT_TRUE(stub_->Kill(Context(kToken).get(), kill, &kill_response).ok());
  std::optional<RunResult> result = sink_.WaitFor(7);
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->handle_msg, HasSubstr("[job running, killed]"));
  ExpectGoodRunWorks(3, 8);
  EXPECT_EQ(sink_.count(7), 1);
  EXPECT_EQ(sink_.accepted(), (std::vector<int64_t>{7, 8}));
}

// A TailLog call reading on a thread of its own until the stream ends.
class Follower {
 public:
  Follower(v1::Executor::Stub* stub, const v1::LogRequest& request)
      : context_(Context(kToken)),
        reader_(stub->TailLog(context_.get(), request)),
        thread_([this] {
          v1::LogResponse page;
          while (reader_->Read(&page)) ++pages_;
          status_ = reader_->Finish();
          done_.Notify();
        }) {}
  ~Follower() {
    context_->TryCancel();
    thread_.join();
  }
  void Cancel() { context_->TryCancel(); }
  grpc::Status Wait() {
    if (!done_.WaitForNotificationWithTimeout(kWaitTimeout)) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "not ended");
    }
    return status_;
  }
  int pages() const { return pages_.load(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::LogResponse>> reader_;
  std::atomic<int> pages_{0};
  grpc::Status status_;
  absl::Notification done_;
  std::thread thread_;
};

TEST_F(HostileCallerTest, TailLogStreamsAreBoundedAndFreedWhenTheyEnd) {
  AppOptions options;
  options.api.max_tail_streams = 3;
  StartServer(options);
  ASSERT_TRUE(Run(Req(1, 1, "probe", kForever)).ok());
  ASSERT_TRUE(probe_.WaitStarted(1));
  v1::LogRequest follow;
  follow.set_log_id(1);
  follow.set_log_date_time(now_ms_);
  follow.set_from_line_num(1);
  std::vector<std::unique_ptr<Follower>> followers;
  for (int i = 0; i < 3; ++i) {
    followers.push_back(std::make_unique<Follower>(stub_.get(), follow));
  }
  ASSERT_TRUE(Eventually([&] { return Beat().tail_streams() == 3; }));
  EXPECT_EQ(Beat().max_tail_streams(), 3);
  {
    Follower refused(stub_.get(), follow);
    grpc::Status s = refused.Wait();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(s.error_message(),
              "too many TailLog streams: 3 are open (max_tail_streams=3)");
    EXPECT_EQ(refused.pages(), 0);
  }
  // A client going away frees its slot, and a refusal took none.
  followers[0]->Cancel();
  EXPECT_EQ(followers[0]->Wait().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(Eventually([&] { return Beat().tail_streams() == 2; }));
  followers[0] = std::make_unique<Follower>(stub_.get(), follow);
  ASSERT_TRUE(Eventually([&] { return Beat().tail_streams() == 3; }));
  // Streams that end with their run free theirs too.
  v1::KillRequest kill;
  kill.set_job_id(1);
  v1::KillResponse kill_response;
  ASSERT_TRUE(stub_->Kill(Context(kToken).get(), kill, &kill_response).ok());
  for (auto& f : followers) EXPECT_TRUE(f->Wait().ok());
  EXPECT_TRUE(Eventually([&] { return Beat().tail_streams() == 0; }));
  ExpectGoodRunWorks(2, 2);
}

// Followers that never read: each costs its stream one page in flight plus
// the transport's window, the executor keeps answering others promptly,
// and the streams end when their clients cancel or the server shuts down.
TEST_F(HostileCallerTest, TailLogClientsThatNeverReadDoNotHoldUpOthers) {
  StartServer();
  // A log of about 5 MB.
  ASSERT_TRUE(Run(Req(1, 1, "spam", "150000")).ok());
  ASSERT_TRUE(sink_.WaitFor(1).has_value());
  // The same, still running (for the shutdown below).
  ASSERT_TRUE(Run(Req(2, 2, "probe", kForever)).ok());
  ASSERT_TRUE(probe_.WaitStarted(2));

  const ProcessUse before = UseOf(getpid());
  constexpr int kStalled = 16;
  struct Stalled {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::LogResponse>> reader;
  };
  std::vector<Stalled> stalled;
  for (int i = 0; i < kStalled; ++i) {
    v1::LogRequest request;
    request.set_log_id(i % 4 == 0 ? 2 : 1);
    request.set_log_date_time(now_ms_);
    request.set_from_line_num(1);
    // A connection each, so that each gets a window of its own to fill,
    // and a fixed window (no BDP probing): what is measured below is the
    // server's memory, not what this process buffers as the client.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    auto stub = v1::Executor::NewStub(grpc::CreateCustomChannel(
        target_, grpc::InsecureChannelCredentials(), args));
    Stalled s;
    s.context = Context(kToken, absl::Minutes(2));
    s.reader = stub->TailLog(s.context.get(), request);
    stalled.push_back(std::move(s));
  }
  ASSERT_TRUE(Eventually([&] { return Beat().tail_streams() == kStalled; }));
  // Others are served promptly (GoodBeat has a 10 s deadline) while the
  // followers sit on full windows.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(GoodBeat(target_, kToken).ok());
  ExpectGoodRunWorks(3, 3);
  v1::LogRequest page;
  page.set_log_id(1);
  page.set_log_date_time(now_ms_);
  page.set_from_line_num(100000);
  v1::LogResponse log_response;
  ASSERT_TRUE(stub_->Log(Context(kToken).get(), page, &log_response).ok());
  EXPECT_THAT(log_response.log_content(), HasSubstr("spam line 99999 "));

  // Each stream holds one page (<= 32 KiB, twice) and a 64 KiB window:
  // about 2.5 MB for all. Without the one-write-in-flight rule the 12 streams
  // of the finished run would each queue its whole 5 MB log: 60 MB.
  const ProcessUse during = UseOf(getpid());
  if (kRssIsMeaningful) {
    EXPECT_LT(during.rss_kb - before.rss_kb, 24 * 1024)
        << Describe(before) << " -> " << Describe(during);
  }

  // Cancelled streams end and free their slots.
  for (int i = 0; i < kStalled / 2; ++i) stalled[i].context->TryCancel();
  ASSERT_TRUE(
      Eventually([&] { return Beat().tail_streams() == kStalled / 2; }));

  // Shutdown ends the others, with their clients still not reading.
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  // The client sees the end once it reads what its window already holds
  // (gRPC delivers the status after the messages); it must not have to
  // wait for its deadline.
  for (int i = 0; i < kStalled; ++i) {
    v1::LogResponse unread;
    while (stalled[i].reader->Read(&unread)) {
    }
    grpc::Status s = stalled[i].reader->Finish();
    EXPECT_NE(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << i;
    if (i < kStalled / 2) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << i;
    }
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));
  LOG(INFO) << "memory while stalled: " << Describe(before) << " -> "
            << Describe(during);
}

// xxl-executor as a real process: what it holds is visible in /proc.
class HostileProcessTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags) {
    flags.push_back("--listen=127.0.0.1:0");
    flags.push_back("--log_path=" + dir_.path());
    executor_ = std::make_unique<testing::ExecutorProcess>(std::move(flags));
    ASSERT_TRUE(executor_->WaitUntilServing().ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::ExecutorProcess> executor_;
};

// Opens a TCP connection to `port` and closes it, after writing `bytes`.
void TouchPort(int port, absl::string_view bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  if (!bytes.empty()) {
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  close(fd);
}

TEST_F(HostileProcessTest, ThousandConnectionsLeaveNoDescriptorsOrThreads) {
  Start({});
  const std::string target = executor_->address();
  // Warm up: the first call starts gRPC's threads for good.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(GoodBeat(target, "").ok());
  const ProcessUse before = UseOf(executor_->pid());

  // 1,000 gRPC connections, 50 open at a time, each making a call.
  for (int round = 0; round < 20; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 50; ++t) {
      threads.emplace_back([&] { EXPECT_TRUE(GoodBeat(target, "").ok()); });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(GoodBeat(target, "").ok());  // Others are served meanwhile.
  }
  // And 300 that are not gRPC at all: closed at once, or after garbage.
  for (int i = 0; i < 300; ++i) {
    TouchPort(executor_->port(),
              i % 3 == 0   ? ""
              : i % 3 == 1 ? "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                           : "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x01\x02garbage");
  }
  ASSERT_TRUE(GoodBeat(target, "").ok());

  // Closed connections are released (the last Beat's may linger a moment).
  ProcessUse after;
  const bool settled = Eventually(
      [&] {
        after = UseOf(executor_->pid());
        return after.fds <= before.fds + 2 &&
               after.threads <= before.threads + 4;
      },
      absl::Seconds(60));
  EXPECT_TRUE(settled) << Describe(before) << " -> " << Describe(after);
  if (kRssIsMeaningful) {
    EXPECT_LT(after.rss_kb - before.rss_kb, 32 * 1024)
        << Describe(before) << " -> " << Describe(after);
  }
}

// Sums the refusals the executor's log reports: "refused a call ..." is
// one, "refused N calls ..." is N. Sets `lines` to the number of lines.
int64_t ReportedRefusals(const std::string& log, int* lines) {
  int64_t total = 0;
  *lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    const size_t at = line.find("] refused ");
    if (at == absl::string_view::npos) continue;
    ++*lines;
    absl::string_view rest = line.substr(at + 10);
    if (absl::StartsWith(rest, "a call ")) {
      ++total;
      continue;
    }
    int64_t n = 0;
    const size_t space = rest.find(' ');
    if (absl::SimpleAtoi(rest.substr(0, space), &n)) total += n;
  }
  return total;
}

TEST_F(HostileProcessTest, GuessedTokensAreRefusedAndLoggedAtABoundedRate) {
  Start({absl::StrCat("--access_token=", kToken)});
  const std::string target = executor_->address();
  constexpr int kThreads = 4;
  constexpr int kGuesses = 750;
  const absl::Time start = absl::Now();
  std::atomic<int> unauthenticated{0};
  std::vector<std::thread> guessers;
  for (int t = 0; t < kThreads; ++t) {
    guessers.emplace_back([&, t] {
      auto stub = v1::Executor::NewStub(OwnChannel(target));
      for (int i = 0; i < kGuesses; ++i) {
        // Near misses, other lengths, and no token at all.
        const std::string guess =
            i % 50 == 0 ? "" : absl::StrCat("s3cre", t, i % 10, i);
        v1::BeatResponse response;
        grpc::Status s =
            stub->Beat(Context(guess).get(), v1::BeatRequest(), &response);
        if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          ++unauthenticated;
        } else {
          ADD_FAILURE() << "guess " << guess << ": " << s.error_code();
        }
      }
    });
  }
  // The right token keeps working throughout.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(GoodBeat(target, kToken).ok());
  for (std::thread& t : guessers) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(unauthenticated, kThreads * kGuesses);
  ASSERT_TRUE(GoodBeat(target, kToken).ok());

  // At most one line per 10 s while guessing, plus the summary at exit;
  // together they account for every refusal.
  ASSERT_TRUE(executor_->Terminate().ok());
  int lines = 0;
  const int64_t reported = ReportedRefusals(executor_->Stderr(), &lines);
  EXPECT_EQ(reported, kThreads * kGuesses);
  EXPECT_LE(lines, 2 + static_cast<int>(elapsed / absl::Seconds(10)))
      << "in " << elapsed;
  EXPECT_THAT(executor_->Stderr(), HasSubstr("from ipv4:127.0.0.1 x"));
}

}  // namespace
}  // namespace xxljob

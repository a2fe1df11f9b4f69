// XXL-JOB's own HTTP protocol end to end: the real executor (gRPC and HTTP
// faces over one core) on loopback, driven the way a stock xxl-job-admin
// drives it, plus hostile HTTP. Requests go through Boost.Beast's client,
// or as raw bytes where the point is a malformed request.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/app/executor_app.h"
#include "server/core/executor.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/temp_dir.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace wire = ::xxljob::http::v1;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret";

// One HTTP/1.1 connection to the executor's HTTP face.
class Connection {
 public:
  explicit Connection(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(port)));
  }

  // Sends raw bytes.
  void Send(const std::string& bytes) {
    asio::write(socket_, asio::buffer(bytes));
  }

  // POSTs `body` to `path` with the token (unless `token` is null).
  void Post(const std::string& path, const std::string& body,
            const char* token = kToken, unsigned version = 11) {
    bhttp::request<bhttp::string_body> request(bhttp::verb::post, path,
                                               version);
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::content_type, "application/json;charset=UTF-8");
    if (token != nullptr) request.set("XXL-JOB-ACCESS-TOKEN", token);
    request.body() = body;
    request.prepare_payload();
    bhttp::write(socket_, request);
  }

  // Reads one response; false when the connection was closed instead.
  bool Read(bhttp::response<bhttp::string_body>* response) {
    beast::error_code ec;
    bhttp::read(socket_, buffer_, *response, ec);
    return !ec;
  }

  // The next response's JSON body, which must come.
  std::string Call(const std::string& path, const std::string& body,
                   const char* token = kToken) {
    Post(path, body, token);
    bhttp::response<bhttp::string_body> response;
    EXPECT_TRUE(Read(&response)) << path;
    EXPECT_EQ(response.result_int(), 200u) << path;
    return response.body();
  }

  // True once the server has closed the connection (read sees its end).
  bool ClosedByServer() {
    beast::error_code ec;
    char byte;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// The "code" and "msg" of an envelope.
wire::Return Envelope(const std::string& json) {
  wire::Return r;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(json, &r, options).ok())
      << json;
  return r;
}
wire::LogReturn LogEnvelope(const std::string& json) {
  wire::LogReturn r;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &r).ok())
      << json;
  return r;
}

std::string Trigger(int64_t job_id, int64_t log_id,
                    const std::string& handler = "demoJobHandler",
                    const std::string& params = "hi",
                    const std::string& strategy = "SERIAL_EXECUTION") {
  return absl::StrCat(
      R"({"jobId":)", job_id, R"(,"executorHandler":")", handler,
      R"(","executorParams":")", params, R"(","executorBlockStrategy":")",
      strategy, R"(","executorTimeout":0,"logId":)", log_id,
      R"(,"logDateTime":)", absl::ToUnixMillis(absl::Now()),
      R"(,"glueType":"BEAN","glueSource":"","glueUpdatetime":0,)"
      R"("broadcastIndex":0,"broadcastTotal":1})");
}

class HttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
  }

  void Start(AppOptions options = {}) {
    options.grpc.listen = "127.0.0.1:0";
    options.http.listen = "127.0.0.1:0";
    options.api.access_token = kToken;
    options.api.app_name = "http-app";
    options.executor.log_path = dir_.path();
    auto app = ExecutorApp::StartWithSink(options, &registry_, &sink_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    port_ = app_->http_port();
    ASSERT_GT(port_, 0);
  }

  // Reads a run's whole log the way the admin's UI pages it: from line 1,
  // then toLineNum + 1, until isEnd.
  std::string PageThroughLog(Connection& c, int64_t log_id, int64_t time) {
    std::string all;
    int from = 1;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      const wire::LogReturn page = LogEnvelope(c.Call(
          "/log", absl::StrCat(R"({"logDateTim":)", time, R"(,"logId":)",
                               log_id, R"(,"fromLineNum":)", from, "}")));
      EXPECT_EQ(page.code(), 200) << page.msg();
      if (page.code() != 200) break;
      // 2.x admins read content, 3.x data: both carry the page.
      EXPECT_EQ(page.content().log_content(), page.data().log_content());
      all += page.data().log_content();
      from = page.data().to_line_num() + 1;
      if (page.data().is_end()) break;
    }
    return all;
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<ExecutorApp> app_;
  int port_ = 0;
};

TEST_F(HttpE2eTest, EveryRouteAnswersAsAStockAdminExpects) {
  Start();
  Connection c(port_);
  // 3.x sends beat with no body, 2.x with the JSON string "".
  EXPECT_EQ(c.Call("/beat", ""), R"({"code":200,"msg":"Success"})");
  EXPECT_EQ(Envelope(c.Call("/beat", R"("")")).code(), 200);
  EXPECT_EQ(Envelope(c.Call("/idleBeat", R"({"jobId":1})")).code(), 200);

  const int64_t time = absl::ToUnixMillis(absl::Now());
  EXPECT_EQ(c.Call("/run", Trigger(1, 11)), R"({"code":200,"msg":"Success"})");
  ASSERT_TRUE(sink_.WaitFor(11).has_value());
  const std::string log = PageThroughLog(c, 11, time);
  EXPECT_THAT(log, HasSubstr("----------- Param: hi"));
  EXPECT_THAT(log, HasSubstr("Result: handleCode=200"));

  // A busy job: idleBeat says so, kill stops it, its result says killed.
  EXPECT_EQ(
      Envelope(c.Call("/trigger", Trigger(2, 21, "sleepJobHandler", "60000")))
          .code(),
      200);
  // Wait until it runs (not only queued), so that the kill finds it running.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (app_->executor().load().running == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(app_->executor().load().running, 1);
  const wire::Return idle = Envelope(c.Call("/idleBeat", R"({"jobId":2})"));
  EXPECT_EQ(idle.code(), 500);
  EXPECT_EQ(idle.msg(), "job thread is running or has trigger queue");
  const wire::Return kill = Envelope(c.Call("/kill", R"({"jobId":2})"));
  EXPECT_EQ(kill.code(), 200);
  EXPECT_THAT(kill.content(), HasSubstr("kill requested"));
  EXPECT_EQ(kill.content(), kill.data());
  std::optional<RunResult> killed = sink_.WaitFor(21);
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->handle_code, 500);
  EXPECT_THAT(killed->handle_msg, HasSubstr("[job running, killed]"));

  // An unknown run's log.
  EXPECT_EQ(
      LogEnvelope(
          c.Call("/log", R"({"logDateTim":1,"logId":999,"fromLineNum":1})"))
          .msg(),
      "log file not found");
}

TEST_F(HttpE2eTest, RefusalsAreEnvelopesWithTheReasonAndTheConnectionLives) {
  Start();
  Connection c(port_);
  for (const char* path : {"/beat", "/idleBeat", "/run", "/kill", "/log"}) {
    EXPECT_EQ(c.Call(path, "{}", "wrong"),
              R"({"code":500,"msg":"The access token is wrong."})")
        << path;
    EXPECT_EQ(c.Call(path, "{}", nullptr),
              R"({"code":500,"msg":"The access token is wrong."})")
        << path;
  }
  EXPECT_EQ(
      c.Call("/nope", "{}"),
      R"({"code":500,"msg":"invalid request, uri-mapping(/nope) not found."})");
  EXPECT_THAT(c.Call("/run", "not json"), HasSubstr("invalid request body"));
  EXPECT_EQ(Envelope(c.Call("/run", R"({"jobId":-1,"executorHandler":"x",)"
                                    R"("logId":1,"logDateTime":1})"))
                .msg(),
            "job_id must be > 0, got -1");
  EXPECT_EQ(Envelope(c.Call("/run", Trigger(3, 31, "noSuchHandler"))).msg(),
            "job handler [noSuchHandler] not found.");
  // Discard later while busy, and a repeated log id.
  ASSERT_EQ(Envelope(c.Call("/run", Trigger(4, 41, "sleepJobHandler", "60000")))
                .code(),
            200);
  EXPECT_EQ(Envelope(c.Call("/run", Trigger(4, 42, "sleepJobHandler", "1",
                                            "DISCARD_LATER")))
                .msg(),
            "block strategy effect: Discard Later");
  EXPECT_EQ(Envelope(c.Call("/run", Trigger(5, 41))).msg(),
            "repeat trigger job, logId:41");
  EXPECT_EQ(Envelope(c.Call("/kill", R"({"jobId":4})")).code(), 200);
  // GET is refused with the envelope too.
  c.Send(
      "GET /beat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n\r\n");
  bhttp::response<bhttp::string_body> get;
  ASSERT_TRUE(c.Read(&get));
  EXPECT_EQ(get.body(),
            R"({"code":500,"msg":"invalid request, HttpMethod not support."})");
  // Still the same connection, still served.
  EXPECT_EQ(Envelope(c.Call("/beat", "")).code(), 200);
}

TEST_F(HttpE2eTest, KeepAlivePipeliningHttp10AndChunkedBodies) {
  Start();
  {
    // Two requests written at once: two answers, in order.
    Connection c(port_);
    const std::string beat =
        "POST /beat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n"
        "Content-Length: 0\r\n\r\n";
    const std::string idle =
        "POST /idleBeat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n"
        "Content-Length: 11\r\n\r\n{\"jobId\":9}";
    c.Send(beat + idle);
    bhttp::response<bhttp::string_body> first, second;
    ASSERT_TRUE(c.Read(&first));
    ASSERT_TRUE(c.Read(&second));
    EXPECT_EQ(first.body(), R"({"code":200,"msg":"Success"})");
    EXPECT_EQ(second.body(), R"({"code":200,"msg":"Success"})");
    EXPECT_TRUE(first.keep_alive());
  }
  {
    // HTTP/1.0 without keep-alive: answered, then closed.
    Connection c(port_);
    c.Post("/beat", "", kToken, 10);
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.body(), R"({"code":200,"msg":"Success"})");
    EXPECT_TRUE(c.ClosedByServer());
  }
  {
    // Connection: close is honoured.
    Connection c(port_);
    c.Send(
        "POST /beat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "XXL-JOB-ACCESS-TOKEN: s3cret\r\nContent-Length: 0\r\n\r\n");
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(Envelope(r.body()).code(), 200);
    EXPECT_TRUE(c.ClosedByServer());
  }
  {
    // A chunked body is a body like any other.
    Connection c(port_);
    c.Send(
        "POST /idleBeat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n"
        "Transfer-Encoding: "
        "chunked\r\n\r\n5\r\n{\"job\r\n6\r\nId\":1}\r\n0\r\n\r\n");
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.body(), R"({"code":200,"msg":"Success"})");
  }
}

TEST_F(HttpE2eTest, HostileRequestsGetAnEnvelopeOrAClosedConnection) {
  AppOptions options;
  options.api.max_request_bytes = 64 * 1024;
  options.http.max_header_bytes = 4096;
  options.http.io_timeout = absl::Milliseconds(500);
  Start(options);
  {
    // A body past max_request_bytes: 413 with the envelope, then closed.
    Connection c(port_);
    c.Post("/run", std::string(100 * 1024, 'x'));
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.result_int(), 413u);
    EXPECT_THAT(r.body(), HasSubstr("request body is larger than 65536 bytes"));
    EXPECT_TRUE(c.ClosedByServer());
  }
  {
    // Chunked, past the bound too.
    Connection c(port_);
    std::string chunks =
        "POST /run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 80; ++i)
      chunks += "400\r\n" + std::string(1024, 'y') + "\r\n";
    c.Send(chunks);
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.result_int(), 413u);
  }
  {
    // A header flood: 431, then closed.
    Connection c(port_);
    std::string flood = "POST /beat HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 200; ++i)
      flood += absl::StrCat("X-", i, ": ", std::string(50, 'h'), "\r\n");
    c.Send(flood + "\r\n");
    bhttp::response<bhttp::string_body> r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.result_int(), 431u);
    EXPECT_TRUE(c.ClosedByServer());
  }
  for (const std::string& junk :
       {std::string("GARBAGE\r\n\r\n"),
        std::string("POST /run HTTP/9.9\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00", 5),
        std::string("POST /run HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
    // Not HTTP at all: closed, nothing else happens.
    Connection c(port_);
    c.Send(junk);
    EXPECT_TRUE(c.ClosedByServer());
  }
  {
    // A slow client that never finishes its request is closed by the io
    // timeout (500 ms here; the read waits up to the default socket wait).
    Connection c(port_);
    c.Send("POST /beat HTTP/1.1\r\nHost: x\r\n");
    const absl::Time start = absl::Now();
    EXPECT_TRUE(c.ClosedByServer());
    EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  }
  // The executor serves well-behaved callers after all of it.
  Connection c(port_);
  EXPECT_EQ(Envelope(c.Call("/beat", "")).code(), 200);
}

TEST_F(HttpE2eTest, GrpcAndHttpCallersShareOneCore) {
  Start();
  Connection c(port_);
  const int64_t time = absl::ToUnixMillis(absl::Now());
  ASSERT_EQ(Envelope(c.Call("/run", Trigger(7, 71))).code(), 200);
  ASSERT_TRUE(sink_.WaitFor(71).has_value());
  // The same run, read over gRPC.
  ExecutorClient grpc(absl::StrCat("127.0.0.1:", app_->grpc_port()), kToken);
  v1::LogRequest log;
  log.set_log_id(71);
  log.set_log_date_time(time);
  log.set_from_line_num(1);
  absl::StatusOr<v1::LogResponse> page = grpc.Log(log);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->log_content(), HasSubstr("Param: hi"));
  // A log id taken over HTTP is taken over gRPC too.
  ASSERT_EQ(Envelope(c.Call("/run", Trigger(8, 81, "sleepJobHandler", "60000")))
                .code(),
            200);
  v1::RunRequest again;
  again.set_job_id(9);
  again.set_executor_handler("demoJobHandler");
  again.set_log_id(81);
  again.set_log_date_time(time);
  absl::StatusOr<v1::RunResponse> refused = grpc.Run(again);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->msg(), "repeat trigger job, logId:81");
  EXPECT_EQ(Envelope(c.Call("/kill", R"({"jobId":8})")).code(), 200);
}

TEST_F(HttpE2eTest, Generation35RequiresTheAppNameHeader) {
  AppOptions options;
  options.xxl_protocol = XxlProtocol::kGen35;
  Start(options);
  Connection c(port_);
  EXPECT_THAT(c.Call("/beat", ""), HasSubstr("The app name is wrong"));
  c.Send(
      "POST /beat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n"
      "XXL-JOB-APPNAME: http-app\r\nContent-Length: 0\r\n\r\n");
  bhttp::response<bhttp::string_body> r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body(), R"({"code":200,"msg":"Success"})");
}

// While the executor drains (SIGTERM: gRPC health says NOT_SERVING, new
// triggers are refused), HTTP /beat answers what gRPC Beat answers: one
// rule, in the shared edge.
TEST_F(HttpE2eTest, BeatWhileDrainingAnswersAsGrpcBeat) {
  Start();
  Connection c(port_);
  ExecutorClient grpc(absl::StrCat("127.0.0.1:", app_->grpc_port()), kToken);
  // A running job holds the shutdown in its grace period.
  ASSERT_EQ(Envelope(c.Call("/run", Trigger(5, 51, "sleepJobHandler", "60000")))
                .code(),
            200);
  // Running, not only queued: a queued one would be dropped at once.
  ASSERT_TRUE(testing::Eventually([&] {
    absl::StatusOr<v1::BeatResponse> load = grpc.Beat();
    return load.ok() && load->running() == 1;
  }));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::thread shutdown([&] { app_->Shutdown(absl::Seconds(3)); });
  int64_t log_id = 52;
  bool refused = false;
  while (!refused && absl::Now() < deadline) {
    refused = absl::StrContains(
        Envelope(c.Call("/run", Trigger(6, log_id++))).msg(), "shutting down");
  }
  ASSERT_TRUE(refused);
  absl::StatusOr<v1::BeatResponse> beat = grpc.Beat();
  ASSERT_TRUE(beat.ok()) << beat.status();
  const wire::Return http_beat = Envelope(c.Call("/beat", ""));
  EXPECT_EQ(http_beat.code(), beat->code());
  EXPECT_EQ(http_beat.msg(), beat->msg().empty() ? "Success" : beat->msg());
  shutdown.join();
}

}  // namespace
}  // namespace xxljob

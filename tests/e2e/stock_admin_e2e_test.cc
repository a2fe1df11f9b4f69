// A stock admin's view, end to end: nothing but XXL-JOB's HTTP protocol in
// both directions. The real xxl-executor, its HTTP face driven as the admin
// drives it, and the admin simulator's HTTP face receiving registration and
// callbacks; an admin outage and a kill -9 of the executor in between, and
// every accepted run's result delivered exactly once.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/http_get.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/temp_dir.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace wire = ::xxljob::http::v1;
using ::testing::HasSubstr;

constexpr char kToken[] = "stock-token";
constexpr absl::Duration kTimeout = absl::Seconds(60);

// The admin's side of the executor's HTTP face: one kept-alive connection.
class Admin {
 public:
  explicit Admin(int port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"),
                     static_cast<unsigned short>(port)});
  }
  std::string Call(const std::string& path, const std::string& body) {
    bhttp::request<bhttp::string_body> request(bhttp::verb::post, path, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    request.set("XXL-JOB-ACCESS-TOKEN", kToken);
    request.body() = body;
    request.prepare_payload();
    bhttp::write(socket_, request);
    bhttp::response<bhttp::string_body> response;
    bhttp::read(socket_, buffer_, response);
    return response.body();
  }
  int Code(const std::string& path, const std::string& body) {
    wire::Return r;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(Call(path, body),
                                                            &r, options)
                    .ok());
    return r.code();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string Trigger(int64_t job_id, int64_t log_id, const std::string& handler,
                    const std::string& params, int64_t time) {
  return absl::StrCat(R"({"jobId":)", job_id, R"(,"executorHandler":")",
                      handler, R"(","executorParams":")", params,
                      R"(","executorBlockStrategy":"SERIAL_EXECUTION",)",
                      R"("logId":)", log_id, R"(,"logDateTime":)", time,
                      R"(,"glueType":"BEAN"})");
}

// The executor's own count of results not yet delivered, from its metrics;
// -1 if they can't be read.
int64_t PendingResults(int port) {
  absl::StatusOr<testing::HttpAnswer> scrape =
      testing::HttpCall(port, "/metrics");
  if (!scrape.ok() || scrape->status != 200) return -1;
  constexpr absl::string_view kName = "\nxxl_executor_outbox_pending_results ";
  const size_t at = absl::string_view(scrape->body).find(kName);
  if (at == std::string::npos) return -1;
  const absl::string_view rest =
      absl::string_view(scrape->body).substr(at + kName.size());
  double value = -1;
  if (!absl::SimpleAtod(rest.substr(0, rest.find('\n')), &value)) return -1;
  return static_cast<int64_t>(value);
}

TEST(StockAdminE2eTest, EveryRouteAndEveryResultAcrossAnOutageAndACrash) {
  testing::TempDir dir;
  AdminSimulatorOptions sim_options;
  sim_options.http_listen = "127.0.0.1:0";
  sim_options.access_token = kToken;
  auto sim = AdminSimulator::Start(sim_options);
  ASSERT_TRUE(sim.ok()) << sim.status();
  const std::vector<std::string> flags = {
      "--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
      "--admin_addresses=" + (*sim)->http_url(),
      std::string("--access_token=") + kToken, "--log_path=" + dir.path(),
      "--admin_timeout=2s",
      // Read below: what the executor has recorded, before it is killed.
      "--metrics"};
  auto executor = std::make_unique<testing::ExecutorProcess>(flags);
  ASSERT_TRUE(executor->WaitUntilServing().ok()) << executor->Stderr();
  ASSERT_TRUE(executor->WaitForStderr("HTTP face advertised as"));
  const int port = executor->HttpFacePort();
  ASSERT_GT(port, 0);

  // It registers the HTTP face's URL, over HTTP.
  ASSERT_TRUE((*sim)->WaitForRegistrations(1, kTimeout));
  EXPECT_EQ((*sim)->registrations()[0].registry_value,
            absl::StrCat("http://127.0.0.1:", port, "/"));

  Admin admin(port);
  EXPECT_EQ(admin.Code("/beat", ""), 200);
  EXPECT_EQ(admin.Code("/idleBeat", R"({"jobId":1})"), 200);
  const int64_t time = absl::ToUnixMillis(absl::Now());
  for (int64_t log = 1; log <= 10; ++log) {
    ASSERT_EQ(admin.Code("/run", Trigger(1, log, "demoJobHandler", "a", time)),
              200);
  }
  ASSERT_TRUE((*sim)->WaitForCallbacks(10, kTimeout));

  // The log, paged as the admin's UI pages it.
  int from = 1;
  std::string content;
  for (int page = 0; page < 100; ++page) {
    wire::LogReturn r;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(
            admin.Call("/log",
                       absl::StrCat(R"({"logDateTim":)", time,
                                    R"(,"logId":1,"fromLineNum":)", from, "}")),
            &r)
            .ok());
    ASSERT_EQ(r.code(), 200);
    content += r.data().log_content();
    from = r.data().to_line_num() + 1;
    if (r.data().is_end()) break;
  }
  EXPECT_THAT(content, HasSubstr("Result: handleCode=200"));

  // The admin goes away; runs go on and their results wait in the outbox.
  (*sim)->SetMode(AdminSimMode::kUnavailable);
  for (int64_t log = 11; log <= 20; ++log) {
    ASSERT_EQ(admin.Code("/run", Trigger(2, log, "demoJobHandler", "b", time)),
              200);
  }
  ASSERT_EQ(
      admin.Code("/run", Trigger(3, 21, "sleepJobHandler", "60000", time)),
      200);
  ASSERT_EQ(
      admin.Code("/run", Trigger(4, 22, "sleepJobHandler", "60000", time)),
      200);
  // Kill one (by the admin's /kill) once it runs, and wait until the other
  // runs.
  auto busy = [&](const char* job) {
    return testing::Eventually(
        [&] { return admin.Code("/idleBeat", job) != 200; }, kTimeout);
  };
  ASSERT_TRUE(busy(R"({"jobId":3})"));
  EXPECT_EQ(admin.Code("/kill", R"({"jobId":3})"), 200);
  ASSERT_TRUE(busy(R"({"jobId":4})"));
  // Runs 11-21 have ended (their results wait in the outbox): job 2's
  // queue is done and the kill of job 3 has taken effect.
  for (const char* job : {R"({"jobId":2})", R"({"jobId":3})"}) {
    ASSERT_TRUE(testing::Eventually(
        [&] { return admin.Code("/idleBeat", job) == 200; }, kTimeout))
        << job;
  }
  // The executor dies with run 22 running and results undelivered, once it
  // has recorded all it was told: the admin's acceptance of results 1-10
  // (the admin counts a result when it arrives, the executor when the
  // answer does) and the results of runs 11-21 (a job reads as idle as soon
  // as its run returns, before the result is journaled).
  ASSERT_TRUE(testing::Eventually([&] { return PendingResults(port) == 11; }))
      << PendingResults(port);
  executor->Kill9();
  (*sim)->SetMode(AdminSimMode::kAccept);
  executor = std::make_unique<testing::ExecutorProcess>(flags);
  ASSERT_TRUE(executor->WaitUntilServing().ok()) << executor->Stderr();

  ASSERT_TRUE((*sim)->WaitForCallbacks(22, kTimeout))
      << (*sim)->callbacks().size() << " of 22 results";
  for (int64_t log = 1; log <= 22; ++log) {
    EXPECT_EQ((*sim)->CountOf(log), 1) << "log " << log;
  }
  for (const RecordedCallback& c : (*sim)->callbacks()) {
    if (c.log_id == 21) {
      EXPECT_THAT(c.handle_msg, HasSubstr("killed"));
    } else if (c.log_id == 22) {
      EXPECT_EQ(c.handle_msg, "executor restarted before the run finished");
    } else {
      EXPECT_EQ(c.handle_code, 200) << c.log_id;
    }
  }
  EXPECT_EQ(executor->Terminate().value_or(-1), 0);
  // Leaving, it removes its registration (over HTTP) first.
  EXPECT_TRUE((*sim)->WaitForRemovals(1, kTimeout));
}

}  // namespace
}  // namespace xxljob

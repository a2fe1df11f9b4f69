// Metrics end to end: a real executor (ExecutorApp with an admin simulator)
// scraped over loopback, the scrape checked by the real `promtool check
// metrics`, the metrics-only listener and the HTTP face's route, and a real
// Prometheus server scraping the executor until its query API sees runs.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/executor_client.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "handlers/handler_registry.h"
#include "server/app/executor_app.h"
#include "tests/testing/child_process.h"
#include "tests/testing/e2e_helpers.h"
#include "tests/testing/http_get.h"
#include "tests/testing/refusing_port.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using testing::HttpCall;
using ::testing::Not;

// Generous: CI is a busy 2-core machine; only a failing test waits this long.
constexpr absl::Duration kDeadline = absl::Seconds(60);

// The sum of every sample of `name` (any labels) in an exposition; -1 if
// there is none.
double Total(const std::string& text, absl::string_view name) {
  double total = -1;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    const absl::string_view rest = line.substr(name.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) {
      total = (total < 0 ? 0 : total) + v;
    }
  }
  return total;
}

// The absolute path of `tool` on PATH; empty if it is not installed.
std::string FindTool(const std::string& tool) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/", tool);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A port free now on 127.0.0.1 (for Prometheus, which can't report the
// port it bound); the kernel does not hand it out again at once.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
    sim_ = testing::StartSim();
    ASSERT_NE(sim_, nullptr);
  }

  void Start(AppOptions options) {
    options.grpc.listen = "127.0.0.1:0";
    options.executor.log_path = dir_.path();
    options.admin_addresses = {sim_->address()};
    options.registry_interval = absl::Seconds(1);
    auto app = ExecutorApp::Start(options, &registry_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    client_ = std::make_unique<ExecutorClient>(
        absl::StrCat("127.0.0.1:", app_->grpc_port()));
  }

  void RunDemo(int64_t job_id, int64_t log_id) {
    absl::StatusOr<v1::RunResponse> r = client_->Run(
        testing::RunReq(job_id, log_id, "demoJobHandler"), testing::Patient());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->code(), 200) << r->msg();
  }

  // Scrapes until `name`'s total reaches `at_least`; returns the last
  // scrape.
  std::string ScrapeUntil(int port, absl::string_view name, double at_least) {
    std::string text;
    const absl::Time deadline = absl::Now() + kDeadline;
    while (absl::Now() < deadline) {
      absl::StatusOr<testing::HttpAnswer> a = HttpCall(port, "/metrics");
      if (a.ok() && a->status == 200) {
        text = a->body;
        if (Total(text, name) >= at_least) return text;
      }
      absl::SleepFor(absl::Milliseconds(20));  // Polling, not waiting out.
    }
    ADD_FAILURE() << name << " never reached " << at_least << " in:\n" << text;
    return text;
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  std::unique_ptr<AdminSimulator> sim_;
  std::unique_ptr<ExecutorApp> app_;
  std::unique_ptr<ExecutorClient> client_;
};

TEST_F(MetricsE2eTest, AScrapeOfARunningExecutorPassesPromtool) {
  const std::string promtool = FindTool("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool is not installed";
  AppOptions options;
  options.http.listen = "127.0.0.1:0";
  options.metrics.enabled = true;
  Start(options);
  for (int i = 1; i <= 5; ++i) RunDemo(100 + i, 1000 + i);
  // Results delivered to the admin and a registration made: every family
  // has moved.
  std::string text =
      ScrapeUntil(app_->http_port(), "xxl_executor_callback_batches_total", 1);
  text = ScrapeUntil(app_->http_port(), "xxl_executor_runs_finished_total", 5);
  EXPECT_EQ(Total(text, "xxl_executor_runs_accepted_total"), 5);
  EXPECT_EQ(Total(text, "xxl_executor_run_duration_seconds_count"), 5);
  EXPECT_THAT(text, HasSubstr(absl::StrCat("xxl_executor_admin_up{admin=\"",
                                           sim_->address(), "\"} 1")));
  EXPECT_GE(Total(text, "xxl_executor_connections_open"), 1);
  EXPECT_THAT(text, HasSubstr(R"(method="run",status="OK",transport="grpc")"));
  EXPECT_LT(Total(text, "xxl_executor_registration_age_seconds"), 60);

  const std::string file = dir_.path() + "/scrape.txt";
  std::ofstream(file) << text;
  testing::ChildProcess check(
      {"/bin/sh", "-c", absl::StrCat(promtool, " check metrics < ", file)});
  absl::StatusOr<int> code = check.WaitForExit();
  ASSERT_TRUE(code.ok()) << code.status();
  // promtool prints lint findings and exits 1 on any.
  EXPECT_EQ(*code, 0) << check.Stdout() << check.Stderr();
  EXPECT_EQ(check.Stdout() + check.Stderr(), "");
}

TEST_F(MetricsE2eTest, EachAdminOfTheChainHasItsOwnUpSeries) {
  testing::RefusingPort down;
  const std::string down_url =
      absl::StrCat("http://", down.address(), "/xxl-job-admin");
  AppOptions options;
  options.http.listen = "127.0.0.1:0";  // An HTTP admin calls it back.
  options.metrics.enabled = true;
  options.admin_timeout = absl::Seconds(10);
  options.executor.log_path = dir_.path();
  options.grpc.listen = "127.0.0.1:0";
  options.registry_interval = absl::Seconds(1);
  // The dead HTTP admin first: every call tries it, then the simulator.
  options.admin_addresses = {down_url, sim_->address()};
  auto app = ExecutorApp::Start(options, &registry_);
  ASSERT_TRUE(app.ok()) << app.status();
  app_ = *std::move(app);
  const std::string text = ScrapeUntil(
      app_->http_port(), "xxl_executor_registration_age_seconds", 0);
  const std::string up_line =
      absl::StrCat("xxl_executor_admin_up{admin=\"", sim_->address(), "\"} 1");
  std::string last = text;
  const absl::Time deadline = absl::Now() + kDeadline;
  while (!absl::StrContains(last, up_line) && absl::Now() < deadline) {
    last = ScrapeUntil(app_->http_port(), "xxl_executor_admin_up", 0);
  }
  EXPECT_THAT(last, HasSubstr(up_line));
  EXPECT_THAT(last, HasSubstr(absl::StrCat("xxl_executor_admin_up{admin=\"",
                                           down_url, "\"} 0")));
}

TEST_F(MetricsE2eTest, TheMetricsListenerServesOnlyMetricsWithoutHeaders) {
  AppOptions options;
  options.http.listen = "127.0.0.1:0";
  // The 3.5 protocol's header checks do not apply to /metrics.
  options.xxl_protocol = XxlProtocol::kGen35;
  options.api.access_token = "metrics-need-no-token";
  options.metrics.listen = "127.0.0.1:0";
  Start(options);
  ASSERT_GT(app_->metrics_port(), 0);
  absl::StatusOr<testing::HttpAnswer> only =
      HttpCall(app_->metrics_port(), "/metrics");
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_EQ(only->status, 200u);
  EXPECT_THAT(only->content_type, HasSubstr("version=0.0.4"));
  EXPECT_THAT(only->body, HasSubstr("xxl_executor_build_info{version="));
  absl::StatusOr<testing::HttpAnswer> run =
      HttpCall(app_->metrics_port(), "/run", boost::beast::http::verb::post);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->status, 404u);
  absl::StatusOr<testing::HttpAnswer> face =
      HttpCall(app_->http_port(), "/metrics");
  ASSERT_TRUE(face.ok()) << face.status();
  EXPECT_EQ(face->status, 200u);
  // The scrapes are counted.
  const std::string text =
      ScrapeUntil(app_->metrics_port(), "xxl_executor_requests_total", 2);
  EXPECT_THAT(text,
              HasSubstr(R"(method="metrics",status="200",transport="http")"));
}

// The INFO lines logged while it is installed.
class InfoLines : public google::LogSink {
 public:
  InfoLines() { google::AddLogSink(this); }
  ~InfoLines() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char*, const char*, int,
            const google::LogMessageTime&, const char* message,
            size_t message_len) override {
    if (severity != google::GLOG_INFO) return;
    absl::MutexLock lock(&mu_);
    absl::StrAppend(&text_, absl::string_view(message, message_len), "\n");
  }
  std::string text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_ ABSL_GUARDED_BY(mu_);
};

// With only the metrics listener, the start-up lines say so and nothing
// suggests an HTTP face (which an operator would then point an admin at).
TEST_F(MetricsE2eTest, AMetricsOnlyListenerIsNotAnnouncedAsTheHttpFace) {
  InfoLines lines;
  AppOptions options;
  options.metrics.listen = "127.0.0.1:0";
  Start(options);
  ASSERT_GT(app_->metrics_port(), 0);
  const std::string text = lines.text();
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("metrics served on 127.0.0.1:0 (port ",
                                     app_->metrics_port(), ")")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("XXL-JOB protocol")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("HTTP face")));
}

// Requests the HTTP face answers before the edge sees them are counted
// too, under the method their path names ("other" for none).
TEST_F(MetricsE2eTest, HttpRequestsRefusedBeforeTheEdgeAreCounted) {
  AppOptions options;
  options.http.listen = "127.0.0.1:0";
  options.api.max_request_bytes = 1024;
  options.metrics.enabled = true;
  Start(options);
  const int port = app_->http_port();
  using boost::beast::http::verb;
  const struct {
    verb method;
    const char* target;
    std::string body;
    unsigned status;
  } refused[] = {
      {verb::get, "/beat", "", 200},
      {verb::post, "/nowhere", "{}", 200},
      {verb::post, "/run", "{", 200},
      {verb::post, "/kill", std::string(2000, ' '), 413},
  };
  for (const auto& r : refused) {
    absl::StatusOr<testing::HttpAnswer> a =
        HttpCall(port, r.target, r.method, r.body);
    ASSERT_TRUE(a.ok()) << r.target << ": " << a.status();
    EXPECT_EQ(a->status, r.status) << r.target;
  }
  const std::string text = ScrapeUntil(port, "xxl_executor_requests_total", 4);
  for (const char* series : {
           R"(method="beat",status="200",transport="http"} 1)",
           R"(method="other",status="200",transport="http"} 1)",
           R"(method="run",status="200",transport="http"} 1)",
           R"(method="kill",status="413",transport="http"} 1)",
       }) {
    EXPECT_THAT(text, HasSubstr(series));
  }
  // Counted, not timed: the edge's latency is the edge's, and a path no
  // route serves ("other") has no latency series at all.
  for (const char* method : {"beat", "run", "kill"}) {
    EXPECT_THAT(text,
                HasSubstr(absl::StrCat(
                    "xxl_executor_request_duration_seconds_count{method=\"",
                    method, R"(",transport="http"} 0)")));
  }
  EXPECT_THAT(text, Not(HasSubstr("xxl_executor_request_duration_seconds_count{"
                                  R"(method="other")")));
}

// A gRPC request that does not parse never reaches the edge; it is counted
// as the INVALID_ARGUMENT it is answered with.
TEST_F(MetricsE2eTest, GrpcRequestsThatDoNotParseAreCounted) {
  AppOptions options;
  options.http.listen = "127.0.0.1:0";
  options.metrics.enabled = true;
  Start(options);
  // A proto3 string that is not UTF-8 makes the request unparsable.
  absl::StatusOr<v1::RunResponse> r = client_->Run(
      testing::RunReq(1, 900, "demo\xff\xfeJobHandler"), testing::Patient());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string text =
      ScrapeUntil(app_->http_port(), "xxl_executor_requests_total", 1);
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(method="run",status="INVALID_ARGUMENT",transport="grpc"} 1)"));
  EXPECT_THAT(text, HasSubstr("xxl_executor_request_duration_seconds_count{"
                              R"(method="run",transport="grpc"} 0)"));
}

TEST_F(MetricsE2eTest, MetricsOffServeNothing) {
  AppOptions options;
  options.http.listen = "127.0.0.1:0";
  Start(options);
  EXPECT_EQ(app_->metrics(), nullptr);
  absl::StatusOr<testing::HttpAnswer> a =
      HttpCall(app_->http_port(), "/metrics");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 404u);
}

TEST_F(MetricsE2eTest, APrometheusServerScrapesTheExecutor) {
  const std::string prometheus = FindTool("prometheus");
  if (prometheus.empty()) GTEST_SKIP() << "prometheus is not installed";
  AppOptions options;
  options.metrics.listen = "127.0.0.1:0";
  Start(options);
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string config = dir_.path() + "/prometheus.yml";
  std::ofstream(config) << "global:\n"
                           "  scrape_interval: 1s\n"
                           "  evaluation_interval: 1s\n"
                           "scrape_configs:\n"
                           "  - job_name: xxl-executor\n"
                           "    static_configs:\n"
                           "      - targets: ['127.0.0.1:"
                        << app_->metrics_port() << "']\n";
  const std::string tsdb = dir_.path() + "/tsdb";
  std::filesystem::create_directories(tsdb);
  testing::ChildProcess server(
      {prometheus, "--config.file=" + config, "--storage.tsdb.path=" + tsdb,
       absl::StrCat("--web.listen-address=127.0.0.1:", port)});

  // The value Prometheus has for the runs finished, or -1 while it has none.
  auto query = [&]() -> double {
    absl::StatusOr<testing::HttpAnswer> a =
        HttpCall(port,
                 "/api/v1/query?query=sum(xxl_executor_runs_finished_total"
                 "%7Bjob%3D%22xxl-executor%22%7D)");
    if (!a.ok() || a->status != 200) return -1;
    // {"status":"success","data":{"resultType":"vector","result":
    //  [{"metric":{},"value":[1700000000.1,"5"]}]}}
    const size_t at = a->body.find("\"value\":[");
    if (at == std::string::npos) return -1;
    const size_t quote = a->body.find('"', a->body.find(',', at) + 1);
    const size_t end = a->body.find('"', quote + 1);
    double v = -1;
    if (quote == std::string::npos || end == std::string::npos ||
        !absl::SimpleAtod(a->body.substr(quote + 1, end - quote - 1), &v)) {
      return -1;
    }
    return v;
  };
  auto wait_for = [&](double at_least) {
    const absl::Time deadline = absl::Now() + kDeadline;
    double v = -1;
    while (absl::Now() < deadline) {
      v = query();
      if (v >= at_least) return v;
      absl::SleepFor(absl::Milliseconds(200));  // Polling.
    }
    ADD_FAILURE() << "Prometheus never saw " << at_least << " runs (last " << v
                  << "); its log:\n"
                  << server.Stderr();
    return v;
  };
  // A first scrape, before any run: the series exists at zero.
  EXPECT_EQ(wait_for(0), 0);
  for (int i = 1; i <= 3; ++i) RunDemo(200 + i, 2000 + i);
  EXPECT_EQ(wait_for(3), 3);
  server.Signal(SIGTERM);
  absl::StatusOr<int> code = server.WaitForExit();
  EXPECT_TRUE(code.ok()) << code.status();
}

}  // namespace
}  // namespace xxljob

// The whole executor (ExecutorApp::Start: the real registrar, reporter and
// durable outbox) with an HTTP admin URL: registration, a run's callback
// and the removal at shutdown arrive at an HTTP server on loopback that
// stands in for a stock xxl-job-admin, in each generation's format.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/app/executor_app.h"
#include "tests/testing/http_test_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::HttpTestServer;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::RecordedRequest;

constexpr absl::Duration kDeadline = absl::Seconds(30);

// The requests `server` recorded for `target`, in order.
std::vector<RecordedRequest> RequestsTo(const HttpTestServer& server,
                                        const std::string& target) {
  std::vector<RecordedRequest> out;
  for (const RecordedRequest& r : server.requests()) {
    if (r.target == target) out.push_back(r);
  }
  return out;
}

// Waits until `server` saw a request for `target`.
bool WaitForTarget(HttpTestServer& server, const std::string& target) {
  const absl::Time deadline = absl::Now() + kDeadline;
  for (;;) {
    const std::vector<RecordedRequest> seen = server.requests();
    for (const RecordedRequest& r : seen) {
      if (r.target == target) return true;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() ||
        !server.WaitForRequests(seen.size() + 1, left)) {
      return !RequestsTo(server, target).empty();
    }
  }
}

class HttpAdminE2eTest : public ::testing::TestWithParam<XxlProtocol> {
 protected:
  void SetUp() override {
    ASSERT_THAT(RegisterBuiltinHandlers(&registry_), IsOk());
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
};

TEST_P(HttpAdminE2eTest, RegistersDeliversTheCallbackAndLeaves) {
  HttpTestServer admin;
  AppOptions options;
  options.grpc.listen = "127.0.0.1:0";
  // An HTTP admin calls back the HTTP face, whose URL is what registers.
  options.http.listen = "127.0.0.1:0";
  options.api.app_name = "http-app";
  options.api.access_token = "tok";
  options.executor.log_path = dir_.path();
  options.admin_addresses = {admin.url() + "/xxl-job-admin/"};
  options.admin_timeout = kDeadline;
  options.xxl_protocol = GetParam();
  auto app = ExecutorApp::Start(options, &registry_);
  ASSERT_THAT(app, IsOk());

  ASSERT_TRUE(WaitForTarget(admin, "/xxl-job-admin/api/registry"));
  const RecordedRequest registry =
      RequestsTo(admin, "/xxl-job-admin/api/registry")[0];
  EXPECT_EQ(registry.Header("xxl-job-access-token"), "tok");
  EXPECT_EQ(registry.Header("xxl-job-appname"),
            GetParam() == XxlProtocol::kGen35 ? "http-app" : "");
  EXPECT_EQ(registry.body,
            absl::StrCat(R"({"registryGroup":"EXECUTOR",)",
                         R"("registryKey":"http-app","registryValue":")",
                         "http://127.0.0.1:", (*app)->http_port(), R"(/"})"));

  ExecutorClient client(absl::StrCat("127.0.0.1:", (*app)->grpc_port()), "tok");
  v1::RunRequest run;
  run.set_job_id(7);
  run.set_log_id(701);
  run.set_log_date_time(1700000000701);
  run.set_executor_handler("demoJobHandler");
  CallOptions patient;
  patient.timeout = kDeadline;
  absl::StatusOr<v1::RunResponse> response = client.Run(run, patient);
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->code(), 200) << response->msg();

  ASSERT_TRUE(WaitForTarget(admin, "/xxl-job-admin/api/callback"));
  const std::string body =
      RequestsTo(admin, "/xxl-job-admin/api/callback")[0].body;
  if (GetParam() == XxlProtocol::kGen35) {
    EXPECT_THAT(body, HasSubstr(R"({"callbackList":[{"logId":701,)"
                                R"("logDateTime":1700000000701,)"
                                R"("handleCode":200)"));
  } else {
    EXPECT_THAT(body, HasSubstr(R"([{"logId":701,)"
                                R"("logDateTim":1700000000701,)"
                                R"("handleCode":200)"));
  }

  // RegistryRemove goes out during Shutdown, before it returns.
  (*app)->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(RequestsTo(admin, "/xxl-job-admin/api/registryRemove").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Generations, HttpAdminE2eTest,
                         ::testing::Values(XxlProtocol::kGen2,
                                           XxlProtocol::kGen3,
                                           XxlProtocol::kGen35),
                         [](const ::testing::TestParamInfo<XxlProtocol>& info) {
                           switch (info.param) {
                             case XxlProtocol::kGen2:
                               return std::string("Gen2");
                             case XxlProtocol::kGen3:
                               return std::string("Gen3");
                             case XxlProtocol::kGen35:
                               return std::string("Gen35");
                           }
                           return std::string("Unknown");
                         });

// An HTTP admin calls the executor back over HTTP: without the HTTP face
// the start fails and says which flag to set.
TEST(HttpAdminStartTest, AnHttpAdminWithoutTheHttpFaceIsAStartError) {
  testing::TempDir dir;
  HandlerRegistry registry;
  AppOptions options;
  options.grpc.listen = "127.0.0.1:0";
  options.executor.log_path = dir.path();
  options.admin_addresses = {"http://127.0.0.1:1/xxl-job-admin"};
  auto app = ExecutorApp::Start(options, &registry);
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(app.status().message()),
              ::testing::HasSubstr("set --http_listen"));
}

}  // namespace
}  // namespace xxljob

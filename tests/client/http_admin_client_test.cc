// HttpAdminClient and FailoverAdminApi against real servers on loopback: an
// HTTP test server (Boost.Beast, plain and TLS) standing in for a stock
// xxl-job-admin, and the gRPC admin simulator. Bodies and headers as SPEC
// §9, what counts as accepted, deadlines, keep-alive reuse, URL validation,
// certificate checks and fail-over across both kinds of admin.
#include "client/http_admin_client.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/failover_admin_api.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/http_test_server.h"
#include "tests/testing/refusing_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::xxljob::testing::HttpTestServer;
using ::xxljob::testing::HttpTestServerTls;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::RecordedRequest;
using ::xxljob::testing::RefusingPort;
using ::xxljob::testing::StatusIs;

// Generous: only a failing test waits this long.
constexpr absl::Duration kTimeout = absl::Seconds(10);

HttpAdminClientOptions Options(std::string url) {
  HttpAdminClientOptions options;
  options.url = std::move(url);
  options.timeout = kTimeout;
  return options;
}

std::unique_ptr<HttpAdminClient> MakeClient(HttpAdminClientOptions options) {
  absl::StatusOr<std::unique_ptr<HttpAdminClient>> client =
      HttpAdminClient::Create(std::move(options));
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

RegistryParam Param() {
  RegistryParam param;
  param.registry_key = "xxl-executor";
  param.registry_value = "http://10.0.0.5:9998/";
  return param;
}

RunResult Result(int64_t log_id, int code, std::string msg) {
  RunResult result;
  result.job_id = 7;
  result.log_id = log_id;
  result.log_date_time = 1700000000000 + log_id;
  result.handle_code = code;
  result.handle_msg = std::move(msg);
  return result;
}

RecordedRequest OnlyRequest(const HttpTestServer& server) {
  std::vector<RecordedRequest> requests = server.requests();
  EXPECT_THAT(requests, SizeIs(1));
  return requests.empty() ? RecordedRequest() : requests[0];
}

TEST(HttpAdminClientTest, RegistryAndRemoveBodiesAndHeaders) {
  HttpTestServer server;
  HttpAdminClientOptions options = Options(server.url());
  options.access_token = "s3cret";
  options.app_name = "xxl-executor";
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->Registry(Param()), IsOk());
  ASSERT_THAT(client->RegistryRemove(Param()), IsOk());

  const std::vector<RecordedRequest> requests = server.requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[0].target, "/api/registry");
  EXPECT_EQ(requests[1].target, "/api/registryRemove");
  for (const RecordedRequest& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.body,
              R"({"registryGroup":"EXECUTOR","registryKey":"xxl-executor",)"
              R"("registryValue":"http://10.0.0.5:9998/"})");
    EXPECT_EQ(r.Header("content-type"), "application/json;charset=UTF-8");
    EXPECT_EQ(r.Header("xxl-job-access-token"), "s3cret");
    // Generation 3 (the default) sends no app-name header.
    EXPECT_EQ(r.headers.count("xxl-job-appname"), 0u);
    EXPECT_EQ(r.headers.count("expect"), 0u);
  }
}

TEST(HttpAdminClientTest, NoTokenHeaderWithoutToken) {
  HttpTestServer server;
  auto client = MakeClient(Options(server.url()));
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->Registry(Param()), IsOk());
  EXPECT_EQ(OnlyRequest(server).headers.count("xxl-job-access-token"), 0u);
}

TEST(HttpAdminClientTest, Gen35SendsAppNameHeader) {
  HttpTestServer server;
  HttpAdminClientOptions options = Options(server.url());
  options.protocol = XxlProtocol::kGen35;
  options.access_token = "t";
  options.app_name = "my-app";
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->Registry(Param()), IsOk());
  const RecordedRequest r = OnlyRequest(server);
  EXPECT_EQ(r.Header("xxl-job-appname"), "my-app");
  EXPECT_EQ(r.Header("xxl-job-access-token"), "t");
}

// Generations 2 and 3: a bare array, logDateTim, handleMsg only when set.
TEST(HttpAdminClientTest, Gen2And3CallbackIsAnArray) {
  for (XxlProtocol protocol : {XxlProtocol::kGen2, XxlProtocol::kGen3}) {
    SCOPED_TRACE(XxlProtocolName(protocol));
    HttpTestServer server;
    HttpAdminClientOptions options = Options(server.url());
    options.protocol = protocol;
    auto client = MakeClient(options);
    ASSERT_NE(client, nullptr);
    ASSERT_THAT(client->Callback({Result(12, 200, ""), Result(13, 500, "no")}),
                IsOk());
    const RecordedRequest r = OnlyRequest(server);
    EXPECT_EQ(r.target, "/api/callback");
    EXPECT_EQ(r.Header("content-type"), "application/json;charset=UTF-8");
    EXPECT_EQ(r.body,
              R"([{"logId":12,"logDateTim":1700000000012,"handleCode":200},)"
              R"({"logId":13,"logDateTim":1700000000013,"handleCode":500,)"
              R"("handleMsg":"no"}])");
  }
}

TEST(HttpAdminClientTest, Gen35CallbackIsACallbackList) {
  HttpTestServer server;
  HttpAdminClientOptions options = Options(server.url());
  options.protocol = XxlProtocol::kGen35;
  options.app_name = "xxl-executor";
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->Callback({Result(12, 200, ""), Result(13, 500, "no")}),
              IsOk());
  EXPECT_EQ(OnlyRequest(server).body,
            R"({"callbackList":[)"
            R"({"logId":12,"logDateTime":1700000000012,"handleCode":200},)"
            R"({"logId":13,"logDateTime":1700000000013,"handleCode":500,)"
            R"("handleMsg":"no"}]})");
}

TEST(HttpAdminClientTest, HandleMsgIsEscapedAndSurvivesARoundTrip) {
  HttpTestServer server;
  auto client = MakeClient(Options(server.url()));
  ASSERT_NE(client, nullptr);
  const std::string msg =
      "say \"hi\"\nback\\slash\ttab \x01 caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD "
      "\xF0\x9F\x98\x80 <a>&b=c \"logId\":\"99\"";
  ASSERT_THAT(client->Callback({Result(12, 500, msg)}), IsOk());
  const std::string body = OnlyRequest(server).body;
  // One line of JSON: the newline and control characters are escaped.
  EXPECT_THAT(body, AllOf(HasSubstr(R"(\"hi\")"), HasSubstr(R"(\n)"),
                          HasSubstr(R"(\\slash)"), Not(HasSubstr("\n"))));
  // What an admin's JSON parser reads back is the message itself.
  http::v1::CallbackRequest parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(
          absl::StrCat(
              R"({"callbackList":)",
              absl::StrReplaceAll(body, {{"logDateTim", "logDateTime"}}), "}"),
          &parsed)
          .ok())
      << body;
  ASSERT_EQ(parsed.callback_list_size(), 1);
  EXPECT_EQ(parsed.callback_list(0).handle_msg(), msg);
}

TEST(HttpAdminClientTest, ContextPathAndTrailingSlash) {
  HttpTestServer server;
  for (const std::string& suffix :
       {std::string("/xxl-job-admin"), std::string("/xxl-job-admin/"),
        std::string("/"), std::string("")}) {
    SCOPED_TRACE(suffix);
    const size_t before = server.requests().size();
    auto client = MakeClient(Options(server.url() + suffix));
    ASSERT_NE(client, nullptr);
    ASSERT_THAT(client->Registry(Param()), IsOk());
    const std::vector<RecordedRequest> requests = server.requests();
    ASSERT_THAT(requests, SizeIs(before + 1));
    EXPECT_EQ(requests.back().target, suffix.rfind("/xxl-job-admin", 0) == 0
                                          ? "/xxl-job-admin/api/registry"
                                          : "/api/registry");
  }
}

TEST(HttpAdminClientTest, AcceptsBothGenerationsOfSuccessEnvelope) {
  HttpTestServer server;
  auto client = MakeClient(Options(server.url()));
  ASSERT_NE(client, nullptr);
  server.SetAnswer(
      200, R"({"code":200,"data":null,"msg":"Success","success":true})");
  EXPECT_THAT(client->Registry(Param()), IsOk());
  server.SetAnswer(200, R"({"code":200,"msg":null,"content":null})");
  EXPECT_THAT(client->Registry(Param()), IsOk());
}

TEST(HttpAdminClientTest, RefusalsAreUnavailableAndSayWhy) {
  HttpTestServer server;
  auto client = MakeClient(Options(server.url()));
  ASSERT_NE(client, nullptr);
  const struct {
    int status;
    std::string body;
    std::string says;
  } cases[] = {
      {500, R"({"code":200,"msg":null})", "HTTP 500"},
      {200, R"({"code":500,"msg":"The access token is wrong."})",
       "code 500: The access token is wrong."},
      {200, "<html>oops</html>", "answer is not JSON: \"<html>oops</html>\""},
      {200, "", "empty answer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.says);
    server.SetAnswer(c.status, c.body);
    EXPECT_THAT(client->Registry(Param()),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr(absl::StrCat(server.url(), ": ", c.says))));
    EXPECT_THAT(client->Callback({Result(1, 200, "")}),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr(c.says)));
  }
}

TEST(HttpAdminClientTest, ConnectionRefused) {
  RefusingPort port;
  const std::string url = absl::StrCat("http://", port.address());
  auto client = MakeClient(Options(url));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat(url, ": connect: "))));
}

TEST(HttpAdminClientTest, SilentAdminTimesOutWithinTheDeadline) {
  HttpTestServer server;
  server.SetNeverAnswer(true);
  HttpAdminClientOptions options = Options(server.url());
  options.timeout = absl::Milliseconds(300);
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat(server.url(), ": timeout"))));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST(HttpAdminClientTest, CallsReuseOneKeepAliveConnection) {
  HttpTestServer server;
  auto client = MakeClient(Options(server.url()));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(client->Registry(Param()), IsOk());
    ASSERT_THAT(client->Callback({Result(i + 1, 200, "")}), IsOk());
  }
  EXPECT_THAT(server.requests(), SizeIs(10));
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpAdminClientTest, RejectsBadOptions) {
  const struct {
    std::string url;
    std::string says;
  } urls[] = {
      {"ftp://127.0.0.1:21", "http:// or https://"},
      {"127.0.0.1:8080", "http:// or https://"},
      {"http://", "admin URL \"http://\""},
      {"http://:8080/x", "admin URL"},
      {"http://127.0.0.1:0", "port must be a number in 1..65535"},
      {"http://127.0.0.1:70000", "admin URL"},
      {"http://127.0.0.1:80x", "admin URL"},
      {"http://127.0.0.1:8080/a?b=c", "query"},
      {"http://127.0.0.1:8080/a#b", "fragment"},
      {"http://user:pw@127.0.0.1:8080", "user info"},
      {"http://127.0.0.1:8080/a b", "printable ASCII"},
  };
  for (const auto& c : urls) {
    SCOPED_TRACE(c.url);
    EXPECT_THAT(
        HttpAdminClient::Create(Options(c.url)).status(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.says)));
  }
  HttpAdminClientOptions options = Options("http://127.0.0.1:8080");
  options.timeout = absl::ZeroDuration();
  EXPECT_THAT(
      HttpAdminClient::Create(options).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout")));
  options = Options("http://127.0.0.1:8080");
  options.access_token = "a\nb";
  EXPECT_THAT(HttpAdminClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token")));
  options = Options("http://127.0.0.1:8080");
  options.protocol = XxlProtocol::kGen35;
  EXPECT_THAT(HttpAdminClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3.5")));
  options = Options("http://127.0.0.1:8080");
  options.ca_file = "/etc/hostname";
  EXPECT_THAT(
      HttpAdminClient::Create(options).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("use https://")));
  options = Options("https://127.0.0.1:8080");
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(HttpAdminClient::Create(options).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/nonexistent/ca.pem")));
}

class HttpsAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::TestCerts> certs =
        testing::MakeTestCerts(dir_.path());
    ASSERT_THAT(certs, IsOk());
    certs_ = *certs;
    server_ = std::make_unique<HttpTestServer>(
        HttpTestServerTls{certs_.server_cert, certs_.server_key, ""});
  }

  testing::TempDir dir_;
  testing::TestCerts certs_;
  std::unique_ptr<HttpTestServer> server_;
};

TEST_F(HttpsAdminTest, AcceptedWithTheRightCa) {
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    HttpAdminClientOptions options = Options(server_->url(host));
    options.ca_file = certs_.ca;
    auto client = MakeClient(options);
    ASSERT_NE(client, nullptr);
    EXPECT_THAT(client->Registry(Param()), IsOk());
  }
}

TEST_F(HttpsAdminTest, RefusedWithAWrongCa) {
  HttpAdminClientOptions options = Options(server_->url());
  options.ca_file = certs_.rogue_ca;
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(": TLS: ")));
  EXPECT_THAT(server_->requests(), SizeIs(0));
}

TEST_F(HttpsAdminTest, RefusedWithTheSystemRoots) {
  auto client = MakeClient(Options(server_->url()));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(": TLS: ")));
}

TEST_F(HttpsAdminTest, RefusedForAHostTheCertificateDoesNotName) {
  // The certificate names only localhost and 127.0.0.1; Linux answers all
  // of 127/8 on loopback.
  HttpTestServer other(
      HttpTestServerTls{certs_.server_cert, certs_.server_key, ""},
      "127.0.0.2");
  HttpAdminClientOptions options = Options(other.url());
  options.ca_file = certs_.ca;
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  const absl::Status status = client->Registry(Param());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               Not(HasSubstr("connect:"))));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("TLS: ")));
  EXPECT_THAT(other.requests(), SizeIs(0));
}

TEST_F(HttpsAdminTest, MutualTlsPresentsTheClientCertificate) {
  HttpTestServer mutual(
      HttpTestServerTls{certs_.server_cert, certs_.server_key, certs_.ca});
  HttpAdminClientOptions options = Options(mutual.url());
  options.ca_file = certs_.ca;
  auto anonymous = MakeClient(options);
  ASSERT_NE(anonymous, nullptr);
  EXPECT_THAT(anonymous->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable, Not(HasSubstr("OK"))));
  options.cert_file = certs_.client_cert;
  options.key_file = certs_.client_key;
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_THAT(mutual.requests(), SizeIs(1));
}

TEST_F(HttpsAdminTest, ARotatedCaTakesEffectWithinTheRefreshInterval) {
  // The client trusts the admin's CA and keeps its connection alive; then the
  // file is rewritten with another CA, as a rotation away from a compromised
  // CA would. Within the refresh interval the admin is no longer trusted:
  // neither the kept connection nor a cached CA bundle outlives it.
  const std::string trust = absl::StrCat(dir_.path(), "/trust.pem");
  std::filesystem::copy_file(certs_.ca, trust);
  HttpAdminClientOptions options = Options(server_->url());
  options.ca_file = trust;
  options.refresh_interval = absl::Seconds(1);
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->Registry(Param()), IsOk());
  std::filesystem::copy_file(certs_.rogue_ca, trust,
                             std::filesystem::copy_options::overwrite_existing);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status status;
  do {
    status = client->Registry(Param());
  } while (status.ok() && absl::Now() < deadline);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(": TLS: ")));
}

TEST(HttpAdminClientTest, RejectsABadRefreshIntervalForHttps) {
  HttpAdminClientOptions options = Options("https://127.0.0.1:8080");
  options.refresh_interval = absl::ZeroDuration();
  EXPECT_THAT(HttpAdminClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("refresh interval")));
}

// The simulator's HTTP face reads both callback bodies with exact int64s:
// manual-trigger log ids sit above 2^62, where a double loses the low bits.
TEST(AdminSimulatorHttpTest, RecordsLargeLogIdsOfBothGenerationsExactly) {
  for (const XxlProtocol protocol : {XxlProtocol::kGen3, XxlProtocol::kGen35}) {
    SCOPED_TRACE(XxlProtocolName(protocol));
    AdminSimulatorOptions sim_options;
    sim_options.http_listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
        AdminSimulator::Start(std::move(sim_options));
    ASSERT_THAT(sim, IsOk());
    HttpAdminClientOptions options = Options((*sim)->http_url());
    options.protocol = protocol;
    options.app_name = "xxl-executor";
    auto client = MakeClient(options);
    ASSERT_NE(client, nullptr);
    const int64_t big = (int64_t{1} << 62) + 12345;
    ASSERT_THAT(
        client->Callback({Result(big, 200, ""), Result(big + 1, 500, "x")}),
        IsOk());
    const std::vector<RecordedCallback> got = (*sim)->callbacks();
    ASSERT_THAT(got, SizeIs(2));
    EXPECT_EQ(got[0].log_id, big);
    EXPECT_EQ(got[0].log_date_time, 1700000000000 + big);
    EXPECT_EQ(got[1].log_id, big + 1);
    EXPECT_EQ(got[1].handle_msg, "x");
  }
}

// ------------------------------------------------ fail-over and factory

std::unique_ptr<AdminSimulator> StartSim(AdminSimMode mode) {
  AdminSimulatorOptions options;
  options.mode = mode;
  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start(std::move(options));
  EXPECT_THAT(sim, IsOk());
  return sim.ok() ? *std::move(sim) : nullptr;
}

TEST(FailoverAdminApiTest, TriesHttpAndGrpcAdminsInOrder) {
  RefusingPort dead;
  auto refusing = StartSim(AdminSimMode::kRefuseWithCode500);
  ASSERT_NE(refusing, nullptr);
  HttpTestServer accepting;
  const std::string dead_url = absl::StrCat("http://", dead.address());

  AdminApiOptions options;
  options.addresses = {dead_url, refusing->address(),
                       accepting.url() + "/xxl-job-admin"};
  options.timeout = kTimeout;
  absl::StatusOr<std::unique_ptr<AdminApi>> admins = NewAdminApi(options);
  ASSERT_THAT(admins, IsOk());
  EXPECT_THAT((*admins)->Registry(Param()), IsOk());
  EXPECT_THAT((*admins)->Callback({Result(5, 200, "")}), IsOk());
  const std::vector<RecordedRequest> requests = accepting.requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[0].target, "/xxl-job-admin/api/registry");
  EXPECT_EQ(requests[1].target, "/xxl-job-admin/api/callback");

  // When none accepts, the error names each admin and why, in order.
  accepting.SetAnswer(500, "");
  EXPECT_THAT((*admins)->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("no admin accepted Registry: ",
                                              dead_url, ": connect: "))));
  const absl::Status none = (*admins)->RegistryRemove(Param());
  EXPECT_THAT(
      none.message(),
      AllOf(HasSubstr(absl::StrCat("; ", refusing->address(), ": code 500: ")),
            HasSubstr(absl::StrCat("; ", accepting.url(),
                                   "/xxl-job-admin: HTTP 500"))));
}

TEST(FailoverAdminApiTest, FactoryRejectsBadEntries) {
  AdminApiOptions options;
  EXPECT_THAT(NewAdminApi(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no admin addresses")));
  options.addresses = {"127.0.0.1:1", "http://127.0.0.1:0"};
  EXPECT_THAT(NewAdminApi(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("http://127.0.0.1:0")));
  options.addresses = {"not an address"};
  EXPECT_THAT(
      NewAdminApi(options).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("admin address")));
  options.addresses = {"http://127.0.0.1:8080"};
  options.tls.enabled = true;
  EXPECT_THAT(
      NewAdminApi(options).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("use https://")));
  options.addresses = {"https://127.0.0.1:8080"};
  options.tls.server_name = "admin.example";
  EXPECT_THAT(NewAdminApi(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("gRPC admins only")));
}

}  // namespace
}  // namespace xxljob

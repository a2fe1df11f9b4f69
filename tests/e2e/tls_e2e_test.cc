// TLS end to end, in-process: the executor's server and the admin
// simulator on 127.0.0.1:0 with certificates made for the test, called by
// the project's clients (ExecutorClient, AdminClient, health, reflection).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/admin_client.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "security/tls_credentials.h"
#include "server/app/executor_app.h"
#include "server/core/executor.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/reflection_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tools/admin_sim/admin_simulator.h"

namespace xxljob {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::IsOk;

// Generous: CI is a busy 2-core machine; only a failing test waits this long.
constexpr absl::Duration kDeadline = absl::Seconds(60);

CallOptions Patient() {
  CallOptions options;
  options.timeout = absl::Seconds(30);
  return options;
}

ClientTlsOptions Trusting(std::string ca, std::string cert = "",
                          std::string key = "") {
  ClientTlsOptions tls;
  tls.enabled = true;
  tls.ca_file = std::move(ca);
  tls.cert_file = std::move(cert);
  tls.key_file = std::move(key);
  return tls;
}

v1::RunRequest DemoRun(int64_t job_id, int64_t log_id) {
  v1::RunRequest r;
  r.set_job_id(job_id);
  r.set_log_id(log_id);
  r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
  r.set_executor_handler("demoJobHandler");
  r.set_executor_params("over tls");
  return r;
}

// Copies `from` to `to` the way a rotation should: a complete file renamed
// over the old one.
void ReplaceFile(const std::string& from, const std::string& to) {
  const std::string temp = to + ".new";
  std::filesystem::copy_file(from, temp,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(std::rename(temp.c_str(), to.c_str()), 0) << to;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RegisterBuiltinHandlers(&registry_), IsOk());
    certs_ = MakeCerts("certs");
  }

  testing::TestCerts MakeCerts(const std::string& name) {
    const std::string dir = absl::StrCat(dir_.path(), "/", name);
    std::filesystem::create_directories(dir);
    absl::StatusOr<testing::TestCerts> certs = testing::MakeTestCerts(dir);
    EXPECT_THAT(certs, IsOk());
    return certs.value_or(testing::TestCerts{});
  }

  ServerTlsOptions ServerTls(bool mutual) const {
    ServerTlsOptions tls;
    tls.cert_file = certs_.server_cert;
    tls.key_file = certs_.server_key;
    if (mutual) tls.client_ca_file = certs_.ca;
    return tls;
  }

  void StartServer(ServerTlsOptions tls) {
    AppOptions options;
    options.grpc.listen = "127.0.0.1:0";
    options.executor.log_path = dir_.path() + "/data";
    options.grpc.tls = std::move(tls);
    auto server = ExecutorApp::StartWithSink(options, &registry_, &sink_);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }
  std::string Target() const {
    return absl::StrCat("127.0.0.1:", server_->grpc_port());
  }

  // A fresh channel each time, so no connection is shared between checks.
  std::shared_ptr<grpc::Channel> Channel(const ClientTlsOptions& tls,
                                         std::string target = "") {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        MakeChannel(target.empty() ? Target() : target, tls);
    EXPECT_THAT(channel, IsOk());
    return channel.value_or(nullptr);
  }
  absl::StatusOr<v1::BeatResponse> Beat(const ClientTlsOptions& tls,
                                        std::string target = "") {
    std::shared_ptr<grpc::Channel> channel = Channel(tls, std::move(target));
    if (channel == nullptr) return absl::InternalError("no channel");
    ExecutorClient client(channel, "");
    return client.Beat({}, Patient());
  }

  testing::TempDir dir_;
  testing::TestCerts certs_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<ExecutorApp> server_;
};

TEST_F(TlsE2eTest, PlaintextClientIsRefusedByATlsServer) {
  StartServer(ServerTls(/*mutual=*/false));
  EXPECT_THAT(Beat(Trusting(certs_.ca)), IsOk());  // The server is up.
  EXPECT_EQ(Beat(ClientTlsOptions{}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsE2eTest, TlsClientTrustingTheCaRunsJobsAndUsesHealthAndReflection) {
  StartServer(ServerTls(/*mutual=*/false));
  std::shared_ptr<grpc::Channel> channel = Channel(Trusting(certs_.ca));
  ExecutorClient client(channel, "");

  absl::StatusOr<v1::BeatResponse> beat = client.Beat({}, Patient());
  ASSERT_THAT(beat, IsOk());
  EXPECT_EQ(beat->code(), 200);
  EXPECT_EQ(beat->app_name(), "xxl-executor");

  absl::StatusOr<v1::RunResponse> run = client.Run(DemoRun(1, 101), Patient());
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->code(), 200) << run->msg();
  std::optional<RunResult> result = sink_.WaitFor(101);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->handle_code, 200) << result->handle_msg;

  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse health;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &context, check, &health);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  testing::ReflectionClient reflection(channel);
  absl::StatusOr<std::vector<std::string>> services = reflection.ListServices();
  ASSERT_THAT(services, IsOk());
  EXPECT_THAT(*services, Contains("xxljob.v1.Executor"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(reflection.FilesContainingSymbol("xxljob.v1.Executor"), IsOk());
}

TEST_F(TlsE2eTest, ClientThatDoesNotTrustTheServersCaIsRefused) {
  StartServer(ServerTls(/*mutual=*/false));
  EXPECT_THAT(Beat(Trusting(certs_.ca)), IsOk());
  EXPECT_EQ(Beat(Trusting(certs_.rogue_ca)).status().code(),
            absl::StatusCode::kUnavailable);
  // The system's CAs did not issue the test's certificate either.
  EXPECT_EQ(Beat(Trusting("")).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsE2eTest, ServerNameIsVerifiedAndCanBeOverridden) {
  StartServer(ServerTls(/*mutual=*/false));
  // The certificate names localhost and 127.0.0.1.
  EXPECT_THAT(Beat(Trusting(certs_.ca),
                   absl::StrCat("localhost:", server_->grpc_port())),
              IsOk());
  ClientTlsOptions wrong = Trusting(certs_.ca);
  wrong.server_name = "executor.example";
  EXPECT_EQ(Beat(wrong).status().code(), absl::StatusCode::kUnavailable);
  ClientTlsOptions right = Trusting(certs_.ca);
  right.server_name = "localhost";
  EXPECT_THAT(Beat(right), IsOk());
}

TEST_F(TlsE2eTest, MutualTlsRefusesClientsWithoutACertificateFromTheCa) {
  StartServer(ServerTls(/*mutual=*/true));
  EXPECT_THAT(Beat(Trusting(certs_.ca, certs_.client_cert, certs_.client_key)),
              IsOk());
  EXPECT_EQ(Beat(Trusting(certs_.ca)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Beat(Trusting(certs_.ca, certs_.rogue_client_cert,
                          certs_.rogue_client_key))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  // A server certificate is no client certificate (extendedKeyUsage).
  EXPECT_EQ(Beat(Trusting(certs_.ca, certs_.server_cert, certs_.server_key))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsE2eTest, RotatedCertificatesAndClientCaApplyWithoutARestart) {
  const testing::TestCerts next = MakeCerts("next");
  // The files the server reads: copies, so they can be replaced.
  const std::string live = dir_.path() + "/live";
  std::filesystem::create_directories(live);
  ServerTlsOptions tls;
  tls.cert_file = live + "/server.pem";
  tls.key_file = live + "/server.key";
  tls.client_ca_file = live + "/client-ca.pem";
  tls.refresh_interval = absl::Seconds(1);
  ReplaceFile(certs_.server_cert, tls.cert_file);
  ReplaceFile(certs_.server_key, tls.key_file);
  ReplaceFile(certs_.ca, tls.client_ca_file);
  StartServer(tls);
  const ClientTlsOptions old_client =
      Trusting(certs_.ca, certs_.client_cert, certs_.client_key);
  const ClientTlsOptions new_client =
      Trusting(next.ca, next.client_cert, next.client_key);
  ASSERT_THAT(Beat(old_client), IsOk());
  EXPECT_FALSE(Beat(new_client).ok());

  ReplaceFile(next.server_key, tls.key_file);
  ReplaceFile(next.server_cert, tls.cert_file);
  ReplaceFile(next.ca, tls.client_ca_file);
  EXPECT_TRUE(Eventually([&] { return Beat(new_client).ok(); }, kDeadline))
      << Beat(new_client).status();
  EXPECT_FALSE(Beat(old_client).ok());
}

// ------------------------------------------------------------ the admin

class AdminTlsE2eTest : public TlsE2eTest {
 protected:
  void StartAdmin(bool mutual) {
    AdminSimulatorOptions options;
    options.tls = ServerTls(mutual);
    auto sim = AdminSimulator::Start(options);
    ASSERT_THAT(sim, IsOk());
    admin_ = *std::move(sim);
  }
  absl::Status Register(ClientTlsOptions tls) {
    AdminClientOptions options;
    options.addresses = {admin_->address()};
    options.timeout = absl::Seconds(30);
    options.tls = std::move(tls);
    absl::StatusOr<std::unique_ptr<AdminClient>> client =
        AdminClient::Create(options);
    if (!client.ok()) return client.status();
    RegistryParam param;
    param.registry_key = "tls-app";
    param.registry_value = "127.0.0.1:9999";
    return (*client)->Registry(param);
  }

  std::unique_ptr<AdminSimulator> admin_;
};

TEST_F(AdminTlsE2eTest, AdminClientTrustsOnlyTheAdminsCaAndPresentsItsCert) {
  StartAdmin(/*mutual=*/true);
  EXPECT_THAT(
      Register(Trusting(certs_.ca, certs_.client_cert, certs_.client_key)),
      IsOk());
  EXPECT_EQ(admin_->registrations().size(), 1u);
  EXPECT_FALSE(Register(ClientTlsOptions{}).ok());   // plaintext
  EXPECT_FALSE(Register(Trusting(certs_.ca)).ok());  // no client cert
  EXPECT_FALSE(Register(Trusting(certs_.rogue_ca, certs_.client_cert,
                                 certs_.client_key))
                   .ok());  // other CA
  ClientTlsOptions wrong_name =
      Trusting(certs_.ca, certs_.client_cert, certs_.client_key);
  wrong_name.server_name = "admin.example";
  EXPECT_FALSE(Register(wrong_name).ok());
  EXPECT_EQ(admin_->registrations().size(), 1u);
}

TEST_F(AdminTlsE2eTest, ExecutorAppRegistersAndDeliversCallbacksOverTls) {
  for (const bool mutual : {false, true}) {
    SCOPED_TRACE(mutual ? "mutual TLS" : "TLS");
    StartAdmin(mutual);
    AppOptions options;
    options.grpc.listen = "127.0.0.1:0";
    options.api.app_name = "tls-app";
    options.executor.log_path = absl::StrCat(dir_.path(), "/app-", mutual);
    options.grpc.tls = ServerTls(/*mutual=*/false);
    options.admin_addresses = {admin_->address()};
    options.admin_timeout = absl::Seconds(30);
    options.admin_tls =
        mutual ? Trusting(certs_.ca, certs_.client_cert, certs_.client_key)
               : Trusting(certs_.ca);
    options.admin_tls.server_name = "localhost";
    auto app = ExecutorApp::Start(options, &registry_);
    ASSERT_THAT(app, IsOk());
    ASSERT_TRUE(admin_->WaitForRegistrations(1, kDeadline));
    EXPECT_EQ(admin_->registrations()[0].registry_key, "tls-app");

    ExecutorClient client(
        Channel(Trusting(certs_.ca),
                absl::StrCat("127.0.0.1:", (*app)->grpc_port())),
        "");
    absl::StatusOr<v1::RunResponse> run =
        client.Run(DemoRun(7, 700 + mutual), Patient());
    ASSERT_THAT(run, IsOk());
    ASSERT_EQ(run->code(), 200) << run->msg();
    ASSERT_TRUE(admin_->WaitForCallbacks(1, kDeadline));
    EXPECT_EQ(admin_->callbacks()[0].log_id, 700 + mutual);
    EXPECT_EQ(admin_->callbacks()[0].handle_code, 200);
    (*app)->Shutdown(absl::ZeroDuration());
    EXPECT_TRUE(admin_->WaitForRemovals(1, kDeadline));
    admin_.reset();
  }
}

}  // namespace
}  // namespace xxljob

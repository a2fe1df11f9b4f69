// TLS and token files through the binaries' flags: a real xxl-executor
// serving mutual TLS and calling an admin over mutual TLS, driven by a real
// xxl-ctl; a real xxl-admin-sim serving mutual TLS; and the exit code 2 of
// each for bad TLS or token flags.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security/tls_credentials.h"
#include "tests/testing/child_process.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "tools/admin_sim/admin_simulator.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::ChildProcess;
using ::xxljob::testing::ExecutorProcess;
using ::xxljob::testing::IsOk;

constexpr absl::Duration kDeadline = absl::Seconds(60);
constexpr char kToken[] = "s3cret-token";

std::string CtlPath() { return XXL_CTL_PATH; }
std::string AdminSimPath() { return XXL_ADMIN_SIM_PATH; }

// The exit code of a finished process, or -1 with a failure.
int ExitCode(const absl::StatusOr<int>& code) {
  EXPECT_THAT(code, IsOk());
  return code.value_or(-1);
}
int ExitCode(ChildProcess& child) { return ExitCode(child.WaitForExit()); }

class TlsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = dir_.path() + "/certs";
    std::filesystem::create_directories(dir);
    absl::StatusOr<testing::TestCerts> certs = testing::MakeTestCerts(dir);
    ASSERT_THAT(certs, IsOk());
    certs_ = *certs;
    token_file_ = dir_.path() + "/token";
    std::ofstream(token_file_) << kToken << "\n";
  }

  // xxl-ctl --target=<target> args...
  std::unique_ptr<ChildProcess> Ctl(const std::string& target,
                                    std::vector<std::string> args) {
    args.insert(args.begin(), {CtlPath(), "--target=" + target});
    return std::make_unique<ChildProcess>(std::move(args));
  }
  std::vector<std::string> MutualCtlFlags() const {
    return {"--ca_file=" + certs_.ca, "--cert_file=" + certs_.client_cert,
            "--key_file=" + certs_.client_key, "--token_file=" + token_file_};
  }

  testing::TempDir dir_;
  testing::TestCerts certs_;
  std::string token_file_;
};

TEST_F(TlsProcessTest, ExecutorAndCtlOverMutualTlsWithTokenFiles) {
  AdminSimulatorOptions admin_options;
  admin_options.access_token = kToken;
  admin_options.tls.cert_file = certs_.server_cert;
  admin_options.tls.key_file = certs_.server_key;
  admin_options.tls.client_ca_file = certs_.ca;
  auto admin = AdminSimulator::Start(admin_options);
  ASSERT_THAT(admin, IsOk());

  ExecutorProcess executor({
      "--listen=127.0.0.1:0",
      "--log_path=" + dir_.path() + "/data",
      "--app_name=tls-process",
      "--access_token_file=" + token_file_,
      "--tls_cert_file=" + certs_.server_cert,
      "--tls_key_file=" + certs_.server_key,
      "--tls_client_ca_file=" + certs_.ca,
      "--admin_addresses=" + (*admin)->address(),
      "--admin_timeout=30s",
      "--admin_tls_ca_file=" + certs_.ca,
      "--admin_tls_cert_file=" + certs_.client_cert,
      "--admin_tls_key_file=" + certs_.client_key,
      "--admin_tls_server_name=localhost",
  });
  ASSERT_THAT(executor.WaitUntilServing(), IsOk());
  EXPECT_TRUE(executor.WaitForStderr("mutual TLS"));
  // Registration passed the admin's client-certificate and token checks.
  ASSERT_TRUE((*admin)->WaitForRegistrations(1, kDeadline));

  std::vector<std::string> run = MutualCtlFlags();
  run.insert(run.end(), {"run", "--job_id=1", "--handler=demoJobHandler",
                         "--params=over-mtls", "--follow"});
  auto ctl = Ctl(executor.address(), run);
  EXPECT_EQ(ExitCode(*ctl), 0) << ctl->Stderr();
  EXPECT_THAT(ctl->Stdout(), HasSubstr("demoJobHandler: params [over-mtls]"));
  ASSERT_TRUE((*admin)->WaitForCallbacks(1, kDeadline));
  EXPECT_EQ((*admin)->callbacks()[0].handle_code, 200);

  struct Refused {
    std::string why;
    std::vector<std::string> flags;
  };
  const std::vector<Refused> refused = {
      {"plaintext", {"--token_file=" + token_file_}},
      {"no client certificate",
       {"--ca_file=" + certs_.ca, "--token_file=" + token_file_}},
      {"rogue client certificate",
       {"--ca_file=" + certs_.ca, "--cert_file=" + certs_.rogue_client_cert,
        "--key_file=" + certs_.rogue_client_key,
        "--token_file=" + token_file_}},
      {"no token",
       {"--ca_file=" + certs_.ca, "--cert_file=" + certs_.client_cert,
        "--key_file=" + certs_.client_key}},
  };
  for (const Refused& r : refused) {
    std::vector<std::string> args = r.flags;
    args.push_back("beat");
    auto beat = Ctl(executor.address(), args);
    EXPECT_EQ(ExitCode(*beat), 2) << r.why << ": " << beat->Stdout();
  }
  std::vector<std::string> beat_args = MutualCtlFlags();
  beat_args.push_back("beat");
  auto beat = Ctl(executor.address(), beat_args);
  EXPECT_EQ(ExitCode(*beat), 0) << beat->Stderr();

  EXPECT_EQ(ExitCode(executor.Terminate()), 0);
  EXPECT_TRUE((*admin)->WaitForRemovals(1, kDeadline));
}

TEST_F(TlsProcessTest, ExecutorExitsWithTwoOnBadTlsOrTokenFlags) {
  const std::string missing = dir_.path() + "/missing.pem";
  const std::string empty_token = dir_.path() + "/empty-token";
  std::ofstream(empty_token) << "\n";
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert_file=" + certs_.server_cert}, "without its key file"},
      {{"--tls_key_file=" + certs_.server_key}, "without its certificate"},
      {{"--tls_cert_file=" + missing, "--tls_key_file=" + certs_.server_key},
       "missing.pem"},
      {{"--tls_cert_file=" + certs_.server_cert,
        "--tls_key_file=" + certs_.server_key,
        "--tls_client_ca_file=" + missing},
       "client CA file"},
      {{"--tls_client_ca_file=" + certs_.ca}, "client CA file needs"},
      {{"--admin_tls_cert_file=" + certs_.client_cert}, "without its key"},
      {{"--admin_tls_ca_file=" + missing}, "missing.pem"},
      {{"--tls_cert_file=" + certs_.server_cert,
        "--tls_key_file=" + certs_.server_key, "--tls_refresh_interval=0s"},
       "at least 1s"},
      {{"--access_token=x", "--access_token_file=" + token_file_}, "not both"},
      {{"--access_token_file=" + missing}, "--access_token_file"},
      {{"--access_token_file=" + empty_token}, "empty token"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> flags = {"--listen=127.0.0.1:0",
                                      "--log_path=" + dir_.path() + "/data"};
    flags.insert(flags.end(), c.flags.begin(), c.flags.end());
    ExecutorProcess executor(flags);
    EXPECT_EQ(ExitCode(executor.WaitForExit()), 2) << c.flags.back();
    EXPECT_THAT(executor.Stderr(), HasSubstr(c.message)) << c.flags.back();
  }
}

TEST_F(TlsProcessTest, CtlExitsWithTwoOnBadTlsOrTokenFlags) {
  const std::string missing = dir_.path() + "/missing.pem";
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--token=x", "--token_file=" + token_file_}, "not both"},
      {{"--token_file=" + missing}, "--token_file"},
      {{"--ca_file=" + missing}, "missing.pem"},
      {{"--cert_file=" + certs_.client_cert}, "without its key file"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.flags;
    args.push_back("beat");
    // Nothing listens there: the flags must fail before any call.
    auto ctl = Ctl("127.0.0.1:1", args);
    EXPECT_EQ(ExitCode(*ctl), 2) << c.flags.back();
    EXPECT_THAT(ctl->Stderr(), HasSubstr(c.message)) << c.flags.back();
  }
}

TEST_F(TlsProcessTest, AdminSimulatorServesMutualTlsFromItsFlags) {
  ChildProcess sim({AdminSimPath(), "--listen=127.0.0.1:0",
                    "--tls_cert_file=" + certs_.server_cert,
                    "--tls_key_file=" + certs_.server_key,
                    "--tls_client_ca_file=" + certs_.ca,
                    "--access_token_file=" + token_file_});
  constexpr char kBanner[] = "listening on 127.0.0.1:";
  ASSERT_TRUE(sim.WaitForStdout("\n")) << sim.Stderr();
  const std::string out = sim.Stdout();
  const size_t at = out.find(kBanner);
  ASSERT_NE(at, std::string::npos) << out;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      out.substr(at + sizeof(kBanner) - 1,
                 out.find('\n', at) - (at + sizeof(kBanner) - 1)),
      &port))
      << out;

  const auto registry = [&](ClientTlsOptions tls) {
    AdminClientOptions options;
    options.addresses = {absl::StrCat("127.0.0.1:", port)};
    options.access_token = kToken;
    options.timeout = absl::Seconds(30);
    options.tls = std::move(tls);
    absl::StatusOr<std::unique_ptr<AdminClient>> client =
        AdminClient::Create(options);
    if (!client.ok()) return client.status();
    RegistryParam param;
    param.registry_key = "sim-tls";
    param.registry_value = "127.0.0.1:9999";
    return (*client)->Registry(param);
  };
  ClientTlsOptions tls;
  tls.enabled = true;
  tls.ca_file = certs_.ca;
  EXPECT_FALSE(registry(tls).ok());  // No client certificate.
  tls.cert_file = certs_.client_cert;
  tls.key_file = certs_.client_key;
  EXPECT_THAT(registry(tls), IsOk());
  EXPECT_TRUE(sim.WaitForStdout("registry EXECUTOR sim-tls 127.0.0.1:9999"))
      << sim.Stdout();
}

}  // namespace
}  // namespace xxljob

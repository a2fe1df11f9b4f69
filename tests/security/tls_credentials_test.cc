#include "security/tls_credentials.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

class TlsOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::TestCerts> certs =
        testing::MakeTestCerts(dir_.path());
    ASSERT_THAT(certs, IsOk());
    certs_ = *certs;
    std::ofstream(dir_.path() + "/not-pem.txt") << "hello\n";
  }
  std::string Missing() const { return dir_.path() + "/missing.pem"; }
  std::string NotPem() const { return dir_.path() + "/not-pem.txt"; }

  testing::TempDir dir_;
  testing::TestCerts certs_;
};

ServerTlsOptions Server(std::string cert, std::string key, std::string ca = "",
                        absl::Duration refresh = kDefaultTlsRefreshInterval) {
  ServerTlsOptions o;
  o.cert_file = std::move(cert);
  o.key_file = std::move(key);
  o.client_ca_file = std::move(ca);
  o.refresh_interval = refresh;
  return o;
}

TEST_F(TlsOptionsTest, ServerOptionsAreCheckedWithTheirFiles) {
  struct Case {
    ServerTlsOptions options;
    absl::StatusCode code;
    std::string message;
  };
  const std::string cert = certs_.server_cert, key = certs_.server_key;
  const std::vector<Case> cases = {
      {Server("", ""), absl::StatusCode::kOk, ""},
      {Server(cert, key), absl::StatusCode::kOk, ""},
      {Server(cert, key, certs_.ca), absl::StatusCode::kOk, ""},
      {Server(cert, ""), absl::StatusCode::kInvalidArgument, "without its key"},
      {Server("", key), absl::StatusCode::kInvalidArgument,
       "without its certif"},
      {Server("", "", certs_.ca), absl::StatusCode::kInvalidArgument,
       "client CA file needs"},
      {Server(Missing(), key), absl::StatusCode::kFailedPrecondition,
       "No such file"},
      {Server(cert, Missing()), absl::StatusCode::kFailedPrecondition,
       "missing.pem"},
      {Server(cert, key, Missing()), absl::StatusCode::kFailedPrecondition,
       "client CA file"},
      {Server(NotPem(), key), absl::StatusCode::kFailedPrecondition,
       "no PEM certificate"},
      // A certificate is not a key.
      {Server(cert, cert), absl::StatusCode::kFailedPrecondition,
       "no PEM private"},
      {Server(cert, key, "", absl::Milliseconds(500)),
       absl::StatusCode::kInvalidArgument, "at least 1s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options.cert_file + " " + c.options.key_file + " " +
                 c.options.client_ca_file);
    EXPECT_THAT(ValidateServerTls(c.options),
                StatusIs(c.code, HasSubstr(c.message)));
    EXPECT_EQ(MakeServerCredentials(c.options).status().code(), c.code);
  }
}

TEST_F(TlsOptionsTest, ClientOptionsAreCheckedWithTheirFiles) {
  const auto tls = [](std::string ca, std::string cert = "",
                      std::string key = "") {
    ClientTlsOptions o;
    o.enabled = true;
    o.ca_file = std::move(ca);
    o.cert_file = std::move(cert);
    o.key_file = std::move(key);
    return o;
  };
  ClientTlsOptions off_with_ca;
  off_with_ca.ca_file = certs_.ca;
  ClientTlsOptions off_with_name;
  off_with_name.server_name = "localhost";
  ClientTlsOptions fast = tls(certs_.ca);
  fast.refresh_interval = absl::ZeroDuration();
  struct Case {
    ClientTlsOptions options;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, absl::StatusCode::kOk, ""},
      {tls(""), absl::StatusCode::kOk, ""},  // The system's CAs.
      {tls(certs_.ca), absl::StatusCode::kOk, ""},
      {tls(certs_.ca, certs_.client_cert, certs_.client_key),
       absl::StatusCode::kOk, ""},
      {tls("", certs_.client_cert, certs_.client_key), absl::StatusCode::kOk,
       ""},
      {off_with_ca, absl::StatusCode::kInvalidArgument, "while TLS is off"},
      {off_with_name, absl::StatusCode::kInvalidArgument, "while TLS is off"},
      {tls(Missing()), absl::StatusCode::kFailedPrecondition, "TLS CA file"},
      {tls(NotPem()), absl::StatusCode::kFailedPrecondition, "no PEM"},
      {tls(certs_.ca, certs_.client_cert), absl::StatusCode::kInvalidArgument,
       "without its key"},
      {tls(certs_.ca, "", certs_.client_key),
       absl::StatusCode::kInvalidArgument, "without its certificate"},
      {fast, absl::StatusCode::kInvalidArgument, "at least 1s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options.ca_file + " " + c.options.cert_file + " " +
                 c.options.key_file);
    EXPECT_THAT(ValidateClientTls(c.options),
                StatusIs(c.code, HasSubstr(c.message)));
    EXPECT_EQ(MakeChannel("localhost:1", c.options).status().code(), c.code);
  }
}

}  // namespace
}  // namespace xxljob

// The HTTP face over TLS: the real executor with the server certificate
// options (the same as gRPC's) serves HTTPS only, on loopback, to Beast's
// TLS client and to curl; plain HTTP, untrusted or old clients and silent
// sockets end their own connection and no other. Certificates are made at
// test time (tests/testing/test_certs.h).
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/app/executor_app.h"
#include "tests/testing/child_process.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/http_test_server.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret";
constexpr char kBeatOk[] = R"({"code":200,"msg":"Success"})";

struct ClientTls {
  std::string ca;  // trusted; the server's name "localhost" is checked
  std::string cert, key;
  // 0: TLS 1.2 and later; else the newest version offered.
  int max_version = 0;
};

// One HTTPS connection to the face: connects and handshakes at once.
class TlsConnection {
 public:
  TlsConnection(int port, const ClientTls& tls)
      : context_(ssl::context::tls_client), stream_(io_, Configure(tls)) {
    beast::error_code ec;
    stream_.next_layer().connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                      static_cast<unsigned short>(port)),
        ec);
    if (ec) {
      handshake_ = ec;
      return;
    }
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    SSL_set1_host(stream_.native_handle(), "localhost");
    stream_.handshake(ssl::stream_base::client, handshake_);
  }

  // The handshake's outcome (the client's view).
  beast::error_code handshake() const { return handshake_; }

  // POSTs `body` to `path` with the token; the answer's body, or "" with
  // `*error` set when the connection failed or was closed.
  std::string Post(const std::string& path, const std::string& body = "",
                   beast::error_code* error = nullptr) {
    beast::error_code ec = handshake_;
    std::string out;
    if (!ec) {
      bhttp::request<bhttp::string_body> request(bhttp::verb::post, path, 11);
      request.set(bhttp::field::host, "localhost");
      request.set("XXL-JOB-ACCESS-TOKEN", kToken);
      request.body() = body;
      request.prepare_payload();
      bhttp::write(stream_, request, ec);
    }
    if (!ec) {
      bhttp::response<bhttp::string_body> response;
      bhttp::read(stream_, buffer_, response, ec);
      if (!ec) out = response.body();
    }
    if (error != nullptr) *error = ec;
    return out;
  }

 private:
  ssl::context& Configure(const ClientTls& tls) {
    SSL_CTX* native = context_.native_handle();
    if (tls.max_version != 0) {
      // Old protocols need the lowest security level to be offered at all.
      SSL_CTX_set_security_level(native, 0);
      SSL_CTX_set_min_proto_version(native, tls.max_version);
      SSL_CTX_set_max_proto_version(native, tls.max_version);
    }
    context_.set_verify_mode(ssl::verify_peer);
    context_.load_verify_file(tls.ca);
    if (!tls.cert.empty()) {
      context_.use_certificate_chain_file(tls.cert);
      context_.use_private_key_file(tls.key, ssl::context::pem);
    }
    return context_;
  }

  asio::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
  beast::error_code handshake_;
};

// A plain TCP connection to the face.
class PlainConnection {
 public:
  explicit PlainConnection(int port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(port)));
  }
  void Send(const std::string& bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  // Reads until the server closes the connection; what came before.
  std::string ReadToClose() {
    std::string all;
    char chunk[4096];
    for (;;) {
      beast::error_code ec;
      const size_t n = socket_.read_some(asio::buffer(chunk), ec);
      all.append(chunk, n);
      if (ec) return all;
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

class HttpsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinHandlers(&registry_).ok());
    absl::StatusOr<testing::TestCerts> certs =
        testing::MakeTestCerts(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
    trusting_.ca = certs_.ca;
  }

  void Start(AppOptions options = {}) {
    options.grpc.listen = "127.0.0.1:0";
    options.http.listen = "127.0.0.1:0";
    options.grpc.tls.cert_file = certs_.server_cert;
    options.grpc.tls.key_file = certs_.server_key;
    options.api.access_token = kToken;
    options.api.app_name = "https-app";
    options.executor.log_path = dir_.path() + "/data";
    auto app = ExecutorApp::StartWithSink(options, &registry_, &sink_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    port_ = app_->http_port();
    ASSERT_GT(port_, 0);
  }

  testing::TempDir dir_;
  testing::TestCerts certs_;
  ClientTls trusting_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<ExecutorApp> app_;
  int port_ = 0;
};

TEST_F(HttpsE2eTest, BeatAndRunOverHttpsAndTheRegisteredUrlIsHttps) {
  testing::HttpTestServer admin;
  AppOptions options;
  options.admin_addresses = {admin.url()};
  Start(options);
  TlsConnection c(port_, trusting_);
  ASSERT_FALSE(c.handshake()) << c.handshake().message();
  EXPECT_EQ(c.Post("/beat"), kBeatOk);
  // Kept alive: the next requests ride the same TLS connection.
  EXPECT_EQ(c.Post("/beat"), kBeatOk);
  EXPECT_THAT(
      c.Post("/run",
             R"({"jobId":1,"executorHandler":"demoJobHandler","logId":11})"),
      HasSubstr(R"("code":200)"));
  EXPECT_TRUE(sink_.WaitFor(11).has_value());
  // The admin is told to call back over HTTPS.
  ASSERT_TRUE(admin.WaitForRequests(1));
  const testing::RecordedRequest registry = admin.requests()[0];
  EXPECT_EQ(registry.target, "/api/registry");
  EXPECT_THAT(registry.body,
              HasSubstr(absl::StrCat("\"https://127.0.0.1:", port_, "/\"")));
}

TEST_F(HttpsE2eTest, AnHttpAddressIsRefusedWhenTheFaceServesHttps) {
  AppOptions options;
  options.grpc.listen = "127.0.0.1:0";
  options.http.listen = "127.0.0.1:0";
  options.grpc.tls.cert_file = certs_.server_cert;
  options.grpc.tls.key_file = certs_.server_key;
  options.http_address = "http://10.0.0.1:9998/";
  options.executor.log_path = dir_.path() + "/data";
  auto app = ExecutorApp::StartWithSink(options, &registry_, &sink_);
  ASSERT_FALSE(app.ok());
  EXPECT_THAT(std::string(app.status().message()),
              HasSubstr("serves HTTPS only"));
}

TEST_F(HttpsE2eTest, PlainHttpToTheTlsPortIsClosedAndTheFaceServesOn) {
  Start();
  PlainConnection plain(port_);
  plain.Send(
      "POST /beat HTTP/1.1\r\nHost: x\r\nXXL-JOB-ACCESS-TOKEN: s3cret\r\n"
      "Content-Length: 0\r\n\r\n");
  // No HTTP answer, only the end of the connection (perhaps after an
  // alert).
  EXPECT_THAT(plain.ReadToClose(), ::testing::Not(HasSubstr("HTTP/1.")));
  TlsConnection c(port_, trusting_);
  EXPECT_EQ(c.Post("/beat"), kBeatOk);
}

TEST_F(HttpsE2eTest, AFailedHandshakeEndsOnlyItsOwnConnection) {
  AppOptions options;
  // Short, so that the silent socket below is closed within the test.
  options.http.io_timeout = absl::Milliseconds(500);
  Start(options);
  TlsConnection kept(port_, trusting_);
  ASSERT_EQ(kept.Post("/beat"), kBeatOk);

  // A client that does not trust the server's CA gives up.
  ClientTls distrusting;
  distrusting.ca = certs_.rogue_ca;
  TlsConnection untrusted(port_, distrusting);
  EXPECT_TRUE(untrusted.handshake());
  // TLS 1.1 is refused by the server.
  ClientTls old = trusting_;
  old.max_version = TLS1_1_VERSION;
  TlsConnection tls11(port_, old);
  EXPECT_TRUE(tls11.handshake());
  // Garbage that starts like a TLS record.
  PlainConnection garbage(port_);
  garbage.Send(std::string("\x16\x03\x01\x00\x05hello\x00\xff", 12));
  EXPECT_THAT(garbage.ReadToClose(), ::testing::Not(HasSubstr("HTTP/1.")));
  // A socket that never starts its handshake is closed after the io
  // timeout.
  PlainConnection silent(port_);
  const absl::Time before = absl::Now();
  silent.ReadToClose();
  EXPECT_LT(absl::Now() - before, absl::Seconds(20));

  // Meanwhile the kept-alive connection and new ones are served.
  TlsConnection fresh(port_, trusting_);
  EXPECT_EQ(fresh.Post("/beat"), kBeatOk);
  TlsConnection again(port_, trusting_);
  EXPECT_EQ(again.Post("/beat"), kBeatOk);
}

TEST_F(HttpsE2eTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  AppOptions options;
  options.grpc.tls.client_ca_file = certs_.ca;
  Start(options);
  // With TLS 1.3 the server's refusal may reach the client only when it
  // reads: either way, no answer.
  beast::error_code ec;
  TlsConnection anonymous(port_, trusting_);
  EXPECT_EQ(anonymous.Post("/beat", "", &ec), "");
  EXPECT_TRUE(ec);
  ClientTls rogue = trusting_;
  rogue.cert = certs_.rogue_client_cert;
  rogue.key = certs_.rogue_client_key;
  TlsConnection untrusted(port_, rogue);
  EXPECT_EQ(untrusted.Post("/beat", "", &ec), "");
  EXPECT_TRUE(ec);
  ClientTls known = trusting_;
  known.cert = certs_.client_cert;
  known.key = certs_.client_key;
  TlsConnection client(port_, known);
  EXPECT_EQ(client.Post("/beat", "", &ec), kBeatOk) << ec.message();
}

TEST_F(HttpsE2eTest, ARotatedCertificateReachesNewConnections) {
  AppOptions options;
  options.grpc.tls.refresh_interval = absl::Seconds(1);
  Start(options);
  TlsConnection before(port_, trusting_);
  ASSERT_EQ(before.Post("/beat"), kBeatOk);
  // A server certificate from another CA replaces the files (as a rename
  // would: each file is complete when it appears).
  ASSERT_TRUE(testing::MakeCert(dir_.path(), "rotated", "/CN=localhost",
                                "rogue_ca",
                                {"subjectAltName=DNS:localhost,IP:127.0.0.1",
                                 "extendedKeyUsage=serverAuth"})
                  .ok());
  ASSERT_EQ(std::rename((dir_.path() + "/rotated.key").c_str(),
                        certs_.server_key.c_str()),
            0);
  ASSERT_EQ(std::rename((dir_.path() + "/rotated.pem").c_str(),
                        certs_.server_cert.c_str()),
            0);
  ClientTls rotated;
  rotated.ca = certs_.rogue_ca;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool served = false;
  while (!served && absl::Now() < deadline) {
    TlsConnection c(port_, rotated);
    served = c.Post("/beat") == kBeatOk;
  }
  EXPECT_TRUE(served);
  // The connection made before keeps its session.
  EXPECT_EQ(before.Post("/beat"), kBeatOk);
}

// The real binary: the --tls_* flags reach the HTTP face, and curl (as an
// operator would check it) gets its answer over HTTPS.
TEST_F(HttpsE2eTest, CurlReachesTheExecutorProcessOverHttps) {
  testing::ExecutorProcess executor({"--listen=127.0.0.1:0",
                                     "--http_listen=127.0.0.1:0",
                                     "--tls_cert_file=" + certs_.server_cert,
                                     "--tls_key_file=" + certs_.server_key,
                                     absl::StrCat("--access_token=", kToken),
                                     "--log_path=" + dir_.path() + "/process"});
  ASSERT_TRUE(executor.WaitUntilServing().ok()) << executor.Stderr();
  ASSERT_TRUE(executor.WaitForStderr("HTTP face advertised as https://"))
      << executor.Stderr();
  ASSERT_THAT(executor.Stderr(), HasSubstr("HTTPS (XXL-JOB protocol"));
  const int port = executor.HttpFacePort();
  ASSERT_GT(port, 0) << executor.Stderr();
  // curl on PATH (dev.sh installs it); without it this fails, as for
  // openssl.
  std::string curl_path;
  for (absl::string_view dir : absl::StrSplit(
           std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin",
           ':')) {
    const std::string candidate = absl::StrCat(dir, "/curl");
    if (curl_path.empty() && access(candidate.c_str(), X_OK) == 0) {
      curl_path = candidate;
    }
  }
  ASSERT_FALSE(curl_path.empty()) << "curl is not on PATH (./dev.sh deps)";
  testing::ChildProcess curl(
      {curl_path, "-sS", "--cacert", certs_.ca, "-X", "POST", "-H",
       absl::StrCat("XXL-JOB-ACCESS-TOKEN: ", kToken),
       absl::StrCat("https://localhost:", port, "/beat")});
  EXPECT_EQ(curl.WaitForExit().value_or(-1), 0) << curl.Stderr();
  EXPECT_EQ(curl.Stdout(), kBeatOk);
  EXPECT_EQ(executor.Terminate().value_or(-1), 0);
}

}  // namespace
}  // namespace xxljob

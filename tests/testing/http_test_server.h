// A real HTTP/1.1 server on 127.0.0.1:0 (or another loopback address) for tests
// of HTTP clients (the executor's HTTP admin client; later the admin
// simulator's HTTP face): it records every request (method, target, headers,
// body, which connection carried it) and answers each with a configurable
// status and body, or never answers. Plain or TLS (Boost.Asio ssl). Keep-alive
// like a stock admin's Tomcat, so connection reuse can be counted.
//
//   testing::HttpTestServer server;             // or HttpTestServer(tls)
//   server.SetAnswer(200, R"({"code":200})");
//   ... client posts to server.url() ...
//   ASSERT_TRUE(server.WaitForRequests(1));
//   EXPECT_EQ(server.requests()[0].target, "/api/registry");
//
// Thread-safe. One thread accepts, one thread serves each connection; the
// destructor closes every socket and joins them all.
#ifndef XXLJOB_TESTS_TESTING_HTTP_TEST_SERVER_H_
#define XXLJOB_TESTS_TESTING_HTTP_TEST_SERVER_H_

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace xxljob::testing {

// One request as the server read it.
struct RecordedRequest {
  std::string method;
  std::string target;
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
  // 0 for the first connection accepted, 1 for the next, ...
  int connection = 0;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpTestServerTls {
  std::string cert_file;  // PEM chain
  std::string key_file;   // PEM key
  // When set, mutual TLS: a client must present a certificate from here.
  std::string client_ca_file;
};

class HttpTestServer {
 public:
  // Plain HTTP without `tls`. Listens at once on `host` (a loopback IPv4
  // address; Linux answers all of 127/8), port 0; ADD_FAILURE on failure.
  explicit HttpTestServer(std::optional<HttpTestServerTls> tls = std::nullopt,
                          std::string host = "127.0.0.1")
      : host_(std::move(host)), acceptor_(io_) {
    namespace ip = boost::asio::ip;
    boost::system::error_code ec;
    if (tls.has_value()) {
      ssl_ = std::make_unique<boost::asio::ssl::context>(
          boost::asio::ssl::context::tls_server);
      ssl_->use_certificate_chain_file(tls->cert_file, ec);
      if (!ec) {
        ssl_->use_private_key_file(tls->key_file,
                                   boost::asio::ssl::context::pem, ec);
      }
      if (!ec && !tls->client_ca_file.empty()) {
        ssl_->load_verify_file(tls->client_ca_file, ec);
        if (!ec) {
          ssl_->set_verify_mode(
              boost::asio::ssl::verify_peer |
                  boost::asio::ssl::verify_fail_if_no_peer_cert,
              ec);
        }
      }
      if (ec) {
        ADD_FAILURE() << "TLS files: " << ec.message();
        return;
      }
    }
    const ip::tcp::endpoint endpoint(ip::make_address(host_, ec), 0);
    if (ec) {
      ADD_FAILURE() << "bad listen host " << host_ << ": " << ec.message();
      return;
    }
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(64, ec);
    if (ec) {
      ADD_FAILURE() << "cannot listen on " << host_ << ": " << ec.message();
      return;
    }
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~HttpTestServer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      // shutdown(2) wakes a thread blocked in accept or read on the fd.
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads = std::move(connection_threads_);
    }
    for (std::thread& t : threads) t.join();
  }
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  // "http://HOST:PORT" or "https://...", no trailing slash; `host`
  // defaults to the listen host.
  std::string url(const std::string& host = "") const {
    return absl::StrCat(ssl_ != nullptr ? "https://" : "http://",
                        host.empty() ? host_ : host, ":", port_);
  }

  // What every later request is answered with (default 200 and the 3.4.2
  // admin's success envelope).
  void SetAnswer(int status, std::string body) {
    absl::MutexLock lock(&mu_);
    status_ = status;
    body_ = std::move(body);
  }
  // While true, requests are read and recorded but never answered (the
  // connection stays open until the server is destroyed).
  void SetNeverAnswer(bool never) {
    absl::MutexLock lock(&mu_);
    never_answer_ = never;
  }

  // Waits until at least `n` requests were recorded; false after `timeout`.
  bool WaitForRequests(size_t n, absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return requests_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<RecordedRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // Connections accepted so far (TLS: handshakes completed or not).
  int connections() const {
    absl::MutexLock lock(&mu_);
    return connections_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      absl::MutexLock lock(&mu_);
      if (stopping_ || ec) return;
      const int id = connections_++;
      open_fds_.push_back(socket.native_handle());
      connection_threads_.emplace_back(
          [this, id, s = std::move(socket)]() mutable {
            Serve(std::move(s), id);
          });
    }
  }

  // Forgets a connection's fd before its socket closes it, so that the
  // destructor never shuts down a number the kernel has handed out again.
  struct ForgetFd {
    HttpTestServer* server;
    int fd;
    ~ForgetFd() {
      absl::MutexLock lock(&server->mu_);
      auto& fds = server->open_fds_;
      fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
    }
  };

  void Serve(boost::asio::ip::tcp::socket socket, int id) {
    const int fd = socket.native_handle();
    if (ssl_ == nullptr) {
      ForgetFd forget{this, fd};
      ServeStream(socket, id);
      return;
    }
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(
        std::move(socket), *ssl_);
    ForgetFd forget{this, fd};
    boost::system::error_code ec;
    stream.handshake(boost::asio::ssl::stream_base::server, ec);
    if (!ec) ServeStream(stream, id);
  }

  template <typename Stream>
  void ServeStream(Stream& stream, int id) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      boost::system::error_code ec;
      http::read(stream, buffer, request, ec);
      if (ec) return;
      RecordedRequest recorded;
      recorded.method = std::string(request.method_string());
      recorded.target = std::string(request.target());
      for (const auto& field : request) {
        recorded
            .headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
            std::string(field.value());
      }
      recorded.body = request.body();
      recorded.connection = id;
      http::response<http::string_body> response;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(std::move(recorded));
        if (never_answer_) {
          mu_.Await(absl::Condition(&stopping_));
          return;
        }
        response.result(static_cast<unsigned>(status_));
        response.body() = body_;
      }
      response.version(11);
      response.set(http::field::content_type, "application/json");
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  const std::string host_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread accept_thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  std::string body_ ABSL_GUARDED_BY(mu_) =
      R"({"code":200,"data":null,"msg":"Success","success":true})";
  bool never_answer_ ABSL_GUARDED_BY(mu_) = false;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_HTTP_TEST_SERVER_H_

// Boost.Beast plumbing of the HTTP transport: one session per connection
// (over TCP, or TLS over TCP), reading a request at a time (pipelined
// requests wait in the buffer), answering it through Impl::Answer (the one
// place that maps a request to its answer) and writing the answer before
// the next read. Every handshake, read and write has a deadline
// (HttpOptions::io_timeout).
#include "server/http/http_transport.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "common/access_token.h"
#include "common/connection_listener.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "server/http/http_tls.h"
#include "server/http/xxl_routes.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// How long Shutdown lets requests being read or answered finish.
constexpr absl::Duration kDrainDeadline = absl::Seconds(1);

// One request as read: only what an answer needs. A session reuses one,
// so that once its strings have grown, reading a request allocates
// nothing.
struct ReadRequest {
  std::string method;
  std::string target;
  std::string token;
  bool has_token = false;
  std::string app_name;
  bool has_app_name = false;
  std::string body;
  unsigned version = 11;

  void Clear() {
    method.clear();
    target.clear();
    token.clear();
    has_token = false;
    app_name.clear();
    has_app_name = false;
    body.clear();
    version = 11;
  }
};

// Beast's HTTP/1.1 parser (limits, chunked bodies, keep-alive rules), with
// the request going into a ReadRequest instead of a message whose fields
// are allocated one by one. Of a repeated header the first counts.
class RequestParser final : public http::basic_parser<true> {
 public:
  explicit RequestParser(ReadRequest* out) : out_(out) { out_->Clear(); }

 private:
  void on_request_impl(http::verb, beast::string_view method,
                       beast::string_view target, int version,
                       beast::error_code&) override {
    out_->method.assign(method.data(), method.size());
    out_->target.assign(target.data(), target.size());
    out_->version = static_cast<unsigned>(version);
  }
  void on_response_impl(int, beast::string_view, int,
                        beast::error_code&) override {}
  void on_field_impl(http::field, beast::string_view name,
                     beast::string_view value, beast::error_code&) override {
    if (!out_->has_token && beast::iequals(name, kAccessTokenKey)) {
      out_->token.assign(value.data(), value.size());
      out_->has_token = true;
    } else if (!out_->has_app_name && beast::iequals(name, kAppNameHeader)) {
      out_->app_name.assign(value.data(), value.size());
      out_->has_app_name = true;
    }
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         beast::error_code&) override {}
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    out_->body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                            beast::error_code&) override {
    out_->body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  ReadRequest* const out_;
};

// Writes the answer, head and body, into `out` (cleared first; its
// capacity is reused): one buffer, one write.
void SerializeResponse(unsigned status, absl::string_view body,
                       const char* content_type, bool keep_alive,
                       unsigned version, std::string* out) {
  const beast::string_view reason =
      http::obsolete_reason(static_cast<http::status>(status));
  out->clear();
  absl::StrAppend(out, version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ", status, " ",
                  absl::string_view(reason.data(), reason.size()),
                  "\r\nContent-Type: ", content_type,
                  "\r\nContent-Length: ", body.size(), "\r\n");
  if (version >= 11 && !keep_alive) out->append("Connection: close\r\n");
  if (version < 11 && keep_alive) out->append("Connection: keep-alive\r\n");
  out->append("\r\n");
  out->append(body.data(), body.size());
}

}  // namespace

class HttpTransport::Impl {
 public:
  Impl(HttpOptions options, XxlProtocol protocol, ApiHandler* api,
       std::unique_ptr<HttpTlsContexts> tls)
      : options_(std::move(options)),
        protocol_(protocol),
        api_(api),
        tls_(std::move(tls)),
        threads_wanted_(options_.threads) {}
  ~Impl() { Shutdown(); }

  absl::Status Start();
  void Shutdown();

  int port() const { return listener_->port(); }
  const std::string& listen_host() const { return listen_host_; }
  bool tls() const { return tls_ != nullptr; }
  ConnectionCounts connections() const {
    return {listener_->tracked_connections(), options_.max_connections,
            listener_->refused_connections() + listener_->accept_failures()};
  }

  // What one request gets back, whatever carried it (plain or TLS).
  XxlResponse Answer(const ReadRequest& request,
                     std::function<std::string()> peer) const;

  // A session's life, for the drain at shutdown. Session<Stream> serves a
  // plain (beast::tcp_stream) or a TLS connection.
  class SessionBase;
  template <typename Stream>
  class Session;
  void Register(const std::shared_ptr<SessionBase>& session);
  void Unregister(const SessionBase* session);

  // First, so that they outlive ios_: sessions still owned by their
  // handlers unregister when ios_ go.
  absl::Mutex mu_;
  absl::flat_hash_map<const SessionBase*, std::weak_ptr<SessionBase>> sessions_
      ABSL_GUARDED_BY(mu_);

  const HttpOptions options_;
  const XxlProtocol protocol_;
  ApiHandler* const api_;
  // Null: plain HTTP.
  const std::unique_ptr<HttpTlsContexts> tls_;
  // One io_context per serving thread, each run by that thread alone: a
  // session lives on one of them, so its handlers never run concurrently
  // and need no strand.
  std::vector<std::unique_ptr<asio::io_context>> ios_;

 private:
  // Takes an accepted socket (on the listener's thread).
  void Adopt(int fd);

  const int threads_wanted_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  // The io_context the next connection goes to (the listener's thread).
  size_t next_io_ = 0;
  std::string listen_host_;
  std::unique_ptr<ConnectionListener> listener_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

XxlResponse HttpTransport::Impl::Answer(
    const ReadRequest& request, std::function<std::string()> peer) const {
  XxlRequest xxl;
  xxl.method = request.method;
  xxl.target = request.target;
  if (request.has_token) xxl.token = request.token;
  if (request.has_app_name) xxl.app_name = request.app_name;
  xxl.body = request.body;
  xxl.metrics_only = options_.metrics_only;
  xxl.peer = std::move(peer);
  try {
    return HandleXxlRequest(*api_, protocol_, xxl);
  } catch (const std::exception& e) {
    LOG_EVERY_N(ERROR, 100) << "HTTP " << xxl.target << " threw: " << e.what();
    XxlResponse response;
    response.body = R"({"code":500,"msg":"internal error"})";
    return response;
  }
}

class HttpTransport::Impl::SessionBase {
 public:
  virtual ~SessionBase() = default;
  // At shutdown: an idle connection is closed now, a busy one after its
  // answer is written.
  virtual void Drain() = 0;
};

template <typename Stream>
class HttpTransport::Impl::Session
    : public SessionBase,
      public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  // `context` is null for plain HTTP.
  Session(Impl* transport, tcp::socket socket,
          std::shared_ptr<asio::ssl::context> context)
      : transport_(transport),
        context_(std::move(context)),
        stream_(MakeStream(std::move(socket), context_.get())),
        // A request that fits the header and body bounds fits the buffer.
        buffer_(
            transport->options_.max_header_bytes +
            static_cast<size_t>(transport->api_->options().max_request_bytes)) {
  }
  ~Session() override { transport_->Unregister(this); }

  void Begin() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      // The handshake and the first request share one deadline.
      self->socket_stream().expires_after(
          absl::ToChronoMilliseconds(self->transport_->options_.io_timeout));
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->Read();
      }
    });
  }

  void Drain() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->draining_ = true;
      if (self->reading_) self->socket_stream().socket().close();
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, asio::ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& socket_stream() {
    return beast::get_lowest_layer(stream_);
  }

  void Handshake() {
    reading_ = true;
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = this->shared_from_this()](beast::error_code ec) {
          self->reading_ = false;
          if (ec) {
            // Plain HTTP on the TLS port, an untrusted or missing client
            // certificate, an old protocol, a timeout: only this
            // connection ends.
            LOG_EVERY_N(WARNING, 100)
                << "HTTP: TLS handshake with " << self->Peer()
                << " failed: " << ec.message();
            return self->CloseSocket();
          }
          if (self->draining_) return self->CloseSocket();
          self->Read(/*first=*/true);
        });
  }

  // `first`: the deadline set before the handshake still runs.
  void Read(bool first = false) {
    parser_.emplace(&request_);
    parser_->header_limit(
        static_cast<uint32_t>(transport_->options_.max_header_bytes));
    parser_->body_limit(transport_->api_->options().max_request_bytes);
    if (!first) {
      socket_stream().expires_after(
          absl::ToChronoMilliseconds(transport_->options_.io_timeout));
    }
    reading_ = true;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          self->reading_ = false;
          self->OnRead(ec);
        });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // The envelope says why; the rest of the body is not read, so the
      // connection can't be reused.
      const XxlResponse r =
          BodyTooLarge(transport_->api_->options().max_request_bytes);
      CountRefusedRequest(*transport_->api_, request_.target, r.status);
      return Write(r.status, r.body, r.content_type, /*keep_alive=*/false, 11);
    }
    if (ec == http::error::header_limit) {
      CountRefusedRequest(*transport_->api_, request_.target, 431);
      return Write(431, "", XxlResponse().content_type, /*keep_alive=*/false,
                   11);
    }
    if (ec) {
      // End of stream, timeout, reset, or a request that is not HTTP: there
      // is no request to answer, so the connection is closed.
      VLOG(2) << "HTTP connection ends: " << ec.message();
      return CloseSocket();
    }
    XxlResponse response =
        transport_->Answer(request_, [this] { return Peer(); });
    Write(response.status, response.body, response.content_type,
          parser_->keep_alive() && !draining_, request_.version);
  }

  void Write(unsigned status, absl::string_view body, const char* content_type,
             bool keep_alive, unsigned version) {
    SerializeResponse(status, body, content_type, keep_alive, version, &out_);
    socket_stream().expires_after(
        absl::ToChronoMilliseconds(transport_->options_.io_timeout));
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), keep_alive](
                          beast::error_code ec, size_t) {
                        if (ec) return self->CloseSocket();
                        if (!keep_alive || self->draining_) {
                          return self->Close();
                        }
                        self->Read();
                      });
  }

  // Ends a connection whose last answer was written: TLS says so first
  // (close_notify), within a short deadline.
  void Close() {
    if constexpr (kTls) {
      socket_stream().expires_after(std::min(
          std::chrono::milliseconds(1000),
          absl::ToChronoMilliseconds(transport_->options_.io_timeout)));
      stream_.async_shutdown([self = this->shared_from_this()](
                                 beast::error_code) { self->CloseSocket(); });
    } else {
      CloseSocket();
    }
  }

  void CloseSocket() {
    beast::error_code unused;
    socket_stream().socket().shutdown(tcp::socket::shutdown_send, unused);
    socket_stream().socket().close(unused);
  }

  std::string Peer() {
    beast::error_code unused;
    const tcp::endpoint peer = socket_stream().socket().remote_endpoint(unused);
    return absl::StrCat("http:", peer.address().to_string(unused), ":",
                        peer.port());
  }

  Impl* const transport_;
  // Before stream_, which uses it.
  const std::shared_ptr<asio::ssl::context> context_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  ReadRequest request_;
  // The answer being written, head and body.
  std::string out_;
  // Only touched on the session's io thread.
  bool reading_ = false;
  bool draining_ = false;
};

void HttpTransport::Impl::Register(
    const std::shared_ptr<SessionBase>& session) {
  absl::MutexLock lock(&mu_);
  sessions_[session.get()] = session;
}

void HttpTransport::Impl::Unregister(const SessionBase* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
}

absl::Status HttpTransport::Impl::Start() {
  absl::StatusOr<HostPort> listen =
      ParseHostPort(options_.listen, "http_listen");
  if (!listen.ok()) return listen.status();
  listen_host_ = listen->host;
  ConnectionListenerOptions accept;
  accept.host = listen->host;
  accept.port = listen->port;
  accept.max_connections = options_.max_connections;
  accept.name = "HTTP";
  absl::StatusOr<std::unique_ptr<ConnectionListener>> listener =
      ConnectionListener::Bind(accept);
  if (!listener.ok())
    return absl::UnavailableError(listener.status().message());
  listener_ = *std::move(listener);
  for (int i = 0; i < threads_wanted_; ++i) {
    ios_.push_back(std::make_unique<asio::io_context>(1));
    work_.push_back(asio::make_work_guard(*ios_.back()));
  }
  for (int i = 0; i < threads_wanted_; ++i) {
    threads_.emplace_back([io = ios_[i].get()] { io->run(); });
  }
  listener_->Start([this](int fd) { Adopt(fd); });
  // The app names the metrics-only listener itself ("metrics served on").
  if (options_.metrics_only) return absl::OkStatus();
  LOG(INFO) << (tls_ == nullptr  ? "HTTP"
                : tls_->mutual() ? "HTTPS (mutual TLS)"
                                 : "HTTPS")
            << " (XXL-JOB protocol " << XxlProtocolName(protocol_)
            << ") serving on " << options_.listen << " (port "
            << listener_->port() << "), at most " << options_.max_connections
            << " connections, io timeout "
            << absl::FormatDuration(options_.io_timeout);
  return absl::OkStatus();
}

void HttpTransport::Impl::Adopt(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const tcp protocol = address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  beast::error_code ec;
  asio::io_context& io = *ios_[next_io_++ % ios_.size()];
  tcp::socket socket(io);
  socket.assign(protocol, fd, ec);
  // Answers are small and each is one write: sent at once, not held back
  // waiting for the client's ACK of the previous one.
  if (!ec) {
    beast::error_code ignored;  // Only slower without it.
    socket.set_option(tcp::no_delay(true), ignored);
  }
  if (ec) {
    ::close(fd);
    LOG_EVERY_N(WARNING, 100)
        << "HTTP: can't adopt a connection: " << ec.message();
    return;
  }
  if (tls_ != nullptr) {
    using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;
    auto session =
        std::make_shared<TlsSession>(this, std::move(socket), tls_->Current());
    Register(session);
    session->Begin();
  } else {
    auto session = std::make_shared<Session<beast::tcp_stream>>(
        this, std::move(socket), nullptr);
    Register(session);
    session->Begin();
  }
}

void HttpTransport::Impl::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // No new connections; those open finish what they are doing.
  if (listener_ != nullptr) listener_->Stop();
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (const auto& s : open) s->Drain();
  open.clear();
  {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return sessions_.empty();
    };
    mu_.AwaitWithTimeout(absl::Condition(&none), kDrainDeadline);
  }
  work_.clear();
  for (auto& io : ios_) io->stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  listener_.reset();
}

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Start(
    HttpOptions options, ServerTlsOptions tls, XxlProtocol protocol,
    ApiHandler* api) {
  if (absl::Status s = ValidateHttpOptions(options); !s.ok()) return s;
  std::unique_ptr<HttpTlsContexts> contexts;
  if (tls.enabled()) {
    absl::StatusOr<std::unique_ptr<HttpTlsContexts>> made =
        HttpTlsContexts::Create(std::move(tls));
    if (!made.ok()) return made.status();
    contexts = *std::move(made);
  } else if (absl::Status s = ValidateServerTls(tls); !s.ok()) {
    return s;
  }
  auto impl = std::make_unique<Impl>(std::move(options), protocol, api,
                                     std::move(contexts));
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
}

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
HttpTransport::~HttpTransport() { Shutdown(); }
int HttpTransport::port() const { return impl_->port(); }
const std::string& HttpTransport::listen_host() const {
  return impl_->listen_host();
}
const char* HttpTransport::scheme() const {
  return impl_->tls() ? "https" : "http";
}
void HttpTransport::Shutdown() { impl_->Shutdown(); }
ConnectionCounts HttpTransport::connections() const {
  return impl_->connections();
}

}  // namespace xxljob

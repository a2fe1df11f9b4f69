// Boost.Beast plumbing of the HTTP transport: one session per connection,
// reading a request at a time (pipelined requests wait in the buffer),
// answering it through HandleXxlRequest and writing the answer before the
// next read. Every read and write has a deadline (HttpOptions::io_timeout).
#include "server/http/http_transport.h"

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/access_token.h"
#include "common/connection_listener.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "server/http/xxl_routes.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// How long Shutdown lets requests being read or answered finish.
constexpr absl::Duration kDrainDeadline = absl::Seconds(1);

std::optional<absl::string_view> Header(
    const http::request<http::string_body>& request, absl::string_view name) {
  auto it = request.find(beast::string_view(name.data(), name.size()));
  if (it == request.end()) return std::nullopt;
  return absl::string_view(it->value().data(), it->value().size());
}

}  // namespace

class HttpTransport::Impl {
 public:
  Impl(HttpOptions options, XxlProtocol protocol, ApiHandler* api)
      : options_(std::move(options)),
        protocol_(protocol),
        api_(api),
        work_(asio::make_work_guard(io_)) {}
  ~Impl() { Shutdown(); }

  absl::Status Start();
  void Shutdown();

  int port() const { return listener_->port(); }
  const std::string& listen_host() const { return listen_host_; }
  ConnectionCounts connections() const {
    return {listener_->tracked_connections(), options_.max_connections,
            listener_->refused_connections() + listener_->accept_failures()};
  }

  // A session's life, for the drain at shutdown.
  class Session;
  void Register(const std::shared_ptr<Session>& session);
  void Unregister(const Session* session);

  // First, so that they outlive io_: sessions still owned by its handlers
  // unregister when io_ goes.
  absl::Mutex mu_;
  absl::flat_hash_map<const Session*, std::weak_ptr<Session>> sessions_
      ABSL_GUARDED_BY(mu_);

  const HttpOptions options_;
  const XxlProtocol protocol_;
  ApiHandler* const api_;
  asio::io_context io_;

 private:
  // Takes an accepted socket (on the listener's thread).
  void Adopt(int fd);

  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::string listen_host_;
  std::unique_ptr<ConnectionListener> listener_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

class HttpTransport::Impl::Session
    : public std::enable_shared_from_this<HttpTransport::Impl::Session> {
 public:
  Session(Impl* transport, tcp::socket socket)
      : transport_(transport),
        stream_(std::move(socket)),
        // A request that fits the header and body bounds fits the buffer.
        buffer_(
            transport->options_.max_header_bytes +
            static_cast<size_t>(transport->api_->options().max_request_bytes)) {
  }
  ~Session() { transport_->Unregister(this); }

  void Begin() {
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this()] { self->Read(); });
  }

  // At shutdown: an idle connection is closed now, a busy one after its
  // answer is written.
  void Drain() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      if (self->reading_) self->stream_.socket().close();
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(transport_->options_.max_header_bytes));
    parser_->body_limit(transport_->api_->options().max_request_bytes);
    stream_.expires_after(
        absl::ToChronoMilliseconds(transport_->options_.io_timeout));
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
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
      return Write(r.status, r.body, /*keep_alive=*/false, 11);
    }
    if (ec == http::error::header_limit) {
      return Write(431, "", /*keep_alive=*/false, 11);
    }
    if (ec) {
      // End of stream, timeout, reset, or a request that is not HTTP: there
      // is no request to answer, so the connection is closed.
      VLOG(2) << "HTTP connection ends: " << ec.message();
      return Close();
    }
    http::request<http::string_body> request = parser_->release();
    XxlRequest xxl;
    xxl.method = absl::string_view(request.method_string().data(),
                                   request.method_string().size());
    xxl.target =
        absl::string_view(request.target().data(), request.target().size());
    xxl.token = Header(request, kAccessTokenKey);
    xxl.app_name = Header(request, kAppNameHeader);
    xxl.body = request.body();
    xxl.metrics_only = transport_->options_.metrics_only;
    xxl.peer = [this] {
      beast::error_code unused;
      const tcp::endpoint peer = stream_.socket().remote_endpoint(unused);
      return absl::StrCat("http:", peer.address().to_string(unused), ":",
                          peer.port());
    };
    XxlResponse response;
    try {
      response =
          HandleXxlRequest(*transport_->api_, transport_->protocol_, xxl);
    } catch (const std::exception& e) {
      LOG_EVERY_N(ERROR, 100)
          << "HTTP " << xxl.target << " threw: " << e.what();
      response.body = R"({"code":500,"msg":"internal error"})";
    }
    Write(response.status, std::move(response.body),
          request.keep_alive() && !draining_, request.version(),
          response.content_type);
  }

  void Write(unsigned status, std::string body, bool keep_alive,
             unsigned version,
             const char* content_type = "application/json;charset=UTF-8") {
    response_.emplace(static_cast<http::status>(status), version);
    response_->set(http::field::content_type, content_type);
    response_->keep_alive(keep_alive);
    response_->body() = std::move(body);
    response_->prepare_payload();
    stream_.expires_after(
        absl::ToChronoMilliseconds(transport_->options_.io_timeout));
    http::async_write(
        stream_, *response_,
        [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive || self->draining_) {
            return self->Close();
          }
          self->Read();
        });
  }

  void Close() {
    beast::error_code unused;
    stream_.socket().shutdown(tcp::socket::shutdown_send, unused);
    stream_.socket().close(unused);
  }

  Impl* const transport_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  // Only touched on the session's strand.
  bool reading_ = false;
  bool draining_ = false;
};

void HttpTransport::Impl::Register(const std::shared_ptr<Session>& session) {
  absl::MutexLock lock(&mu_);
  sessions_[session.get()] = session;
}

void HttpTransport::Impl::Unregister(const Session* session) {
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
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  listener_->Start([this](int fd) { Adopt(fd); });
  LOG(INFO) << "HTTP (XXL-JOB protocol " << XxlProtocolName(protocol_)
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
  tcp::socket socket(asio::make_strand(io_));
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    LOG_EVERY_N(WARNING, 100)
        << "HTTP: can't adopt a connection: " << ec.message();
    return;
  }
  auto session = std::make_shared<Session>(this, std::move(socket));
  Register(session);
  session->Begin();
}

void HttpTransport::Impl::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // No new connections; those open finish what they are doing.
  if (listener_ != nullptr) listener_->Stop();
  std::vector<std::shared_ptr<Session>> open;
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
  work_.reset();
  io_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  listener_.reset();
}

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Start(
    HttpOptions options, XxlProtocol protocol, ApiHandler* api) {
  if (absl::Status s = ValidateHttpOptions(options); !s.ok()) return s;
  auto impl = std::make_unique<Impl>(std::move(options), protocol, api);
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
void HttpTransport::Shutdown() { impl_->Shutdown(); }
ConnectionCounts HttpTransport::connections() const {
  return impl_->connections();
}

}  // namespace xxljob

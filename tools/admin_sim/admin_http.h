// Internal to the admin simulator: its HTTP face, a stock xxl-job-admin's
// executor API
// (SPEC §9) on Boost.Beast, one thread. POST <context>/api/registry,
// /api/registryRemove and /api/callback are decoded with the wire protos
// (both generations' callback bodies) and recorded through the same
// OnRegistry/OnCallback as gRPC calls; answers are the 3.4.2 admin's
// envelope. A refusal mode of "unavailable" answers HTTP 503.
#ifndef XXLJOB_TOOLS_ADMIN_SIM_ADMIN_HTTP_H_
#define XXLJOB_TOOLS_ADMIN_SIM_ADMIN_HTTP_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/access_token.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace admin_http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace wire = ::xxljob::http::v1;
using tcp = boost::asio::ip::tcp;

constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;

template <typename Message>
bool ParseJson(absl::string_view json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(json.data(), json.size()), message,
             options)
      .ok();
}

// Both generations' callback bodies: a JSON array of items with logDateTim
// (2.x, 3.x) or {"callbackList": [...]} with logDateTime (3.5).
inline std::optional<std::vector<RecordedCallback>> ParseCallbacks(
    absl::string_view body) {
  std::vector<RecordedCallback> items;
  const absl::Time now = absl::Now();
  wire::HandleCallbackParams list;
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(body), "[")) {
    if (!admin_http_internal::ParseJson(absl::StrCat(R"({"items":)", body, "}"),
                                        &list)) {
      return std::nullopt;
    }
    for (const wire::HandleCallbackParam& item : list.items()) {
      items.push_back({item.log_id(), item.log_date_tim(), item.handle_code(),
                       item.handle_msg(), now, 0});
    }
  } else {
    wire::CallbackRequest request;
    if (!admin_http_internal::ParseJson(body, &request)) return std::nullopt;
    for (const auto& item : request.callback_list()) {
      items.push_back({item.log_id(), item.log_date_time(), item.handle_code(),
                       item.handle_msg(), now, 0});
    }
  }
  for (RecordedCallback& item : items) {
    item.batch_size = static_cast<int>(items.size());
  }
  return items;
}

}  // namespace admin_http_internal

class AdminSimulator::HttpFace {
 public:
  explicit HttpFace(AdminSimulator* sim) : sim_(sim), acceptor_(io_) {}
  ~HttpFace() { Stop(); }

  absl::Status Start(const std::string& listen) {
    absl::StatusOr<HostPort> hp = ParseHostPort(listen, "http_listen");
    if (!hp.ok()) return hp.status();
    boost::beast::error_code ec;
    const boost::asio::ip::tcp::endpoint endpoint(
        boost::asio::ip::make_address(hp->host.empty() ? "0.0.0.0" : hp->host,
                                      ec),
        static_cast<unsigned short>(hp->port));
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "http_listen host must be an IP address, got \"", hp->host, "\""));
    }
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", listen, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    host_ = hp->host;
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(AdminSimulator* sim, boost::asio::ip::tcp::socket socket)
        : sim_(sim),
          stream_(std::move(socket)),
          timer_(stream_.get_executor()) {}

    void Read() {
      parser_.emplace();
      parser_->body_limit(admin_http_internal::kMaxBodyBytes);
      boost::beast::http::async_read(
          stream_, buffer_, *parser_,
          [self = shared_from_this()](boost::beast::error_code ec, size_t) {
            if (!ec) self->Handle();
          });
    }

   private:
    void Handle() {
      request_ = parser_->release();
      const absl::string_view target(request_.target().data(),
                                     request_.target().size());
      std::optional<absl::string_view> token;
      if (auto it = request_.find(kAccessTokenKey); it != request_.end()) {
        token = absl::string_view(it->value().data(), it->value().size());
      }
      boost::beast::error_code unused;
      const boost::asio::ip::tcp::endpoint remote =
          stream_.socket().remote_endpoint(unused);
      const std::string peer = absl::StrCat(
          "http:", remote.address().to_string(unused), ":", remote.port());
      const std::string& body = request_.body();
      AdminSimulator::Answer answer;
      bool known = true;
      if (absl::EndsWith(target, "/api/registry") ||
          absl::EndsWith(target, "/api/registryRemove")) {
        ::xxljob::http::v1::RegistryParam param;
        if (!admin_http_internal::ParseJson(body, &param)) {
          return Write(boost::beast::http::status::ok,
                       R"({"code":500,"msg":"The request body is invalid."})");
        }
        const RegistryKind kind = absl::EndsWith(target, "/api/registry")
                                      ? RegistryKind::kRegistry
                                      : RegistryKind::kRemove;
        answer = sim_->OnRegistry(token, peer, kind,
                                  {param.registry_group(), param.registry_key(),
                                   param.registry_value(), absl::Now()});
      } else if (absl::EndsWith(target, "/api/callback")) {
        std::optional<std::vector<RecordedCallback>> items =
            admin_http_internal::ParseCallbacks(body);
        if (!items.has_value()) {
          return Write(boost::beast::http::status::ok,
                       R"({"code":500,"msg":"The request body is invalid."})");
        }
        answer = sim_->OnCallback(token, peer, *std::move(items));
      } else {
        known = false;
      }
      std::string json;
      boost::beast::http::status status = boost::beast::http::status::ok;
      if (!known) {
        status = boost::beast::http::status::not_found;
        json = R"({"code":500,"msg":"not found"})";
      } else if (answer.status.error_code() ==
                 grpc::StatusCode::UNAUTHENTICATED) {
        json = R"({"code":500,"msg":"The access token is wrong."})";
      } else if (!answer.status.ok()) {
        status = boost::beast::http::status::service_unavailable;
        json = R"({"code":500,"msg":"unavailable"})";
      } else if (answer.code == 200) {
        // The 3.4.2 admin's success envelope (Jackson).
        json = R"({"code":200,"data":null,"msg":"Success","success":true})";
      } else {
        ::xxljob::http::v1::AdminReturn refusal;
        refusal.set_code(answer.code);
        refusal.set_msg(answer.msg);
        (void)google::protobuf::util::MessageToJsonString(refusal, &json);
      }
      if (answer.delay <= absl::ZeroDuration()) return Write(status, json);
      timer_.expires_after(absl::ToChronoNanoseconds(answer.delay));
      timer_.async_wait(
          [self = shared_from_this(), status, json](boost::beast::error_code) {
            self->Write(status, json);
          });
    }

    void Write(boost::beast::http::status status, std::string json) {
      response_.emplace(status, request_.version());
      response_->set(boost::beast::http::field::content_type,
                     "application/json;charset=UTF-8");
      response_->keep_alive(request_.keep_alive());
      response_->body() = std::move(json);
      response_->prepare_payload();
      boost::beast::http::async_write(
          stream_, *response_,
          [self = shared_from_this()](boost::beast::error_code ec, size_t) {
            if (ec || !self->response_->keep_alive()) return;
            self->Read();
          });
    }

    AdminSimulator* const sim_;
    boost::beast::tcp_stream stream_;
    boost::asio::steady_timer timer_;
    boost::beast::flat_buffer buffer_;
    std::optional<
        boost::beast::http::request_parser<boost::beast::http::string_body>>
        parser_;
    boost::beast::http::request<boost::beast::http::string_body> request_;
    std::optional<boost::beast::http::response<boost::beast::http::string_body>>
        response_;
  };

  void Accept() {
    acceptor_.async_accept(
        boost::asio::make_strand(io_),
        [this](boost::beast::error_code ec,
               boost::asio::ip::tcp::socket socket) {
          if (!ec) std::make_shared<Session>(sim_, std::move(socket))->Read();
          if (acceptor_.is_open()) Accept();
        });
  }

  AdminSimulator* const sim_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::string host_;
  std::thread thread_;
};

}  // namespace xxljob

#endif  // XXLJOB_TOOLS_ADMIN_SIM_ADMIN_HTTP_H_

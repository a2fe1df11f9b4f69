// One plain HTTP/1.1 request to 127.0.0.1:port (Boost.Beast's client), for
// tests that scrape /metrics or ask Prometheus's API.
#ifndef XXLJOB_TESTS_TESTING_HTTP_GET_H_
#define XXLJOB_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace xxljob::testing {

struct HttpAnswer {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// `method` `target` (with `body`) to 127.0.0.1:`port`. Errors: UNAVAILABLE when
// the connection or the exchange fails.
inline absl::StatusOr<HttpAnswer> HttpCall(
    int port, const std::string& target,
    boost::beast::http::verb method = boost::beast::http::verb::get,
    const std::string& body = "") {
  namespace beast = boost::beast;
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  beast::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"),
                  static_cast<unsigned short>(port)},
                 ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("connect: ", ec.message()));
  http::request<http::string_body> request(method, target, 11);
  request.set(http::field::host, "127.0.0.1");
  request.keep_alive(false);
  request.body() = body;
  request.prepare_payload();
  http::write(socket, request, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("write: ", ec.message()));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("read: ", ec.message()));
  HttpAnswer answer;
  answer.status = response.result_int();
  answer.content_type = std::string(response[http::field::content_type]);
  answer.body = std::move(response.body());
  return answer;
}

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_HTTP_GET_H_

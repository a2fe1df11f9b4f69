// Fuzz target: an HTTP request as bytes off the wire, through Boost.Beast's
// parser with the transport's limits, to HandleXxlRequest on a real
// ApiHandler and executor (server/http/xxl_routes.cc, xxl_codec.cc). Half
// of the inputs skip the framing and go to a route as a body, to reach the
// JSON decoding quickly.
//
// Invariants: nothing crashes or hangs; every answer is HTTP 200 (or 413
// for the body bound) with a JSON object whose "code" is 200 or 500 and
// whose strings are valid UTF-8; a request without the token is refused.
#include <cstdint>
#include <memory>
#include <string>

#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "handlers/builtin_handlers.h"
#include "server/api/api_handler.h"
#include "server/core/executor.h"
#include "server/core/result_sink.h"
#include "server/http/xxl_routes.h"
#include "tests/fuzz/fuzz_support.h"

namespace xxljob {
namespace {

namespace bhttp = boost::beast::http;

constexpr char kToken[] = "fuzz-token";
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024;

class NullSink : public ResultSink {
 public:
  absl::Status Accepted(const Trigger&) override { return absl::OkStatus(); }
  void Finished(const RunResult&) override {}
};

struct World {
  HandlerRegistry registry;
  NullSink sink;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<ApiHandler> api;
};

World& TheWorld() {
  static World* world = [] {
    fuzz::QuietLogging();
    auto* w = new World;
    FUZZ_CHECK(RegisterBuiltinHandlers(&w->registry).ok(), "builtins");
    ExecutorOptions core;
    core.log_path = fuzz::ScratchDir("http-request");
    core.max_queue_depth = 4;
    core.max_job_threads = 64;
    auto executor = Executor::Create(core, &w->registry, &w->sink);
    FUZZ_CHECK(executor.ok(), "%s", executor.status().ToString().c_str());
    w->executor = *std::move(executor);
    ApiOptions api;
    api.access_token = kToken;
    api.max_request_bytes = kMaxBodyBytes;
    w->api = std::make_unique<ApiHandler>(w->executor.get(), api);
    return w;
  }();
  return *world;
}

void CheckAnswer(const XxlResponse& r) {
  FUZZ_CHECK(r.status == 200 || r.status == 413, "HTTP %u", r.status);
  FUZZ_CHECK(fuzz::IsValidUtf8(r.body), "answer not UTF-8");
  google::protobuf::Struct json;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(r.body, &json).ok(),
             "answer not a JSON object: %s", r.body.substr(0, 200).c_str());
  auto code = json.fields().find("code");
  FUZZ_CHECK(code != json.fields().end(), "no code: %s", r.body.c_str());
  const double value = code->second.number_value();
  FUZZ_CHECK(value == 200 || value == 500, "code %f", value);
}

void ServeBody(World& w, uint8_t selector, absl::string_view body) {
  static const char* const kPaths[] = {"/beat",    "/idleBeat", "/run",
                                       "/trigger", "/kill",     "/log"};
  XxlRequest request;
  request.method = "POST";
  request.target = kPaths[selector % 6];
  if ((selector & 0x80) == 0) request.token = kToken;
  request.body = body;
  request.peer = [] { return std::string("fuzz"); };
  const XxlResponse r = HandleXxlRequest(*w.api, XxlProtocol::kGen3, request);
  CheckAnswer(r);
  if (!request.token.has_value()) {
    FUZZ_CHECK(r.body == R"({"code":500,"msg":"The access token is wrong."})",
               "served without the token: %s", r.body.c_str());
  }
}

void ServeWire(World& w, absl::string_view bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec == bhttp::error::need_more) parser.put_eof(ec);
  if (ec == bhttp::error::body_limit) {
    CheckAnswer(BodyTooLarge(kMaxBodyBytes));
    return;
  }
  if (ec || !parser.is_done()) return;  // The transport closes these.
  const auto& message = parser.get();
  XxlRequest request;
  request.method = absl::string_view(message.method_string().data(),
                                     message.method_string().size());
  request.target =
      absl::string_view(message.target().data(), message.target().size());
  if (auto it = message.find("XXL-JOB-ACCESS-TOKEN"); it != message.end()) {
    request.token = absl::string_view(it->value().data(), it->value().size());
  }
  request.body = message.body();
  request.peer = [] { return std::string("fuzz"); };
  CheckAnswer(HandleXxlRequest(*w.api, XxlProtocol::kGen3, request));
}

}  // namespace
}  // namespace xxljob

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xxljob::World& w = xxljob::TheWorld();
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data + 1),
                               size - 1);
  if (data[0] & 1) {
    xxljob::ServeWire(w, rest);
  } else {
    xxljob::ServeBody(w, data[0] >> 1, rest);
  }
  return 0;
}

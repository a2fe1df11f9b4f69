#include "server/http/xxl_routes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/response_code.h"
#include "glog/logging.h"
#include "server/http/metrics_route.h"
#include "server/http/xxl_codec.h"

namespace xxljob {
namespace {

// The route a path names; kOther for none (kTailLog and kMetrics are not
// routes of the XXL-JOB protocol).
Method MethodOfPath(absl::string_view path) {
  if (path == "/beat") return Method::kBeat;
  if (path == "/idleBeat") return Method::kIdleBeat;
  if (path == "/run") return Method::kRun;
  if (path == "/trigger") return Method::kTrigger;
  if (path == "/kill") return Method::kKill;
  if (path == "/log") return Method::kLog;
  return Method::kOther;
}

// Counts, when metrics are on, a request answered before the edge.
void CountRefused(ApiHandler& api, Method method, unsigned http_status) {
  if (api.metrics() != nullptr) {
    api.metrics()->CountHttpRequest(method, http_status);
  }
}

// Runs one route: decodes with `decode`, calls `call` (an ApiHandler
// method), encodes the answer with `encode`, or the failure (counted here:
// the edge never saw it).
template <typename Decode, typename Call, typename Encode>
std::string Serve(ApiHandler& api, Method method, absl::string_view body,
                  Decode decode, Call call, Encode encode) {
  auto request = decode(body);
  if (!request.ok()) {
    CountRefused(api, method, 200);
    return EncodeFailure(request.status());
  }
  auto [status, response] = call(*request);
  if (!status.ok()) return EncodeFailure(status);
  return encode(response);
}

}  // namespace

XxlResponse HandleXxlRequest(ApiHandler& api, XxlProtocol protocol,
                             const XxlRequest& r) {
  if (std::optional<XxlResponse> metrics =
          HandleMetricsRequest(api.metrics(), r.metrics_only, r)) {
    return *std::move(metrics);
  }
  XxlResponse out;
  const absl::string_view path = PathOf(r.target);
  const Method method = MethodOfPath(path);
  if (r.method != "POST") {
    CountRefused(api, method, out.status);
    out.body = EncodeFailure(
        absl::InvalidArgumentError("invalid request, HttpMethod not support."));
    return out;
  }
  Caller caller;
  caller.token = r.token;
  caller.peer = r.peer;
  caller.transport = Transport::kHttp;
  if (protocol == XxlProtocol::kGen35 &&
      (!r.app_name.has_value() || *r.app_name != api.options().app_name)) {
    // Checked before the token, as the 3.5 admin sends both on every call.
    CountRefused(api, method, out.status);
    out.body = EncodeFailure(absl::InvalidArgumentError(absl::StrCat(
        "The app name is wrong: this executor is ", api.options().app_name)));
    return out;
  }
  switch (method) {
    case Method::kBeat: {
      // 3.x sends no body, 2.x the JSON string "": neither is read.
      v1::BeatResponse beat;
      const absl::Status s = api.Beat(caller, &beat);
      out.body =
          s.ok() ? EncodeReply(beat.code(), beat.msg()) : EncodeFailure(s);
      break;
    }
    case Method::kIdleBeat:
      out.body = Serve(
          api, method, r.body, DecodeIdleBeat,
          [&](const v1::IdleBeatRequest& req) {
            v1::IdleBeatResponse resp;
            absl::Status s = api.IdleBeat(caller, req, &resp);
            return std::make_pair(std::move(s), std::move(resp));
          },
          [](const v1::IdleBeatResponse& resp) {
            return EncodeReply(resp.code(), resp.msg());
          });
      break;
    case Method::kRun:
    case Method::kTrigger:
      caller.trigger_route = method == Method::kTrigger;
      out.body = Serve(
          api, method, r.body,
          [&](absl::string_view body) {
            auto request = DecodeRun(body);
            // Refused before the edge sees it: counted here.
            if (!request.ok() && api.metrics() != nullptr) {
              api.metrics()->RunRefused(Refusal::kInvalid);
            }
            return request;
          },
          [&](const v1::RunRequest& req) {
            v1::RunResponse resp;
            absl::Status s = api.Run(caller, req, &resp);
            return std::make_pair(std::move(s), std::move(resp));
          },
          [](const v1::RunResponse& resp) {
            return EncodeReply(resp.code(), resp.msg());
          });
      break;
    case Method::kKill:
      out.body = Serve(
          api, method, r.body, DecodeKill,
          [&](const v1::KillRequest& req) {
            v1::KillResponse resp;
            absl::Status s = api.Kill(caller, req, &resp);
            return std::make_pair(std::move(s), std::move(resp));
          },
          [](const v1::KillResponse& resp) {
            // Kill's note is its payload; a refusal's message stays in msg.
            return resp.code() == kResponseCodeSuccess
                       ? EncodeReply(resp.code(), "", resp.msg())
                       : EncodeReply(resp.code(), resp.msg());
          });
      break;
    case Method::kLog:
      out.body = Serve(
          api, method, r.body, DecodeLog,
          [&](const v1::LogRequest& req) {
            v1::LogResponse resp;
            absl::Status s = api.Log(caller, req, &resp);
            return std::make_pair(std::move(s), std::move(resp));
          },
          [](const v1::LogResponse& resp) { return EncodeLog(resp); });
      break;
    default:
      CountRefused(api, method, out.status);
      out.body = EncodeFailure(absl::NotFoundError(
          absl::StrCat("invalid request, uri-mapping(", path.substr(0, 256),
                       ") not found.")));
  }
  return out;
}

void CountRefusedRequest(ApiHandler& api, absl::string_view target,
                         unsigned http_status) {
  CountRefused(api, MethodOfPath(PathOf(target)), http_status);
}

XxlResponse BodyTooLarge(size_t limit) {
  XxlResponse out;
  out.status = 413;
  out.body = EncodeFailure(absl::ResourceExhaustedError(absl::StrCat(
      "request body is larger than ", limit, " bytes (max_request_bytes)")));
  return out;
}

}  // namespace xxljob

// What the HTTP transport answers to one request, with no sockets in it:
// method and path checks, the token and app-name headers, then the route's
// decode -> ApiHandler -> encode (SPEC §9). Unit-testable; the transport
// only moves bytes.
#ifndef XXLJOB_SERVER_HTTP_XXL_ROUTES_H_
#define XXLJOB_SERVER_HTTP_XXL_ROUTES_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/xxl_protocol.h"
#include "server/api/api_handler.h"

namespace xxljob {

// XXL-JOB's header names (HTTP header names are case-insensitive).
inline constexpr char kAppNameHeader[] = "XXL-JOB-APPNAME";

struct XxlRequest {
  absl::string_view method;  // "POST"
  absl::string_view target;  // "/run", possibly with a query
  std::optional<absl::string_view> token;
  std::optional<absl::string_view> app_name;
  absl::string_view body;
  // Names the peer for the refusal log; called only for a refused token.
  std::function<std::string()> peer;
  // The listener serves only GET /metrics (HttpOptions::metrics_only).
  bool metrics_only = false;
};

struct XxlResponse {
  // 200 for every outcome of a route, as the reference answers (the
  // outcome is in the envelope); 413 and 431 are the body's and the head's
  // bounds, 404 the metrics-only listener's answer to anything else.
  unsigned status = 200;
  std::string body;  // The JSON envelope, or GET /metrics' text.
  const char* content_type = "application/json;charset=UTF-8";
};

// Thread-safe (the ApiHandler is). GET /metrics is answered first, with no
// token or header checks (metrics_route.h).
XxlResponse HandleXxlRequest(ApiHandler& api, XxlProtocol protocol,
                             const XxlRequest& request);

// The path of a request target: what precedes its query, if any.
inline absl::string_view PathOf(absl::string_view target) {
  return target.substr(0, target.find('?'));
}

// The envelope of a request whose body is larger than `limit` (HTTP 413).
XxlResponse BodyTooLarge(size_t limit);

// Counts, when metrics are on, a request answered before it reached the
// edge (which counts its own): a wrong method, path or app name, a body
// that does not decode, a head or body over its bound. `target` may be
// empty (a head too large to read).
void CountRefusedRequest(ApiHandler& api, absl::string_view target,
                         unsigned http_status);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_XXL_ROUTES_H_

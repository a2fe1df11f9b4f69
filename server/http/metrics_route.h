// GET /metrics on the HTTP transport: the Prometheus text exposition, with
// no token and no app-name header (a scraper sends neither). It carries no
// secrets (no tokens, params or results), but it does describe the load and
// the admins: serve it on loopback or behind a firewall
// (docs/operations.md, "Metrics").
#ifndef XXLJOB_SERVER_HTTP_METRICS_ROUTE_H_
#define XXLJOB_SERVER_HTTP_METRICS_ROUTE_H_

#include <optional>

#include "server/http/xxl_routes.h"
#include "server/metrics/metrics.h"

namespace xxljob {

inline constexpr char kMetricsPath[] = "/metrics";
inline constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

// The answer to `request` if it is GET /metrics (200 with the exposition;
// 404 when `metrics` is null, i.e. off) and counts it; nullopt for any other
// request. With `metrics_only` (the --metrics_listen listener) every other
// request is answered 404 too.
std::optional<XxlResponse> HandleMetricsRequest(Metrics* metrics,
                                                bool metrics_only,
                                                const XxlRequest& request);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_METRICS_ROUTE_H_

#include "server/http/metrics_route.h"

#include "absl/time/clock.h"

namespace xxljob {

std::optional<XxlResponse> HandleMetricsRequest(Metrics* metrics,
                                                bool metrics_only,
                                                const XxlRequest& request) {
  const absl::string_view path = PathOf(request.target);
  const bool asks = path == kMetricsPath && request.method == "GET";
  if (!asks && !metrics_only) return std::nullopt;
  XxlResponse out;
  out.content_type = kMetricsContentType;
  if (!asks || metrics == nullptr) {
    out.status = 404;
    out.body = "not found: this listener serves GET /metrics\n";
    return out;
  }
  const absl::Time start = absl::Now();
  out.body = metrics->Render();
  metrics->HttpRequest(Method::kMetrics, 200, absl::Now() - start);
  return out;
}

}  // namespace xxljob

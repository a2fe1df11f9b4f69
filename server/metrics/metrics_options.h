// Options of the Prometheus metrics (docs/operations.md, "Metrics").
// Embedding applications set them in AppOptions::metrics.
#ifndef XXLJOB_SERVER_METRICS_METRICS_OPTIONS_H_
#define XXLJOB_SERVER_METRICS_METRICS_OPTIONS_H_

#include <string>

namespace xxljob {

struct MetricsOptions {
  // Collect metrics and serve GET /metrics on the HTTP face (when
  // http.listen is set). Off: nothing is counted, nothing is served.
  bool enabled = false;
  // host:port of a listener that serves only GET /metrics (for executors
  // without the HTTP face, or to keep scrapes apart from admins). Setting it
  // turns metrics on. Empty: none.
  std::string listen;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_METRICS_METRICS_OPTIONS_H_

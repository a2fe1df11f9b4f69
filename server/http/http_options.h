// Options of the HTTP transport: XXL-JOB's own protocol (SPEC §9), for a
// stock xxl-job-admin. Embedding applications set them in AppOptions::http.
#ifndef XXLJOB_SERVER_HTTP_HTTP_OPTIONS_H_
#define XXLJOB_SERVER_HTTP_HTTP_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace xxljob {

struct HttpOptions {
  // host:port to listen on; empty: no HTTP transport. Port 0 picks a free
  // port.
  std::string listen;
  // Request line and headers together; a larger head is answered 431 and
  // the connection closed. (The body's bound is ApiOptions'
  // max_request_bytes: 413.)
  size_t max_header_bytes = 16 * 1024;
  // How long a connection may take to send a whole request, and how long a
  // kept-alive connection may stay idle: a slow or silent client is closed
  // after this. Also the bound on writing an answer to a client that does
  // not read it.
  absl::Duration io_timeout = absl::Seconds(30);
  // Connections open at once; one more is accepted and closed at once. 0:
  // the app's share of the descriptor limit.
  int max_connections = 0;
  // Threads serving connections (each request is answered without waiting
  // on a job, so a few serve many connections).
  int threads = 2;
  // Serve only GET /metrics (the --metrics_listen listener, beside the HTTP
  // face or without it); every other request is answered 404.
  bool metrics_only = false;
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateHttpOptions(const HttpOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_HTTP_OPTIONS_H_

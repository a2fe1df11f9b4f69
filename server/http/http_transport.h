// The executor's HTTP transport: XXL-JOB's own protocol (SPEC §9), so that a
// stock xxl-job-admin (2.3 through 3.5) can drive the executor. POST /beat,
// /idleBeat, /run (and /trigger), /kill and /log are decoded
// (xxl_codec.h), answered by the same ApiHandler as gRPC, and encoded back
// into XXL-JOB's envelope. HTTP/1.1 (and 1.0) with keep-alive and
// pipelining, on Boost.Beast; connections are accepted by a
// ConnectionListener, so they are bounded and accepting survives running
// out of descriptors, like gRPC's. With TLS options the face serves HTTPS
// only (TLS 1.2 and later, mutual with a client CA), from the same files as
// the gRPC face.
#ifndef XXLJOB_SERVER_HTTP_HTTP_TRANSPORT_H_
#define XXLJOB_SERVER_HTTP_HTTP_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/connection_listener.h"
#include "common/xxl_protocol.h"
#include "security/tls_credentials.h"
#include "server/api/api_handler.h"
#include "server/http/http_options.h"

namespace xxljob {

// Owns the listener, the serving threads and the connections. Shutdown (and
// the destructor) is called by one thread (the app's); the rest is
// thread-safe.
class HttpTransport {
 public:
  // Starts serving `api` (which must outlive the transport), requiring of
  // callers what admins of `protocol` send (3.5: the app-name header; input
  // of every generation is accepted). With `tls` enabled, every connection
  // begins with a TLS handshake, which must end, and the first request
  // arrive, within options.io_timeout; a connection whose handshake fails
  // is closed, the others are not affected. REQUIRES: options.listen
  // non-empty and options.max_connections > 0. Errors: INVALID_ARGUMENT for
  // bad options, FAILED_PRECONDITION for TLS files that can't be used (as
  // ValidateServerTls), UNAVAILABLE when the address can't be bound.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Start(
      HttpOptions options, ServerTlsOptions tls, XxlProtocol protocol,
      ApiHandler* api);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  int port() const;
  const std::string& listen_host() const;
  // "https" with TLS, else "http": the scheme of the face's URL.
  const char* scheme() const;
  // Connections open, their bound and those refused at accept.
  ConnectionCounts connections() const;

  // Stops accepting, lets requests being read or answered finish (up to
  // about a second), closes idle connections and joins the threads.
  // Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_HTTP_TRANSPORT_H_

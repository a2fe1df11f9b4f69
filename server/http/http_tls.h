// The HTTP face's TLS: the server certificate of ServerTlsOptions (the same
// files as gRPC's, re-read as often) as an OpenSSL context for Boost.Asio's
// ssl streams. TLS 1.2 and later only; with a client CA, mutual TLS (a
// client must present a certificate that chains to it).
#ifndef XXLJOB_SERVER_HTTP_HTTP_TLS_H_
#define XXLJOB_SERVER_HTTP_HTTP_TLS_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/ssl/context.hpp"
#include "security/tls_credentials.h"

namespace xxljob {

// Hands out the current server context. The files are read at Create and
// again, on the first call to Current() after each refresh interval, so a
// rotated certificate reaches new connections within about that long (as
// gRPC's file watcher does), with no thread of its own. A re-read that
// fails (a file missing, half written, a key that does not match) keeps
// the context in use and logs a warning.
//
// Thread-safe. Connections keep the context they were given, so a reload
// never affects a handshake in progress.
class HttpTlsContexts {
 public:
  // REQUIRES: options.enabled(). Errors: those of ValidateServerTls, and
  // FAILED_PRECONDITION when OpenSSL refuses a file or the key does not
  // match the certificate.
  static absl::StatusOr<std::unique_ptr<HttpTlsContexts>> Create(
      ServerTlsOptions options);
  HttpTlsContexts(const HttpTlsContexts&) = delete;
  HttpTlsContexts& operator=(const HttpTlsContexts&) = delete;

  // The context for a new connection; may re-read the files first.
  std::shared_ptr<boost::asio::ssl::context> Current();

  bool mutual() const { return !options_.client_ca_file.empty(); }

 private:
  HttpTlsContexts(ServerTlsOptions options,
                  std::shared_ptr<boost::asio::ssl::context> context);

  const ServerTlsOptions options_;
  absl::Mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_ ABSL_GUARDED_BY(mu_);
  absl::Time next_load_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_HTTP_TLS_H_

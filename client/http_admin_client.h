// The executor's HTTP client of ONE stock xxl-job-admin: AdminApi over
// XXL-JOB's own JSON protocol (SPEC §9, "Admin side"), on libcurl. Fail-over
// across several admins is FailoverAdminApi's job
// (client/failover_admin_api.h).
#ifndef XXLJOB_CLIENT_HTTP_ADMIN_CLIENT_H_
#define XXLJOB_CLIENT_HTTP_ADMIN_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/xxl_protocol.h"
#include "security/tls_credentials.h"
#include "server/core/trigger.h"
#include "server/delivery/admin_api.h"

namespace xxljob {

struct HttpAdminClientOptions {
  // The admin's base URL: http:// or https://, a host, an optional port and
  // an optional context path ("http://10.0.0.1:8080/xxl-job-admin"); a
  // trailing slash is ignored. No user info, query or fragment.
  std::string url;
  // Sent as the XXL-JOB-ACCESS-TOKEN header when non-empty. Printable
  // ASCII only (it travels as an HTTP header).
  std::string access_token;
  // Sent as the XXL-JOB-APPNAME header, generation 3.5 only (where it must
  // be non-empty). Printable ASCII only.
  std::string app_name;
  // Decides the callback body and the app-name header.
  XxlProtocol protocol = XxlProtocol::kGen3;
  // Deadline of each call: connect, TLS handshake, request and answer.
  absl::Duration timeout = absl::Seconds(3);
  // https only (INVALID_ARGUMENT with an http URL). The server's
  // certificate is always verified, chain and host name: against this PEM
  // CA bundle, or the system's roots when empty.
  std::string ca_file;
  // https only: a PEM client certificate chain and its key, both or
  // neither, for admins behind mutual TLS.
  std::string cert_file;
  std::string key_file;
  // https only: how stale the files may get. The CA bundle is read again
  // and a connection is not reused once it is older than this, so a
  // rotated CA, certificate or key takes effect within it, as for gRPC
  // admins. At least 1s and finite.
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;
};

// AdminApi over HTTP/1.1 to one admin: POST <url>/api/registry,
// /api/registryRemove and /api/callback with a JSON body (protobuf's JSON
// mapping of xxljob/http/v1/wire.proto). A call is accepted only when the
// admin answers HTTP 200 with a JSON body whose `code` is 200.
//
// One libcurl easy handle for the client's life, so that consecutive calls
// reuse the admin's keep-alive connection (a stock admin's Tomcat keeps it
// for 20 s by default); calls take turns on it.
//
// Thread-safe: calls are serialised by a mutex (the registrar and the
// reporter share the client, and they call at most every few seconds).
// Calls block the calling thread up to `timeout`.
class HttpAdminClient final : public AdminApi {
 public:
  // Validates `options`. Errors: INVALID_ARGUMENT for a URL that is not
  // http(s)://host[:port][/path] (another scheme, no host, a port outside
  // 1..65535, user info, a query or a fragment), a non-printable token or
  // app name, an empty app name for 3.5, a non-positive or infinite
  // timeout, TLS files with an http URL or a certificate without its key;
  // FAILED_PRECONDITION for a TLS file that cannot be read. Never blocks on
  // the network.
  static absl::StatusOr<std::unique_ptr<HttpAdminClient>> Create(
      HttpAdminClientOptions options);
  ~HttpAdminClient() override;
  HttpAdminClient(const HttpAdminClient&) = delete;
  HttpAdminClient& operator=(const HttpAdminClient&) = delete;

  // Each returns OK when the admin accepted the call, else UNAVAILABLE
  // "<url>: why", where why is "HTTP 500", "code 500: msg", "answer is not
  // JSON: ...", "empty answer", "connect: ...", "timeout after 3s",
  // "TLS: ...".
  absl::Status Registry(const RegistryParam& param) override;
  absl::Status RegistryRemove(const RegistryParam& param) override;
  // `results` go out as one batch; an empty batch is OK without any call.
  absl::Status Callback(const std::vector<RunResult>& results) override;

  // The base URL without its trailing slash.
  const std::string& url() const { return base_url_; }

 private:
  struct Handle;
  HttpAdminClient(HttpAdminClientOptions options, std::string base_url);

  // POSTs `body` to <url><path> and checks the answer (see above).
  absl::Status Post(absl::string_view path, const std::string& body);
  // Encodes `param` and posts it to `path`.
  absl::Status PostRegistry(absl::string_view path, const RegistryParam& param);

  const HttpAdminClientOptions options_;
  const std::string base_url_;
  absl::Mutex mu_;
  // The easy handle and its fixed headers.
  std::unique_ptr<Handle> handle_ ABSL_GUARDED_BY(mu_);
};

// "http://..." or "https://..." (the scheme case-insensitive): an address
// that names an HTTP admin rather than a gRPC host:port.
bool IsHttpAdminAddress(absl::string_view address);

}  // namespace xxljob

#endif  // XXLJOB_CLIENT_HTTP_ADMIN_CLIENT_H_

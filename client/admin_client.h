// The executor's gRPC client of the admin (scheduling centre): AdminApi over
// the xxljob.v1.Admin service, with fail-over across a run of gRPC admins.
// Result delivery and registration talk to it only through
// server/delivery/admin_api.h, by way of FailoverAdminApi
// (client/failover_admin_api.h), which mixes it with HTTP admins.
#ifndef XXLJOB_CLIENT_ADMIN_CLIENT_H_
#define XXLJOB_CLIENT_ADMIN_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "security/tls_credentials.h"
#include "server/core/trigger.h"
#include "server/delivery/admin_api.h"
#include "xxljob/v1/admin.grpc.pb.h"

namespace xxljob {

struct AdminClientOptions {
  // The admins, "host:port" or "[v6]:port", tried in this order on every
  // call. Must not be empty (standalone mode has no AdminClient at all).
  std::vector<std::string> addresses;
  // Sent in every call's `xxl-job-access-token` metadata when non-empty.
  // Printable ASCII only (it travels as an HTTP/2 header).
  std::string access_token;
  // Deadline of each attempt, i.e. of the call to one admin. A call that
  // fails over through N admins can take up to N times this.
  absl::Duration timeout = absl::Seconds(3);
  // TLS to every admin (one CA bundle and client certificate for all).
  // Default: plaintext.
  ClientTlsOptions tls;
};

// AdminApi over gRPC. One channel and stub per admin, created at
// construction and kept for the client's life (channels connect lazily and
// reconnect on their own). Every call tries the admins in order and stops
// at the first that accepts: an OK gRPC status *and* response code 200.
//
// Why per-attempt deadlines: an admin that black-holes packets must not eat
// the whole budget and keep the next admin from being tried.
//
// Thread-safe (all state is immutable after Create; gRPC stubs are
// thread-safe). Calls block the calling thread, up to `timeout` per admin:
// call them from a reporter or registrar thread, never from a gRPC reactor.
class AdminClient final : public AdminApi {
 public:
  // Validates `options` and builds the channels. Errors: INVALID_ARGUMENT
  // for an empty address list, an address that is not host:port with a
  // non-empty host and a port in 1..65535, a non-printable token, a
  // non-positive or infinite timeout, or bad TLS options;
  // FAILED_PRECONDITION for an unreadable TLS file (see
  // ValidateClientTls). Never blocks on the network.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(
      AdminClientOptions options);
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Each returns OK when an admin accepted the call, else UNAVAILABLE with
  // one "address: why" entry per admin, in order, joined by "; ", where
  // "why" is the gRPC status ("UNAVAILABLE: ...", "UNAUTHENTICATED: ...",
  // "DEADLINE_EXCEEDED: ...") or the refusal ("code 500: msg").
  absl::Status Registry(const RegistryParam& param) override;
  absl::Status RegistryRemove(const RegistryParam& param) override;
  // `results` go out as one batch (batching is the caller's choice). An
  // empty batch is OK without any call.
  absl::Status Callback(const std::vector<RunResult>& results) override;

  const std::vector<std::string>& addresses() const { return addresses_; }
  absl::Duration timeout() const { return timeout_; }

 private:
  AdminClient(std::vector<std::string> addresses, std::string access_token,
              absl::Duration timeout,
              const std::shared_ptr<grpc::ChannelCredentials>& credentials,
              const ClientTlsOptions& tls);

  // Calls `method` on each admin in turn until one accepts (see above).
  // `name` names the RPC in logs and in the error.
  template <typename Request, typename Response>
  absl::Status CallEach(const char* name, const Request& request,
                        grpc::Status (v1::Admin::Stub::*method)(
                            grpc::ClientContext*, const Request&, Response*));

  const std::vector<std::string> addresses_;
  const std::string access_token_;
  const absl::Duration timeout_;
  // One per address, same order.
  std::vector<std::unique_ptr<v1::Admin::Stub>> stubs_;
};

}  // namespace xxljob

#endif  // XXLJOB_CLIENT_ADMIN_CLIENT_H_

// Fail-over across admins of any kind: an AdminApi that tries several in
// order, and the factory that builds the executor's admin list from its
// configured addresses (gRPC host:port and HTTP URLs, mixed).
#ifndef XXLJOB_CLIENT_FAILOVER_ADMIN_API_H_
#define XXLJOB_CLIENT_FAILOVER_ADMIN_API_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/xxl_protocol.h"
#include "security/tls_credentials.h"
#include "server/core/trigger.h"
#include "server/delivery/admin_api.h"

namespace xxljob {

// Tries its admins in order on every call and stops at the first that
// accepts. Each admin is an AdminApi whose errors read "address: why"
// (several such entries joined by "; " for an admin group).
//
// Owns its admins. Thread-safe when they are (all of ours are); it adds no
// state of its own. A call blocks as long as the admins it tries take.
class FailoverAdminApi final : public AdminApi {
 public:
  // REQUIRES: `admins` is not empty and holds no null.
  explicit FailoverAdminApi(std::vector<std::unique_ptr<AdminApi>> admins);
  FailoverAdminApi(const FailoverAdminApi&) = delete;
  FailoverAdminApi& operator=(const FailoverAdminApi&) = delete;

  // OK at the first admin that accepts; else UNAVAILABLE "no admin
  // accepted <Call>: " followed by every admin's error message, in order,
  // joined by "; ". Callback with an empty batch is OK without any call.
  absl::Status Registry(const RegistryParam& param) override;
  absl::Status RegistryRemove(const RegistryParam& param) override;
  absl::Status Callback(const std::vector<RunResult>& results) override;

 private:
  absl::Status CallEach(const char* name,
                        absl::FunctionRef<absl::Status(AdminApi&)> call);

  const std::vector<std::unique_ptr<AdminApi>> admins_;
};

struct AdminApiOptions {
  // The admins, tried in this order. "http://..." or "https://..." (with an
  // optional context path) is a stock xxl-job-admin spoken to over HTTP; a
  // bare "host:port" or "[v6]:port" is a gRPC admin. Must not be empty.
  std::vector<std::string> addresses;
  // Sent with every call, to admins of both kinds.
  std::string access_token;
  // HTTP admins of generation 3.5 get it as the XXL-JOB-APPNAME header.
  std::string app_name;
  // Which generation the HTTP admins speak (one for all of them).
  XxlProtocol protocol = XxlProtocol::kGen3;
  // Deadline of each call to one admin.
  absl::Duration timeout = absl::Seconds(3);
  // gRPC admins: as AdminClientOptions::tls. https:// admins: ca_file,
  // cert_file and key_file (verified always, system roots without a CA);
  // server_name is gRPC only (give an https admin by the name its
  // certificate carries). With TLS enabled, an http:// admin is an error:
  // it would be a silent downgrade.
  ClientTlsOptions tls;
  // When set, each admin of the chain is passed through it with a label
  // naming it (an HTTP admin's URL; a run of gRPC addresses joined by ",",
  // as they share one client), and the chain holds what it returns: a
  // decorator that watches each admin (metrics' admin_up). Must not return
  // null.
  std::function<std::unique_ptr<AdminApi>(const std::string& label,
                                          std::unique_ptr<AdminApi> admin)>
      wrap;
};

// Builds a FailoverAdminApi over `options.addresses`: one HttpAdminClient
// per URL, one AdminClient per run of consecutive gRPC addresses (they
// share credentials), in the given order. Errors: INVALID_ARGUMENT for no
// addresses, a bad address or URL, server_name with an https admin, an
// http admin with TLS enabled, and whatever AdminClient::Create and
// HttpAdminClient::Create refuse. Never blocks on the network.
absl::StatusOr<std::unique_ptr<AdminApi>> NewAdminApi(
    const AdminApiOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_CLIENT_FAILOVER_ADMIN_API_H_

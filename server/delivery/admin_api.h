// The executor's view of the admin (scheduling centre): the three calls it
// makes. The real implementations are in client/ (gRPC AdminClient,
// HttpAdminClient for stock admins, FailoverAdminApi across them); tests
// use fakes. Keeping it an interface keeps gRPC and HTTP out of the core.
#ifndef XXLJOB_SERVER_CORE_ADMIN_API_H_
#define XXLJOB_SERVER_CORE_ADMIN_API_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/core/trigger.h"

namespace xxljob {

// Who the executor is, as it registers.
struct RegistryParam {
  std::string registry_group = "EXECUTOR";
  // The app name.
  std::string registry_key;
  // The advertised host:port.
  std::string registry_value;
};

// Thread-safe. Each call tries the configured admins in order until one
// accepts, within a per-call deadline; OK means an admin accepted (OK gRPC
// status and code 200). Any other outcome is an error saying why, and means
// "not delivered".
class AdminApi {
 public:
  virtual ~AdminApi() = default;
  virtual absl::Status Registry(const RegistryParam& param) = 0;
  virtual absl::Status RegistryRemove(const RegistryParam& param) = 0;
  virtual absl::Status Callback(const std::vector<RunResult>& results) = 0;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_ADMIN_API_H_

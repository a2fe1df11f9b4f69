#include "server/http/http_options.h"

#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace xxljob {

absl::Status ValidateHttpOptions(const HttpOptions& o) {
  if (absl::StatusOr<HostPort> listen = ParseHostPort(o.listen, "http_listen");
      !listen.ok()) {
    return listen.status();
  }
  if (o.max_header_bytes < 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http max_header_bytes must be >= 1024, got ", o.max_header_bytes));
  }
  if (o.io_timeout < absl::Milliseconds(1) || o.io_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("http io_timeout must be from 1ms to 1h, got ",
                     absl::FormatDuration(o.io_timeout)));
  }
  if (o.max_connections < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http max_connections must be >= 0, got ", o.max_connections));
  }
  if (o.threads < 1 || o.threads > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("http threads must be 1..64, got ", o.threads));
  }
  return absl::OkStatus();
}

}  // namespace xxljob

#include "server/api/api_options.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/text.h"

namespace xxljob {

absl::Status ValidateApiOptions(const ApiOptions& o) {
  auto at_least_one = [](absl::string_view name, int64_t value) {
    return value >= 1 ? absl::OkStatus()
                      : absl::InvalidArgumentError(
                            absl::StrCat(name, " must be >= 1, got ", value));
  };
  if (o.app_name.empty() || o.app_name.size() > 64 ||
      !IsPrintableAscii(o.app_name)) {
    // XXL-JOB's admin stores app names in 64 characters.
    return absl::InvalidArgumentError(
        "app_name must be 1 to 64 printable ASCII characters");
  }
  if (!IsPrintableAscii(o.access_token)) {
    return absl::InvalidArgumentError(
        "access_token must be printable ASCII (it travels as a header)");
  }
  const absl::Status checks[] = {
      at_least_one("field_limits.max_params_bytes",
                   static_cast<int64_t>(o.field_limits.max_params_bytes)),
      at_least_one("field_limits.max_glue_source_bytes",
                   static_cast<int64_t>(o.field_limits.max_glue_source_bytes)),
      at_least_one("max_request_bytes", o.max_request_bytes),
      at_least_one("max_tail_streams", o.max_tail_streams),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace xxljob

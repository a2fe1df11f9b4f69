// Options of the API edge: who the executor says it is, its access token and
// the request bounds every transport applies. main.cc fills them from flags;
// embedding applications fill them directly.
#ifndef XXLJOB_SERVER_API_API_OPTIONS_H_
#define XXLJOB_SERVER_API_API_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"

namespace xxljob {

// Field limits, in bytes. Generous for real jobs, small enough that a
// hostile caller can't make the executor hold much per queued trigger (the
// server's max message size, 4 MiB by default, bounds the whole request).
//
// The handler name's limit is fixed: XXL-JOB's admin stores it in a
// varchar(255), and a name is matched against the handlers registered in
// this binary, so no real job needs more. Params and glue source are the
// operator's to size (FieldLimits, flags --max_params_bytes and
// --max_glue_source_bytes); these are their defaults.
inline constexpr size_t kMaxHandlerNameBytes = 255;
inline constexpr size_t kMaxParamsBytes = 64 * 1024;
inline constexpr size_t kMaxGlueSourceBytes = 1024 * 1024;

// The configurable per-field limits of Run. Each must be >= 1.
struct FieldLimits {
  size_t max_params_bytes = kMaxParamsBytes;
  size_t max_glue_source_bytes = kMaxGlueSourceBytes;
};

struct ApiOptions {
  // The executor's app name (XXL-JOB's AppName): reported by Beat and
  // registered with the admins. 1 to 64 printable ASCII characters (the
  // admin's column).
  std::string app_name = "xxl-executor";
  // When non-empty, every Executor call must present it (gRPC metadata or
  // HTTP header `xxl-job-access-token`; compared in constant time), and
  // calls to the admins carry it. Printable ASCII.
  std::string access_token;
  // Run's per-field limits (INVALID_ARGUMENT past them).
  FieldLimits field_limits;
  // The largest request a transport accepts, in bytes; a larger one is
  // refused (RESOURCE_EXHAUSTED) before it reaches the edge.
  int max_request_bytes = 4 * 1024 * 1024;
  // TailLog streams open at once; one more is RESOURCE_EXHAUSTED.
  int max_tail_streams = 256;
};

// OK, or INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateApiOptions(const ApiOptions& options);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_API_API_OPTIONS_H_

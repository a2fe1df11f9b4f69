// The generations of XXL-JOB's own HTTP protocol (SPEC §9) and their names
// on the command line. Shared by the HTTP admin client and the executor's
// HTTP face: both speak the generation the operator picked.
#ifndef XXLJOB_COMMON_XXL_PROTOCOL_H_
#define XXLJOB_COMMON_XXL_PROTOCOL_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xxljob {

// Which admins the executor talks to over HTTP.
enum class XxlProtocol {
  // 2.3.0 - 3.2.x: callbacks are a JSON array of {..., logDateTim, ...}.
  kGen2,
  // 3.3.0 - 3.4.x: the same callback body, envelope {code, msg, data}.
  kGen3,
  // 3.5.0 and later: callbacks are {"callbackList": [{..., logDateTime,
  // ...}]}, and every call carries the XXL-JOB-APPNAME header.
  kGen35,
};

// "2", "3" or "3.5" -> the generation; INVALID_ARGUMENT naming the value
// and the accepted ones otherwise.
absl::StatusOr<XxlProtocol> ParseXxlProtocol(absl::string_view text);

// The inverse of ParseXxlProtocol: "2", "3" or "3.5".
absl::string_view XxlProtocolName(XxlProtocol protocol);

}  // namespace xxljob

#endif  // XXLJOB_COMMON_XXL_PROTOCOL_H_

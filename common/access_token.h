// The access token (SPEC §2, §9): its wire name and the one comparison of a
// presented token against the configured one.
#ifndef XXLJOB_COMMON_ACCESS_TOKEN_H_
#define XXLJOB_COMMON_ACCESS_TOKEN_H_

#include "absl/strings/string_view.h"

namespace xxljob {

// The gRPC metadata key, and (case-insensitively, as HTTP header names are)
// XXL-JOB's HTTP header "XXL-JOB-ACCESS-TOKEN".
inline constexpr char kAccessTokenKey[] = "xxl-job-access-token";

// True if `presented` equals `expected`. Every byte of `presented` (the
// caller's input) is compared, whatever the first difference, and a length
// mismatch is folded into the result instead of returning early, so the time
// taken tells a caller nothing about how much of a guess was right.
bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected);

}  // namespace xxljob

#endif  // XXLJOB_COMMON_ACCESS_TOKEN_H_

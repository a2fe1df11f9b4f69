// The access-token check every Executor call passes first (SPEC §2): when a
// token is configured, the call's `xxl-job-access-token` metadata must carry
// exactly it.
#ifndef XXLJOB_SERVER_SERVICE_AUTH_H_
#define XXLJOB_SERVER_SERVICE_AUTH_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/string_ref.h"

namespace xxljob {

// The metadata key, as XXL-JOB names its HTTP header.
inline constexpr char kAccessTokenMetadataKey[] = "xxl-job-access-token";

// True if `presented` equals `expected`. Every byte of `presented` (the
// caller's input) is compared, whatever the first difference, and a length
// mismatch is folded into the result instead of returning early, so the time
// taken tells a caller nothing about how much of a guess was right.
bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected);

// Checks a call's metadata against `expected_token`. An empty
// `expected_token` means no token is configured: every call passes.
// Returns OK or UNAUTHENTICATED "missing or wrong access token" (the message
// never says which, nor echoes the token). Rejections are logged at WARNING,
// at most one line every few seconds with a count of the rest, so a caller
// guessing tokens can't flood the log. `peer` names the caller in that line.
// Thread-safe.
absl::Status CheckAccessToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    absl::string_view expected_token, absl::string_view peer);

// The same, for a server call.
absl::Status CheckAccessToken(const grpc::ServerContextBase& context,
                              absl::string_view expected_token);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_SERVICE_AUTH_H_

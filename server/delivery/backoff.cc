#include "server/delivery/backoff.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace xxljob {

absl::Status ValidateBackoffOptions(const BackoffOptions& o,
                                    absl::string_view what) {
  auto bad = [what](absl::string_view field) {
    return absl::InvalidArgumentError(absl::StrCat(what, ".", field));
  };
  if (o.initial <= absl::ZeroDuration() ||
      o.initial == absl::InfiniteDuration()) {
    return bad("initial must be positive and finite");
  }
  if (!(o.multiplier >= 1)) return bad("multiplier must be >= 1");
  if (o.max < o.initial || o.max == absl::InfiniteDuration()) {
    return bad("max must be finite and >= initial");
  }
  if (!(o.jitter >= 0 && o.jitter < 1)) return bad("jitter must be in [0, 1)");
  return absl::OkStatus();
}

Backoff::Backoff(BackoffOptions options)
    : options_(options), nominal_(options.initial) {}

absl::Duration Backoff::NextDelay() {
  const double factor =
      options_.jitter > 0
          ? absl::Uniform(rng_, 1.0 - options_.jitter, 1.0 + options_.jitter)
          : 1.0;
  const absl::Duration delay = nominal_ * factor;
  nominal_ = std::min(options_.max, nominal_ * options_.multiplier);
  return delay;
}

}  // namespace xxljob

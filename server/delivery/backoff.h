// The retry policy of everything that calls the admin (result delivery,
// registration), in the manner of gRPC core's BackOff: a delay that starts
// at `initial`, grows by `multiplier` per attempt up to `max`, and is spread
// by `jitter` so that many executors do not call in step.
#ifndef XXLJOB_SERVER_DELIVERY_BACKOFF_H_
#define XXLJOB_SERVER_DELIVERY_BACKOFF_H_

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xxljob {

struct BackoffOptions {
  absl::Duration initial = absl::Milliseconds(100);
  // >= 1; 1 gives a fixed period (registration).
  double multiplier = 2.0;
  // >= initial.
  absl::Duration max = absl::Seconds(30);
  // Each delay is the nominal one times a random factor in
  // [1 - jitter, 1 + jitter]; jitter in [0, 1).
  double jitter = 0.2;
};

// OK, or INVALID_ARGUMENT naming `what` and the bad field.
absl::Status ValidateBackoffOptions(const BackoffOptions& options,
                                    absl::string_view what);

// Not thread-safe: each user keeps its own, under its own lock.
class Backoff {
 public:
  // REQUIRES: ValidateBackoffOptions(options) is OK.
  explicit Backoff(BackoffOptions options);

  // The delay before the next attempt: the nominal delay with jitter
  // applied; the nominal delay then grows toward `max`.
  absl::Duration NextDelay();
  // Back to `initial` (after a success).
  void Reset() { nominal_ = options_.initial; }
  const BackoffOptions& options() const { return options_; }

 private:
  const BackoffOptions options_;
  absl::Duration nominal_;
  absl::BitGen rng_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_DELIVERY_BACKOFF_H_

#include "handlers/cancellation.h"

#include <algorithm>
#include <utility>

namespace xxljob {

Cancellation::Cancellation(absl::Time deadline) : deadline_(deadline) {}

bool Cancellation::Cancel(std::string reason) {
  absl::MutexLock lock(&mu_);
  // A run already past its deadline has timed out; a later kill does not
  // change why it stopped.
  if (killed_ || absl::Now() >= deadline_) return false;
  killed_ = true;
  reason_ = std::move(reason);
  return true;
}

bool Cancellation::cancelled() const {
  return cause() != CancelCause::kNone;
}

bool Cancellation::WaitFor(absl::Duration timeout) const {
  const absl::Time until = std::min(deadline_, absl::Now() + timeout);
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&killed_), until);
  return killed_ || absl::Now() >= deadline_;
}

CancelCause Cancellation::cause() const {
  absl::MutexLock lock(&mu_);
  if (killed_) return CancelCause::kKilled;
  if (absl::Now() >= deadline_) return CancelCause::kTimedOut;
  return CancelCause::kNone;
}

std::string Cancellation::reason() const {
  absl::MutexLock lock(&mu_);
  return reason_;
}

}  // namespace xxljob

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
  // Under the lock, so RemoveCallback can promise the callback is not
  // running once it returns.
  for (const auto& entry : callbacks_) entry.second();
  return true;
}

Cancellation::CallbackId Cancellation::AddCallback(
    std::function<void()> callback) const {
  absl::MutexLock lock(&mu_);
  const CallbackId id = next_callback_id_++;
  if (killed_) {
    callback();
  } else {
    callbacks_.emplace_back(id, std::move(callback));
  }
  return id;
}

void Cancellation::RemoveCallback(CallbackId id) const {
  absl::MutexLock lock(&mu_);
  callbacks_.erase(
      std::remove_if(callbacks_.begin(), callbacks_.end(),
                     [id](const auto& entry) { return entry.first == id; }),
      callbacks_.end());
}

bool Cancellation::cancelled() const { return cause() != CancelCause::kNone; }

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

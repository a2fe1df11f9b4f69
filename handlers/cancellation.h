// Cancellation of one run: a kill request or the run's deadline.
#ifndef XXLJOB_HANDLERS_CANCELLATION_H_
#define XXLJOB_HANDLERS_CANCELLATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xxljob {

enum class CancelCause {
  kNone,      // Neither killed nor past the deadline.
  kKilled,    // Cancel() was called before the deadline.
  kTimedOut,  // The deadline passed first.
};

// The cancellation state of one run. The deadline needs no timer: it is
// observed by every check and wait, so an expired run looks cancelled the
// moment its deadline passes.
//
// Code that waits on something else than this object (a script runner in
// poll() on a child's pipes) registers a callback that wakes it on Cancel(),
// and bounds its wait by deadline() itself.
//
// Thread-safe. Owned by the executor for the run's lifetime.
class Cancellation {
 public:
  // `deadline` is when the run times out; InfiniteFuture() for none.
  explicit Cancellation(absl::Time deadline = absl::InfiniteFuture());
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  // Requests cancellation with a reason ("scheduling center kill job", ...)
  // and wakes every waiter. Returns true if this call cancelled the run,
  // false if it was already killed or timed out (the first cause wins).
  bool Cancel(std::string reason);

  // True once killed or past the deadline.
  bool cancelled() const;

  // Blocks until cancelled or `timeout` has elapsed, whichever is first.
  // Returns true if cancelled.
  bool WaitFor(absl::Duration timeout) const;

  CancelCause cause() const;
  // The reason given to Cancel(); empty unless cause() is kKilled.
  std::string reason() const;
  absl::Time deadline() const { return deadline_; }

  // Registers `callback` to run once when Cancel() cancels the run; if the
  // run is already killed it runs before AddCallback returns. It is not run
  // when the deadline passes (there is no timer: waiters bound their waits
  // by deadline()). It runs under this object's lock, on the thread calling
  // Cancel() (or AddCallback), so it must be quick, must not block and must
  // not call into this Cancellation: writing to an eventfd is the intended
  // use. Const because registering observes the run, like WaitFor.
  // Returns an id for RemoveCallback.
  using CallbackId = uint64_t;
  CallbackId AddCallback(std::function<void()> callback) const;
  // Unregisters callback `id`; once this returns it is not running and will
  // not run, so what it captured may be destroyed. Unknown ids are ignored.
  void RemoveCallback(CallbackId id) const;

 private:
  const absl::Time deadline_;
  mutable absl::Mutex mu_;
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  mutable CallbackId next_callback_id_ ABSL_GUARDED_BY(mu_) = 1;
  mutable std::vector<std::pair<CallbackId, std::function<void()>>> callbacks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_CANCELLATION_H_

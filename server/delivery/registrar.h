// Keeps the executor registered with the admin (SPEC §5): Registry at start
// and then on an interval, RegistryRemove once on shutdown. Core code: it
// talks to the admin only through AdminApi.
#ifndef XXLJOB_SERVER_CORE_REGISTRAR_H_
#define XXLJOB_SERVER_CORE_REGISTRAR_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/delivery/admin_api.h"
#include "server/delivery/backoff.h"

namespace xxljob {

struct RegistrarOptions {
  // Who the executor is (app name, advertised host:port).
  RegistryParam param;
  // Time between registrations. The admin drops an executor it has not
  // heard from for about three intervals (XXL-JOB's 90 s dead timeout for
  // its 30 s beat), so this should stay well below that.
  absl::Duration interval = absl::Seconds(30);
  // Each wait is `interval` times a random factor in [1 - jitter,
  // 1 + jitter], so executors started together do not register in lockstep.
  double jitter = 0.1;
  // While registration keeps failing, one WARNING every this many
  // consecutive failures after the first (the others are VLOG(1)).
  int warn_every_n_failures = 10;
};

// Runs the registration loop on a thread of its own.
//
// Logging: the first failure of an outage is a WARNING with the error, later
// consecutive failures are VLOG(1) (plus a reminder WARNING every
// `warn_every_n_failures`), and the first success after failures is one
// INFO. An admin that is down for hours costs a handful of lines.
//
// Thread-safe. Does not own `admin`, which must outlive the registrar.
// The destructor calls Stop().
class Registrar {
 public:
  // REQUIRES: `admin` non-null; `options.interval` positive and finite;
  // `options.jitter` in [0, 0.5]; `options.warn_every_n_failures` >= 1.
  // (Programming errors: checked with CHECK. main.cc validates its flags.)
  Registrar(AdminApi* admin, RegistrarOptions options);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Starts the loop; the first Registry call happens at once on the loop's
  // thread, so Start() never waits for the admin. No-op if already started
  // or stopped.
  void Start();

  // Stops the loop and joins its thread, then calls RegistryRemove once, so
  // no Registry can reach the admin after the removal. Blocks until both are
  // done: at most an in-flight Registry plus the RegistryRemove, each
  // bounded by the AdminApi's own deadlines. The removal's outcome is logged
  // here (INFO, or WARNING: the admin then drops the executor when its
  // registration expires). Idempotent; does nothing if never started.
  void Stop();

  // Registry calls made so far, and how many an admin accepted.
  int64_t attempts() const;
  int64_t successes() const;

  // Block until attempts() >= n (successes() >= n), or `timeout` passes.
  // True if the count was reached.
  bool WaitForAttemptsForTesting(int64_t n, absl::Duration timeout) const;
  bool WaitForSuccessesForTesting(int64_t n, absl::Duration timeout) const;

 private:
  void Loop();
  // One Registry call, its counters and its logging.
  void RegisterOnce();

  AdminApi* const admin_;
  const RegistrarOptions options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t attempts_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t successes_ ABSL_GUARDED_BY(mu_) = 0;

  // Only the loop thread touches these.
  int64_t consecutive_failures_ = 0;
  bool ever_registered_ = false;
  // A fixed period with jitter: the retry policy with multiplier 1.
  Backoff period_;

  // Serialises Stop() callers, so a second Stop() returns only once the
  // first has finished the removal. Held across the join and the removal,
  // which is why it is not mu_ (the loop needs mu_ to see stopping_).
  absl::Mutex stop_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_REGISTRAR_H_

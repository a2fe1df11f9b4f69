#include "server/delivery/registrar.h"

#include <utility>

#include "absl/status/status.h"
#include "glog/logging.h"

namespace xxljob {

Registrar::Registrar(AdminApi* admin, RegistrarOptions options)
    : admin_(admin),
      options_(std::move(options)),
      period_(BackoffOptions{options_.interval, 1.0, options_.interval,
                             options_.jitter}) {
  CHECK(admin_ != nullptr) << "Registrar needs an AdminApi";
  CHECK(options_.interval > absl::ZeroDuration() &&
        options_.interval != absl::InfiniteDuration())
      << "registry interval must be positive and finite, got "
      << options_.interval;
  CHECK(options_.jitter >= 0 && options_.jitter <= 0.5)
      << "registry jitter must be in [0, 0.5], got " << options_.jitter;
  CHECK_GE(options_.warn_every_n_failures, 1);
}

Registrar::~Registrar() { Stop(); }

void Registrar::Start() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_ || thread_.joinable()) return;
  LOG(INFO) << "registering with the admin as " << options_.param.registry_group
            << " " << options_.param.registry_key << " "
            << options_.param.registry_value << " every " << options_.interval;
  thread_ = std::thread([this] { Loop(); });
}

void Registrar::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (!thread_.joinable()) return;  // Never started: nothing to remove.
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  // Only now: a Registry still in flight could otherwise land after the
  // removal and make the admin list a departed executor until it expires.
  const absl::Status status = admin_->RegistryRemove(options_.param);
  if (status.ok()) {
    LOG(INFO) << "removed the registration from the admin";
  } else {
    LOG(WARNING) << "RegistryRemove failed (the admin will drop this "
                    "executor when its registration expires): "
                 << status;
  }
}

int64_t Registrar::attempts() const {
  absl::MutexLock lock(&mu_);
  return attempts_;
}

int64_t Registrar::successes() const {
  absl::MutexLock lock(&mu_);
  return successes_;
}

bool Registrar::WaitForAttemptsForTesting(int64_t n,
                                          absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return attempts_ >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool Registrar::WaitForSuccessesForTesting(int64_t n,
                                           absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return successes_ >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

void Registrar::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    RegisterOnce();
    const absl::Duration delay = period_.NextDelay();
    absl::MutexLock lock(&mu_);
    // Wakes at once when Stop() sets the flag: no sleep to wait out.
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay)) return;
  }
}

void Registrar::RegisterOnce() {
  // Called without mu_: the call blocks on the network.
  const absl::Status status = admin_->Registry(options_.param);
  {
    absl::MutexLock lock(&mu_);
    ++attempts_;
    if (status.ok()) ++successes_;
  }
  if (status.ok()) {
    if (consecutive_failures_ > 0) {
      LOG(INFO) << "registration with the admin recovered after "
                << consecutive_failures_ << " failed attempt(s)";
    } else if (!ever_registered_) {
      LOG(INFO) << "registered with the admin";
    } else {
      VLOG(1) << "registered with the admin";
    }
    consecutive_failures_ = 0;
    ever_registered_ = true;
    return;
  }
  ++consecutive_failures_;
  if (consecutive_failures_ == 1) {
    LOG(WARNING) << "registration with the admin is failing (retrying every "
                 << options_.interval << "; further failures are logged "
                 << "every " << options_.warn_every_n_failures
                 << " attempts): " << status;
  } else if ((consecutive_failures_ - 1) % options_.warn_every_n_failures ==
             0) {
    LOG(WARNING) << "registration with the admin still failing after "
                 << consecutive_failures_ << " attempts: " << status;
  } else {
    VLOG(1) << "registration attempt " << consecutive_failures_
            << " failed: " << status;
  }
}

}  // namespace xxljob

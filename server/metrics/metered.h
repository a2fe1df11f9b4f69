// Decorators that count what passes through the executor's seams: the
// ResultSink between the core and delivery (runs accepted and finished), and
// the AdminApi between delivery and the admins (callback batches, the last
// call's outcome, the last registration).
#ifndef XXLJOB_SERVER_METRICS_METERED_H_
#define XXLJOB_SERVER_METRICS_METERED_H_

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/core/result_sink.h"
#include "server/delivery/admin_api.h"
#include "server/metrics/metrics.h"

namespace xxljob {

// Forwards to `sink` and counts. Thread-safe as `sink` is. Owns neither;
// both must outlive it.
class MeteredResultSink : public ResultSink {
 public:
  MeteredResultSink(ResultSink* sink, Metrics* metrics)
      : sink_(sink), metrics_(metrics) {}
  MeteredResultSink(const MeteredResultSink&) = delete;
  MeteredResultSink& operator=(const MeteredResultSink&) = delete;

  // Counted only once the inner sink recorded it: a refusal there is the
  // edge's to count (reason data_dir).
  absl::Status Accepted(const Trigger& trigger) override;
  void Finished(const RunResult& result) override;

 private:
  ResultSink* const sink_;
  Metrics* const metrics_;
};

// Forwards to `admin`, timing Callback (when `metrics` is not null) and
// remembering whether the last call succeeded and when a Registry call last
// did. Thread-safe as `admin` is. Does not own `metrics`, which must
// outlive it; owns `admin` if given as a unique_ptr (one admin of a
// failover chain, watched for admin_up), else `admin` must outlive it.
class MeteredAdminApi : public AdminApi {
 public:
  MeteredAdminApi(AdminApi* admin, Metrics* metrics)
      : admin_(admin), metrics_(metrics) {}
  MeteredAdminApi(std::unique_ptr<AdminApi> admin, Metrics* metrics)
      : owned_(std::move(admin)), admin_(owned_.get()), metrics_(metrics) {}
  MeteredAdminApi(const MeteredAdminApi&) = delete;
  MeteredAdminApi& operator=(const MeteredAdminApi&) = delete;

  absl::Status Registry(const RegistryParam& param) override;
  absl::Status RegistryRemove(const RegistryParam& param) override;
  absl::Status Callback(const std::vector<RunResult>& results) override;

  // Whether the last call (of any kind) succeeded; false before the first.
  bool up() const { return up_.load(); }
  // When a Registry call last succeeded; InfinitePast() before the first.
  absl::Time last_registration() const {
    return absl::FromUnixNanos(last_registration_ns_.load());
  }

 private:
  absl::Status Note(absl::Status status);

  const std::unique_ptr<AdminApi> owned_;
  AdminApi* const admin_;
  Metrics* const metrics_;
  std::atomic<bool> up_{false};
  std::atomic<int64_t> last_registration_ns_{
      absl::ToUnixNanos(absl::InfinitePast())};
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_METRICS_METERED_H_

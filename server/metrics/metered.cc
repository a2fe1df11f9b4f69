#include "server/metrics/metered.h"

#include <utility>

namespace xxljob {

absl::Status MeteredResultSink::Accepted(const Trigger& trigger) {
  absl::Status status = sink_->Accepted(trigger);
  if (status.ok()) metrics_->RunAccepted(trigger.glue_type);
  return status;
}

void MeteredResultSink::Finished(const RunResult& result) {
  // Counted first: whoever sees the result delivered sees it counted.
  metrics_->RunFinished(result);
  sink_->Finished(result);
}

absl::Status MeteredAdminApi::Note(absl::Status status) {
  up_.store(status.ok());
  return status;
}

absl::Status MeteredAdminApi::Registry(const RegistryParam& param) {
  absl::Status status = admin_->Registry(param);
  if (status.ok()) {
    last_registration_ns_.store(absl::ToUnixNanos(absl::Now()));
  }
  return Note(std::move(status));
}

absl::Status MeteredAdminApi::RegistryRemove(const RegistryParam& param) {
  return Note(admin_->RegistryRemove(param));
}

absl::Status MeteredAdminApi::Callback(const std::vector<RunResult>& results) {
  const absl::Time start = absl::Now();
  absl::Status status = admin_->Callback(results);
  if (metrics_ != nullptr) {
    metrics_->CallbackBatch(status.ok(), absl::Now() - start);
  }
  return Note(std::move(status));
}

}  // namespace xxljob

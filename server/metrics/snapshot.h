// The gauges that are snapshots of the executor's state (load, bounds, the
// outbox, connections, registration) and of the process (/proc/self). They
// are read when a scrape asks, from the parts' own snapshot APIs, so they
// cost nothing between scrapes.
#ifndef XXLJOB_SERVER_METRICS_SNAPSHOT_H_
#define XXLJOB_SERVER_METRICS_SNAPSHOT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "prometheus/metric_family.h"

namespace xxljob {

// Outside MetricsSnapshot: a nested struct with default member initializers
// is not default-constructible for std::optional until the enclosing class
// is complete (clang).
struct OutboxSnapshot {
  int64_t pending = 0;
  absl::Duration oldest_pending_age = absl::ZeroDuration();
  int64_t bytes = 0;
  int64_t spills = 0;
  int64_t journal_errors = 0;
};
struct AdminSnapshot {
  std::string address;
  bool up = false;
};
struct ConnectionsSnapshot {
  const char* transport = "grpc";
  int64_t open = 0;
  int64_t limit = 0;
  int64_t refused = 0;
};

// Plain values: the composition root fills them from Executor::load(),
// ResultReporter::stats(), the transports and the registrar.
struct MetricsSnapshot {
  int64_t running = 0;
  int64_t queued = 0;
  int64_t job_threads = 0;
  int64_t worker_threads = 0;
  int64_t max_job_threads = 0;
  int64_t max_running = 0;
  // Per job id; 0 if none.
  int64_t max_queue_depth = 0;
  bool draining = false;
  int64_t tail_streams = 0;

  // Delivery; absent (no series) without a result reporter.
  using Outbox = OutboxSnapshot;
  std::optional<Outbox> outbox;

  using Admin = AdminSnapshot;
  std::vector<Admin> admins;
  // Since the last successful registration; absent without admins. Before
  // the first one it is +Inf.
  std::optional<absl::Duration> since_registration;

  using Connections = ConnectionsSnapshot;
  std::vector<Connections> connections;
};

// The families of `snapshot`, HELP text included.
std::vector<prometheus::MetricFamily> SnapshotFamilies(
    const MetricsSnapshot& snapshot);

// process_* (resident memory, descriptors, CPU, start time, threads) from
// /proc/self; figures that can't be read are left out.
std::vector<prometheus::MetricFamily> ProcessFamilies();

}  // namespace xxljob

#endif  // XXLJOB_SERVER_METRICS_SNAPSHOT_H_

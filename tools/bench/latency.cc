// The latency phase: trigger-to-callback latency, open loop, at fixed
// offered rates, through the production path (Run -> job thread -> handler
// -> reporter/outbox -> Callback to the admin simulator).
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "tools/bench/open_loop.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(
      std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void RunLatency(const LatencyOptions& options, Rig& rig, Report& report) {
  for (double rate : options.rates) {
    rig.WaitIdle(absl::Minutes(2));  // Measure from an idle executor.
    const OpenLoopRun run =
        SendOpenLoop(rig, rate, options.duration, options.jobs);
    const Deliveries got = CollectDeliveries(rig, run, absl::Seconds(30));
    const std::string p = absl::StrCat("latency.at_", std::lround(rate), "/s.");
    report.Add(p + "p50", Percentile(got.latency_ms, 50), "ms");
    report.Add(p + "p99", Percentile(got.latency_ms, 99), "ms");
    report.Add(p + "p99.9", Percentile(got.latency_ms, 99.9), "ms");
    report.Add(p + "max", got.latency_ms.empty() ? 0 : got.latency_ms.back(),
               "ms");
    report.Add(p + "runs", static_cast<double>(run.scheduled.size()), "runs");
    report.Add(p + "sender_max_lag", absl::ToDoubleMilliseconds(run.max_lag),
               "ms");
    if (run.rejected + got.missing + got.duplicates > 0) {
      report.Note(absl::StrCat("latency at ", rate, "/s: ", run.rejected,
                               " rejected, ", got.missing, " missing, ",
                               got.duplicates, " duplicate callbacks"));
    }
  }
}

}  // namespace xxljob::bench

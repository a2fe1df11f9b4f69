// The metrics phase: what Prometheus metrics cost on the hot path. The Run
// ceiling (closed loop, demoJobHandler, delivered to the admin simulator)
// with metrics off and on, alternating rigs so that a busy machine's drift
// hits both alike.
#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {

void RunMetricsCost(const MetricsCostOptions& options,
                    const HandlerRegistry* registry, Report& report) {
  double best[2] = {0, 0};  // [off, on]
  for (int round = 0; round < options.rounds; ++round) {
    for (int on = 0; on < 2; ++on) {
      RigOptions rig_options = options.rig;
      rig_options.metrics = on == 1;
      auto rig = Rig::Start(rig_options, registry);
      if (!rig.ok()) {
        report.Note(
            absl::StrCat("metrics: rig failed: ", rig.status().ToString()));
        return;
      }
      // The ceiling's own rows (printed as they come) stay out of the
      // report and the CSV: only the rate counts.
      Report scratch;
      const CeilingResult r =
          RunCeiling(options.ceiling, (*rig)->clients(), rig->get(), scratch);
      best[on] = std::max(best[on], r.run_rate);
    }
  }
  report.Add("metrics.run_rate_off", best[0], "calls/s");
  report.Add("metrics.run_rate_on", best[1], "calls/s");
  if (best[0] > 0) {
    report.Add("metrics.ratio_on_to_off", best[1] / best[0], "ratio");
  }
}

}  // namespace xxljob::bench

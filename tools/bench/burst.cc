// The burst phase: `triggers` Runs (demoJobHandler, serial block strategy)
// sent as fast as the client can over `jobs` job ids, with at most
// `in_flight` calls outstanding; measured from the first send to the last
// callback the in-process admin simulator accepted. This is how the
// reference executor was measured (a burst of 200,000, time to the last
// callback), so the two figures compare directly.
#include "absl/strings/str_cat.h"
#include "tools/bench/burst_measure.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {

void RunBurst(const BurstOptions& options, Rig& rig, Report& report) {
  const BurstOutcome outcome =
      MeasureBurst(rig, options.triggers, [&](int64_t base) {
        return SendGrpcBurst(rig, base, options.triggers, options.jobs,
                             options.in_flight);
      });
  AddBurstRows(absl::StrCat("burst.", options.label, "."), "burst", outcome,
               report);
}

}  // namespace xxljob::bench

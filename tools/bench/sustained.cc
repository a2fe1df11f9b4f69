// The sustained phase: the highest offered rate that the executor keeps up
// with through to the admin. A rate passes when, over the window, every Run
// was accepted, every result was delivered exactly once (within a drain
// timeout after the window), the undelivered backlog did not grow, and the
// sender itself kept its schedule (else the client, not the executor, was
// the limit). Rates double until one fails, then bisect.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "tools/bench/open_loop.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {
namespace {

double Mean(std::vector<int64_t>::const_iterator begin,
            std::vector<int64_t>::const_iterator end) {
  if (begin == end) return 0;
  return std::accumulate(begin, end, 0.0) / static_cast<double>(end - begin);
}

// Backlog growth from the first to the last third of the samples, in runs.
double BacklogGrowth(const std::vector<int64_t>& backlog) {
  const size_t third = backlog.size() / 3;
  if (third == 0) return 0;
  return Mean(backlog.end() - third, backlog.end()) -
         Mean(backlog.begin(), backlog.begin() + third);
}

bool Trial(const SustainedOptions& options, double rate, Rig& rig,
           Report& report) {
  if (!rig.WaitIdle(absl::Minutes(2))) {
    report.Note(
        "sustained: the executor was still busy 2 min after the "
        "previous trial; this trial starts with a backlog");
  }
  const OpenLoopRun run =
      SendOpenLoop(rig, rate, options.window, options.jobs, absl::Seconds(2));
  const Deliveries got = CollectDeliveries(rig, run, absl::Seconds(10));
  const double growth = BacklogGrowth(run.backlog);
  // A healthy backlog is rate x latency and flat; an overloaded one grows
  // by the excess every second. A quarter second of work is the allowance.
  const bool flat = growth <= std::max(0.25 * rate, 200.0);
  const bool on_time = run.max_lag < absl::Seconds(1);
  const bool ok = !run.aborted && run.rejected == 0 && got.missing == 0 &&
                  got.duplicates == 0 && got.drained && flat && on_time;
  const std::string p =
      absl::StrCat("sustained.try_", std::lround(rate), "/s.");
  report.Add(p + "kept_up", ok ? 1 : 0, "bool");
  report.Add(p + "backlog_growth", growth, "runs");
  report.Add(p + "p99", Percentile(got.latency_ms, 99), "ms");
  if (!ok) {
    report.Note(absl::StrCat(
        "sustained ", rate, "/s failed: rejected=", run.rejected, " missing=",
        got.missing, " duplicates=", got.duplicates, " drained=", got.drained,
        " aborted=", run.aborted, " backlog_growth=", growth,
        " sender_max_lag=", absl::FormatDuration(run.max_lag)));
  }
  return ok;
}

}  // namespace

double RunSustained(const SustainedOptions& options, Rig& rig, Report& report) {
  double passed = 0, failed = 0;
  for (double rate = options.start_rate; rate <= options.max_rate; rate *= 2) {
    if (!Trial(options, rate, rig, report)) {
      failed = rate;
      break;
    }
    passed = rate;
  }
  for (int step = 0; step < options.refine_steps && failed > 0; ++step) {
    const double mid = std::round((passed + failed) / 2);
    if (Trial(options, mid, rig, report)) {
      passed = mid;
    } else {
      failed = mid;
    }
  }
  report.Add("sustained.rate", passed, "runs/s");
  return passed;
}

}  // namespace xxljob::bench

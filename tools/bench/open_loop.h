// An open-loop Run sender: triggers demoJobHandler at scheduled times
// (start + i/rate), whatever the executor's answers, so a slow executor
// shows as latency instead of a slower sender (no coordinated omission).
// Uses gRPC's callback client API, so one pacing thread keeps any rate the
// machine can send at.
#ifndef XXLJOB_TOOLS_BENCH_OPEN_LOOP_H_
#define XXLJOB_TOOLS_BENCH_OPEN_LOOP_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "tools/bench/rig.h"

namespace xxljob::bench {

struct OpenLoopRun {
  double rate = 0;
  int64_t base_log_id = 0;            // run i has log id base_log_id + i
  std::vector<absl::Time> scheduled;  // by i
  int64_t accepted = 0;               // code 200
  int64_t rejected = 0;               // RPC failed or code != 200
  absl::Duration max_lag;             // how far behind schedule a send went
  // Sampled once a second while sending: runs sent and not rejected, minus
  // results delivered since the start.
  std::vector<int64_t> backlog;
  int64_t delivered_before = 0;
  // The sender fell more than abort_lag behind and stopped early;
  // `scheduled` holds only the runs sent.
  bool aborted = false;
};

// Sends rate*duration Runs over job ids 1..jobs; returns when every call
// has been answered. Stops early (aborted) once a send is more than
// `abort_lag` behind its schedule: the rate is hopeless and the backlog
// would only delay the next measurement.
OpenLoopRun SendOpenLoop(Rig& rig, double rate, absl::Duration duration,
                         int jobs,
                         absl::Duration abort_lag = absl::InfiniteDuration());

struct Deliveries {
  std::vector<double> latency_ms;  // sorted; scheduled send to arrival
  int64_t missing = 0;             // accepted runs with no callback
  int64_t duplicates = 0;          // callbacks beyond the first per run
  bool drained = false;            // everything arrived within the timeout
};

// Waits up to `timeout` for every accepted run's result, then matches the
// admin simulator's records (arrival times) to the send schedule.
Deliveries CollectDeliveries(Rig& rig, const OpenLoopRun& run,
                             absl::Duration timeout);

}  // namespace xxljob::bench

#endif  // XXLJOB_TOOLS_BENCH_OPEN_LOOP_H_

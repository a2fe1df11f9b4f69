#include "tools/bench/open_loop.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/time/clock.h"

namespace xxljob::bench {

OpenLoopRun SendOpenLoop(Rig& rig, double rate, absl::Duration duration,
                         int jobs, absl::Duration abort_lag) {
  OpenLoopRun run;
  run.rate = rate;
  run.base_log_id = FreshLogIdBase();
  run.delivered_before = rig.delivered();
  const int64_t n =
      static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  run.scheduled.resize(n);
  std::atomic<int64_t> accepted{0}, rejected{0}, in_flight{0};

  const absl::Time start = absl::Now() + absl::Milliseconds(10);
  absl::Time next_sample = start + absl::Seconds(1);
  for (int64_t i = 0; i < n; ++i) {
    const absl::Time due = start + absl::Seconds(i / rate);
    run.scheduled[i] = due;
    const absl::Time now = absl::Now();
    if (due > now) {
      absl::SleepFor(due - now);
    } else {
      run.max_lag = std::max(run.max_lag, now - due);
      if (run.max_lag > abort_lag) {
        run.aborted = true;
        run.scheduled.resize(i);
        break;
      }
    }
    if (now >= next_sample) {
      run.backlog.push_back(i - rejected.load() -
                            (rig.delivered() - run.delivered_before));
      next_sample += absl::Seconds(1);
    }
    auto* call = new RunCall;
    rig.clients().Prepare(&call->ctx, absl::Seconds(10));
    call->request =
        MakeRun(1 + i % jobs, run.base_log_id + i, "demoJobHandler", "bench");
    in_flight.fetch_add(1);
    rig.clients().stub(i).async()->Run(
        &call->ctx, &call->request, &call->response,
        [call, &accepted, &rejected, &in_flight](grpc::Status status) {
          const bool ok = status.ok() && call->response.code() == 200;
          (ok ? accepted : rejected).fetch_add(1);
          delete call;
          in_flight.fetch_sub(1);  // Last: the counters outlive no call.
        });
  }
  while (in_flight.load() > 0) absl::SleepFor(absl::Milliseconds(1));
  run.accepted = accepted.load();
  run.rejected = rejected.load();
  return run;
}

Deliveries CollectDeliveries(Rig& rig, const OpenLoopRun& run,
                             absl::Duration timeout) {
  Deliveries out;
  out.drained = rig.WaitDelivered(run.delivered_before + run.accepted, timeout);
  const int64_t n = static_cast<int64_t>(run.scheduled.size());
  std::vector<int> count(n, 0);
  for (const RecordedCallback& cb : rig.admin().callbacks()) {
    const int64_t i = cb.log_id - run.base_log_id;
    if (i < 0 || i >= n) continue;
    if (count[i]++ == 0) {
      out.latency_ms.push_back(
          absl::ToDoubleMilliseconds(cb.time - run.scheduled[i]));
    } else {
      ++out.duplicates;
    }
  }
  out.missing = run.accepted - static_cast<int64_t>(out.latency_ms.size());
  std::sort(out.latency_ms.begin(), out.latency_ms.end());
  return out;
}

}  // namespace xxljob::bench

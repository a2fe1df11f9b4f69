// The ceiling phase: Beat RPCs/s (the bare gRPC cost) vs Run RPCs/s with
// demoJobHandler on the same server, same concurrency, closed loop.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {
namespace {

struct Phase {
  int64_t ok = 0;
  int64_t failed = 0;
  absl::Duration elapsed;
  double rate() const { return ok / absl::ToDoubleSeconds(elapsed); }
};

// Runs `call(thread, i)` from `concurrency` threads for `duration`.
template <typename Call>
Phase Measure(int concurrency, absl::Duration duration, Call call) {
  std::atomic<int64_t> ok{0}, failed{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0; absl::Now() < end; ++i) {
        (call(t, i) ? ok : failed).fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return Phase{ok.load(), failed.load(), absl::Now() - start};
}

}  // namespace

CeilingResult RunCeiling(const CeilingOptions& options, Clients& clients,
                         Rig* rig, Report& report) {
  const Phase beat =
      Measure(options.concurrency, options.duration, [&](int t, int64_t) {
        grpc::ClientContext ctx;
        clients.Prepare(&ctx, absl::Seconds(10));
        v1::BeatResponse response;
        return clients.stub(t).Beat(&ctx, v1::BeatRequest(), &response).ok() &&
               response.code() == 200;
      });

  const int64_t delivered_before = rig != nullptr ? rig->delivered() : 0;
  const int64_t base = FreshLogIdBase();
  const Phase run =
      Measure(options.concurrency, options.duration, [&](int t, int64_t i) {
        grpc::ClientContext ctx;
        clients.Prepare(&ctx, absl::Seconds(10));
        const int64_t n = i * options.concurrency + t;
        v1::RunRequest request =
            MakeRun(1 + n % options.jobs, base + n, "demoJobHandler", "bench");
        v1::RunResponse response;
        return clients.stub(t).Run(&ctx, request, &response).ok() &&
               response.code() == 200;
      });

  report.Add("ceiling.beat_rate", beat.rate(), "calls/s");
  report.Add("ceiling.beat_failed", beat.failed, "calls");
  report.Add("ceiling.run_rate", run.rate(), "calls/s");
  report.Add("ceiling.run_failed", run.failed, "calls");
  report.Add("ceiling.ratio_run_to_beat", run.rate() / beat.rate(), "ratio");
  if (rig != nullptr) {
    const absl::Time start = absl::Now();
    const bool drained =
        rig->WaitDelivered(delivered_before + run.ok, absl::Minutes(5));
    report.Add("ceiling.drain_after_run",
               absl::ToDoubleSeconds(absl::Now() - start), "s");
    if (!drained) report.Note("ceiling: not every accepted run was delivered");
  }
  return {beat.rate(), run.rate()};
}

}  // namespace xxljob::bench

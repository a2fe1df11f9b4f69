// xxl-bench's phases. Each adds its rows to the report; main.cc picks which
// run and in what order. Options say their meaning and default; main.cc
// fills them from flags.
#ifndef XXLJOB_TOOLS_BENCH_PHASES_H_
#define XXLJOB_TOOLS_BENCH_PHASES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "tools/bench/report.h"
#include "tools/bench/rig.h"

namespace xxljob::bench {

// The bench-only handler of the paging phase: logs `params` numbered lines.
inline constexpr char kLogLinesHandler[] = "benchLogLinesHandler";
// Registers the builtin handlers and kLogLinesHandler.
void RegisterBenchHandlers(HandlerRegistry* registry);

struct CeilingOptions {
  absl::Duration duration = absl::Seconds(5);  // of Beat, then of Run
  int concurrency = 32;                        // client threads
  int jobs = 1000;                             // job ids Run spreads over
};
struct CeilingResult {
  double beat_rate = 0;  // Beat calls/s
  double run_rate = 0;   // accepted Run calls/s
};
// Closed loop Beat vs Run (demoJobHandler). With a rig, waits until every
// accepted run's result was delivered.
CeilingResult RunCeiling(const CeilingOptions& options, Clients& clients,
                         Rig* rig, Report& report);

struct LatencyOptions {
  absl::Duration duration = absl::Seconds(10);  // per offered rate
  std::vector<double> rates = {1000};           // offered Run calls/s
  int jobs = 1000;
};
// Open-loop trigger-to-callback latency at each rate.
void RunLatency(const LatencyOptions& options, Rig& rig, Report& report);

struct SustainedOptions {
  absl::Duration window = absl::Seconds(30);  // per tried rate
  double start_rate = 500;                    // doubled until it fails
  double max_rate = 200000;
  int refine_steps = 2;  // bisections between the last pass and the fail
  int jobs = 1000;
};
// The highest offered rate that kept up (0 if none did).
double RunSustained(const SustainedOptions& options, Rig& rig, Report& report);

struct ScaleOptions {
  int idle_jobs = 10000;     // job ids triggered once and left idle
  int sleeping_runs = 1000;  // sleepJobHandler runs held in flight
  absl::Duration sleep = absl::Seconds(60);
};
// Starts its own rig (so the baseline is a freshly started executor).
void RunScale(const ScaleOptions& options, const HandlerRegistry* registry,
              Report& report);

struct PagingOptions {
  int lines = 1'000'000;  // log lines the run writes
  int repeats = 20;       // Log calls timed per page (median reported)
};
void RunPaging(const PagingOptions& options, Rig& rig, Report& report);

struct BurstOptions {
  int64_t triggers = 200'000;   // Runs sent, as fast as the client can
  int jobs = 1000;              // job ids they spread over
  int in_flight = 256;          // calls outstanding at most
  std::string label = "burst";  // CSV rows are burst.<label>.*
};
// Time from the first trigger to the last callback the admin accepted, and
// runs/s = accepted runs / that time.
void RunBurst(const BurstOptions& options, Rig& rig, Report& report);

struct E2eHttpOptions {
  int64_t triggers = 50'000;  // Runs per burst, each way
  int jobs = 1000;            // job ids they spread over
  // Calls outstanding at most: over gRPC, Run calls over the rig's
  // channels; over HTTP, keep-alive connections with one call each.
  int in_flight = 32;
  int client_threads = 2;  // threads of the HTTP client
  int rounds = 2;          // bursts each way, in alternating order
  RigOptions rig;          // of both rigs (`http` is set for one)
};
// End to end over HTTP (POST /run in, POST /api/callback out) beside end to
// end over gRPC (Run in, Callback out): the same burst each way, each on a
// rig of its own; reports each side's best rate, its rejected, missing and
// duplicated runs, and HTTP/gRPC as the headline ratio.
void RunE2eHttp(const E2eHttpOptions& options, const HandlerRegistry* registry,
                Report& report);

struct MetricsCostOptions {
  CeilingOptions ceiling;  // each trial is a ceiling phase
  int rounds = 2;          // off then on, this many times (noise evens out)
  RigOptions rig;
};
// The Run ceiling with metrics off and on, each on a fresh rig of its own;
// reports both (best of the rounds) and on/off as the headline ratio.
void RunMetricsCost(const MetricsCostOptions& options,
                    const HandlerRegistry* registry, Report& report);

// Percentile `p` (0..100) of `sorted`; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

}  // namespace xxljob::bench

#endif  // XXLJOB_TOOLS_BENCH_PHASES_H_

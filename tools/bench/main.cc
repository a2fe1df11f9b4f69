// xxl-bench: measures the executor against itself in one run, so that the
// ratios hold across machines even though absolute numbers do not.
//
//   ceiling    Beat RPCs/s vs Run RPCs/s (demoJobHandler), closed loop, same
//              server and concurrency; "ceiling ratio" = Run/Beat.
//   latency    open-loop trigger-to-callback latency (p50/p99/p99.9) at
//              fixed offered rates and at half the sustained rate.
//   sustained  the highest offered rate delivered exactly once without a
//              growing backlog, and its ratio to the Beat rate.
//   scale      resident memory and threads: idle, with many idle job
//              threads, with many sleeping runs (then killed).
//   paging     Log RPC time of page 1 vs the last page of a 1M-line log.
//   burst      a burst of Runs sent as fast as the client can; runs/s from
//              the first trigger to the last callback (the reference's
//              measure). Not in the default list; compare --data_dir on
//              ext4 and on tmpfs (/dev/shm).
//   e2e_http   a burst end to end over HTTP (POST /run, results by POST
//              /api/callback) beside the same over gRPC, each on a rig of
//              its own; "HTTP ratio" = HTTP runs/s / gRPC runs/s. Not in
//              the default list.
//
// In-process (the default), the executor is an ExecutorApp wired to an
// in-process admin simulator exactly as in production; --target measures
// only the ceiling of a running executor. Prints a table and writes a CSV.
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"
#include "tools/bench/phases.h"

ABSL_FLAG(std::string, target, "",
          "executor host:port to measure (ceiling only); empty: in-process");
ABSL_FLAG(std::string, token, "", "access token of the target executor");
ABSL_FLAG(std::vector<std::string>, phases,
          std::vector<std::string>({"ceiling", "latency", "sustained", "scale",
                                    "paging"}),
          "phases to run: ceiling,latency,sustained,scale,paging (and, not "
          "run by default: burst, the reference's measure; metrics, the Run "
          "ceiling with metrics off vs on; e2e_http, a burst end to end "
          "over HTTP vs over gRPC)");
ABSL_FLAG(std::string, csv, "xxl-bench.csv", "CSV output (name,value,unit)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5),
          "ceiling: how long Beat, then Run, lasts");
ABSL_FLAG(int, concurrency, 32, "ceiling: calls in flight (client threads)");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) to spread over");
ABSL_FLAG(int, jobs, 1000, "distinct job ids Runs spread over");
ABSL_FLAG(int, max_running, xxljob::ExecutorOptions().max_running,
          "in-process executor: runs executing at once (worker threads)");
ABSL_FLAG(absl::Duration, latency_duration, absl::Seconds(10),
          "latency: sending time per offered rate");
ABSL_FLAG(std::vector<std::string>, latency_rates,
          std::vector<std::string>({"1000"}),
          "latency: offered rates (Runs/s); half the sustained rate is added "
          "when the sustained phase runs");
ABSL_FLAG(absl::Duration, sustain_duration, absl::Seconds(30),
          "sustained: window per tried rate");
ABSL_FLAG(double, sustain_start_rate, 500, "sustained: first rate tried");
ABSL_FLAG(double, sustain_max_rate, 200000, "sustained: highest rate tried");
ABSL_FLAG(int, sustain_refine_steps, 2,
          "sustained: bisections after the first failing rate");
ABSL_FLAG(int, scale_idle_jobs, 10000, "scale: job ids triggered once");
ABSL_FLAG(int, scale_sleeping_runs, 1000, "scale: sleeping runs in flight");
ABSL_FLAG(absl::Duration, scale_sleep, absl::Seconds(60),
          "scale: how long each sleeping run would sleep (they are killed)");
ABSL_FLAG(int, paging_lines, 1000000, "paging: lines of the long log");
ABSL_FLAG(int, paging_repeats, 20, "paging: Log calls timed per page");
ABSL_FLAG(int64_t, burst_triggers, 200000, "burst: Runs sent");
ABSL_FLAG(int, burst_in_flight, 256, "burst: calls outstanding at most");
ABSL_FLAG(int64_t, e2e_http_triggers, 50000,
          "e2e_http: Runs per burst, each way");
ABSL_FLAG(int, e2e_http_in_flight, 32,
          "e2e_http: calls outstanding (gRPC) and keep-alive connections "
          "(HTTP)");
ABSL_FLAG(int, e2e_http_rounds, 2,
          "e2e_http: bursts each way, in alternating order");
ABSL_FLAG(std::string, data_dir, "",
          "in-process executor: where its data directory is made (e.g. "
          "/dev/shm for tmpfs); empty: the temporary directory");

namespace xxljob::bench {
namespace {

int Main() {
  const std::vector<std::string> phase_list = absl::GetFlag(FLAGS_phases);
  const std::set<std::string> phases(phase_list.begin(), phase_list.end());
  for (const std::string& p : phases) {
    static const std::set<std::string> known = {
        "ceiling", "latency", "metrics", "sustained",
        "scale",   "paging",  "burst",   "e2e_http"};
    if (known.count(p) == 0) {
      std::fprintf(stderr, "xxl-bench: unknown phase %s\n", p.c_str());
      return 2;
    }
  }
  std::vector<double> rates;
  for (const std::string& r : absl::GetFlag(FLAGS_latency_rates)) {
    double rate = 0;
    if (!absl::SimpleAtod(r, &rate) || rate <= 0) {
      std::fprintf(stderr, "xxl-bench: bad --latency_rates entry %s\n",
                   r.c_str());
      return 2;
    }
    rates.push_back(rate);
  }
  if (absl::GetFlag(FLAGS_concurrency) < 1 || absl::GetFlag(FLAGS_jobs) < 1 ||
      absl::GetFlag(FLAGS_channels) < 1) {
    std::fprintf(stderr,
                 "xxl-bench: concurrency, channels, jobs must be > 0\n");
    return 2;
  }
  const auto has = [&](const char* p) { return phases.count(p) > 0; };

  std::printf(
      "xxl-bench: %u cores, phases %s\n"
      "absolute numbers vary between machines and runs; the ratios are the "
      "headline.\n",
      std::thread::hardware_concurrency(),
      absl::StrJoin(phase_list, ",").c_str());
  Report report;
  report.Add("machine.cores", std::thread::hardware_concurrency(), "cores");

  CeilingOptions ceiling;
  ceiling.duration = absl::GetFlag(FLAGS_duration);
  ceiling.concurrency = absl::GetFlag(FLAGS_concurrency);
  ceiling.jobs = absl::GetFlag(FLAGS_jobs);

  const std::string target = absl::GetFlag(FLAGS_target);
  if (!target.empty()) {
    Clients clients(target, absl::GetFlag(FLAGS_channels),
                    absl::GetFlag(FLAGS_token));
    if (has("ceiling")) RunCeiling(ceiling, clients, nullptr, report);
    if (phases.size() > (has("ceiling") ? 1u : 0u)) {
      report.Note(
          "--target: only the ceiling phase measures a remote "
          "executor; the others need the in-process admin");
    }
  } else {
    HandlerRegistry registry;
    RegisterBenchHandlers(&registry);
    // First, with a rig of its own: memory baselines are cleanest in a
    // process that has not yet run the other phases.
    if (has("scale")) {
      ScaleOptions scale;
      scale.idle_jobs = absl::GetFlag(FLAGS_scale_idle_jobs);
      scale.sleeping_runs = absl::GetFlag(FLAGS_scale_sleeping_runs);
      scale.sleep = absl::GetFlag(FLAGS_scale_sleep);
      RunScale(scale, &registry, report);
    }
    RigOptions rig_options;
    rig_options.max_running = absl::GetFlag(FLAGS_max_running);
    rig_options.channels = absl::GetFlag(FLAGS_channels);
    rig_options.data_parent = absl::GetFlag(FLAGS_data_dir);
    auto rig = Rig::Start(rig_options, &registry);
    if (!rig.ok()) {
      std::fprintf(stderr, "xxl-bench: %s\n", rig.status().ToString().c_str());
      return 2;
    }
    double beat_rate = 0;
    if (has("ceiling")) {
      beat_rate =
          RunCeiling(ceiling, (*rig)->clients(), rig->get(), report).beat_rate;
    }
    if (has("sustained")) {
      SustainedOptions sustained;
      sustained.window = absl::GetFlag(FLAGS_sustain_duration);
      sustained.start_rate = absl::GetFlag(FLAGS_sustain_start_rate);
      sustained.max_rate = absl::GetFlag(FLAGS_sustain_max_rate);
      sustained.refine_steps = absl::GetFlag(FLAGS_sustain_refine_steps);
      sustained.jobs = absl::GetFlag(FLAGS_jobs);
      const double rate = RunSustained(sustained, **rig, report);
      if (beat_rate > 0) {
        report.Add("sustained.ratio_to_beat", rate / beat_rate, "ratio");
      } else {
        report.Note("sustained: no Beat rate (ceiling phase not run)");
      }
      if (rate > 0) rates.push_back(rate / 2);
    }
    if (has("latency")) {
      LatencyOptions latency;
      latency.duration = absl::GetFlag(FLAGS_latency_duration);
      latency.rates = rates;
      latency.jobs = absl::GetFlag(FLAGS_jobs);
      RunLatency(latency, **rig, report);
    }
    report.Note(absl::StrCat("data directory ", (*rig)->data_dir(), " on ",
                             (*rig)->FileSystem()));
    if (has("burst")) {
      BurstOptions burst;
      burst.triggers = absl::GetFlag(FLAGS_burst_triggers);
      burst.in_flight = absl::GetFlag(FLAGS_burst_in_flight);
      burst.jobs = absl::GetFlag(FLAGS_jobs);
      burst.label = (*rig)->FileSystem();
      RunBurst(burst, **rig, report);
    }
    if (has("metrics")) {
      MetricsCostOptions metrics;
      metrics.ceiling = ceiling;
      metrics.rig = rig_options;
      RunMetricsCost(metrics, &registry, report);
    }
    if (has("e2e_http")) {
      E2eHttpOptions e2e;
      e2e.triggers = absl::GetFlag(FLAGS_e2e_http_triggers);
      e2e.in_flight = absl::GetFlag(FLAGS_e2e_http_in_flight);
      e2e.rounds = absl::GetFlag(FLAGS_e2e_http_rounds);
      e2e.jobs = absl::GetFlag(FLAGS_jobs);
      e2e.rig = rig_options;
      RunE2eHttp(e2e, &registry, report);
    }
    if (has("paging")) {
      PagingOptions paging;
      paging.lines = absl::GetFlag(FLAGS_paging_lines);
      paging.repeats = absl::GetFlag(FLAGS_paging_repeats);
      RunPaging(paging, **rig, report);
    }
  }

  report.Print();
  const std::string csv = absl::GetFlag(FLAGS_csv);
  if (absl::Status s = report.WriteCsv(csv); !s.ok()) {
    std::fprintf(stderr, "xxl-bench: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf(
      "wrote %s\nabsolute numbers vary between machines and runs; "
      "compare ratios.\n",
      csv.c_str());
  return 0;
}

}  // namespace
}  // namespace xxljob::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "benchmarks an XXL-JOB executor: ceiling, latency, sustained rate, "
      "scale, log paging, burst, end to end over HTTP\n"
      "  xxl-bench                                   # everything, in-process\n"
      "  xxl-bench --phases=latency --sustain_duration=10s\n"
      "  xxl-bench --phases=ceiling,burst --data_dir=/dev/shm\n"
      "  xxl-bench --phases=e2e_http\n"
      "  xxl-bench --target=host:9999 --phases=ceiling");
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  // Debian's abseil is built with mutex deadlock detection on, which costs
  // a graph update per lock; it is a debugging aid, not for measurements.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return xxljob::bench::Main();
}

// The scale phase: resident memory and threads of the whole process (the
// executor and the admin simulator; the client side is a few stubs) when
// idle, with many idle job threads, and with many runs sleeping.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {
namespace {

// Calls `call(i)` for i in [0, n) from a few threads; returns how many
// returned true.
template <typename Call>
int64_t ForEach(int64_t n, Call call) {
  std::atomic<int64_t> next{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int64_t i; (i = next.fetch_add(1)) < n;) {
        if (call(i)) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return ok.load();
}

bool SendRun(Rig& rig, const v1::RunRequest& request) {
  grpc::ClientContext ctx;
  rig.clients().Prepare(&ctx, absl::Seconds(10));
  v1::RunResponse response;
  return rig.clients()
             .stub(request.log_id())
             .Run(&ctx, request, &response)
             .ok() &&
         response.code() == 200;
}

double RssMiB() { return ProcStatus("VmRSS") / 1024.0; }

}  // namespace

void RunScale(const ScaleOptions& options, const HandlerRegistry* registry,
              Report& report) {
  RigOptions rig_options;
  rig_options.idle_timeout = absl::Hours(1);  // Keep the job threads.
  rig_options.max_running =
      std::max(options.sleeping_runs + 24, ExecutorOptions().max_running);
  auto started = Rig::Start(rig_options, registry);
  if (!started.ok()) {
    report.Note(absl::StrCat("scale: ", started.status().ToString()));
    return;
  }
  Rig& rig = **started;
  absl::SleepFor(absl::Milliseconds(500));  // Let start-up settle.
  const double idle = RssMiB();
  report.Add("scale.idle.rss", idle, "MiB");
  report.Add("scale.idle.threads", ProcStatus("Threads"), "threads");

  // Idle job threads: job ids 1..idle_jobs, each triggered once.
  const int64_t base = FreshLogIdBase();
  const int64_t ran = ForEach(options.idle_jobs, [&](int64_t i) {
    return SendRun(rig, MakeRun(1 + i, base + i, "demoJobHandler", "scale"));
  });
  if (!rig.WaitDelivered(ran, absl::Minutes(2))) {
    report.Note("scale: not every idle-job run was delivered in 2 min");
  }
  absl::SleepFor(absl::Milliseconds(500));
  const double with_jobs = RssMiB();
  const std::string jobs =
      absl::StrCat("scale.", options.idle_jobs, "_idle_jobs.");
  report.Add(jobs + "accepted", ran, "runs");
  report.Add(jobs + "rss_over_idle", with_jobs - idle, "MiB");
  report.Add(jobs + "threads", ProcStatus("Threads"), "threads");

  // Sleeping runs on job ids of their own, on top of the idle jobs.
  const int64_t first_job = options.idle_jobs + 1;
  const std::string params =
      absl::StrCat(absl::ToInt64Milliseconds(options.sleep));
  const int64_t sleeping = ForEach(options.sleeping_runs, [&](int64_t i) {
    return SendRun(rig, MakeRun(first_job + i, base + options.idle_jobs + i,
                                "sleepJobHandler", params));
  });
  absl::SleepFor(absl::Seconds(1));  // Let every run reach its sleep.
  const double with_sleeping = RssMiB();
  const std::string s =
      absl::StrCat("scale.", options.sleeping_runs, "_sleeping.");
  report.Add(s + "accepted", sleeping, "runs");
  report.Add(s + "rss_over_previous", with_sleeping - with_jobs, "MiB");
  report.Add(s + "rss_over_idle", with_sleeping - idle, "MiB");
  report.Add(s + "threads", ProcStatus("Threads"), "threads");

  const absl::Time kill_start = absl::Now();
  const int64_t killed = ForEach(options.sleeping_runs, [&](int64_t i) {
    grpc::ClientContext ctx;
    rig.clients().Prepare(&ctx, absl::Seconds(10));
    v1::KillRequest request;
    request.set_job_id(first_job + i);
    v1::KillResponse response;
    return rig.clients().stub(i).Kill(&ctx, request, &response).ok() &&
           response.code() == 200;
  });
  const bool reported = rig.WaitDelivered(ran + sleeping, absl::Minutes(1));
  report.Add(s + "killed", killed, "runs");
  report.Add(s + "kill_to_all_callbacks",
             absl::ToDoubleMilliseconds(absl::Now() - kill_start), "ms");
  if (!reported) report.Note("scale: killed runs not all reported in 1 min");
}

}  // namespace xxljob::bench

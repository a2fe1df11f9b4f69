// xxl-bench: measures the executor's per-trigger overhead against the bare
// gRPC cost on the same server in the same run: Beat RPCs/s (a trivial
// unary call) and Run RPCs/s with demoJobHandler, at the same concurrency.
//
// Without --target it starts an executor in-process on 127.0.0.1:0 with a
// temporary data directory (removed at exit) and waits for every accepted run
// to finish before it reports. Absolute numbers vary between machines and
// runs; the ratio is the headline.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"
#include "handlers/builtin_handlers.h"
#include "server/service/executor_server.h"
#include "xxljob/v1/executor.grpc.pb.h"

ABSL_FLAG(std::string, target, "",
          "executor host:port to measure; empty: start one in-process");
ABSL_FLAG(std::string, token, "", "access token of the target executor");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5),
          "how long each phase (Beat, Run) lasts");
ABSL_FLAG(int, concurrency, 32, "calls in flight (client threads)");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) to spread over");
ABSL_FLAG(int, jobs, 1000, "distinct job ids the Run phase spreads over");
ABSL_FLAG(int, max_running, xxljob::ExecutorOptions().max_running,
          "in-process executor: runs executing at once (worker threads)");

namespace xxljob {
namespace {

// Counts finished runs so the benchmark can wait for all of them.
class CountingSink : public ResultSink {
 public:
  void Accepted(const Trigger&) override {}
  void Finished(const RunResult&) override {
    absl::MutexLock lock(&mu_);
    ++finished_;
  }
  bool WaitFor(int64_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return finished_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

 private:
  absl::Mutex mu_;
  int64_t finished_ ABSL_GUARDED_BY(mu_) = 0;
};

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

int Main() {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int jobs = absl::GetFlag(FLAGS_jobs);
  if (concurrency < 1 || jobs < 1 || absl::GetFlag(FLAGS_channels) < 1 ||
      duration <= absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "xxl-bench: concurrency, channels, jobs and "
                 "duration must be positive\n");
    return 2;
  }

  HandlerRegistry registry;
  CHECK(RegisterBuiltinHandlers(&registry).ok());
  CountingSink sink;
  std::unique_ptr<ExecutorServer> server;
  std::string target = absl::GetFlag(FLAGS_target);
  const std::string data_dir =
      absl::StrCat(std::filesystem::temp_directory_path().string(),
                   "/xxl-bench-", ::getpid());
  if (target.empty()) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.executor.log_path = data_dir;
    options.executor.max_running = absl::GetFlag(FLAGS_max_running);
    auto started = ExecutorServer::Start(options, &registry, &sink);
    if (!started.ok()) {
      std::fprintf(stderr, "xxl-bench: %s\n",
                   started.status().ToString().c_str());
      return 2;
    }
    server = *std::move(started);
    target = absl::StrCat("127.0.0.1:", server->port());
  }

  std::vector<std::unique_ptr<v1::Executor::Stub>> stubs;
  for (int c = 0; c < absl::GetFlag(FLAGS_channels); ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // Distinct connections.
    stubs.push_back(v1::Executor::NewStub(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args)));
  }
  const std::string token = absl::GetFlag(FLAGS_token);
  auto context = [&](grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    if (!token.empty()) ctx->AddMetadata("xxl-job-access-token", token);
  };
  auto stub = [&](int thread) -> v1::Executor::Stub& {
    return *stubs[thread % stubs.size()];
  };

  const Phase beat = Measure(concurrency, duration, [&](int t, int64_t) {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::BeatResponse response;
    return stub(t).Beat(&ctx, v1::BeatRequest(), &response).ok() &&
           response.code() == 200;
  });

  // Log ids unique across threads and across runs of the benchmark.
  const int64_t base = absl::ToUnixMicros(absl::Now()) * 1000;
  const Phase run = Measure(concurrency, duration, [&](int t, int64_t i) {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::RunRequest request;
    const int64_t n = i * concurrency + t;
    request.set_job_id(1 + n % jobs);
    request.set_log_id(base + n);
    request.set_log_date_time(absl::ToUnixMillis(absl::Now()));
    request.set_executor_handler("demoJobHandler");
    request.set_executor_params("bench");
    v1::RunResponse response;
    return stub(t).Run(&ctx, request, &response).ok() && response.code() == 200;
  });

  std::printf(
      "xxl-bench: target %s, %d cores, concurrency %d, %d channels, "
      "%s per phase\n",
      target.c_str(), static_cast<int>(std::thread::hardware_concurrency()),
      concurrency, static_cast<int>(stubs.size()),
      absl::FormatDuration(duration).c_str());
  std::printf("%-28s %12s %10s\n", "phase", "calls/s", "failed");
  std::printf("%-28s %12.0f %10lld\n", "Beat", beat.rate(),
              static_cast<long long>(beat.failed));
  std::printf("%-28s %12.0f %10lld\n", "Run (demoJobHandler)", run.rate(),
              static_cast<long long>(run.failed));
  std::printf("%-28s %12.2f\n", "ceiling ratio (Run/Beat)",
              run.rate() / beat.rate());
  if (server != nullptr) {
    const bool drained = sink.WaitFor(run.ok, absl::Minutes(5));
    std::printf("all %lld accepted runs finished: %s\n",
                static_cast<long long>(run.ok), drained ? "yes" : "NO");
    server->Shutdown(absl::Seconds(5));
    std::filesystem::remove_all(data_dir);
  }
  std::printf(
      "absolute numbers vary between machines and runs; compare "
      "ratios.\n");
  return 0;
}

}  // namespace
}  // namespace xxljob

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "measures Beat and Run RPCs/s against an executor\n"
      "  xxl-bench                      # in-process executor\n"
      "  xxl-bench --target=host:9999   # a running executor");
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  // Debian's abseil is built with mutex deadlock detection on, which costs
  // a graph update per lock; it is a debugging aid, not for measurements.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return xxljob::Main();
}

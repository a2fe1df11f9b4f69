// The burst phase: `triggers` Runs (demoJobHandler, serial block strategy)
// sent as fast as the client can over `jobs` job ids, with at most
// `in_flight` calls outstanding; measured from the first send to the last
// callback the in-process admin simulator accepted. This is how the
// reference executor was measured (a burst of 200,000, time to the last
// callback), so the two figures compare directly.
#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {
namespace {

// One call in flight; deleted by its completion callback.
struct Call {
  grpc::ClientContext ctx;
  v1::RunRequest request;
  v1::RunResponse response;
};

// Counts the answers and bounds the calls outstanding. Thread-safe.
class Window {
 public:
  explicit Window(int size) : size_(size) {}

  // Blocks until fewer than `size` calls are outstanding, then takes a slot.
  void Acquire() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Window::HasRoom));
    ++outstanding_;
  }
  void Release(bool accepted) {
    absl::MutexLock lock(&mu_);
    --outstanding_;
    ++(accepted ? accepted_ : rejected_);
  }
  // Blocks until every call was answered.
  void Drain() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Window::Empty));
  }
  int64_t accepted() {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }
  int64_t rejected() {
    absl::MutexLock lock(&mu_);
    return rejected_;
  }

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return outstanding_ < size_;
  }
  bool Empty() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return outstanding_ == 0;
  }

  const int size_;
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void RunBurst(const BurstOptions& options, Rig& rig, Report& report) {
  if (!rig.WaitIdle(absl::Minutes(2))) {
    report.Note(
        "burst: the executor was still busy 2 min after the previous "
        "phase; the burst starts with a backlog");
  }
  const int64_t base = FreshLogIdBase();
  const int64_t delivered_before = rig.delivered();
  Window window(std::max(1, options.in_flight));

  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < options.triggers; ++i) {
    window.Acquire();
    auto* call = new Call;
    rig.clients().Prepare(&call->ctx, absl::Seconds(30));
    call->request =
        MakeRun(1 + i % options.jobs, base + i, "demoJobHandler", "bench");
    call->request.set_executor_block_strategy(v1::SERIAL_EXECUTION);
    rig.clients().stub(i).async()->Run(
        &call->ctx, &call->request, &call->response,
        [call, &window](grpc::Status status) {
          const bool ok = status.ok() && call->response.code() == 200;
          delete call;
          window.Release(ok);  // Last: the window outlives no call.
        });
  }
  window.Drain();
  const absl::Duration sending = absl::Now() - start;
  const int64_t accepted = window.accepted();
  const bool drained =
      rig.WaitDelivered(delivered_before + accepted, absl::Minutes(10));

  // The last callback of this burst, as the admin recorded its arrival.
  absl::Time last = start;
  int64_t seen = 0;
  for (const RecordedCallback& cb : rig.admin().callbacks()) {
    if (cb.log_id < base || cb.log_id >= base + options.triggers) continue;
    ++seen;
    last = std::max(last, cb.time);
  }
  const double seconds = absl::ToDoubleSeconds(last - start);
  const std::string p = absl::StrCat("burst.", options.label, ".");
  report.Add(p + "triggers", static_cast<double>(options.triggers), "runs");
  report.Add(p + "accepted", static_cast<double>(accepted), "runs");
  report.Add(p + "rejected", static_cast<double>(window.rejected()), "runs");
  report.Add(
      p + "send_rate",
      static_cast<double>(options.triggers) / absl::ToDoubleSeconds(sending),
      "calls/s");
  report.Add(p + "time_to_last_callback", seconds, "s");
  report.Add(p + "rate", seconds > 0 ? accepted / seconds : 0, "runs/s");
  if (!drained || seen < accepted) {
    report.Note(absl::StrCat("burst: ", seen, " of ", accepted,
                             " accepted runs were called back"));
  }
}

}  // namespace xxljob::bench

#include "tools/bench/burst_measure.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace xxljob::bench {
namespace {

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
    ++(accepted ? sent_.accepted : sent_.rejected);
  }
  // Blocks until every call was answered; then the counts.
  BurstSent Drain() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Window::Empty));
    return sent_;
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
  BurstSent sent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

double BurstOutcome::rate() const {
  const double seconds = absl::ToDoubleSeconds(to_last_callback);
  return seconds > 0 ? static_cast<double>(accepted) / seconds : 0;
}

BurstOutcome MeasureBurst(Rig& rig, int64_t triggers, BurstSender send,
                          absl::Duration drain_timeout) {
  BurstOutcome outcome;
  outcome.triggers = triggers;
  outcome.idle_before = rig.WaitIdle(absl::Minutes(2));
  const int64_t base = FreshLogIdBase();
  const int64_t delivered_before = rig.delivered();

  const absl::Time start = absl::Now();
  const BurstSent sent = send(base);
  outcome.sending = absl::Now() - start;
  outcome.accepted = sent.accepted;
  outcome.rejected = sent.rejected;
  outcome.drained =
      rig.WaitDelivered(delivered_before + sent.accepted, drain_timeout);

  // The last callback of this burst, as the admin recorded its arrival,
  // and how often each run of the burst was called back.
  std::vector<uint8_t> count(
      static_cast<size_t>(std::max<int64_t>(0, triggers)));
  absl::Time last = start;
  for (const RecordedCallback& cb : rig.admin().callbacks()) {
    if (cb.log_id < base || cb.log_id >= base + triggers) continue;
    uint8_t& n = count[static_cast<size_t>(cb.log_id - base)];
    if (n == 0) {
      ++outcome.called_back;
    } else {
      ++outcome.duplicates;
    }
    n = static_cast<uint8_t>(std::min(n + 1, 2));
    last = std::max(last, cb.time);
  }
  outcome.to_last_callback = last - start;
  outcome.missing = std::max<int64_t>(0, sent.accepted - outcome.called_back);
  return outcome;
}

BurstSent SendGrpcBurst(Rig& rig, int64_t base_log_id, int64_t triggers,
                        int jobs, int in_flight) {
  Window window(std::max(1, in_flight));
  for (int64_t i = 0; i < triggers; ++i) {
    window.Acquire();
    auto* call = new RunCall;
    rig.clients().Prepare(&call->ctx, absl::Seconds(30));
    call->request =
        MakeRun(1 + i % jobs, base_log_id + i, "demoJobHandler", "bench");
    call->request.set_executor_block_strategy(v1::SERIAL_EXECUTION);
    rig.clients().stub(i).async()->Run(
        &call->ctx, &call->request, &call->response,
        [call, &window](grpc::Status status) {
          const bool ok = status.ok() && call->response.code() == 200;
          delete call;
          window.Release(ok);  // Last: the window outlives no call.
        });
  }
  return window.Drain();
}

void AddBurstRows(const std::string& prefix, const std::string& what,
                  const BurstOutcome& outcome, Report& report) {
  const auto runs = [](int64_t n) { return static_cast<double>(n); };
  report.Add(prefix + "triggers", runs(outcome.triggers), "runs");
  report.Add(prefix + "accepted", runs(outcome.accepted), "runs");
  report.Add(prefix + "rejected", runs(outcome.rejected), "runs");
  const double sending = absl::ToDoubleSeconds(outcome.sending);
  report.Add(prefix + "send_rate",
             sending > 0 ? runs(outcome.triggers) / sending : 0, "calls/s");
  report.Add(prefix + "time_to_last_callback",
             absl::ToDoubleSeconds(outcome.to_last_callback), "s");
  report.Add(prefix + "rate", outcome.rate(), "runs/s");
  report.Add(prefix + "missing", runs(outcome.missing), "runs");
  report.Add(prefix + "duplicates", runs(outcome.duplicates), "runs");
  if (!outcome.idle_before) {
    report.Note(absl::StrCat(what,
                             ": the executor was still busy 2 min after the "
                             "previous phase; the burst started with a "
                             "backlog"));
  }
  if (!outcome.drained || outcome.missing > 0 || outcome.duplicates > 0) {
    report.Note(absl::StrCat(what, ": ", outcome.called_back, " of ",
                             outcome.accepted,
                             " accepted runs were called back, ",
                             outcome.duplicates, " callbacks were duplicates"));
  }
}

}  // namespace xxljob::bench

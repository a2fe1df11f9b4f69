// The executor's Prometheus metrics (docs/operations.md, "Metrics"): one
// registry holding the event counters and histograms the executor's parts
// bump as things happen, the snapshot gauges read from those parts at scrape
// time, and the text exposition a scrape gets. Metrics off is no Metrics
// object: every part takes a nullable Metrics* and does nothing when null.
#ifndef XXLJOB_SERVER_METRICS_METRICS_H_
#define XXLJOB_SERVER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/trigger.h"
#include "server/metrics/snapshot.h"

namespace prometheus {
class Collectable;
class Counter;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace xxljob {

// Who carried a request to the edge.
enum class Transport { kGrpc, kHttp };
inline constexpr int kTransports = 2;
// "grpc", "http".
const char* TransportName(Transport transport);

// The edge's methods, as labels.
enum class Method {
  kBeat,
  kIdleBeat,
  kRun,
  kKill,
  kLog,
  kTailLog,
  kTrigger,  // HTTP /trigger (the same as /run).
  kMetrics,
  kOther,  // An HTTP path that is none of the above.
};
inline constexpr int kMethods = 9;
// "beat", "idle_beat", "run", "kill", "log", "tail_log", "trigger",
// "metrics", "other".
const char* MethodName(Method method);

// Why a trigger was refused.
enum class Refusal {
  kUnknownHandler,
  kDiscardLater,
  kDuplicate,
  kBound,
  kDraining,
  kInvalid,
  kUnauthenticated,
  kDataDir,
};
inline constexpr int kRefusals = 8;
// "unknown_handler", "discard_later", ...
const char* RefusalName(Refusal refusal);
// The reason behind a refusal of Run: the status the edge or the core
// answered (see Executor::Run, ApiHandler::Run). REQUIRES: !status.ok().
Refusal RefusalOf(const absl::Status& status);

// Thread-safe. The event methods cost a few atomic adds (no allocation, no
// lock but a reader lock for a run's handler histograms) so that they can
// sit on the hot path.
class Metrics {
 public:
  // `version` is build_info's label.
  explicit Metrics(absl::string_view version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A trigger was accepted (recorded and queued).
  void RunAccepted(GlueType glue_type);
  // A trigger was refused at the edge or by the core.
  void RunRefused(Refusal refusal);
  // A result was produced: counted by code and cause; if the run executed,
  // its queue wait and execution time are observed under its handler (the
  // bean handler's name, or the glue type's for scripts).
  void RunFinished(const RunResult& result);
  // `n` results made at start for runs a crash interrupted.
  void RunsRestarted(int64_t n);
  // A request served at the edge: its status is the gRPC code's name
  // ("OK", "UNAVAILABLE") for gRPC, the HTTP status for HTTP.
  void Request(Transport transport, Method method, const absl::Status& status,
               absl::Duration latency);
  void HttpRequest(Method method, unsigned http_status, absl::Duration latency);
  // Counts a request without timing it: for one answered before the edge
  // (its latency would only pull the edge's histogram towards zero).
  // Request() and HttpRequest() count through these too.
  void CountGrpcRequest(Method method, absl::StatusCode code);
  void CountHttpRequest(Method method, unsigned http_status);
  // One callback (a batch of results) to the admins.
  void CallbackBatch(bool ok, absl::Duration latency);

  // What the snapshot gauges read at each scrape (see snapshot.h). Set
  // once, before the first scrape; it must stay callable while Metrics
  // lives (clear it with nullptr before what it reads goes).
  void SetSnapshotSource(std::function<MetricsSnapshot()> source);

  // The text exposition (format 0.0.4) of every metric.
  std::string Render() const;

  // Handler labels kept at most; results of further handlers are counted
  // but not observed in the per-handler histograms.
  static constexpr size_t kMaxHandlerLabels = 512;

 private:
  struct HandlerSeries {
    prometheus::Histogram* duration;
    prometheus::Histogram* queue_wait;
  };
  HandlerSeries* SeriesOf(absl::string_view handler);
  prometheus::Counter* RequestCounter(Transport transport, Method method,
                                      int slot);

  const std::unique_ptr<prometheus::Registry> registry_;
  // Refusal and acceptance series exist from the start (at zero), so that
  // rate() sees their first increment.
  prometheus::Family<prometheus::Counter>& accepted_family_;
  std::array<prometheus::Counter*, 8> accepted_;
  std::array<prometheus::Counter*, kRefusals> refused_;
  // [code 200, 500, 502][cause]; the combinations results come in exist
  // from the start, the others (a handler that sets 502 itself) are made
  // on first use.
  prometheus::Family<prometheus::Counter>& finished_family_;
  std::array<std::array<std::atomic<prometheus::Counter*>, kRunCauses>, 3>
      finished_{};
  prometheus::Counter* FinishedCounter(int code, RunCause cause);
  prometheus::Family<prometheus::Histogram>& run_duration_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Counter>& requests_;
  // Request counters by transport, method and status slot (gRPC codes
  // 0..16, then the HTTP statuses of kHttpStatuses), made on first use.
  static constexpr int kStatusSlots = 17 + 8;
  std::array<std::atomic<prometheus::Counter*>,
             kTransports * kMethods * kStatusSlots>
      request_counters_{};
  // Null for a pair the edge never times (see IsTimed in metrics.cc).
  std::array<prometheus::Histogram*, kTransports * kMethods> request_latency_{};
  std::array<prometheus::Counter*, 2> callbacks_;
  std::array<prometheus::Histogram*, 2> callback_latency_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<HandlerSeries>> handlers_
      ABSL_GUARDED_BY(mu_);

  // The snapshot gauges and process figures, collected at scrape time.
  class SnapshotCollector;
  const std::unique_ptr<SnapshotCollector> snapshots_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_METRICS_METRICS_H_

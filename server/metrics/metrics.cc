#include "server/metrics/metrics.h"

#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "handlers/run_context.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace xxljob {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

constexpr GlueType kGlueTypes[] = {
    GlueType::kBean,   GlueType::kGroovy,     GlueType::kShell,
    GlueType::kPython, GlueType::kPython2,    GlueType::kNodejs,
    GlueType::kPhp,    GlueType::kPowershell,
};
constexpr const char* kCodes[] = {"200", "500", "502"};
// The HTTP statuses the transport answers; any other is counted as "other".
constexpr unsigned kHttpStatuses[] = {200, 400, 404, 413, 431, 500, 503, 0};

// Runs last from milliseconds to hours; queue waits are usually short.
const Histogram::BucketBoundaries& RunBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
  return *b;
}
const Histogram::BucketBoundaries& WaitBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300};
  return *b;
}
// The edge answers in microseconds unless a log page is read.
const Histogram::BucketBoundaries& RequestBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,   0.025,   0.05,   0.1,   0.25,   1};
  return *b;
}
const Histogram::BucketBoundaries& CallbackBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *b;
}

int CodeIndex(int handle_code) {
  // A handler may set any code; the admin treats every other as a failure.
  if (handle_code == kHandleCodeSuccess) return 0;
  if (handle_code == kHandleCodeTimeout) return 2;
  return 1;
}

int Index(Transport t, Method m) {
  return static_cast<int>(t) * kMethods + static_cast<int>(m);
}

// The pairs the edge times: /trigger and /metrics are HTTP's, TailLog is
// gRPC's, and what is refused before the edge ("other" among it) is
// counted, not timed. The others get no latency series (a series always
// at zero only lengthens every scrape).
bool IsTimed(Transport t, Method m) {
  switch (m) {
    case Method::kTrigger:
    case Method::kMetrics:
      return t == Transport::kHttp;
    case Method::kTailLog:
      return t == Transport::kGrpc;
    case Method::kOther:
      return false;
    default:
      return true;
  }
}

void Observe(prometheus::Histogram* histogram, absl::Duration latency) {
  if (histogram != nullptr) histogram->Observe(absl::ToDoubleSeconds(latency));
}

}  // namespace

const char* TransportName(Transport transport) {
  return transport == Transport::kGrpc ? "grpc" : "http";
}

const char* MethodName(Method method) {
  switch (method) {
    case Method::kBeat:
      return "beat";
    case Method::kIdleBeat:
      return "idle_beat";
    case Method::kRun:
      return "run";
    case Method::kKill:
      return "kill";
    case Method::kLog:
      return "log";
    case Method::kTailLog:
      return "tail_log";
    case Method::kTrigger:
      return "trigger";
    case Method::kMetrics:
      return "metrics";
    case Method::kOther:
      return "other";
  }
  return "run";
}

const char* RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kUnknownHandler:
      return "unknown_handler";
    case Refusal::kDiscardLater:
      return "discard_later";
    case Refusal::kDuplicate:
      return "duplicate";
    case Refusal::kBound:
      return "bound";
    case Refusal::kDraining:
      return "draining";
    case Refusal::kInvalid:
      return "invalid";
    case Refusal::kUnauthenticated:
      return "unauthenticated";
    case Refusal::kDataDir:
      return "data_dir";
  }
  return "invalid";
}

Refusal RefusalOf(const absl::Status& status) {
  // The codes are Executor::Run's and ApiHandler::Run's contract; within a
  // code, the messages are the contract's texts (SPEC §3) and
  // AcceptanceRefusal's.
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return Refusal::kUnauthenticated;
    case absl::StatusCode::kNotFound:
      return Refusal::kUnknownHandler;
    case absl::StatusCode::kUnavailable:
      return Refusal::kDraining;
    case absl::StatusCode::kResourceExhausted:
      return absl::StartsWith(status.message(), "data directory")
                 ? Refusal::kDataDir
                 : Refusal::kBound;
    case absl::StatusCode::kFailedPrecondition:
      if (absl::StartsWith(status.message(), "repeat trigger")) {
        return Refusal::kDuplicate;
      }
      if (absl::StrContains(status.message(), "Discard Later")) {
        return Refusal::kDiscardLater;
      }
      // Scripts disabled: a trigger this executor can never run.
      return Refusal::kInvalid;
    default:
      // INVALID_ARGUMENT, UNIMPLEMENTED (GLUE_GROOVY).
      return Refusal::kInvalid;
  }
}

// Reads the snapshot source (and /proc/self) when the exposition is made.
class Metrics::SnapshotCollector : public prometheus::Collectable {
 public:
  void Set(std::function<MetricsSnapshot()> source) {
    absl::MutexLock lock(&mu_);
    source_ = std::move(source);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    {
      // Held while the source runs: Set(nullptr) waits for a scrape in
      // progress, so what the source reads can go after it.
      absl::ReaderMutexLock lock(&mu_);
      if (source_ != nullptr) families = SnapshotFamilies(source_());
    }
    for (auto& f : ProcessFamilies()) families.push_back(std::move(f));
    return families;
  }

 private:
  mutable absl::Mutex mu_;
  std::function<MetricsSnapshot()> source_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics(absl::string_view version)
    : registry_(std::make_unique<prometheus::Registry>()),
      accepted_family_(
          BuildCounter()
              .Name("xxl_executor_runs_accepted_total")
              .Help("Triggers accepted (recorded and queued), by glue type.")
              .Register(*registry_)),
      finished_family_(
          BuildCounter()
              .Name("xxl_executor_runs_finished_total")
              .Help("Results produced (one per accepted trigger), by result "
                    "code and cause.")
              .Register(*registry_)),
      run_duration_(
          BuildHistogram()
              .Name("xxl_executor_run_duration_seconds")
              .Help("Execution time of finished runs (queue wait excluded), "
                    "by handler: a bean handler's name or a glue type.")
              .Register(*registry_)),
      queue_wait_(BuildHistogram()
                      .Name("xxl_executor_run_queue_wait_seconds")
                      .Help("Time from a run's acceptance to its start, by "
                            "handler.")
                      .Register(*registry_)),
      requests_(BuildCounter()
                    .Name("xxl_executor_requests_total")
                    .Help("Requests served at the API edge, by transport, "
                          "method and status (gRPC code name or HTTP "
                          "status).")
                    .Register(*registry_)),
      snapshots_(std::make_unique<SnapshotCollector>()) {
  for (GlueType type : kGlueTypes) {
    accepted_[static_cast<int>(type)] =
        &accepted_family_.Add({{"glue_type", GlueTypeName(type)}});
  }
  auto& refused = BuildCounter()
                      .Name("xxl_executor_runs_refused_total")
                      .Help(
                          "Triggers refused at the edge or by the core, by "
                          "reason.")
                      .Register(*registry_);
  for (int i = 0; i < kRefusals; ++i) {
    refused_[i] = &refused.Add({{"reason", RefusalName(Refusal(i))}});
  }
  // What each cause's results are coded (a job's own failure may be
  // coded anything, kept as 500).
  FinishedCounter(0, RunCause::kOk);
  FinishedCounter(2, RunCause::kTimeout);
  for (RunCause cause :
       {RunCause::kFailed, RunCause::kKilled, RunCause::kCoverEarly,
        RunCause::kHandlerChange, RunCause::kShutdown, RunCause::kRestarted}) {
    FinishedCounter(1, cause);
  }
  auto& latency =
      BuildHistogram()
          .Name("xxl_executor_request_duration_seconds")
          .Help(
              "Latency of requests at the API edge, by transport and "
              "method.")
          .Register(*registry_);
  for (int t = 0; t < kTransports; ++t) {
    for (int m = 0; m < kMethods; ++m) {
      if (!IsTimed(Transport(t), Method(m))) continue;
      request_latency_[Index(Transport(t), Method(m))] =
          &latency.Add({{"transport", TransportName(Transport(t))},
                        {"method", MethodName(Method(m))}},
                       RequestBuckets());
    }
  }
  auto& callbacks = BuildCounter()
                        .Name("xxl_executor_callback_batches_total")
                        .Help(
                            "Callbacks (batches of results) sent to the "
                            "admins, by outcome.")
                        .Register(*registry_);
  auto& callback_latency =
      BuildHistogram()
          .Name("xxl_executor_callback_duration_seconds")
          .Help("Latency of a callback batch to the admins, by outcome.")
          .Register(*registry_);
  const char* outcomes[] = {"ok", "failed"};
  for (int i = 0; i < 2; ++i) {
    callbacks_[i] = &callbacks.Add({{"outcome", outcomes[i]}});
    callback_latency_[i] =
        &callback_latency.Add({{"outcome", outcomes[i]}}, CallbackBuckets());
  }
  BuildGauge()
      .Name("xxl_executor_build_info")
      .Help("Always 1; the executor's version as a label.")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

Metrics::~Metrics() = default;

void Metrics::RunAccepted(GlueType glue_type) {
  accepted_[static_cast<int>(glue_type)]->Increment();
}

void Metrics::RunRefused(Refusal refusal) {
  refused_[static_cast<int>(refusal)]->Increment();
}

void Metrics::RunsRestarted(int64_t n) {
  if (n > 0) {
    FinishedCounter(1, RunCause::kRestarted)->Increment(static_cast<double>(n));
  }
}

void Metrics::RunFinished(const RunResult& result) {
  FinishedCounter(CodeIndex(result.handle_code), result.cause)->Increment();
  if (!result.executed) return;
  // An executed run's handler is bounded: a bean handler the registry knew
  // when the trigger was accepted, or a glue type.
  HandlerSeries* series =
      SeriesOf(result.glue_type == GlueType::kBean
                   ? absl::string_view(result.handler)
                   : absl::string_view(GlueTypeName(result.glue_type)));
  if (series == nullptr) return;
  series->duration->Observe(absl::ToDoubleSeconds(result.run_time));
  series->queue_wait->Observe(absl::ToDoubleSeconds(result.queue_wait));
}

Metrics::HandlerSeries* Metrics::SeriesOf(absl::string_view handler) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = handlers_.find(handler);
    if (it != handlers_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  auto it = handlers_.find(handler);
  if (it != handlers_.end()) return it->second.get();
  if (handlers_.size() >= kMaxHandlerLabels) {
    LOG_FIRST_N(WARNING, 1) << "more than " << kMaxHandlerLabels
                            << " job handlers: the run histograms leave the "
                            << "others out";
    return nullptr;
  }
  const std::string name(handler);
  auto series = std::make_unique<HandlerSeries>(
      HandlerSeries{&run_duration_.Add({{"handler", name}}, RunBuckets()),
                    &queue_wait_.Add({{"handler", name}}, WaitBuckets())});
  HandlerSeries* raw = series.get();
  handlers_.emplace(name, std::move(series));
  return raw;
}

prometheus::Counter* Metrics::FinishedCounter(int code, RunCause cause) {
  std::atomic<prometheus::Counter*>& cell =
      finished_[code][static_cast<int>(cause)];
  prometheus::Counter* counter = cell.load(std::memory_order_acquire);
  if (counter != nullptr) return counter;
  // As in RequestCounter, a race makes one series.
  counter = &finished_family_.Add(
      {{"code", kCodes[code]}, {"cause", RunCauseName(cause)}});
  cell.store(counter, std::memory_order_release);
  return counter;
}

prometheus::Counter* Metrics::RequestCounter(Transport transport, Method method,
                                             int slot) {
  std::atomic<prometheus::Counter*>& cell =
      request_counters_[Index(transport, method) * kStatusSlots + slot];
  prometheus::Counter* counter = cell.load(std::memory_order_acquire);
  if (counter != nullptr) return counter;
  // The label is made only for a series' first request. Slots 0-16 are
  // gRPC codes, the rest kHttpStatuses' entries ("other" for the last).
  const unsigned http = slot >= 17 ? kHttpStatuses[slot - 17] : 0;
  const std::string status =
      slot < 17   ? absl::StatusCodeToString(absl::StatusCode(slot))
      : http != 0 ? absl::StrCat(http)
                  : "other";
  // Family::Add returns the existing series for equal labels, so a race
  // here makes one series, stored twice.
  counter = &requests_.Add({{"transport", TransportName(transport)},
                            {"method", MethodName(method)},
                            {"status", status}});
  cell.store(counter, std::memory_order_release);
  return counter;
}

void Metrics::Request(Transport transport, Method method,
                      const absl::Status& status, absl::Duration latency) {
  if (transport == Transport::kHttp) {
    // The HTTP face answers every call that reaches the edge with 200 (the
    // outcome is in the JSON envelope, as XXL-JOB's executor does).
    return HttpRequest(method, 200, latency);
  }
  CountGrpcRequest(method, status.code());
  Observe(request_latency_[Index(transport, method)], latency);
}

void Metrics::HttpRequest(Method method, unsigned http_status,
                          absl::Duration latency) {
  CountHttpRequest(method, http_status);
  Observe(request_latency_[Index(Transport::kHttp, method)], latency);
}

void Metrics::CountGrpcRequest(Method method, absl::StatusCode code) {
  const int c = static_cast<int>(code);
  const int slot = c >= 0 && c <= 16 ? c : 2;  // 2: UNKNOWN.
  RequestCounter(Transport::kGrpc, method, slot)->Increment();
}

void Metrics::CountHttpRequest(Method method, unsigned http_status) {
  int i = 0;
  while (kHttpStatuses[i] != 0 && kHttpStatuses[i] != http_status) ++i;
  RequestCounter(Transport::kHttp, method, 17 + i)->Increment();
}

void Metrics::CallbackBatch(bool ok, absl::Duration latency) {
  callbacks_[ok ? 0 : 1]->Increment();
  callback_latency_[ok ? 0 : 1]->Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::SetSnapshotSource(std::function<MetricsSnapshot()> source) {
  snapshots_->Set(std::move(source));
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : snapshots_->Collect()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace xxljob

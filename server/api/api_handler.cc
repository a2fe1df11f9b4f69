#include "server/api/api_handler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/access_token.h"
#include "glog/logging.h"
#include "server/api/reply.h"
#include "server/api/validation.h"

namespace xxljob {
namespace {

// Manual log ids start here: XXL-JOB's admin numbers runs with an
// auto-increment column from 1, which no deployment brings near 2^62.
constexpr int64_t kManualLogIdBase = int64_t{1} << 62;
// Ids per millisecond of the clock: room for a burst of manual triggers.
constexpr int64_t kManualLogIdsPerMs = 1024;

// Times one call at the edge and counts it under its status, when metrics
// are on (off: no clock read).
class EdgeMeter {
 public:
  EdgeMeter(Metrics* metrics, const Caller& caller, Method method)
      : metrics_(metrics),
        transport_(caller.transport),
        method_(method),
        start_(metrics != nullptr ? absl::Now() : absl::InfinitePast()) {}

  template <typename T>
  T Done(T result) {
    if (metrics_ != nullptr) {
      metrics_->Request(transport_, method_, StatusOf(result),
                        absl::Now() - start_);
    }
    return result;
  }

 private:
  static const absl::Status& StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
    return s.status();
  }

  Metrics* const metrics_;
  const Transport transport_;
  const Method method_;
  const absl::Time start_;
};

}  // namespace

TailStreamSlot& TailStreamSlot::operator=(TailStreamSlot&& other) noexcept {
  if (this != &other) {
    Release();
    api_ = other.api_;
    other.api_ = nullptr;
  }
  return *this;
}

void TailStreamSlot::Release() {
  if (api_ != nullptr) api_->ReleaseTailStream();
  api_ = nullptr;
}

void ApiHandler::ReleaseTailStream() {
  if (tail_streams_.fetch_sub(1) == 1) memory_release_.Request();
}

ApiHandler::ApiHandler(Executor* executor, ApiOptions options, Metrics* metrics)
    : executor_(executor),
      options_(std::move(options)),
      metrics_(metrics),
      start_time_(std::chrono::steady_clock::now()) {}

ApiHandler::~ApiHandler() { refusals_.Flush(); }

void ApiHandler::set_address(std::string address) {
  absl::MutexLock lock(&mu_);
  address_ = std::move(address);
}

absl::Status ApiHandler::Authenticate(const Caller& caller) {
  if (options_.access_token.empty()) return absl::OkStatus();
  const char* why = nullptr;
  if (!caller.token.has_value()) {
    why = "missing access token";
  } else if (!ConstantTimeEquals(*caller.token, options_.access_token)) {
    why = "wrong access token";
  } else {
    return absl::OkStatus();
  }
  refusals_.Record(caller.peer != nullptr ? caller.peer() : "unknown", why);
  // Never says which, nor echoes the token.
  return absl::UnauthenticatedError("missing or wrong access token");
}

absl::Status ApiHandler::Beat(const Caller& caller,
                              v1::BeatResponse* response) {
  return EdgeMeter(metrics_, caller, Method::kBeat)
      .Done(DoBeat(caller, response));
}

absl::Status ApiHandler::IdleBeat(const Caller& caller,
                                  const v1::IdleBeatRequest& request,
                                  v1::IdleBeatResponse* response) {
  return EdgeMeter(metrics_, caller, Method::kIdleBeat)
      .Done(DoIdleBeat(caller, request, response));
}

absl::Status ApiHandler::Run(const Caller& caller,
                             const v1::RunRequest& request,
                             v1::RunResponse* response) {
  return EdgeMeter(metrics_, caller,
                   caller.trigger_route ? Method::kTrigger : Method::kRun)
      .Done(DoRun(caller, request, response));
}

absl::Status ApiHandler::Kill(const Caller& caller,
                              const v1::KillRequest& request,
                              v1::KillResponse* response) {
  return EdgeMeter(metrics_, caller, Method::kKill)
      .Done(DoKill(caller, request, response));
}

absl::Status ApiHandler::Log(const Caller& caller,
                             const v1::LogRequest& request,
                             v1::LogResponse* response) {
  return EdgeMeter(metrics_, caller, Method::kLog)
      .Done(DoLog(caller, request, response));
}

absl::StatusOr<TailStreamSlot> ApiHandler::OpenTailStream(
    const Caller& caller, const v1::LogRequest& request) {
  return EdgeMeter(metrics_, caller, Method::kTailLog)
      .Done(DoOpenTailStream(caller, request));
}

absl::Status ApiHandler::DoBeat(const Caller& caller,
                                v1::BeatResponse* response) {
  if (absl::Status s = Authenticate(caller); !s.ok()) return s;
  const Executor::Load load = executor_->load();
  response->set_code(kResponseCodeSuccess);
  response->set_app_name(options_.app_name);
  {
    absl::MutexLock lock(&mu_);
    response->set_address(address_);
  }
  response->set_version(kExecutorVersion);
  response->set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start_time_)
                              .count());
  response->set_job_threads(load.job_threads);
  response->set_running(load.running);
  response->set_queued(load.queued);
  const ExecutorOptions& core = executor_->options();
  response->set_max_job_threads(core.max_job_threads);
  response->set_max_running(core.max_running);
  response->set_max_queue_depth(core.max_queue_depth);
  response->set_tail_streams(tail_streams_.load());
  response->set_max_tail_streams(options_.max_tail_streams);
  response->set_max_request_bytes(options_.max_request_bytes);
  response->set_max_handler_name_bytes(kMaxHandlerNameBytes);
  response->set_max_params_bytes(options_.field_limits.max_params_bytes);
  response->set_max_glue_source_bytes(
      options_.field_limits.max_glue_source_bytes);
  response->set_max_run_log_bytes(static_cast<int64_t>(core.max_run_log_bytes));
  return absl::OkStatus();
}

absl::Status ApiHandler::DoIdleBeat(const Caller& caller,
                                    const v1::IdleBeatRequest& request,
                                    v1::IdleBeatResponse* response) {
  if (absl::Status s = Authenticate(caller); !s.ok()) return s;
  if (absl::Status s = ValidateIdleBeatRequest(request); !s.ok()) return s;
  // The core's refusal is the contract's text (busyover routing matches it).
  return Answer(executor_->IdleBeat(request.job_id()), response);
}

int64_t ApiHandler::NewManualLogId() {
  const int64_t from_clock =
      kManualLogIdBase + absl::ToUnixMillis(absl::Now()) * kManualLogIdsPerMs;
  int64_t last = last_manual_log_id_.load();
  int64_t next;
  do {
    next = std::max(last + 1, from_clock);
  } while (!last_manual_log_id_.compare_exchange_weak(last, next));
  return next;
}

absl::Status ApiHandler::DoRun(const Caller& caller,
                               const v1::RunRequest& request,
                               v1::RunResponse* response) {
  if (absl::Status s = Authenticate(caller); !s.ok()) {
    CountRefusal(s);
    return s;
  }
  absl::StatusOr<Trigger> trigger = ToTrigger(request, options_.field_limits);
  if (!trigger.ok()) {
    CountRefusal(trigger.status());
    return trigger.status();
  }
  if (trigger->log_id == 0) trigger->log_id = NewManualLogId();
  if (trigger->log_date_time == 0) {
    trigger->log_date_time = absl::ToUnixMillis(absl::Now());
  }
  const int64_t log_id = trigger->log_id;
  const int64_t log_date_time = trigger->log_date_time;
  const absl::Status status = executor_->Run(*std::move(trigger));
  VLOG(1) << "[job " << request.job_id() << " log " << log_id
          << "] Run: " << (status.ok() ? "accepted" : status.ToString());
  if (status.ok()) {
    response->set_log_id(log_id);
    response->set_log_date_time(log_date_time);
  } else {
    CountRefusal(status);
  }
  return Answer(status, response);
}

absl::Status ApiHandler::DoKill(const Caller& caller,
                                const v1::KillRequest& request,
                                v1::KillResponse* response) {
  if (absl::Status s = Authenticate(caller); !s.ok()) return s;
  if (absl::Status s = ValidateKillRequest(request); !s.ok()) return s;
  absl::StatusOr<std::string> message =
      executor_->Kill(request.job_id(), request.log_id());
  VLOG(1) << "[job " << request.job_id() << " log " << request.log_id()
          << "] Kill: "
          << (message.ok() ? *message : message.status().ToString());
  if (!message.ok()) return Answer(message.status(), response);
  return Answer(absl::OkStatus(), response, *std::move(message));
}

absl::Status ApiHandler::DoLog(const Caller& caller,
                               const v1::LogRequest& request,
                               v1::LogResponse* response) {
  if (absl::Status s = Authenticate(caller); !s.ok()) return s;
  if (absl::Status s = ValidateLogRequest(request); !s.ok()) return s;
  absl::StatusOr<Executor::LogRead> read = executor_->ReadLog(
      request.log_date_time(), request.log_id(), request.from_line_num());
  if (!read.ok()) return Answer(read.status(), response);
  response->set_code(kResponseCodeSuccess);
  response->set_from_line_num(read->page.from_line_num);
  response->set_to_line_num(read->page.to_line_num);
  response->set_log_content(std::move(read->page.content));
  response->set_is_end(read->is_end);
  return absl::OkStatus();
}

absl::StatusOr<TailStreamSlot> ApiHandler::DoOpenTailStream(
    const Caller& caller, const v1::LogRequest& request) {
  if (absl::Status s = Authenticate(caller); !s.ok()) return s;
  if (absl::Status s = ValidateLogRequest(request); !s.ok()) return s;
  const int64_t max = options_.max_tail_streams;
  TailStreamSlot slot(this);
  if (tail_streams_.fetch_add(1) < max) return slot;
  LOG_EVERY_N(WARNING, 100) << "TailLog bound reached (" << max << ")";
  return absl::ResourceExhaustedError(
      absl::StrCat("too many TailLog streams: ", max,
                   " are open (max_tail_streams=", max, ")"));
}

}  // namespace xxljob

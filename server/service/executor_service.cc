#include "server/service/executor_service.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "server/service/grpc_status.h"
#include "server/service/memory_release.h"
#include "server/service/tail_log_reactor.h"

namespace xxljob {
namespace {

// What a caller sees when a handler throws: nothing about our internals.
grpc::Status InternalError() {
  return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
}

// Ends a TailLog call at once with a failed check's status, and no page.
class FailedWriteReactor final
    : public grpc::ServerWriteReactor<v1::LogResponse> {
 public:
  explicit FailedWriteReactor(grpc::Status status) {
    Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

ExecutorService::ExecutorService(Executor* executor, std::string app_name,
                                 std::string access_token, ServiceLimits limits)
    : executor_(executor),
      app_name_(std::move(app_name)),
      access_token_(std::move(access_token)),
      limits_(limits),
      start_time_(std::chrono::steady_clock::now()) {}

ExecutorService::~ExecutorService() { refusals_.Flush(); }

void ExecutorService::set_address(std::string address) {
  absl::MutexLock lock(&mu_);
  address_ = std::move(address);
}

template <typename Body>
grpc::ServerUnaryReactor* ExecutorService::Serve(
    grpc::CallbackServerContext* context, const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status;
  try {
    absl::Status auth = CheckAccessToken(*context, access_token_, &refusals_);
    status = auth.ok() ? body() : ToGrpcStatus(auth);
  } catch (const std::exception& e) {
    // Only bad_alloc and the like can get here; the core reports its own
    // failures as statuses. Log the detail, never return it.
    LOG_EVERY_N(ERROR, 100) << method << " threw: " << e.what();
    status = InternalError();
  } catch (...) {
    LOG_EVERY_N(ERROR, 100) << method << " threw a non-exception";
    status = InternalError();
  }
  VLOG(2) << method << " from " << context->peer() << ": "
          << (status.ok() ? "OK" : status.error_message());
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Beat(
    grpc::CallbackServerContext* context, const v1::BeatRequest* request,
    v1::BeatResponse* response) {
  return Serve(context, "Beat", [&] { return DoBeat(response); });
}

grpc::ServerUnaryReactor* ExecutorService::IdleBeat(
    grpc::CallbackServerContext* context, const v1::IdleBeatRequest* request,
    v1::IdleBeatResponse* response) {
  return Serve(context, "IdleBeat",
               [&] { return DoIdleBeat(*request, response); });
}

grpc::ServerUnaryReactor* ExecutorService::Run(
    grpc::CallbackServerContext* context, const v1::RunRequest* request,
    v1::RunResponse* response) {
  return Serve(context, "Run", [&] { return DoRun(*request, response); });
}

grpc::ServerUnaryReactor* ExecutorService::Kill(
    grpc::CallbackServerContext* context, const v1::KillRequest* request,
    v1::KillResponse* response) {
  return Serve(context, "Kill", [&] { return DoKill(*request, response); });
}

grpc::ServerUnaryReactor* ExecutorService::Log(
    grpc::CallbackServerContext* context, const v1::LogRequest* request,
    v1::LogResponse* response) {
  return Serve(context, "Log", [&] { return DoLog(*request, response); });
}

grpc::ServerWriteReactor<v1::LogResponse>* ExecutorService::TailLog(
    grpc::CallbackServerContext* context, const v1::LogRequest* request) {
  grpc::Status status;
  bool slot = false;
  try {
    absl::Status check = CheckAccessToken(*context, access_token_, &refusals_);
    if (check.ok()) check = ValidateLogRequest(*request);
    status = check.ok() ? AcquireTailStream() : ToGrpcStatus(check);
    if (status.ok()) {
      slot = true;
      VLOG(2) << "TailLog from " << context->peer() << ": [log "
              << request->log_id() << "] from line "
              << request->from_line_num();
      // The reactor gives the slot back when gRPC is done with it.
      return new TailLogReactor(executor_, *request,
                                [this] { ReleaseTailStream(); });
    }
  } catch (const std::exception& e) {
    LOG_EVERY_N(ERROR, 100) << "TailLog threw: " << e.what();
    if (slot) ReleaseTailStream();
    status = InternalError();
  }
  VLOG(2) << "TailLog from " << context->peer() << ": "
          << status.error_message();
  return new FailedWriteReactor(std::move(status));
}

grpc::Status ExecutorService::AcquireTailStream() {
  const int64_t max = limits_.max_tail_streams;
  if (tail_streams_.fetch_add(1) < max) return grpc::Status::OK;
  ReleaseTailStream();
  LOG_EVERY_N(WARNING, 100) << "TailLog bound reached (" << max << ")";
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("too many TailLog streams: ", max,
                                   " are open (max_tail_streams=", max, ")"));
}

void ExecutorService::ReleaseTailStream() {
  // Once no stream is left, what they held goes back to the system; glibc
  // would keep most of it (memory_release.h).
  if (tail_streams_.fetch_sub(1) == 1) memory_release_.Request();
}

grpc::Status ExecutorService::DoBeat(v1::BeatResponse* response) {
  const Executor::Load load = executor_->load();
  response->set_code(kResponseCodeSuccess);
  response->set_app_name(app_name_);
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
  const ExecutorOptions& options = executor_->options();
  response->set_max_job_threads(options.max_job_threads);
  response->set_max_running(options.max_running);
  response->set_max_queue_depth(options.max_queue_depth);
  response->set_tail_streams(tail_streams_.load());
  response->set_max_tail_streams(limits_.max_tail_streams);
  response->set_max_request_bytes(limits_.max_request_bytes);
  response->set_max_handler_name_bytes(kMaxHandlerNameBytes);
  response->set_max_params_bytes(limits_.fields.max_params_bytes);
  response->set_max_glue_source_bytes(limits_.fields.max_glue_source_bytes);
  return grpc::Status::OK;
}

grpc::Status ExecutorService::DoIdleBeat(const v1::IdleBeatRequest& request,
                                         v1::IdleBeatResponse* response) {
  if (absl::Status s = ValidateIdleBeatRequest(request); !s.ok()) {
    return ToGrpcStatus(s);
  }
  // The core's refusal is the contract's text (busyover routing matches it).
  return Answer(executor_->IdleBeat(request.job_id()), response);
}

grpc::Status ExecutorService::DoRun(const v1::RunRequest& request,
                                    v1::RunResponse* response) {
  absl::StatusOr<Trigger> trigger = ToTrigger(request, limits_.fields);
  if (!trigger.ok()) return ToGrpcStatus(trigger.status());
  const absl::Status status = executor_->Run(*std::move(trigger));
  VLOG(1) << "[job " << request.job_id() << " log " << request.log_id()
          << "] Run: " << (status.ok() ? "accepted" : status.ToString());
  return Answer(status, response);
}

grpc::Status ExecutorService::DoKill(const v1::KillRequest& request,
                                     v1::KillResponse* response) {
  if (absl::Status s = ValidateKillRequest(request); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<std::string> message =
      executor_->Kill(request.job_id(), request.log_id());
  VLOG(1) << "[job " << request.job_id() << " log " << request.log_id()
          << "] Kill: "
          << (message.ok() ? *message : message.status().ToString());
  if (!message.ok()) return Answer(message.status(), response);
  return Answer(absl::OkStatus(), response, *std::move(message));
}

grpc::Status ExecutorService::DoLog(const v1::LogRequest& request,
                                    v1::LogResponse* response) {
  if (absl::Status s = ValidateLogRequest(request); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<Executor::LogRead> read = executor_->ReadLog(
      request.log_date_time(), request.log_id(), request.from_line_num());
  if (!read.ok()) return Answer(read.status(), response);
  response->set_code(kResponseCodeSuccess);
  response->set_from_line_num(read->page.from_line_num);
  response->set_to_line_num(read->page.to_line_num);
  response->set_log_content(std::move(read->page.content));
  response->set_is_end(read->is_end);
  return grpc::Status::OK;
}

}  // namespace xxljob

#include "server/grpc/grpc_service.h"

#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "common/access_token.h"
#include "glog/logging.h"
#include "rpc/grpc_status.h"
#include "server/grpc/tail_log_reactor.h"

namespace xxljob {
namespace {

// What a caller sees when a handler throws: nothing about our internals.
grpc::Status InternalError() {
  return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
}

// Who is calling: the token from the metadata; the peer only on demand.
Caller CallerOf(const grpc::CallbackServerContext* context) {
  Caller caller;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find(kAccessTokenKey); it != metadata.end()) {
    caller.token = absl::string_view(it->second.data(), it->second.size());
  }
  caller.peer = [context] { return context->peer(); };
  return caller;
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

GrpcService::GrpcService(ApiHandler* api) : api_(api) {}

template <typename Body>
grpc::ServerUnaryReactor* GrpcService::Serve(
    grpc::CallbackServerContext* context, const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status;
  try {
    status = ToGrpcStatus(body(CallerOf(context)));
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

grpc::ServerUnaryReactor* GrpcService::Beat(
    grpc::CallbackServerContext* context, const v1::BeatRequest* request,
    v1::BeatResponse* response) {
  return Serve(context, "Beat", [&](const Caller& caller) {
    return api_->Beat(caller, response);
  });
}

grpc::ServerUnaryReactor* GrpcService::IdleBeat(
    grpc::CallbackServerContext* context, const v1::IdleBeatRequest* request,
    v1::IdleBeatResponse* response) {
  return Serve(context, "IdleBeat", [&](const Caller& caller) {
    return api_->IdleBeat(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* GrpcService::Run(grpc::CallbackServerContext* context,
                                           const v1::RunRequest* request,
                                           v1::RunResponse* response) {
  return Serve(context, "Run", [&](const Caller& caller) {
    return api_->Run(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* GrpcService::Kill(
    grpc::CallbackServerContext* context, const v1::KillRequest* request,
    v1::KillResponse* response) {
  return Serve(context, "Kill", [&](const Caller& caller) {
    return api_->Kill(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* GrpcService::Log(grpc::CallbackServerContext* context,
                                           const v1::LogRequest* request,
                                           v1::LogResponse* response) {
  return Serve(context, "Log", [&](const Caller& caller) {
    return api_->Log(caller, *request, response);
  });
}

grpc::ServerWriteReactor<v1::LogResponse>* GrpcService::TailLog(
    grpc::CallbackServerContext* context, const v1::LogRequest* request) {
  grpc::Status status;
  try {
    absl::StatusOr<TailStreamSlot> slot =
        api_->OpenTailStream(CallerOf(context), *request);
    if (slot.ok()) {
      VLOG(2) << "TailLog from " << context->peer() << ": [log "
              << request->log_id() << "] from line "
              << request->from_line_num();
      // The reactor gives the slot back when gRPC is done with it.
      return new TailLogReactor(api_->executor(), *request, *std::move(slot));
    }
    status = ToGrpcStatus(slot.status());
  } catch (const std::exception& e) {
    LOG_EVERY_N(ERROR, 100) << "TailLog threw: " << e.what();
    status = InternalError();
  }
  VLOG(2) << "TailLog from " << context->peer() << ": "
          << status.error_message();
  return new FailedWriteReactor(std::move(status));
}

}  // namespace xxljob

#include "client/executor_client.h"

#include <utility>

#include "common/access_token.h"
#include "common/response_code.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/sync_stream.h"
#include "rpc/grpc_status.h"

namespace xxljob {
namespace {

// Runs one unary call on `stub` and converts its status.
template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> Call(grpc::ClientContext* context, Method method,
                              v1::Executor::Stub* stub,
                              const Request& request) {
  Response response;
  grpc::Status status = (stub->*method)(context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace

ExecutorClient::ExecutorClient(const std::string& target,
                               std::string access_token)
    : ExecutorClient(
          grpc::CreateChannel(target, grpc::InsecureChannelCredentials()),
          std::move(access_token)) {}

ExecutorClient::ExecutorClient(std::shared_ptr<grpc::Channel> channel,
                               std::string access_token)
    : access_token_(std::move(access_token)),
      stub_(v1::Executor::NewStub(std::move(channel))) {}

void ExecutorClient::Prepare(const CallOptions& options,
                             grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  if (!access_token_.empty()) {
    context->AddMetadata(kAccessTokenKey, access_token_);
  }
}

absl::StatusOr<v1::BeatResponse> ExecutorClient::Beat(
    const v1::BeatRequest& request, const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  return Call<v1::BeatResponse>(&context, &v1::Executor::Stub::Beat,
                                stub_.get(), request);
}

absl::StatusOr<v1::IdleBeatResponse> ExecutorClient::IdleBeat(
    const v1::IdleBeatRequest& request, const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  return Call<v1::IdleBeatResponse>(&context, &v1::Executor::Stub::IdleBeat,
                                    stub_.get(), request);
}

absl::StatusOr<v1::RunResponse> ExecutorClient::Run(
    const v1::RunRequest& request, const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  return Call<v1::RunResponse>(&context, &v1::Executor::Stub::Run, stub_.get(),
                               request);
}

absl::StatusOr<v1::KillResponse> ExecutorClient::Kill(
    const v1::KillRequest& request, const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  return Call<v1::KillResponse>(&context, &v1::Executor::Stub::Kill,
                                stub_.get(), request);
}

absl::StatusOr<v1::LogResponse> ExecutorClient::Log(
    const v1::LogRequest& request, const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  return Call<v1::LogResponse>(&context, &v1::Executor::Stub::Log, stub_.get(),
                               request);
}

absl::StatusOr<v1::LogResponse> ExecutorClient::TailLog(
    const v1::LogRequest& request, const PageCallback& on_page,
    const CallOptions& options) {
  grpc::ClientContext context;
  Prepare(options, &context);
  std::unique_ptr<grpc::ClientReader<v1::LogResponse>> reader =
      stub_->TailLog(&context, request);
  v1::LogResponse page;
  bool final_page = false;
  bool stopped = false;
  while (reader->Read(&page)) {
    final_page = page.is_end() || page.code() != kResponseCodeSuccess;
    // A "stop" on the final page changes nothing: the stream is ending.
    if (!on_page(page) && !final_page) {
      stopped = true;
      // Finish() would wait for the rest of the stream otherwise.
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped) return absl::CancelledError("stopped by the caller");
  if (!status.ok()) return FromGrpcStatus(status);
  if (!final_page) {
    return absl::DataLossError("TailLog ended without a final page");
  }
  return page;
}

}  // namespace xxljob

#include "server/grpc/parse_error_interceptor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "grpcpp/support/status.h"

namespace xxljob {
namespace {

constexpr absl::string_view kExecutorPrefix = "/xxljob.v1.Executor/";

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  // `request` names a static string: nothing is copied per call.
  explicit ParseErrorInterceptor(absl::string_view request)
      : request_(request) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("request is not a valid xxljob.v1.", request_,
                         " message (malformed protobuf, or a string field "
                         "that is not valid UTF-8)")));
      }
    }
    methods->Proceed();
  }

 private:
  const absl::string_view request_;
};

}  // namespace

grpc::experimental::Interceptor*
ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  absl::string_view method = info->method();
  if (!absl::ConsumePrefix(&method, kExecutorPrefix)) return nullptr;
  // The implemented methods and their request types. An unknown method
  // keeps gRPC's UNIMPLEMENTED.
  for (const auto& [name, request] :
       {std::pair<absl::string_view, absl::string_view>{"Beat", "BeatRequest"},
        {"IdleBeat", "IdleBeatRequest"},
        {"Run", "RunRequest"},
        {"Kill", "KillRequest"},
        {"Log", "LogRequest"},
        {"TailLog", "LogRequest"}}) {
    if (method == name) {
      return new ParseErrorInterceptor(request);
    }
  }
  return nullptr;
}

}  // namespace xxljob

#include "server/grpc/parse_error_interceptor.h"

#include <string>

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
  ParseErrorInterceptor(absl::string_view request, Method method,
                        Metrics* metrics)
      : request_(request), method_(method), metrics_(metrics) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        const std::string message =
            absl::StrCat("request is not a valid xxljob.v1.", request_,
                         " message (malformed protobuf, or a string field "
                         "that is not valid UTF-8)");
        if (metrics_ != nullptr) {
          metrics_->CountGrpcRequest(method_,
                                     absl::StatusCode::kInvalidArgument);
        }
        methods->ModifySendStatus(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message));
      }
    }
    methods->Proceed();
  }

 private:
  const absl::string_view request_;
  const Method method_;
  Metrics* const metrics_;
};

}  // namespace

grpc::experimental::Interceptor*
ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  absl::string_view method = info->method();
  if (!absl::ConsumePrefix(&method, kExecutorPrefix)) return nullptr;
  // The implemented methods and their request types. An unknown method
  // keeps gRPC's UNIMPLEMENTED.
  struct Implemented {
    absl::string_view name;
    absl::string_view request;
    Method method;
  };
  for (const Implemented& m : {
           Implemented{"Beat", "BeatRequest", Method::kBeat},
           Implemented{"IdleBeat", "IdleBeatRequest", Method::kIdleBeat},
           Implemented{"Run", "RunRequest", Method::kRun},
           Implemented{"Kill", "KillRequest", Method::kKill},
           Implemented{"Log", "LogRequest", Method::kLog},
           Implemented{"TailLog", "LogRequest", Method::kTailLog},
       }) {
    if (method == m.name) {
      return new ParseErrorInterceptor(m.request, m.method, metrics_);
    }
  }
  return nullptr;
}

}  // namespace xxljob

// The Executor service over gRPC (SPEC §2): thin wiring from the callback
// API to the transport-neutral ApiHandler. It takes the token from the
// call's metadata, calls the handler, and finishes the call with what the
// handler returned; nothing here decides what a call means.
#ifndef XXLJOB_SERVER_GRPC_GRPC_SERVICE_H_
#define XXLJOB_SERVER_GRPC_GRPC_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "server/api/api_handler.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {

// Each unary handler finishes before it returns: the ApiHandler never waits
// on a running job, so no handler blocks a gRPC thread for long. No
// exception escapes a handler: one becomes INTERNAL "internal error", with
// the detail only in the server's log. TailLog, the one method that waits,
// is served by a TailLogReactor (tail_log_reactor.h) once the handler has
// given it a stream slot.
//
// Thread-safe. Does not own the handler, which must outlive the service.
class GrpcService final : public v1::Executor::CallbackService {
 public:
  explicit GrpcService(ApiHandler* api);
  GrpcService(const GrpcService&) = delete;
  GrpcService& operator=(const GrpcService&) = delete;

  grpc::ServerUnaryReactor* Beat(grpc::CallbackServerContext* context,
                                 const v1::BeatRequest* request,
                                 v1::BeatResponse* response) override;
  grpc::ServerUnaryReactor* IdleBeat(grpc::CallbackServerContext* context,
                                     const v1::IdleBeatRequest* request,
                                     v1::IdleBeatResponse* response) override;
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                const v1::RunRequest* request,
                                v1::RunResponse* response) override;
  grpc::ServerUnaryReactor* Kill(grpc::CallbackServerContext* context,
                                 const v1::KillRequest* request,
                                 v1::KillResponse* response) override;
  grpc::ServerUnaryReactor* Log(grpc::CallbackServerContext* context,
                                const v1::LogRequest* request,
                                v1::LogResponse* response) override;
  // A refused stream (token, request, max_tail_streams) ends at once with
  // its status and no page.
  grpc::ServerWriteReactor<v1::LogResponse>* TailLog(
      grpc::CallbackServerContext* context,
      const v1::LogRequest* request) override;

 private:
  // Runs `body` (an ApiHandler call) with the caller's identity and
  // finishes the call with what it returns, turning an exception into
  // INTERNAL.
  template <typename Body>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const char* method, Body body);

  ApiHandler* const api_;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_GRPC_GRPC_SERVICE_H_

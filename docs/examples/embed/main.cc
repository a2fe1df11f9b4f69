// An application that embeds the executor: its own handler plus the
// built-ins, served until SIGTERM/SIGINT.
//   embed [listen address, default 127.0.0.1:0]
#include <signal.h>

#include <cstdio>

#include "absl/time/time.h"
#include "handlers/builtin_handlers.h"
#include "handlers/handler_registry.h"
#include "handlers/run_context.h"
#include "server/app/executor_app.h"

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so only sigwait sees
  // them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  xxljob::HandlerRegistry registry;
  auto status = xxljob::RegisterBuiltinHandlers(&registry);
  if (status.ok()) {
    status = registry.Register("helloJobHandler", [](xxljob::RunContext& ctx) {
      ctx.Logf("hello, %s", ctx.params());
      ctx.Success();
    });
  }
  xxljob::AppOptions options;
  options.grpc.listen = argc > 1 ? argv[1] : "127.0.0.1:0";
  options.api.app_name = "embed-example";
  auto app = xxljob::ExecutorApp::Start(options, &registry);
  if (!status.ok() || !app.ok()) {
    std::fprintf(stderr, "embed: %s\n",
                 (status.ok() ? app.status() : status).ToString().c_str());
    return 1;
  }
  std::printf("listening on port %d\n", (*app)->grpc_port());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop, &signal);
  (*app)->Shutdown(absl::Seconds(10));
  return 0;
}

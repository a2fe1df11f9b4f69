#include "handlers/run_context.h"

#include <utility>

namespace xxljob {

RunContext::RunContext(RunInfo info, RunLogSink* log,
                       const Cancellation* cancellation)
    : info_(std::move(info)), log_(log), cancellation_(cancellation) {}

void RunContext::SetResult(int code, absl::string_view message) {
  absl::MutexLock lock(&mu_);
  handle_code_ = code;
  handle_msg_ = std::string(message);
}

int RunContext::handle_code() const {
  absl::MutexLock lock(&mu_);
  return handle_code_;
}

std::string RunContext::handle_msg() const {
  absl::MutexLock lock(&mu_);
  return handle_msg_;
}

}  // namespace xxljob

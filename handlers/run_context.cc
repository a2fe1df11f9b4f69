#include "handlers/run_context.h"

#include <string>
#include <utility>
#include <vector>

namespace xxljob {

void RunLogSink::Output(absl::string_view chunk) {
  std::vector<std::string> lines;
  {
    absl::MutexLock lock(&output_mu_);
    for (size_t newline;
         (newline = chunk.find('\n')) != absl::string_view::npos;
         chunk.remove_prefix(newline + 1)) {
      held_output_.append(chunk.data(), newline);
      lines.push_back(std::move(held_output_));
      held_output_.clear();
    }
    held_output_.append(chunk.data(), chunk.size());
    while (held_output_.size() >= kMaxHeldOutputBytes) {
      lines.push_back(held_output_.substr(0, kMaxHeldOutputBytes));
      held_output_.erase(0, kMaxHeldOutputBytes);
    }
  }
  // Outside output_mu_: Log() takes the sink's own lock, and two Output
  // callers race only if the program's output has no single order anyway.
  for (const std::string& line : lines) Log(line);
}

void RunLogSink::FlushOutput() {
  std::string line;
  {
    absl::MutexLock lock(&output_mu_);
    if (held_output_.empty()) return;
    line.swap(held_output_);
  }
  Log(line);
}

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

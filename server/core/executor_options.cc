#include "server/core/executor_options.h"

#include "absl/strings/str_cat.h"
#include "handlers/script_sandbox.h"

namespace xxljob {

absl::Status ValidateExecutorOptions(const ExecutorOptions& o) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  if (o.log_path.empty()) return bad("log_path", "must not be empty");
  if (o.idle_timeout <= absl::ZeroDuration()) {
    return bad("idle_timeout", "must be positive");
  }
  if (o.max_job_threads < 1) return bad("max_job_threads", "must be >= 1");
  if (o.max_queue_depth < 1) return bad("max_queue_depth", "must be >= 1");
  if (o.max_running < 1) return bad("max_running", "must be >= 1");
  if (o.worker_keepalive <= absl::ZeroDuration()) {
    return bad("worker_keepalive", "must be positive");
  }
  if (o.log_page.max_lines < 1)
    return bad("log_page.max_lines", "must be >= 1");
  if (o.log_page.max_bytes < 1024) {
    return bad("log_page.max_bytes", "must be >= 1024");
  }
  if (o.max_run_log_bytes < 1024) {
    return bad("max_run_log_bytes", "must be >= 1024");
  }
  if (o.script_max_cpu < absl::ZeroDuration() ||
      o.script_max_cpu == absl::InfiniteDuration()) {
    return bad("script_max_cpu", "must be a finite duration >= 0");
  }
  if (o.script_max_memory_bytes < 0 || o.script_max_processes < 0 ||
      o.script_max_file_bytes < 0) {
    return bad("script_max_*", "must be >= 0 (0: no limit)");
  }
  if (o.enable_scripts && !o.script_user.empty()) {
    absl::StatusOr<ScriptUser> user = ResolveScriptUser(o.script_user);
    if (!user.ok()) return bad("script_user", user.status().message());
  }
  if (absl::Status s = CheckScriptCgroupMode(o.script_cgroup); !s.ok()) {
    return bad("script_cgroup", s.message());
  }
  return absl::OkStatus();
}

}  // namespace xxljob

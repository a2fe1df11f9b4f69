// The per-run bound on a run's log (SPEC §4, ExecutorOptions::
// max_run_log_bytes): what a job writes, through its context or as script
// output, is passed on until the cap and dropped after it, and one line at
// the end of the run says how much was dropped. A runaway job (a script
// printing without newlines at pipe speed) then costs the cap, not the disk.
#ifndef XXLJOB_SERVER_CORE_CAPPED_LOG_SINK_H_
#define XXLJOB_SERVER_CORE_CAPPED_LOG_SINK_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "handlers/run_context.h"

namespace xxljob {

// "----------- xxl-executor: run log limit of <cap> bytes reached,
// <dropped> bytes of output dropped (max_run_log_bytes)": the marker line.
std::string RunLogCapMarker(uint64_t max_bytes, uint64_t dropped_bytes);

// A RunLogSink in front of the run's log sink that counts what the job
// writes: a Log() line as its bytes plus a timestamp and line break per line
// (what the run log writer adds), Output() as its bytes. A Log() message
// that does not fit is dropped whole; an Output() chunk is cut at the cap
// (at a UTF-8 boundary) and the rest dropped; once anything was dropped,
// everything after is too, so the log is a clean prefix of what the job
// wrote. The run goes on either way. The executor writes its own lines
// (start, end) to the sink behind this one, so they are never dropped.
//
// Thread-safe (a handler may log from threads of its own). Does not own
// `out`, which must outlive it.
class CappedLogSink : public RunLogSink {
 public:
  // REQUIRES: max_bytes >= 1.
  CappedLogSink(RunLogSink* out, uint64_t max_bytes)
      : out_(out), max_bytes_(max_bytes) {}
  CappedLogSink(const CappedLogSink&) = delete;
  CappedLogSink& operator=(const CappedLogSink&) = delete;

  void Log(absl::string_view message) override;
  void Output(absl::string_view chunk) override;
  void FlushOutput() override { out_->FlushOutput(); }

  // Ends held output, then writes RunLogCapMarker() to `out` if anything was
  // dropped. Call once, after the job's handler has returned (a later write
  // still respects the cap, but what it drops is not counted anywhere).
  void Finish();

  // Bytes dropped so far.
  uint64_t dropped_bytes() const;

 private:
  // Takes up to `wanted` bytes of the budget; returns how many were
  // granted (all or, unless `partial`, none). The rest counts as dropped.
  uint64_t Reserve(uint64_t wanted, uint64_t payload, bool partial);

  RunLogSink* const out_;
  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  uint64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool capped_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_CAPPED_LOG_SINK_H_

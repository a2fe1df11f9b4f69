// Where the executor core sends results: the seam between running jobs and
// reporting them to an admin.
#ifndef XXLJOB_SERVER_CORE_RESULT_SINK_H_
#define XXLJOB_SERVER_CORE_RESULT_SINK_H_

#include "absl/status/status.h"
#include "server/core/trigger.h"

namespace xxljob {

// Receives the lifecycle of every accepted trigger: Accepted() once before it
// is queued, then Finished() exactly once with its result. Both are called
// from executor threads (gRPC handlers and job threads) and must not block
// for long: an implementation that talks to the network queues and returns.
// Implementations are thread-safe.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Records that `trigger` is about to be accepted. OK: it is recorded (made
  // durable, where the sink keeps a journal) and the executor queues it. An
  // error refuses the trigger: the executor queues nothing, holds no log id,
  // reports no result, and answers Run with this status, so the sink chooses
  // a code the caller can act on (RESOURCE_EXHAUSTED for a full or failing
  // disk: the admin retries on another executor).
  virtual absl::Status Accepted(const Trigger& trigger) = 0;
  virtual void Finished(const RunResult& result) = 0;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RESULT_SINK_H_

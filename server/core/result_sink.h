// Where the executor core sends results: the seam between running jobs and
// reporting them to an admin.
#ifndef XXLJOB_SERVER_CORE_RESULT_SINK_H_
#define XXLJOB_SERVER_CORE_RESULT_SINK_H_

#include "server/core/trigger.h"

namespace xxljob {

// Receives the lifecycle of every accepted trigger: Accepted() once when it is
// queued, then Finished() exactly once with its result. Both are called from
// executor threads (gRPC handlers and job threads) and must not block for
// long: an implementation that talks to the network queues and returns.
// Implementations are thread-safe.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void Accepted(const Trigger& trigger) = 0;
  virtual void Finished(const RunResult& result) = 0;
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RESULT_SINK_H_

// Internal to the executor core: the state of one job thread.
#ifndef XXLJOB_SERVER_CORE_JOB_THREAD_H_
#define XXLJOB_SERVER_CORE_JOB_THREAD_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "handlers/cancellation.h"
#include "handlers/handler_registry.h"
#include "server/core/trigger.h"

namespace xxljob {

// What a job thread runs: a bean handler by name, or one version of a glue
// script. A trigger with another key replaces the job thread (SPEC §3.5).
struct HandlerKey {
  GlueType glue_type = GlueType::kBean;
  std::string bean_name;
  int64_t glue_updatetime = 0;

  static HandlerKey Of(const Trigger& trigger) {
    if (trigger.glue_type == GlueType::kBean) {
      return {GlueType::kBean, trigger.handler, 0};
    }
    return {trigger.glue_type, "", trigger.glue_updatetime};
  }
  bool operator==(const HandlerKey& o) const {
    return glue_type == o.glue_type && bean_name == o.bean_name &&
           glue_updatetime == o.glue_updatetime;
  }
  bool operator!=(const HandlerKey& o) const { return !(*this == o); }
};

// A bean handler is owned by the registry (the pointer does not own it); a
// glue script's handler is made for its trigger and owned here.
using HandlerPtr = std::shared_ptr<const JobHandler>;

// An admitted trigger and the handler resolved for it at admission.
struct QueuedRun {
  Trigger trigger;
  HandlerPtr handler;
  // When it was admitted: the start of its queue wait.
  absl::Time accepted_at;
};

// One job id's job thread: a FIFO queue whose runs execute one at a time.
// It is a queue, not an OS thread: while it has work, exactly one worker-pool
// task ("the owner", `scheduled` == true) takes runs from it in order; the
// owner alone executes runs, which is what keeps runs of a job id from
// overlapping, replacements included.
//
// Lock order: the executor's shard lock, then `mu`, then a Cancellation's.
struct JobThread {
  explicit JobThread(int64_t job_id) : job_id(job_id) {}
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  const int64_t job_id;
  absl::Mutex mu;
  std::deque<QueuedRun> queue ABSL_GUARDED_BY(mu);
  // The run executing now: its log id (0 when none) and cancellation.
  int64_t running_log_id ABSL_GUARDED_BY(mu) = 0;
  std::shared_ptr<Cancellation> running_cancel ABSL_GUARDED_BY(mu);
  // A pool task owns the job thread (executing, or about to take the next
  // run). Set by whoever submits that task; cleared by the task when the
  // queue is empty.
  bool scheduled ABSL_GUARDED_BY(mu) = false;
  // The handler key of the last admitted trigger.
  HandlerKey key ABSL_GUARDED_BY(mu);
  // The handler whose init ran on this job thread; its destroy is owed.
  HandlerPtr initialized ABSL_GUARDED_BY(mu);
  // When the job thread last went idle.
  absl::Time idle_since ABSL_GUARDED_BY(mu) = absl::Now();

  bool busy() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return running_log_id != 0 || !queue.empty();
  }
  // Nothing running, queued or owning it: the job thread may be reclaimed.
  bool idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !scheduled && !busy();
  }
  // Removes and returns every queued run.
  std::vector<QueuedRun> TakeQueueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<QueuedRun> taken(std::make_move_iterator(queue.begin()),
                                 std::make_move_iterator(queue.end()));
    queue.clear();
    return taken;
  }
};

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_JOB_THREAD_H_

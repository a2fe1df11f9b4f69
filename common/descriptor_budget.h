// How the process's descriptors are shared out: how many the connections of
// a transport may hold, and how many stay reserved for the work itself (run
// logs and their indexes, script pipes and pidfds, the outbox, gRPC's own
// wake-up descriptors, the admin connection). docs/design.md, "Descriptors".
#ifndef XXLJOB_COMMON_DESCRIPTOR_BUDGET_H_
#define XXLJOB_COMMON_DESCRIPTOR_BUDGET_H_

#include <cstdint>
#include <string>

namespace xxljob {

// Descriptors a run may hold at once: its log and line index, and for a
// script the output pipe and the child's pidfd.
inline constexpr int64_t kDescriptorsPerRun = 4;
// Descriptors the process needs whatever it runs: gRPC's epoll, wake-up
// and timer descriptors per thread, the outbox (journal, lock, compaction),
// the admin connections, TLS file reads, Log and TailLog page reads, glog
// and the standard streams.
inline constexpr int64_t kBaseReservedDescriptors = 256;

struct DescriptorBudget {
  // RLIMIT_NOFILE's soft limit the plan was made for.
  int64_t limit = 0;
  // Kept free of connections.
  int64_t reserved = 0;
  // The bound on open connections.
  int max_connections = 0;
  // Non-empty when the plan can't keep its promise (the limit is too low
  // for the reserve, or an explicit bound leaves too little): why, for a
  // WARNING at start.
  std::string warning;
};

// The plan for `limit` descriptors and `max_running` runs at once.
// `max_connections` and `reserved` are the operator's values, 0 for
// automatic: reserved = kBaseReservedDescriptors + kDescriptorsPerRun *
// max_running; connections = limit - reserved, but at least a quarter of the
// limit (with a warning), so that a low limit still serves callers.
DescriptorBudget PlanDescriptors(int64_t limit, int max_running,
                                 int max_connections, int64_t reserved);

// The current soft RLIMIT_NOFILE (RLIM_INFINITY as 1 << 20).
int64_t OpenFileLimit();

}  // namespace xxljob

#endif  // XXLJOB_COMMON_DESCRIPTOR_BUDGET_H_

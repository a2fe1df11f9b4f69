#include "common/descriptor_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace xxljob {

DescriptorBudget PlanDescriptors(int64_t limit, int max_running,
                                 int max_connections, int64_t reserved) {
  DescriptorBudget plan;
  plan.limit = limit;
  plan.reserved = reserved > 0 ? reserved
                               : kBaseReservedDescriptors +
                                     kDescriptorsPerRun * max_running;
  const int64_t left = limit - plan.reserved;
  if (max_connections > 0) {
    plan.max_connections = max_connections;
    if (max_connections > left) {
      plan.warning = absl::StrCat(
          "max_connections=", max_connections, " leaves fewer than the ",
          plan.reserved,
          " descriptors reserved for runs, scripts and the "
          "outbox (descriptor limit ",
          limit, "): they may fail to open files; accepting recovers");
    }
    return plan;
  }
  const int64_t floor = std::max<int64_t>(1, limit / 4);
  if (left < floor) {
    plan.warning = absl::StrCat(
        "the descriptor limit ", limit, " is below the ", plan.reserved,
        " that max_running=", max_running, " may need (",
        kBaseReservedDescriptors, " + ", kDescriptorsPerRun,
        " per run); connections bounded at ", floor,
        ". Raise the limit (ulimit -n, LimitNOFILE) or lower --max_running");
  }
  plan.max_connections = static_cast<int>(std::min<int64_t>(
      std::max(left, floor), std::numeric_limits<int>::max()));
  return plan;
}

int64_t OpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur == RLIM_INFINITY) return int64_t{1} << 20;
  return static_cast<int64_t>(limit.rlim_cur);
}

}  // namespace xxljob

#include "server/service/memory_release.h"

#include <malloc.h>  // Also defines __GLIBC__ where it applies.

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"

namespace xxljob {

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  const absl::Time start = absl::Now();
  malloc_trim(0);
  VLOG(2) << "malloc_trim took " << absl::Now() - start;
#endif
}

}  // namespace xxljob

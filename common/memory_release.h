// Giving freed memory back to the operating system after a burst of
// allocations has ended (TailLog streams: docs/design.md, "Following a
// log").
//
// Why it is needed: pages are allocated and freed on gRPC's threads, each
// with a glibc malloc arena of its own. glibc returns an arena's free
// memory only from the top of its heap, so after many streams end most of
// what they held stays resident (measured: 16-22 of 24 MiB for 256 streams)
// until malloc_trim() releases the free pages inside the heaps too.
#ifndef XXLJOB_COMMON_MEMORY_RELEASE_H_
#define XXLJOB_COMMON_MEMORY_RELEASE_H_

#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xxljob {

// Returns the free memory of every malloc arena to the system (glibc's
// malloc_trim; nothing elsewhere). Costs CPU in proportion to the heap (a
// few ms for 100 MB); takes malloc's locks briefly, one arena at a time.
// Thread-safe.
void ReleaseFreeMemory();

// Calls ReleaseFreeMemory() on a thread of its own, `delay` after the
// latest Request(): what gRPC frees just after a stream's end (its
// transport buffers) is released too, requests in a burst cost one trim,
// and no gRPC thread spends the time.
//
// Thread-safe. The destructor stops and joins the thread (a pending release
// is dropped).
class DelayedMemoryRelease {
 public:
  explicit DelayedMemoryRelease(absl::Duration delay);
  ~DelayedMemoryRelease();
  DelayedMemoryRelease(const DelayedMemoryRelease&) = delete;
  DelayedMemoryRelease& operator=(const DelayedMemoryRelease&) = delete;

  // Releases `delay` from now (a later request postpones it). Never blocks.
  void Request();

 private:
  void Loop();

  const absl::Duration delay_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Time> due_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace xxljob

#endif  // XXLJOB_COMMON_MEMORY_RELEASE_H_

// Bean job handlers: C++ functions registered by name, and the registry the
// executor looks them up in.
#ifndef XXLJOB_HANDLERS_HANDLER_REGISTRY_H_
#define XXLJOB_HANDLERS_HANDLER_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "handlers/run_context.h"

namespace xxljob {

// A bean handler. `execute` runs once per trigger on the job's thread; the
// optional `init` runs before the first run of a job thread that uses this
// handler, and `destroy` when that job thread ends (idle reclaim, handler
// change, shutdown). One handler serves many job ids at once, so execute must
// be safe to call concurrently.
struct JobHandler {
  std::function<void(RunContext&)> execute;
  // A failed init fails the run with its message; init is tried again on the
  // job's next run.
  std::function<absl::Status()> init;
  std::function<void()> destroy;
};

// Name -> handler. Thread-safe; handlers are never removed, so a pointer from
// Find() stays valid for the registry's lifetime.
class HandlerRegistry {
 public:
  HandlerRegistry() = default;
  HandlerRegistry(const HandlerRegistry&) = delete;
  HandlerRegistry& operator=(const HandlerRegistry&) = delete;

  // Registers `handler` as `name`. Returns INVALID_ARGUMENT for an empty name
  // or a missing execute function, ALREADY_EXISTS if the name is taken.
  absl::Status Register(absl::string_view name, JobHandler handler);
  // The one-line form: execute only.
  absl::Status Register(absl::string_view name,
                        std::function<void(RunContext&)> execute) {
    return Register(name, JobHandler{std::move(execute), nullptr, nullptr});
  }

  // The handler registered as `name`, or nullptr.
  const JobHandler* Find(absl::string_view name) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<const JobHandler>> handlers_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_HANDLER_REGISTRY_H_

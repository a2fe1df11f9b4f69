#include "handlers/handler_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace xxljob {

absl::Status HandlerRegistry::Register(absl::string_view name,
                                       JobHandler handler) {
  if (name.empty()) {
    return absl::InvalidArgumentError("handler name must not be empty");
  }
  if (!handler.execute) {
    return absl::InvalidArgumentError(
        absl::StrCat("handler [", name, "] has no execute function"));
  }
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = handlers_.try_emplace(name, nullptr);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("handler [", name, "] is already registered"));
  }
  it->second = std::make_unique<const JobHandler>(std::move(handler));
  return absl::OkStatus();
}

const JobHandler* HandlerRegistry::Find(absl::string_view name) const {
  // Shared: every Run looks its handler up, registrations are rare, and
  // unrelated jobs must not queue on one lock.
  absl::ReaderMutexLock lock(&mu_);
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : it->second.get();
}

}  // namespace xxljob

// Handlers every executor ships, for trying it out and for tests:
//   demoJobHandler      logs its params and succeeds;
//   shardingJobHandler  logs its shard index and total;
//   sleepJobHandler     params = milliseconds; a cancellable sleep;
//   failJobHandler      fails with its params as the message.
#ifndef XXLJOB_HANDLERS_BUILTIN_HANDLERS_H_
#define XXLJOB_HANDLERS_BUILTIN_HANDLERS_H_

#include "absl/status/status.h"
#include "handlers/handler_registry.h"

namespace xxljob {

// Registers the built-in handlers. Fails if one of their names is taken.
absl::Status RegisterBuiltinHandlers(HandlerRegistry* registry);

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_BUILTIN_HANDLERS_H_

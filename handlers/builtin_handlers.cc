#include "handlers/builtin_handlers.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "handlers/log_escape.h"

namespace xxljob {
namespace {

// The built-in handlers echo caller text into the log escaped, like the
// executor's own lines (log_escape.h), so it can't forge a line.
void Demo(RunContext& ctx) {
  ctx.Logf("demoJobHandler: params [%s]", EscapeLogText(ctx.params()));
}

void Sharding(RunContext& ctx) {
  ctx.Logf("shardingJobHandler: shard index %d, shard total %d",
           ctx.shard_index(), ctx.shard_total());
  ctx.Success(
      absl::StrCat("shard ", ctx.shard_index(), "/", ctx.shard_total()));
}

void Sleep(RunContext& ctx) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ctx.params()), &ms) ||
      ms < 0) {
    ctx.Fail(
        absl::StrCat("sleepJobHandler: params must be milliseconds >= 0, "
                     "got [",
                     ctx.params(), "]"));
    return;
  }
  ctx.Logf("sleepJobHandler: sleeping %d ms", ms);
  if (!ctx.SleepFor(absl::Milliseconds(ms))) {
    ctx.Log("sleepJobHandler: cancelled");
    return;  // The executor reports why it was cancelled.
  }
  ctx.Logf("sleepJobHandler: slept %d ms", ms);
}

void Fail(RunContext& ctx) {
  ctx.Logf("failJobHandler: failing with [%s]", EscapeLogText(ctx.params()));
  ctx.Fail(ctx.params());
}

}  // namespace

absl::Status RegisterBuiltinHandlers(HandlerRegistry* registry) {
  for (auto& [name, fn] : {std::pair{"demoJobHandler", &Demo},
                           std::pair{"shardingJobHandler", &Sharding},
                           std::pair{"sleepJobHandler", &Sleep},
                           std::pair{"failJobHandler", &Fail}}) {
    if (absl::Status s = registry->Register(name, fn); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace xxljob

// The paging phase: a run writes a long log through a bench-only handler;
// then Log RPCs of its first and of its last page are timed. Reading the
// last page should not cost a scan of the whole file.
#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "handlers/builtin_handlers.h"
#include "tools/bench/phases.h"

namespace xxljob::bench {
namespace {

void LogLines(RunContext& ctx) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(ctx.params(), &n) || n < 0) {
    ctx.Fail("benchLogLinesHandler: params must be a line count >= 0");
    return;
  }
  for (int64_t i = 1; i <= n && !ctx.cancelled(); ++i) {
    ctx.Logf("bench log line %d", i);
  }
}

// One Log call; its wall time, or a negative duration if it failed.
absl::Duration TimeLog(Rig& rig, const v1::RunRequest& run, int from,
                       v1::LogResponse* response) {
  grpc::ClientContext ctx;
  rig.clients().Prepare(&ctx, absl::Seconds(30));
  v1::LogRequest request;
  request.set_log_date_time(run.log_date_time());
  request.set_log_id(run.log_id());
  request.set_from_line_num(from);
  const absl::Time start = absl::Now();
  const bool ok = rig.clients().stub(0).Log(&ctx, request, response).ok() &&
                  response->code() == 200;
  return ok ? absl::Now() - start : absl::Seconds(-1);
}

// Median wall time of `repeats` Log calls of the page at `from`, in ms.
double MedianMs(Rig& rig, const v1::RunRequest& run, int from, int repeats) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    v1::LogResponse response;
    const absl::Duration d = TimeLog(rig, run, from, &response);
    if (d < absl::ZeroDuration()) return -1;
    ms.push_back(absl::ToDoubleMilliseconds(d));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

void RegisterBenchHandlers(HandlerRegistry* registry) {
  CHECK(RegisterBuiltinHandlers(registry).ok());
  CHECK(registry->Register(kLogLinesHandler, &LogLines).ok());
}

void RunPaging(const PagingOptions& options, Rig& rig, Report& report) {
  const v1::RunRequest run =
      MakeRun(1'000'000'001, FreshLogIdBase(), kLogLinesHandler,
              absl::StrCat(options.lines));
  const int64_t delivered = rig.delivered();
  const absl::Time start = absl::Now();
  {
    grpc::ClientContext ctx;
    rig.clients().Prepare(&ctx, absl::Seconds(10));
    v1::RunResponse response;
    if (!rig.clients().stub(0).Run(&ctx, run, &response).ok() ||
        response.code() != 200) {
      report.Note("paging: the log-writing run was refused");
      return;
    }
  }
  if (!rig.WaitDelivered(delivered + 1, absl::Minutes(10))) {
    report.Note("paging: the log-writing run did not finish in 10 min");
    return;
  }
  report.Add("paging.write_lines", options.lines, "lines");
  report.Add("paging.write_time", absl::ToDoubleSeconds(absl::Now() - start),
             "s");

  // Page 1 fixes the page size; the last page is the same size and ends at
  // the log's last line (found by following pages from near the end).
  v1::LogResponse page;
  if (TimeLog(rig, run, 1, &page) < absl::ZeroDuration()) {
    report.Note("paging: Log failed");
    return;
  }
  const int page_lines = page.to_line_num() - page.from_line_num() + 1;
  int from = std::max(1, options.lines - 100);
  for (int guard = 0; guard < 1000; ++guard) {
    if (TimeLog(rig, run, from, &page) < absl::ZeroDuration()) {
      report.Note("paging: Log failed");
      return;
    }
    if (page.is_end() || page.to_line_num() < page.from_line_num()) break;
    from = page.to_line_num() + 1;
  }
  from = std::max(1, page.to_line_num() - page_lines + 1);
  const double first = MedianMs(rig, run, 1, options.repeats);
  const double last = MedianMs(rig, run, from, options.repeats);
  report.Add("paging.page_lines", page_lines, "lines");
  report.Add("paging.first_page", first, "ms");
  report.Add("paging.last_page", last, "ms");
  report.Add("paging.last_page_from_line", from, "line");
  report.Add("paging.ratio_last_to_first", last / first, "ratio");
}

}  // namespace xxljob::bench

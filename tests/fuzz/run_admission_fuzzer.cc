// Fuzz target: request validation (server/api/validation.cc) and
// admission into the real executor core (Executor::Run, Kill, IdleBeat,
// ReadLog), SPEC §2, §3 and §8.
//
// Feeds a sequence of up to 16 calls per input, as the service makes them:
// - Run with a RunRequest either parsed from fuzzed bytes (the wire form,
//   unknown fields and all) or built field by field, where each field is a
//   plausible value (a few job ids so jobs collide, a known handler, a
//   recent log date) or an absurd one (negative, INT64_MIN, unknown enum
//   values, control characters, strings over the limits). The request goes
//   through ToTrigger (validation) and, when valid, Executor::Run;
// - Kill, IdleBeat and Log with fuzzed ids, through their validation and
//   the core.
// The executor is created once per process on a scratch data directory with
// a queue bound of 3 (reachable), handlers "echo", "fail", "throw" and
// "hold" (which runs until the input's calls are done or it is cancelled,
// so jobs are busy while later calls arrive: queues, cover-early,
// discard-later, handler change, kills of running and queued runs).
//
// Checks:
// - validation agrees with an independent reading of the documented rules
//   (validation.h): a request is refused iff it breaks one, the refusal is
//   INVALID_ARGUMENT, and its message starts with the name of a field that
//   is in fact bad; ValidateRunRequest and ToTrigger agree; a valid request
//   converts to a trigger with shard 0 <= index < total and a handler name
//   exactly for BEAN;
// - Run answers only what executor.h lists for the case (NOT_FOUND for an
//   unknown handler, UNIMPLEMENTED for GLUE_GROOVY, FAILED_PRECONDITION for
//   scripts here, otherwise OK, a repeat of a log id admitted before, a
//   discard-later, or RESOURCE_EXHAUSTED); OK iff ResultSink::Accepted was
//   called once during it;
// - every accepted trigger gets exactly one result, for its own job id and
//   log date, with code 200/500/502 and a message of at most 50,000 bytes
//   of valid UTF-8; none is reported without being accepted; once all have
//   arrived the executor counts nothing running or queued;
// - a repeat refusal names a log id that was admitted before;
// - Kill answers OK or, with a log id, NOT_FOUND; IdleBeat OK or the
//   contract's refusal text; Log pages are valid UTF-8, and a Log of an
//   unknown run is NOT_FOUND and creates nothing.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "server/api/validation.h"
#include "server/core/executor.h"
#include "server/core/result_sink.h"
#include "server/core/run_log.h"
#include "tests/fuzz/fuzz_support.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {
namespace {

using fuzz::IsValidUtf8;

constexpr int64_t kRecentMs = 1700000000000;  // 2023-11-14
// Every run here ends at once or when its input's calls are done; a result
// missing this long after that is lost.
constexpr absl::Duration kResultTimeout = absl::Seconds(60);

// Records what the executor reports and checks each result on arrival.
class CountingSink : public ResultSink {
 public:
  absl::Status Accepted(const Trigger& t) override {
    absl::MutexLock lock(&mu_);
    ++accepted_calls_;
    outstanding_.insert({t.log_id, t.job_id, t.log_date_time});
    return absl::OkStatus();
  }
  void Finished(const RunResult& r) override {
    FUZZ_CHECK(
        r.handle_code == 200 || r.handle_code == 500 || r.handle_code == 502,
        "log %ld: handle_code %d", static_cast<long>(r.log_id), r.handle_code);
    FUZZ_CHECK(r.handle_msg.size() <= kMaxHandleMsgChars,
               "log %ld: a %zu-byte message", static_cast<long>(r.log_id),
               r.handle_msg.size());
    FUZZ_CHECK(IsValidUtf8(r.handle_msg), "log %ld: message not UTF-8",
               static_cast<long>(r.log_id));
    absl::MutexLock lock(&mu_);
    auto it = outstanding_.find({r.log_id, r.job_id, r.log_date_time});
    FUZZ_CHECK(it != outstanding_.end(),
               "a result for job %ld log %ld that was not accepted, or a "
               "second one",
               static_cast<long>(r.job_id), static_cast<long>(r.log_id));
    outstanding_.erase(it);
  }

  int64_t accepted_calls() const {
    absl::MutexLock lock(&mu_);
    return accepted_calls_;
  }
  // Waits until every accepted trigger has its result.
  bool AwaitAllFinished(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return outstanding_.empty();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  int64_t accepted_calls_ ABSL_GUARDED_BY(mu_) = 0;
  // log id, job id, log date time of accepted triggers without a result.
  std::multiset<std::tuple<int64_t, int64_t, int64_t>> outstanding_
      ABSL_GUARDED_BY(mu_);
};

// Holds "hold" runs until the input's calls are done (or the run is
// cancelled), so that later calls meet busy jobs.
class Gate {
 public:
  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void Hold(RunContext& ctx) {
    // Cancel() runs the callback under the cancellation's lock; it only
    // takes ours, and we never call into the cancellation holding ours.
    bool cancelled = false;
    const Cancellation::CallbackId id =
        ctx.cancellation().AddCallback([this, &cancelled] {
          absl::MutexLock lock(&mu_);
          cancelled = true;
        });
    {
      absl::MutexLock lock(&mu_);
      auto released = [this, &cancelled]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return open_ || cancelled;
      };
      // A timeout (deadline) ends the wait too.
      mu_.AwaitWithDeadline(absl::Condition(&released), ctx.deadline());
    }
    ctx.cancellation().RemoveCallback(id);
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

struct World {
  HandlerRegistry registry;
  CountingSink sink;
  Gate gate;
  std::unique_ptr<Executor> executor;
  std::string log_path;
  // Log ids ever admitted. A run's log id is released just after its
  // result is reported, so a repeat refusal is also right for an id of an
  // earlier input whose release has not happened yet.
  absl::flat_hash_set<int64_t> ever_admitted;
  // The last log id given to a manual trigger (log_id 0).
  int64_t next_manual_log_id = int64_t{1} << 62;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    w->log_path = fuzz::ScratchDir("run-admission");
    auto reg = [w](const char* name, std::function<void(RunContext&)> f) {
      FUZZ_CHECK(w->registry.Register(name, std::move(f)).ok(), "%s", name);
    };
    reg("echo", [](RunContext& ctx) {
      ctx.Log(ctx.params());
      ctx.Success(ctx.params());
    });
    reg("fail", [](RunContext& ctx) { ctx.Fail(ctx.params()); });
    reg("throw", [](RunContext& ctx) -> void {
      throw std::runtime_error(ctx.params());
    });
    reg("hold", [w](RunContext& ctx) { w->gate.Hold(ctx); });
    ExecutorOptions options;
    options.log_path = w->log_path;
    options.log_retention_days = 0;  // Fuzzed dates must stay put.
    options.idle_timeout = absl::Milliseconds(1);
    options.max_queue_depth = 3;
    options.max_running = 64;
    absl::StatusOr<std::unique_ptr<Executor>> executor =
        Executor::Create(options, &w->registry, &w->sink);
    FUZZ_CHECK(executor.ok(), "Executor::Create: %s",
               executor.status().ToString().c_str());
    w->executor = *std::move(executor);
    return w;
  }();
  return *world;
}

// The documented rules (validation.h), read independently: the names of
// the fields `r` breaks.
std::set<std::string> BadFields(const v1::RunRequest& r) {
  std::set<std::string> bad;
  if (r.job_id() <= 0) bad.insert("job_id");
  // 0 is a manual trigger's (the API edge picks the id and the time).
  if (r.log_id() < 0) bad.insert("log_id");
  if (r.log_date_time() != 0 &&
      (r.log_date_time() < 1 || r.log_date_time() >= kMaxLogDateTimeMs)) {
    bad.insert("log_date_time");
  }
  if (r.executor_block_strategy() < 0 || r.executor_block_strategy() > 3) {
    bad.insert("executor_block_strategy");
  }
  if (r.glue_type() < 0 || r.glue_type() > 8) bad.insert("glue_type");
  if (r.executor_timeout() < 0) bad.insert("executor_timeout");
  if (r.glue_updatetime() < 0) bad.insert("glue_updatetime");
  if (r.broadcast_index() < 0) bad.insert("broadcast_index");
  if (r.broadcast_total() < 0) bad.insert("broadcast_total");
  if (r.broadcast_total() == 0 && r.broadcast_index() != 0) {
    bad.insert("broadcast_index");
  }
  if (r.broadcast_total() > 0 && r.broadcast_index() >= r.broadcast_total()) {
    bad.insert("broadcast_index");
  }
  const std::string& h = r.executor_handler();
  if (h.size() > 255) bad.insert("executor_handler");
  for (unsigned char c : h) {
    if (c < 0x20 || c == 0x7f) bad.insert("executor_handler");
  }
  if ((r.glue_type() == 0 || r.glue_type() == 1) && h.empty()) {
    bad.insert("executor_handler");
  }
  if (r.executor_params().size() > 64 * 1024) bad.insert("executor_params");
  // A script gets params as argv[1], which a NUL would cut.
  if (r.glue_type() > 1 &&
      r.executor_params().find('\0') != std::string::npos) {
    bad.insert("executor_params");
  }
  if (r.glue_source().size() > 1024 * 1024) bad.insert("glue_source");
  return bad;
}

int64_t SomeId(FuzzedDataProvider& in, int64_t small_max) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
    case 1:
      return in.ConsumeIntegralInRange<int64_t>(1, small_max);
    case 2:
      return in.PickValueInArray<int64_t>(
          {0, -1, std::numeric_limits<int64_t>::min(),
           std::numeric_limits<int64_t>::max()});
    default:
      return in.ConsumeIntegral<int64_t>();
  }
}

int64_t SomeLogDateTime(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
    case 1:
      return kRecentMs + in.ConsumeIntegralInRange<int64_t>(0, 3) * 86400000;
    case 2:
      return in.PickValueInArray<int64_t>(
          {0, 1, -1, kMaxLogDateTimeMs - 1, kMaxLogDateTimeMs,
           std::numeric_limits<int64_t>::max()});
    default:
      return in.ConsumeIntegral<int64_t>();
  }
}

int32_t SomeInt32(FuzzedDataProvider& in, int32_t small_max) {
  return in.ConsumeBool() ? in.ConsumeIntegralInRange<int32_t>(0, small_max)
                          : in.ConsumeIntegral<int32_t>();
}

std::string SomeString(FuzzedDataProvider& in, size_t limit) {
  if (in.ConsumeIntegralInRange(0, 7) == 0) {
    // Just over or at the limit, without spending input on it.
    const char fill = in.ConsumeIntegral<char>();
    return std::string(limit + in.ConsumeIntegralInRange(0, 1), fill);
  }
  return in.ConsumeRandomLengthString(64);
}

v1::RunRequest BuildRunRequest(FuzzedDataProvider& in) {
  v1::RunRequest r;
  r.set_job_id(SomeId(in, 4));
  r.set_log_id(SomeId(in, 12));
  r.set_log_date_time(SomeLogDateTime(in));
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0:
    case 1:
      r.set_executor_handler(in.PickValueInArray<const char*>(
          {"echo", "fail", "throw", "hold", "nope"}));
      break;
    case 2:
      r.set_executor_handler(SomeString(in, kMaxHandlerNameBytes));
      break;
    default:
      r.set_executor_handler("hold");
      break;
  }
  r.set_executor_params(SomeString(in, kMaxParamsBytes));
  r.set_executor_block_strategy(
      static_cast<v1::BlockStrategy>(SomeInt32(in, 4)));
  r.set_executor_timeout(in.ConsumeBool() ? 0 : in.ConsumeIntegral<int32_t>());
  r.set_glue_type(in.ConsumeIntegralInRange(0, 3) != 0
                      ? v1::BEAN
                      : static_cast<v1::GlueType>(SomeInt32(in, 9)));
  if (in.ConsumeBool()) r.set_glue_source(SomeString(in, kMaxGlueSourceBytes));
  if (in.ConsumeBool()) r.set_glue_updatetime(in.ConsumeIntegral<int64_t>());
  if (in.ConsumeBool()) {
    r.set_broadcast_index(SomeInt32(in, 3));
    r.set_broadcast_total(SomeInt32(in, 3));
  }
  return r;
}

// Runs the request as the service does and checks the answers.
void DoRun(World& w, const v1::RunRequest& request, std::set<int64_t>* admitted,
           std::vector<Trigger>* logs) {
  const std::set<std::string> bad = BadFields(request);
  const absl::Status valid = ValidateRunRequest(request);
  absl::StatusOr<Trigger> trigger = ToTrigger(request);
  FUZZ_CHECK(valid == trigger.status(), "ValidateRunRequest '%s' != ToTrigger",
             valid.ToString().c_str());
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument, "%s",
               valid.ToString().c_str());
    FUZZ_CHECK(!bad.empty(), "refused a valid request: %s",
               valid.ToString().c_str());
    const std::string msg(valid.message());
    const std::string field = msg.substr(0, msg.find(' '));
    FUZZ_CHECK(bad.count(field) == 1, "'%s' names no bad field",
               msg.substr(0, 200).c_str());
    return;
  }
  FUZZ_CHECK(bad.empty(), "accepted a request with a bad %s",
             bad.begin()->c_str());
  const Trigger& t = *trigger;
  FUZZ_CHECK(
      t.shard_total >= 1 && t.shard_index >= 0 && t.shard_index < t.shard_total,
      "shard %d/%d", t.shard_index, t.shard_total);
  FUZZ_CHECK((t.glue_type == GlueType::kBean) == !t.handler.empty(),
             "handler '%s' for %s", t.handler.c_str(),
             GlueTypeName(t.glue_type));
  FUZZ_CHECK(t.timeout >= absl::ZeroDuration(), "negative timeout");
  FUZZ_CHECK(t.log_id == request.log_id() &&
                 t.log_date_time == request.log_date_time(),
             "ids changed by validation");
  // A manual trigger: fill in what the API edge would (a fresh id above
  // the fuzzed ones, the current time) before the core sees it.
  if (t.log_id == 0) trigger->log_id = ++w.next_manual_log_id;
  if (t.log_date_time == 0) {
    trigger->log_date_time = absl::ToUnixMillis(absl::Now());
  }

  const int64_t accepted_before = w.sink.accepted_calls();
  const absl::Status s = w.executor->Run(*trigger);
  FUZZ_CHECK(w.sink.accepted_calls() - accepted_before == (s.ok() ? 1 : 0),
             "Run %s, but Accepted was called %ld times", s.ToString().c_str(),
             static_cast<long>(w.sink.accepted_calls() - accepted_before));
  const bool known = t.handler == "echo" || t.handler == "fail" ||
                     t.handler == "throw" || t.handler == "hold";
  if (t.glue_type == GlueType::kGroovy) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kUnimplemented, "groovy: %s",
               s.ToString().c_str());
  } else if (t.glue_type != GlueType::kBean) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kFailedPrecondition &&
                   absl::StrContains(s.message(), "script jobs are disabled"),
               "script: %s", s.ToString().c_str());
  } else if (!known) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kNotFound &&
                   s.message() ==
                       absl::StrCat("job handler [", t.handler, "] not found."),
               "unknown handler: %s", s.ToString().c_str());
  } else if (s.code() == absl::StatusCode::kFailedPrecondition) {
    const bool repeat =
        s.message() == absl::StrCat("repeat trigger job, logId:", t.log_id);
    const bool discard = s.message() == "block strategy effect: Discard Later";
    FUZZ_CHECK(
        (repeat && w.ever_admitted.contains(t.log_id)) ||
            (discard && t.block_strategy == BlockStrategy::kDiscardLater),
        "refusal: %s", s.ToString().c_str());
  } else {
    FUZZ_CHECK(s.ok() || s.code() == absl::StatusCode::kResourceExhausted,
               "Run: %s", s.ToString().c_str());
  }
  if (s.ok()) {
    admitted->insert(t.log_id);
    w.ever_admitted.insert(t.log_id);
    logs->push_back(*trigger);
  }
}

void DoKill(World& w, FuzzedDataProvider& in) {
  v1::KillRequest request;
  request.set_job_id(SomeId(in, 4));
  request.set_log_id(in.ConsumeBool() ? 0 : SomeId(in, 12));
  const absl::Status valid = ValidateKillRequest(request);
  const bool bad = request.job_id() <= 0 || request.log_id() < 0;
  FUZZ_CHECK(valid.ok() != bad, "Kill validation: %s",
             valid.ToString().c_str());
  if (!valid.ok()) return;
  absl::StatusOr<std::string> killed =
      w.executor->Kill(request.job_id(), request.log_id());
  FUZZ_CHECK(
      killed.ok() || (request.log_id() != 0 &&
                      killed.status().code() == absl::StatusCode::kNotFound),
      "Kill: %s", killed.status().ToString().c_str());
}

void DoIdleBeat(World& w, FuzzedDataProvider& in) {
  v1::IdleBeatRequest request;
  request.set_job_id(SomeId(in, 4));
  const absl::Status valid = ValidateIdleBeatRequest(request);
  FUZZ_CHECK(valid.ok() == (request.job_id() > 0), "IdleBeat validation: %s",
             valid.ToString().c_str());
  if (!valid.ok()) return;
  const absl::Status s = w.executor->IdleBeat(request.job_id());
  FUZZ_CHECK(
      s.ok() || (s.code() == absl::StatusCode::kFailedPrecondition &&
                 s.message() == "job thread is running or has trigger queue"),
      "IdleBeat: %s", s.ToString().c_str());
}

void DoLog(World& w, FuzzedDataProvider& in,
           const std::set<int64_t>& admitted) {
  v1::LogRequest request;
  request.set_log_id(SomeId(in, 12));
  request.set_log_date_time(SomeLogDateTime(in));
  request.set_from_line_num(SomeInt32(in, 3));
  const absl::Status valid = ValidateLogRequest(request);
  const bool bad = request.log_id() <= 0 || request.log_date_time() < 1 ||
                   request.log_date_time() >= kMaxLogDateTimeMs ||
                   request.from_line_num() < 1;
  FUZZ_CHECK(valid.ok() != bad, "Log validation: %s", valid.ToString().c_str());
  if (!valid.ok()) return;
  absl::StatusOr<Executor::LogRead> read = w.executor->ReadLog(
      request.log_date_time(), request.log_id(), request.from_line_num());
  if (read.ok()) {
    FUZZ_CHECK(IsValidUtf8(read->page.content), "a Log page is not UTF-8");
    FUZZ_CHECK(read->page.to_line_num >= request.from_line_num() - 1,
               "to_line_num %d", read->page.to_line_num);
    return;
  }
  FUZZ_CHECK(read.status().code() == absl::StatusCode::kNotFound, "Log: %s",
             read.status().ToString().c_str());
  if (admitted.count(request.log_id()) == 0) {
    // No run of that id this input: its log must not appear.
    const std::string path =
        RunLogPath(w.log_path, request.log_date_time(), request.log_id());
    struct stat st;
    FUZZ_CHECK(stat(path.c_str(), &st) != 0, "Log created %s", path.c_str());
  }
}

// Removes the logs of this input's runs, so the scratch dir stays small.
void RemoveLogs(const World& w, const std::vector<Trigger>& runs) {
  for (const Trigger& t : runs) {
    const std::string path = RunLogPath(w.log_path, t.log_date_time, t.log_id);
    unlink(path.c_str());
    unlink((path.substr(0, path.size() - 4) + ".idx").c_str());
    rmdir(path.substr(0, path.find_last_of('/')).c_str());
  }
}

}  // namespace
}  // namespace xxljob

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  xxljob::fuzz::QuietLogging();
  xxljob::TheWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xxljob;  // NOLINT: a file of its own
  World& w = TheWorld();
  FuzzedDataProvider in(data, size);
  std::set<int64_t> admitted;
  std::vector<Trigger> runs;
  w.gate.Close();
  for (int call = 0; call < 16 && in.remaining_bytes() > 0; ++call) {
    switch (in.ConsumeIntegralInRange(0, 7)) {
      case 0: {  // The wire form.
        v1::RunRequest request;
        const std::string bytes = in.ConsumeRandomLengthString(512);
        if (request.ParseFromString(bytes)) DoRun(w, request, &admitted, &runs);
        break;
      }
      case 1:
      case 2:
      case 3:
        DoRun(w, BuildRunRequest(in), &admitted, &runs);
        break;
      case 4:
        DoKill(w, in);
        break;
      case 5:
        DoIdleBeat(w, in);
        break;
      default:
        DoLog(w, in, admitted);
        break;
    }
  }
  w.gate.Open();
  FUZZ_CHECK(w.sink.AwaitAllFinished(kResultTimeout),
             "accepted triggers without a result after %s",
             absl::FormatDuration(kResultTimeout).c_str());
  const Executor::Load load = w.executor->load();
  FUZZ_CHECK(load.running == 0 && load.queued == 0,
             "all results in, yet %ld running and %ld queued",
             static_cast<long>(load.running), static_cast<long>(load.queued));
  RemoveLogs(w, runs);
  return 0;
}

#include "server/grpc/tail_log_reactor.h"

#include <exception>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "glog/logging.h"
#include "rpc/grpc_status.h"
#include "server/api/reply.h"

namespace xxljob {
namespace {

// The client will never see it: the call is gone. It names the cause in
// gRPC's own traces.
grpc::Status ClientGone() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "TailLog cancelled");
}

}  // namespace

TailLogReactor::TailLogReactor(Executor* executor,
                               const v1::LogRequest& request,
                               TailStreamSlot slot)
    : executor_(executor),
      log_date_time_(request.log_date_time()),
      log_id_(request.log_id()),
      slot_(std::move(slot)),
      next_line_(request.from_line_num()) {
  // Watch before the first read: a line written between the read and the
  // watch would otherwise wake nobody.
  watch_ = executor_->WatchLog(log_id_, [this] { OnLogChanged(); });
  {
    absl::MutexLock lock(&mu_);
    stepping_ = true;
  }
  // gRPC holds what the first step starts (writes, Finish) until the
  // service has returned this reactor to it.
  Step();
}

void TailLogReactor::Step() {
  for (;;) {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = cancelled_;
      // Cleared before the read: a change from now on is seen by this read
      // or flagged for the next one.
      changed_ = false;
    }
    Next next = cancelled ? Next::kFail : ReadPage();
    if (cancelled) fail_status_ = ClientGone();
    {
      absl::MutexLock lock(&mu_);
      if (next == Next::kNothing) {
        if (cancelled_) {
          next = Next::kFail;
          fail_status_ = ClientGone();
        } else if (changed_) {
          continue;  // The log changed during the read: read again.
        } else {
          stepping_ = false;
          ArmAlarmLocked();
          return;
        }
      }
      stepping_ = false;
      if (next == Next::kWrite) {
        write_in_flight_ = true;
      } else {
        finished_ = true;
      }
    }
    // Started without the lock: gRPC may run reactions on this thread.
    switch (next) {
      case Next::kWrite:
        StartWrite(&response_);
        break;
      case Next::kLast:
        VLOG(1) << "[log " << log_id_ << "] TailLog ends at line "
                << response_.to_line_num() << ", code " << response_.code();
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        break;
      case Next::kFail:
        Finish(fail_status_);
        break;
      case Next::kNothing:
        break;  // Handled above.
    }
    return;
  }
}

TailLogReactor::Next TailLogReactor::ReadPage() {
  try {
    // Asked before the read: a run active then and still without a log is
    // queued, and the watch wakes us when it writes its first line or ends.
    const bool active = executor_->IsActive(log_id_);
    absl::StatusOr<Executor::LogRead> read =
        executor_->ReadLog(log_date_time_, log_id_, next_line_, kMaxPageBytes);
    if (!read.ok()) {
      if (active && read.status().code() == absl::StatusCode::kNotFound) {
        return Next::kNothing;
      }
      // Like Log: a business refusal (e.g. "log file not found") is a final
      // page with code 500; anything else fails the call.
      Reply reply = ToReply(read.status());
      if (!reply.failure.ok()) {
        fail_status_ = ToGrpcStatus(reply.failure);
        return Next::kFail;
      }
      response_.Clear();
      response_.set_code(reply.code);
      response_.set_msg(std::move(reply.msg));
      response_.set_from_line_num(next_line_);
      response_.set_to_line_num(next_line_ - 1);
      return Next::kLast;
    }
    LogPage& page = read->page;
    if (page.to_line_num < page.from_line_num && !read->is_end) {
      return Next::kNothing;
    }
    response_.Clear();
    response_.set_code(kResponseCodeSuccess);
    response_.set_from_line_num(page.from_line_num);
    response_.set_to_line_num(page.to_line_num);
    response_.set_log_content(std::move(page.content));
    response_.set_is_end(read->is_end);
    next_line_ = page.to_line_num + 1;
    if (!read->is_end) return Next::kWrite;
    if (std::optional<RunResult> result = executor_->RecentResult(log_id_)) {
      response_.set_handle_code(result->handle_code);
      response_.set_handle_msg(std::move(result->handle_msg));
    }
    return Next::kLast;
  } catch (const std::exception& e) {
    // Only bad_alloc and the like: the core reports trouble as statuses.
    LOG_EVERY_N(ERROR, 100)
        << "[log " << log_id_ << "] TailLog threw " << e.what();
    fail_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    return Next::kFail;
  }
}

void TailLogReactor::OnWriteDone(bool ok) {
  bool step = false;
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    // !ok: the stream is broken (the client went away).
    if (ok && !cancelled_) {
      stepping_ = true;
      step = true;
    } else {
      finished_ = true;
    }
  }
  if (step) {
    Step();
  } else {
    Finish(ClientGone());
  }
}

void TailLogReactor::OnLogChanged() {
  absl::MutexLock lock(&mu_);
  changed_ = true;
  // Busy (reading or writing)? `changed_` makes it read again before it
  // goes idle. Idle? Its alarm is the way back onto a gRPC thread.
  if (alarm_armed_) KickAlarmLocked();
}

void TailLogReactor::OnAlarm(bool fired) {
  enum { kStep, kFinish, kDelete, kNone } action;
  {
    absl::MutexLock lock(&mu_);
    alarm_armed_ = false;
    alarm_kicked_ = false;
    if (done_) {
      action = kDelete;
    } else if (finished_) {
      action = kNone;  // Not expected: Finish is never called while armed.
    } else if (cancelled_) {
      finished_ = true;
      action = kFinish;
    } else {
      stepping_ = true;
      action = kStep;
    }
  }
  VLOG_IF(3, fired) << "[log " << log_id_ << "] TailLog fallback re-read";
  // Nothing touches `this` after these: OnDone may delete it once Finish or
  // a write has been started.
  switch (action) {
    case kStep:
      Step();
      break;
    case kFinish:
      Finish(ClientGone());
      break;
    case kDelete:
      delete this;
      break;
    case kNone:
      break;
  }
}

void TailLogReactor::OnCancel() {
  bool finish_now = false;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (finished_) return;
    if (alarm_armed_) {
      KickAlarmLocked();  // Its callback finishes the call.
    } else if (!stepping_ && !write_in_flight_) {
      // Not expected (an unfinished stream is always reading, writing or
      // armed), but a call must never be left unfinished.
      finished_ = true;
      finish_now = true;
    }
    // Reading or writing: that step sees `cancelled_` (a write completes
    // with ok == false) and finishes the call.
  }
  if (finish_now) Finish(ClientGone());
}

void TailLogReactor::OnDone() {
  // First, and without `mu_` (the watch takes it under the registry's
  // lock): once it returns, no watch callback can reach this reactor.
  executor_->UnwatchLog(watch_);
  slot_.Release();
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    if (alarm_armed_) {
      // Not expected (see OnAlarm), but the alarm's callback still refers
      // to `this`: let it do the deleting.
      KickAlarmLocked();
      return;
    }
  }
  delete this;
}

void TailLogReactor::ArmAlarmLocked() {
  // The previous alarm has run its callback (possibly the one running this
  // very code), so replacing it only drops its last reference from here.
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_armed_ = true;
  alarm_kicked_ = false;
  alarm_->Set(absl::ToChronoTime(absl::Now() + kFallbackPoll),
              [this](bool fired) { OnAlarm(fired); });
}

void TailLogReactor::KickAlarmLocked() {
  if (alarm_kicked_) return;
  alarm_kicked_ = true;
  // The callback runs promptly with fired == false, on a gRPC executor
  // thread (never inside Cancel), so holding `mu_` here is safe.
  alarm_->Cancel();
}

}  // namespace xxljob

#include "server/api/validation.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace xxljob {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", what));
}

absl::Status CheckPositive(absl::string_view field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be > 0, got ", value));
}

absl::Status CheckNotNegative(absl::string_view field, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be >= 0, got ", value));
}

absl::Status CheckLogDateTime(int64_t value) {
  if (value > 0 && value < kMaxLogDateTimeMs) return absl::OkStatus();
  return Invalid("log_date_time",
                 absl::StrCat("must be epoch milliseconds in [1, ",
                              kMaxLogDateTimeMs, "), got ", value));
}

absl::Status CheckSize(absl::string_view field, absl::string_view value,
                       size_t limit) {
  if (value.size() <= limit) return absl::OkStatus();
  return Invalid(
      field, absl::StrCat("is ", value.size(), " bytes; the limit is ", limit));
}

// Handler names end up in log lines and messages; a control character there
// could forge lines or break terminals.
absl::Status CheckHandlerName(absl::string_view name) {
  if (absl::Status s =
          CheckSize("executor_handler", name, kMaxHandlerNameBytes);
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      return Invalid("executor_handler",
                     absl::StrCat("contains a control character at byte ", i));
    }
  }
  return absl::OkStatus();
}

bool IsBean(v1::GlueType type) {
  return type == v1::BEAN || type == v1::GLUE_TYPE_UNSPECIFIED;
}

// A script receives params as its first argument, a C string: a NUL would
// silently cut it (bean handlers get the whole string, so they may have
// one).
absl::Status CheckScriptParams(const v1::RunRequest& request) {
  const size_t nul = request.executor_params().find('\0');
  if (nul == std::string::npos) return absl::OkStatus();
  return Invalid("executor_params",
                 absl::StrCat("contains a NUL byte at byte ", nul,
                              "; a script job gets params as its argument $1, "
                              "which would end there"));
}

absl::Status CheckShard(int32_t index, int32_t total) {
  if (absl::Status s = CheckNotNegative("broadcast_index", index); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckNotNegative("broadcast_total", total); !s.ok()) {
    return s;
  }
  if (total == 0 && index != 0) {
    return Invalid("broadcast_index",
                   absl::StrCat("must be 0 when broadcast_total is 0 (not a "
                                "broadcast), got ",
                                index));
  }
  if (total > 0 && index >= total) {
    return Invalid(
        "broadcast_index",
        absl::StrCat("must be < broadcast_total (", total, "), got ", index));
  }
  return absl::OkStatus();
}

absl::Status CheckEnums(const v1::RunRequest& request) {
  if (!v1::BlockStrategy_IsValid(request.executor_block_strategy())) {
    return Invalid(
        "executor_block_strategy",
        absl::StrCat("has unknown value ", request.executor_block_strategy()));
  }
  if (!v1::GlueType_IsValid(request.glue_type())) {
    return Invalid("glue_type",
                   absl::StrCat("has unknown value ", request.glue_type()));
  }
  return absl::OkStatus();
}

BlockStrategy ToBlockStrategy(v1::BlockStrategy strategy) {
  switch (strategy) {
    case v1::DISCARD_LATER:
      return BlockStrategy::kDiscardLater;
    case v1::COVER_EARLY:
      return BlockStrategy::kCoverEarly;
    default:  // SERIAL_EXECUTION and BLOCK_STRATEGY_UNSPECIFIED.
      return BlockStrategy::kSerial;
  }
}

GlueType ToGlueType(v1::GlueType type) {
  switch (type) {
    case v1::GLUE_GROOVY:
      return GlueType::kGroovy;
    case v1::GLUE_SHELL:
      return GlueType::kShell;
    case v1::GLUE_PYTHON:
      return GlueType::kPython;
    case v1::GLUE_PYTHON2:
      return GlueType::kPython2;
    case v1::GLUE_NODEJS:
      return GlueType::kNodejs;
    case v1::GLUE_PHP:
      return GlueType::kPhp;
    case v1::GLUE_POWERSHELL:
      return GlueType::kPowershell;
    default:  // BEAN and GLUE_TYPE_UNSPECIFIED.
      return GlueType::kBean;
  }
}

}  // namespace

absl::Status ValidateRunRequest(const v1::RunRequest& request,
                                const FieldLimits& limits) {
  // Cheap identity checks first, so the message names the most basic fault.
  const absl::Status checks[] = {
      CheckPositive("job_id", request.job_id()),
      // 0 is a manual trigger's: the API picks the id and the time.
      CheckNotNegative("log_id", request.log_id()),
      request.log_date_time() == 0 ? absl::OkStatus()
                                   : CheckLogDateTime(request.log_date_time()),
      CheckEnums(request),
      CheckNotNegative("executor_timeout", request.executor_timeout()),
      CheckNotNegative("glue_updatetime", request.glue_updatetime()),
      CheckShard(request.broadcast_index(), request.broadcast_total()),
      CheckHandlerName(request.executor_handler()),
      CheckSize("executor_params", request.executor_params(),
                limits.max_params_bytes),
      CheckSize("glue_source", request.glue_source(),
                limits.max_glue_source_bytes),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  if (IsBean(request.glue_type()) && request.executor_handler().empty()) {
    return Invalid("executor_handler", "must not be empty for BEAN jobs");
  }
  if (!IsBean(request.glue_type())) return CheckScriptParams(request);
  return absl::OkStatus();
}

absl::StatusOr<Trigger> ToTrigger(const v1::RunRequest& request,
                                  const FieldLimits& limits) {
  if (absl::Status s = ValidateRunRequest(request, limits); !s.ok()) return s;
  Trigger trigger;
  trigger.job_id = request.job_id();
  trigger.log_id = request.log_id();
  trigger.log_date_time = request.log_date_time();
  trigger.glue_type = ToGlueType(request.glue_type());
  if (trigger.glue_type == GlueType::kBean) {
    trigger.handler = request.executor_handler();
  }
  trigger.params = request.executor_params();
  trigger.block_strategy = ToBlockStrategy(request.executor_block_strategy());
  trigger.timeout = absl::Seconds(request.executor_timeout());
  trigger.glue_source = request.glue_source();
  trigger.glue_updatetime = request.glue_updatetime();
  if (request.broadcast_total() > 0) {
    trigger.shard_index = request.broadcast_index();
    trigger.shard_total = request.broadcast_total();
  } else {
    trigger.shard_index = 0;
    trigger.shard_total = 1;
  }
  return trigger;
}

absl::Status ValidateIdleBeatRequest(const v1::IdleBeatRequest& request) {
  return CheckPositive("job_id", request.job_id());
}

absl::Status ValidateKillRequest(const v1::KillRequest& request) {
  if (absl::Status s = CheckPositive("job_id", request.job_id()); !s.ok()) {
    return s;
  }
  return CheckNotNegative("log_id", request.log_id());
}

absl::Status ValidateLogRequest(const v1::LogRequest& request) {
  const absl::Status checks[] = {
      CheckPositive("log_id", request.log_id()),
      CheckLogDateTime(request.log_date_time()),
      CheckPositive("from_line_num", request.from_line_num()),
  };
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace xxljob

// Validation of every Executor request (SPEC §2, §8) and the conversion of a
// RunRequest into the core's Trigger. The API edge calls these before it
// touches the core, so the core sees only well-formed values.
//
// Every error is INVALID_ARGUMENT with a message that names the field and
// says what was wrong, e.g. "job_id must be > 0, got -3". Stateless and
// thread-safe.
#ifndef XXLJOB_SERVER_API_VALIDATION_H_
#define XXLJOB_SERVER_API_VALIDATION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/api/api_options.h"
#include "server/core/trigger.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {

// log_date_time (epoch ms) must be in [1, kMaxLogDateTimeMs): it names the
// run's log folder (yyyy-MM-dd in the executor's local time zone), and from
// year 10000 on the folder would not have that shape. The bound is the
// first moment that is year 10000 somewhere (10000-01-01T00:00 at UTC+14,
// the easternmost zone), so all of year 9999 is accepted wherever the
// executor runs, up to 9999-12-31T10:00Z. 0 is refused by Log (the admin
// always stamps a trigger, and a 1970-01-01 folder would be removed by log
// retention at once); on Run it marks a manual trigger, which gets the
// current time.
inline constexpr int64_t kMaxLogDateTimeMs =
    253402300800000 - 14 * 3600 * 1000;  // 10000-01-01Z - 14 h

// Run: job_id > 0; log_id >= 0 and log_date_time 0 or as above (0 is a
// manual trigger's: the caller fills them in before the core sees them);
// executor_timeout, glue_updatetime, broadcast_index and broadcast_total >= 0;
// with broadcast_total > 0, broadcast_index < broadcast_total, and with
// broadcast_total == 0 (not a broadcast), broadcast_index == 0; known
// executor_block_strategy and glue_type; executor_handler non-empty for BEAN
// (or GLUE_TYPE_UNSPECIFIED), and, whatever the glue type, at most
// kMaxHandlerNameBytes with no ASCII control character; executor_params and
// glue_source within `limits` (the message names the field, its size and the
// limit); for glue types, executor_params without a NUL byte (a script gets
// it as argv[1], which a NUL would cut; bean jobs may have NULs). An empty
// glue_source is accepted (the
// script does nothing), and GLUE_GROOVY is well-formed (the core refuses it
// with code 500, "not supported").
absl::Status ValidateRunRequest(const v1::RunRequest& request,
                                const FieldLimits& limits = {});

// Validates `request` as above and converts it. Conversions:
// BLOCK_STRATEGY_UNSPECIFIED -> kSerial, GLUE_TYPE_UNSPECIFIED -> kBean,
// executor_timeout seconds -> a Duration (0 = no limit), broadcast_total 0 ->
// shard 0/1 (what non-broadcast runs see). For glue types the handler name
// is dropped (the proto says glue types ignore it).
absl::StatusOr<Trigger> ToTrigger(const v1::RunRequest& request,
                                  const FieldLimits& limits = {});

// IdleBeat: job_id > 0.
absl::Status ValidateIdleBeatRequest(const v1::IdleBeatRequest& request);

// Kill: job_id > 0; log_id >= 0 (0 = the whole job).
absl::Status ValidateKillRequest(const v1::KillRequest& request);

// Log (and TailLog): log_id > 0; log_date_time as for Run; from_line_num >= 1.
absl::Status ValidateLogRequest(const v1::LogRequest& request);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_API_VALIDATION_H_

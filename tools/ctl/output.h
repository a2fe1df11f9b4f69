// How xxl-ctl prints: one JSON object per line for scripts (--json), short
// lines for humans. Pure formatting; nothing here talks to the executor.
#ifndef XXLJOB_TOOLS_CTL_OUTPUT_H_
#define XXLJOB_TOOLS_CTL_OUTPUT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob::ctl {

// `message` as one line of proto3 JSON: field names as in the .proto, zero
// values printed (a script can rely on every field being there), int64s as
// strings (proto3's JSON mapping).
std::string ToJson(const google::protobuf::Message& message);

// A RunResponse with the run it is about, since xxl-ctl may have chosen the
// log id: {"job_id":"1","log_id":"...","log_date_time":"...","code":200,...}.
std::string RunToJson(const v1::RunRequest& request,
                      const v1::RunResponse& response);

// A failed call: {"error":{"code":"UNAVAILABLE","message":"..."}}.
std::string ErrorToJson(const absl::Status& status);

// "1h2m3s"-style uptime.
std::string FormatUptime(int64_t uptime_ms);

// "up: app A at H:P, version V, uptime U; N/MAX job threads, R/MAX running,
// Q queued (at most D per job), T/MAX log streams; limits in bytes: request
// B, handler name H, params P, glue source G, run log L" (one line). Bounds
// the executor did not report (an older version) are left out.
std::string DescribeBeat(const v1::BeatResponse& beat);

// "refused (500): <msg>", or "refused (500)" when the message is empty.
std::string DescribeRefusal(int32_t code, const std::string& msg);

// "result 200: <msg>", with "(unknown: the executor no longer remembers it)"
// for code 0.
std::string DescribeResult(int32_t handle_code, const std::string& msg);

}  // namespace xxljob::ctl

#endif  // XXLJOB_TOOLS_CTL_OUTPUT_H_

#include "tools/ctl/output.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace xxljob::ctl {

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // Only fails for messages with unresolvable Any fields; ours have none.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}";
  }
  return json;
}

std::string RunToJson(const v1::RunRequest& request,
                      const v1::RunResponse& response) {
  // The response's JSON always has fields (code, msg, and the run's log_id
  // and log_date_time as the executor chose them), so it starts "{\"": the
  // job id goes in front, a string like every int64 in proto3 JSON.
  const std::string body = ToJson(response);
  return absl::StrCat("{\"job_id\":\"", request.job_id(), "\",",
                      body.substr(1));
}

std::string ErrorToJson(const absl::Status& status) {
  // Fixed key order, for humans reading it; the values are escaped by the
  // JSON printer (a google.protobuf.Value prints as a bare JSON string).
  auto quoted = [](absl::string_view text) {
    google::protobuf::Value value;
    value.set_string_value(std::string(text));
    return ToJson(value);
  };
  return absl::StrCat(
      "{\"error\":{\"code\":", quoted(absl::StatusCodeToString(status.code())),
      ",\"message\":", quoted(status.message()), "}}");
}

std::string FormatUptime(int64_t uptime_ms) {
  // Whole seconds: humans don't need the milliseconds.
  return absl::FormatDuration(
      absl::Trunc(absl::Milliseconds(uptime_ms), absl::Seconds(1)));
}

namespace {

// "use/max", or "use" when the executor did not report the bound (an older
// version).
std::string UseOf(int64_t use, int64_t max) {
  return max > 0 ? absl::StrCat(use, "/", max) : absl::StrCat(use);
}

}  // namespace

std::string DescribeBeat(const v1::BeatResponse& beat) {
  std::string text =
      absl::StrCat("up: app ", beat.app_name(), " at ",
                   beat.address().empty() ? "?" : beat.address(), ", version ",
                   beat.version(), ", uptime ", FormatUptime(beat.uptime_ms()),
                   "; ", UseOf(beat.job_threads(), beat.max_job_threads()),
                   " job threads, ", UseOf(beat.running(), beat.max_running()),
                   " running, ", beat.queued(), " queued");
  if (beat.max_queue_depth() > 0) {
    absl::StrAppend(&text, " (at most ", beat.max_queue_depth(), " per job)");
  }
  if (beat.max_tail_streams() > 0) {
    absl::StrAppend(&text, ", ",
                    UseOf(beat.tail_streams(), beat.max_tail_streams()),
                    " log streams");
  }
  if (beat.max_request_bytes() > 0) {
    absl::StrAppend(&text, "; limits in bytes: request ",
                    beat.max_request_bytes(), ", handler name ",
                    beat.max_handler_name_bytes(), ", params ",
                    beat.max_params_bytes(), ", glue source ",
                    beat.max_glue_source_bytes());
  }
  if (beat.max_run_log_bytes() > 0) {
    absl::StrAppend(&text, ", run log ", beat.max_run_log_bytes());
  }
  return text;
}

std::string DescribeRefusal(int32_t code, const std::string& msg) {
  if (msg.empty()) return absl::StrCat("refused (", code, ")");
  return absl::StrCat("refused (", code, "): ", msg);
}

std::string DescribeResult(int32_t handle_code, const std::string& msg) {
  if (handle_code == 0) {
    return "result unknown (the executor no longer remembers it; see the "
           "log's last line)";
  }
  if (msg.empty()) return absl::StrCat("result ", handle_code);
  return absl::StrCat("result ", handle_code, ": ", msg);
}

}  // namespace xxljob::ctl

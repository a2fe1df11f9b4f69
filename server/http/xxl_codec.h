// XXL-JOB's own HTTP protocol, executor side (SPEC §9): the JSON bodies of
// /beat, /idleBeat, /run (/trigger), /kill and /log turned into the API's
// requests, and the API's answers turned into XXL-JOB's envelope. Every
// generation's spelling is accepted on input (logDateTim and logDateTime,
// enum names); answers put a payload under both `content` (read by 2.x
// admins) and `data` (3.x), so one executor serves them all. No I/O here.
#ifndef XXLJOB_SERVER_HTTP_XXL_CODEC_H_
#define XXLJOB_SERVER_HTTP_XXL_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob {

// The message a refused token gets, as the reference executor words it.
inline constexpr char kWrongTokenMsg[] = "The access token is wrong.";

// Each decodes a request body (JSON as Gson writes it: unknown fields are
// ignored, null means absent, numbers may be strings). Errors:
// INVALID_ARGUMENT "invalid request body: <why>" for a body that is not a
// JSON object of the right field types, or an unknown enum name.
absl::StatusOr<v1::RunRequest> DecodeRun(absl::string_view body);
absl::StatusOr<v1::IdleBeatRequest> DecodeIdleBeat(absl::string_view body);
absl::StatusOr<v1::KillRequest> DecodeKill(absl::string_view body);
absl::StatusOr<v1::LogRequest> DecodeLog(absl::string_view body);

// The envelope of an answered call: code and msg of `response` (msg
// "Success" when code 200 and no message, as 3.x admins expect), with
// `payload`, when not empty, under both content and data.
std::string EncodeReply(int32_t code, absl::string_view msg,
                        absl::string_view payload = "");
// /log's envelope: the page under content and data when code is 200.
std::string EncodeLog(const v1::LogResponse& response);
// A call that failed (any non-OK status): code 500 and the status message;
// UNAUTHENTICATED gets kWrongTokenMsg.
std::string EncodeFailure(const absl::Status& status);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_HTTP_XXL_CODEC_H_

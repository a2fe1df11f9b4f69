#include "server/http/xxl_codec.h"

#include "absl/strings/str_cat.h"
#include "common/response_code.h"
#include "common/utf8.h"
#include "google/protobuf/util/json_util.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

namespace wire = ::xxljob::http::v1;
using google::protobuf::util::JsonParseOptions;
using google::protobuf::util::JsonPrintOptions;

// Decodes `body` into `message`. An empty body is an empty object (a Java
// client sends nothing for a request without fields).
template <typename Message>
absl::Status Parse(absl::string_view body, Message* message) {
  if (body.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::OkStatus();
  }
  JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), message,
      options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid request body: ", status.message().as_string()));
}

template <typename Message>
std::string Print(const Message& message) {
  JsonPrintOptions options;
  // Gson writes every primitive (0, false, ""); presence fields (msg,
  // content, data) only when set, as Gson omits nulls.
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

// "" -> the default (0); a known name -> its value; else an error naming
// the field.
template <typename Enum, typename Parser>
absl::StatusOr<Enum> EnumByName(absl::string_view field,
                                const std::string& name, Parser parse) {
  Enum value{};
  if (name.empty() || parse(name, &value)) return value;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid request body: ", field, " has unknown value \"",
                   name.substr(0, 64), "\""));
}

// True when protobuf's printer writes `text` as it is between quotes:
// printable ASCII other than what it escapes (quotes, backslash, and the
// HTML-sensitive <, >, &, =, ').
bool PrintsVerbatim(absl::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' ||
        c == '&' || c == '=' || c == '\'') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<v1::RunRequest> DecodeRun(absl::string_view body) {
  wire::TriggerParam in;
  if (absl::Status s = Parse(body, &in); !s.ok()) return s;
  absl::StatusOr<v1::BlockStrategy> strategy = EnumByName<v1::BlockStrategy>(
      "executorBlockStrategy", in.executor_block_strategy(),
      [](const std::string& n, v1::BlockStrategy* v) {
        return v1::BlockStrategy_Parse(n, v);
      });
  if (!strategy.ok()) return strategy.status();
  absl::StatusOr<v1::GlueType> glue = EnumByName<v1::GlueType>(
      "glueType", in.glue_type(), [](const std::string& n, v1::GlueType* v) {
        return v1::GlueType_Parse(n, v);
      });
  if (!glue.ok()) return glue.status();
  v1::RunRequest out;
  out.set_job_id(in.job_id());
  out.set_executor_handler(std::move(*in.mutable_executor_handler()));
  out.set_executor_params(std::move(*in.mutable_executor_params()));
  out.set_executor_block_strategy(*strategy);
  out.set_executor_timeout(in.executor_timeout());
  out.set_log_id(in.log_id());
  out.set_log_date_time(in.log_date_time());
  out.set_glue_type(*glue);
  out.set_glue_source(std::move(*in.mutable_glue_source()));
  out.set_glue_updatetime(in.glue_updatetime());
  out.set_broadcast_index(in.broadcast_index());
  out.set_broadcast_total(in.broadcast_total());
  return out;
}

absl::StatusOr<v1::IdleBeatRequest> DecodeIdleBeat(absl::string_view body) {
  wire::IdleBeatParam in;
  if (absl::Status s = Parse(body, &in); !s.ok()) return s;
  v1::IdleBeatRequest out;
  out.set_job_id(in.job_id());
  return out;
}

absl::StatusOr<v1::KillRequest> DecodeKill(absl::string_view body) {
  wire::KillParam in;
  if (absl::Status s = Parse(body, &in); !s.ok()) return s;
  v1::KillRequest out;
  out.set_job_id(in.job_id());
  out.set_log_id(in.log_id());
  return out;
}

absl::StatusOr<v1::LogRequest> DecodeLog(absl::string_view body) {
  wire::LogParam in;
  if (absl::Status s = Parse(body, &in); !s.ok()) return s;
  v1::LogRequest out;
  // 2.x/3.x send logDateTim, 3.5 logDateTime; a client sends one of them.
  out.set_log_date_time(in.log_date_tim() != 0 ? in.log_date_tim()
                                               : in.log_date_time());
  out.set_log_id(in.log_id());
  out.set_from_line_num(in.from_line_num());
  return out;
}

std::string EncodeReply(int32_t code, absl::string_view msg,
                        absl::string_view payload) {
  // Most answers (every beat, every accepted run) are a code and a short
  // plain message: written directly, byte for byte what the printer below
  // writes, without building a message and walking it.
  if (payload.empty() && PrintsVerbatim(msg)) {
    if (msg.empty() && code == kResponseCodeSuccess) msg = "Success";
    if (msg.empty()) return absl::StrCat(R"({"code":)", code, "}");
    return absl::StrCat(R"({"code":)", code, R"(,"msg":")", msg, R"("})");
  }
  wire::Return out;
  out.set_code(code);
  if (!msg.empty()) {
    // JSON strings must be UTF-8; a message may quote what a caller sent.
    out.set_msg(SanitizeUtf8(msg));
  } else if (code == kResponseCodeSuccess) {
    out.set_msg("Success");
  }
  if (!payload.empty()) {
    out.set_content(SanitizeUtf8(payload));
    out.set_data(SanitizeUtf8(payload));
  }
  return Print(out);
}

std::string EncodeLog(const v1::LogResponse& response) {
  wire::LogReturn out;
  out.set_code(response.code());
  if (response.code() != kResponseCodeSuccess) {
    out.set_msg(SanitizeUtf8(response.msg()));
    return Print(out);
  }
  out.set_msg("Success");
  wire::LogResult page;
  page.set_from_line_num(response.from_line_num());
  page.set_to_line_num(response.to_line_num());
  page.set_log_content(response.log_content());
  page.set_is_end(response.is_end());
  *out.mutable_data() = page;
  *out.mutable_content() = std::move(page);
  return Print(out);
}

std::string EncodeFailure(const absl::Status& status) {
  wire::Return out;
  out.set_code(kResponseCodeFail);
  out.set_msg(status.code() == absl::StatusCode::kUnauthenticated
                  ? std::string(kWrongTokenMsg)
                  : SanitizeUtf8(status.message()));
  return Print(out);
}

}  // namespace xxljob

#include "server/http/xxl_codec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::StatusIs;

TEST(XxlCodecTest, DecodesATriggerParamAsJavaSendsIt) {
  // As the 3.4.2 admin's Gson writes it (null fields omitted).
  absl::StatusOr<v1::RunRequest> r = DecodeRun(
      R"({"jobId":7,"executorHandler":"demoJobHandler","executorParams":"a<b=c",)"
      R"("executorBlockStrategy":"COVER_EARLY","executorTimeout":30,)"
      R"("logId":1234,"logDateTime":1732190000123,"glueType":"GLUE_SHELL",)"
      R"("glueSource":"echo hi","glueUpdatetime":1732190000000,)"
      R"("broadcastIndex":1,"broadcastTotal":3})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->job_id(), 7);
  EXPECT_EQ(r->executor_handler(), "demoJobHandler");
  EXPECT_EQ(r->executor_params(), "a<b=c");
  EXPECT_EQ(r->executor_block_strategy(), v1::COVER_EARLY);
  EXPECT_EQ(r->executor_timeout(), 30);
  EXPECT_EQ(r->log_id(), 1234);
  EXPECT_EQ(r->log_date_time(), 1732190000123);
  EXPECT_EQ(r->glue_type(), v1::GLUE_SHELL);
  EXPECT_EQ(r->glue_source(), "echo hi");
  EXPECT_EQ(r->glue_updatetime(), 1732190000000);
  EXPECT_EQ(r->broadcast_index(), 1);
  EXPECT_EQ(r->broadcast_total(), 3);
}

TEST(XxlCodecTest, AcceptsTwoXEscapesNullsStringNumbersAndUnknownFields) {
  // 2.4.2 escapes <, > and = as \u003c-style escapes; Java sends null for
  // unset fields; numbers may come as strings; newer admins add fields.
  absl::StatusOr<v1::RunRequest> r =
      DecodeRun(R"({"jobId":"7","executorHandler":"demoJobHandler",)"
                R"("executorParams":"a\u003cb\u003dc\u003e","glueSource":null,)"
                R"("glueType":null,"executorBlockStrategy":null,"logId":5,)"
                R"("logDateTime":1,"someNewField":{"deep":[1,2,3]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->job_id(), 7);
  EXPECT_EQ(r->executor_params(), "a<b=c>");
  EXPECT_EQ(r->glue_type(), v1::GLUE_TYPE_UNSPECIFIED);
  EXPECT_EQ(r->executor_block_strategy(), v1::BLOCK_STRATEGY_UNSPECIFIED);
  EXPECT_EQ(r->glue_source(), "");
}

TEST(XxlCodecTest, MissingFieldsTakeJavasDefaults) {
  absl::StatusOr<v1::RunRequest> r = DecodeRun(R"({"jobId":1})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->log_id(), 0);
  EXPECT_EQ(r->executor_timeout(), 0);
  EXPECT_EQ(r->broadcast_total(), 0);
  // An empty body is an object without fields.
  EXPECT_TRUE(DecodeIdleBeat("").ok());
  EXPECT_TRUE(DecodeKill("  \n").ok());
}

TEST(XxlCodecTest, LogTakesEitherGenerationsTimeField) {
  absl::StatusOr<v1::LogRequest> two =
      DecodeLog(R"({"logDateTim":1732190000123,"logId":9,"fromLineNum":3})");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->log_date_time(), 1732190000123);
  EXPECT_EQ(two->log_id(), 9);
  EXPECT_EQ(two->from_line_num(), 3);
  absl::StatusOr<v1::LogRequest> three_five =
      DecodeLog(R"({"logDateTime":1732190000124,"logId":9,"fromLineNum":1})");
  ASSERT_TRUE(three_five.ok());
  EXPECT_EQ(three_five->log_date_time(), 1732190000124);
}

TEST(XxlCodecTest, BadBodiesAreInvalidArgumentSayingWhy) {
  const char* bodies[] = {
      "not json",
      "[1,2]",
      R"("")",  // A JSON string, not an object.
      R"({"jobId":"abc"})",
      R"({"jobId":1.5})",
      R"({"jobId":99999999999999999999999})",  // Beyond int64.
      R"({"jobId":true})",
      R"({"executorHandler":{"a":1}})",
      R"({"jobId":1)",  // Cut.
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    EXPECT_THAT(DecodeRun(body).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid request body")));
  }
  EXPECT_THAT(DecodeRun(R"({"glueType":"GLUE_COBOL"})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("glueType has unknown value \"GLUE_COBOL\"")));
  EXPECT_THAT(DecodeRun(R"({"executorBlockStrategy":"RANDOM"})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("executorBlockStrategy has unknown value")));
  // Not UTF-8.
  EXPECT_THAT(DecodeRun("{\"executorParams\":\"\xff\xfe\"}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
}

TEST(XxlCodecTest, DeepNestingInAnIgnoredFieldNeitherCrashesNorLeaksThrough) {
  // As deep as a body within the request bound can nest: an answer, either
  // way, and no stack overflow.
  for (const int depth : {200, 100000, 1000000}) {
    SCOPED_TRACE(depth);
    const std::string arrays =
        absl::StrCat(R"({"jobId":1,"x":)", std::string(depth, '['),
                     std::string(depth, ']'), "}");
    absl::StatusOr<v1::RunRequest> a = DecodeRun(arrays);
    if (a.ok()) {
      EXPECT_EQ(a->job_id(), 1);
    }
    std::string objects = R"({"jobId":1,"x":)";
    for (int i = 0; i < depth; ++i) objects += R"({"a":)";
    objects += "1" + std::string(depth, '}') + "}";
    absl::StatusOr<v1::RunRequest> o = DecodeRun(objects);
    if (o.ok()) {
      EXPECT_EQ(o->job_id(), 1);
    }
  }
}

TEST(XxlCodecTest, EnvelopesPutThePayloadUnderContentAndData) {
  EXPECT_EQ(EncodeReply(200, ""), R"({"code":200,"msg":"Success"})");
  EXPECT_EQ(EncodeReply(500, "job handler [x] not found."),
            R"({"code":500,"msg":"job handler [x] not found."})");
  EXPECT_EQ(EncodeReply(200, "", "kill requested"),
            R"({"code":200,"msg":"Success","content":"kill requested",)"
            R"("data":"kill requested"})");
  v1::LogResponse page;
  page.set_code(200);
  page.set_from_line_num(1);
  page.set_to_line_num(2);
  page.set_log_content("a\nb\n");
  page.set_is_end(false);
  const std::string log = EncodeLog(page);
  EXPECT_THAT(log, HasSubstr(R"("content":{"fromLineNum":1,"toLineNum":2,)"
                             R"("logContent":"a\nb\n","isEnd":false})"));
  EXPECT_THAT(log, HasSubstr(R"("data":{"fromLineNum":1,"toLineNum":2,)"));
  v1::LogResponse missing;
  missing.set_code(500);
  missing.set_msg("log file not found");
  EXPECT_EQ(EncodeLog(missing), R"({"code":500,"msg":"log file not found"})");
}

// Short plain answers are written without protobuf's printer: the bytes
// must be the printer's, whatever the message holds.
TEST(XxlCodecTest, TheDirectEnvelopeIsByteForByteThePrinters) {
  const auto printed = [](int32_t code, const std::string& msg) {
    xxljob::http::v1::Return out;
    out.set_code(code);
    if (!msg.empty()) {
      out.set_msg(msg);
    } else if (code == 200) {
      out.set_msg("Success");
    }
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string json;
    EXPECT_TRUE(
        google::protobuf::util::MessageToJsonString(out, &json, options).ok());
    return json;
  };
  for (const int32_t code : {200, 500, -1, 0}) {
    for (const std::string msg :
         {"", "Success", "repeat trigger job, logId:81",
          "job handler [x] not found.", "a \"quote\" and \\ back", "<b>=&'",
          "tab\there", "caf\xc3\xa9", "line\nbreak",
          "executor shutting down"}) {
      EXPECT_EQ(EncodeReply(code, msg), printed(code, msg))
          << code << " " << msg;
    }
  }
}

TEST(XxlCodecTest, FailuresAreCode500AndTheTokenMessageIsTheReferences) {
  EXPECT_EQ(EncodeFailure(absl::UnauthenticatedError("missing or wrong")),
            R"({"code":500,"msg":"The access token is wrong."})");
  EXPECT_EQ(EncodeFailure(absl::ResourceExhaustedError("queue full")),
            R"({"code":500,"msg":"queue full"})");
  // A message quoting what a caller sent stays valid JSON (UTF-8).
  const std::string odd = EncodeFailure(absl::NotFoundError("a\xff\"b"));
  EXPECT_EQ(odd, R"({"code":500,"msg":"a?\"b"})");
}

}  // namespace
}  // namespace xxljob

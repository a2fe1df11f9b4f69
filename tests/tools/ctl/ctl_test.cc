#include "tools/ctl/ctl.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ctl/output.h"

namespace xxljob::ctl {
namespace {

using ::testing::HasSubstr;

TEST(CtlTest, ParsesCommandsAndEnumNames) {
  EXPECT_EQ(*ParseCommand("idle-beat"), Command::kIdleBeat);
  EXPECT_EQ(*ParseCommand("log"), Command::kLog);
  EXPECT_FALSE(ParseCommand("Run").ok());
  struct Case {
    const char* name;
    v1::BlockStrategy strategy;
  };
  for (const Case& c : {Case{"serial", v1::SERIAL_EXECUTION},
                        Case{"SERIAL_EXECUTION", v1::SERIAL_EXECUTION},
                        Case{"discard_later", v1::DISCARD_LATER},
                        Case{"Cover_Early", v1::COVER_EARLY}}) {
    ASSERT_TRUE(ParseBlockStrategy(c.name).ok()) << c.name;
    EXPECT_EQ(*ParseBlockStrategy(c.name), c.strategy) << c.name;
  }
  EXPECT_THAT(std::string(ParseBlockStrategy("later").status().message()),
              HasSubstr("discard_later"));
  EXPECT_EQ(*ParseGlueType("bean"), v1::BEAN);
  EXPECT_EQ(*ParseGlueType("shell"), v1::GLUE_SHELL);
  EXPECT_EQ(*ParseGlueType("GLUE_PYTHON2"), v1::GLUE_PYTHON2);
  EXPECT_FALSE(ParseGlueType("cobol").ok());
}

TEST(CtlTest, GlueVersionIsAStablePositiveHashOfTheSource) {
  EXPECT_EQ(GlueVersionOf("echo hi"), GlueVersionOf("echo hi"));
  EXPECT_NE(GlueVersionOf("echo hi"), GlueVersionOf("echo ho"));
  // Pinned: a version must not change between xxl-ctl builds.
  EXPECT_EQ(GlueVersionOf(""),
            static_cast<int64_t>(14695981039346656037ull % (1ull << 47)) + 1);
  for (const char* s : {"", "a", "#!/bin/sh\nexit 0\n"}) {
    EXPECT_GE(GlueVersionOf(s), 1);
    EXPECT_LE(GlueVersionOf(s), int64_t{1} << 47);
  }
}

TEST(CtlTest, ExitCodesFollowTheResult) {
  EXPECT_EQ(ExitCodeForResult(200), kExitOk);
  EXPECT_EQ(ExitCodeForResult(500), kExitFailed);
  EXPECT_EQ(ExitCodeForResult(502), kExitTimedOut);
  EXPECT_EQ(ExitCodeForResult(0), kExitFailed);  // Unknown.
}

TEST(CtlOutputTest, JsonIsOneLineWithEveryField) {
  v1::RunRequest request;
  request.set_job_id(3);
  v1::RunResponse response;
  response.set_code(200);
  response.set_log_id(1732190000123001);
  response.set_log_date_time(1732190000123);
  EXPECT_EQ(RunToJson(request, response),
            "{\"job_id\":\"3\",\"code\":200,\"msg\":\"\","
            "\"log_id\":\"1732190000123001\","
            "\"log_date_time\":\"1732190000123\"}");
  v1::LogResponse page;
  page.set_log_content("a\nb\n");
  const std::string json = ToJson(page);
  EXPECT_THAT(json, HasSubstr("\"log_content\":\"a\\nb\\n\""));
  EXPECT_THAT(json, HasSubstr("\"is_end\":false"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(ErrorToJson(absl::UnavailableError("no \"route\"")),
            "{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":\"no "
            "\\\"route\\\"\"}}");
}

TEST(CtlOutputTest, HumanLines) {
  v1::BeatResponse beat;
  beat.set_code(200);
  beat.set_app_name("app");
  beat.set_address("10.0.0.5:9999");
  beat.set_version("0.1.0");
  beat.set_uptime_ms(3723456);
  beat.set_job_threads(2);
  beat.set_running(1);
  EXPECT_EQ(DescribeBeat(beat),
            "up: app app at 10.0.0.5:9999, version 0.1.0, uptime 1h2m3s; 2 "
            "job threads, 1 running, 0 queued");
  beat.set_max_job_threads(20000);
  beat.set_max_running(1024);
  beat.set_queued(7);
  beat.set_max_queue_depth(1000);
  beat.set_tail_streams(3);
  beat.set_max_tail_streams(256);
  beat.set_max_request_bytes(4194304);
  beat.set_max_handler_name_bytes(255);
  beat.set_max_params_bytes(65536);
  beat.set_max_glue_source_bytes(1048576);
  EXPECT_EQ(DescribeBeat(beat),
            "up: app app at 10.0.0.5:9999, version 0.1.0, uptime 1h2m3s; "
            "2/20000 job threads, 1/1024 running, 7 queued (at most 1000 per "
            "job), 3/256 log streams; limits in bytes: request 4194304, "
            "handler name 255, params 65536, glue source 1048576");
  beat.set_max_run_log_bytes(67108864);
  EXPECT_THAT(DescribeBeat(beat),
              ::testing::EndsWith("glue source 1048576, run log 67108864"));
  EXPECT_EQ(DescribeRefusal(500, "block strategy effect: Discard Later"),
            "refused (500): block strategy effect: Discard Later");
  EXPECT_EQ(DescribeResult(200, ""), "result 200");
  EXPECT_EQ(DescribeResult(502, "job execute timeout"),
            "result 502: job execute timeout");
  EXPECT_THAT(DescribeResult(0, ""), HasSubstr("unknown"));
}

}  // namespace
}  // namespace xxljob::ctl

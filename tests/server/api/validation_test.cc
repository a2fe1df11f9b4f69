#include "server/api/validation.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

// A request every check accepts; each case breaks one field.
v1::RunRequest ValidRun() {
  v1::RunRequest r;
  r.set_job_id(7);
  r.set_log_id(42);
  r.set_log_date_time(1700000000000);
  r.set_executor_handler("demoJobHandler");
  return r;
}

struct RunCase {
  std::string name;
  std::function<void(v1::RunRequest&)> mutate;
  // The message must contain this (it names the field).
  std::string message;
};

TEST(ValidationTest, AcceptsValidRun) {
  EXPECT_THAT(ValidateRunRequest(ValidRun()), IsOk());
}

TEST(ValidationTest, RejectsMalformedRun) {
  using R = v1::RunRequest;
  const std::vector<RunCase> cases = {
      {"zero job_id", [](R& r) { r.set_job_id(0); }, "job_id must be > 0"},
      {"negative job_id", [](R& r) { r.set_job_id(-1); }, "job_id"},
      {"negative log_id", [](R& r) { r.set_log_id(-5); },
       "log_id must be >= 0, got -5"},
      {"negative log_date_time", [](R& r) { r.set_log_date_time(-1); },
       "log_date_time"},
      {"log_date_time year 10000 in some zone",
       [](R& r) { r.set_log_date_time(kMaxLogDateTimeMs); }, "log_date_time"},
      {"negative timeout", [](R& r) { r.set_executor_timeout(-1); },
       "executor_timeout must be >= 0"},
      {"negative glue_updatetime", [](R& r) { r.set_glue_updatetime(-1); },
       "glue_updatetime"},
      {"negative broadcast_index", [](R& r) { r.set_broadcast_index(-1); },
       "broadcast_index must be >= 0"},
      {"negative broadcast_total", [](R& r) { r.set_broadcast_total(-1); },
       "broadcast_total must be >= 0"},
      {"index equal to total",
       [](R& r) {
         r.set_broadcast_index(3);
         r.set_broadcast_total(3);
       },
       "broadcast_index must be < broadcast_total (3)"},
      {"index above total",
       [](R& r) {
         r.set_broadcast_index(4);
         r.set_broadcast_total(2);
       },
       "broadcast_index"},
      {"index without total", [](R& r) { r.set_broadcast_index(1); },
       "broadcast_index must be 0 when broadcast_total is 0"},
      {"unknown block strategy",
       [](R& r) {
         r.set_executor_block_strategy(static_cast<v1::BlockStrategy>(99));
       },
       "executor_block_strategy has unknown value 99"},
      {"negative block strategy",
       [](R& r) {
         r.set_executor_block_strategy(static_cast<v1::BlockStrategy>(-1));
       },
       "executor_block_strategy"},
      {"unknown glue type",
       [](R& r) { r.set_glue_type(static_cast<v1::GlueType>(9)); },
       "glue_type has unknown value 9"},
      {"empty handler for BEAN",
       [](R& r) {
         r.set_glue_type(v1::BEAN);
         r.clear_executor_handler();
       },
       "executor_handler must not be empty"},
      {"empty handler for unspecified glue type",
       [](R& r) { r.clear_executor_handler(); }, "executor_handler"},
      {"oversize handler",
       [](R& r) {
         r.set_executor_handler(std::string(kMaxHandlerNameBytes + 1, 'h'));
       },
       "executor_handler is 256 bytes; the limit is 255"},
      {"oversize handler on a glue job",
       [](R& r) {
         r.set_glue_type(v1::GLUE_SHELL);
         r.set_executor_handler(std::string(kMaxHandlerNameBytes + 1, 'h'));
       },
       "executor_handler"},
      {"newline in handler",
       [](R& r) { r.set_executor_handler("demo\nFAKE LOG LINE"); },
       "executor_handler contains a control character at byte 4"},
      {"NUL in handler",
       [](R& r) { r.set_executor_handler(std::string("de\0mo", 5)); },
       "control character at byte 2"},
      {"DEL in handler", [](R& r) { r.set_executor_handler("demo\x7f"); },
       "control character"},
      {"oversize params",
       [](R& r) {
         r.set_executor_params(std::string(kMaxParamsBytes + 1, 'p'));
       },
       "executor_params is"},
      {"oversize glue source",
       [](R& r) {
         r.set_glue_type(v1::GLUE_SHELL);
         r.set_glue_source(std::string(kMaxGlueSourceBytes + 1, 's'));
       },
       "glue_source is"},
  };
  for (const RunCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::RunRequest request = ValidRun();
    c.mutate(request);
    EXPECT_THAT(
        ValidateRunRequest(request),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    EXPECT_THAT(ToTrigger(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(c.message)));
  }
}

TEST(ValidationTest, ManualTriggerMayLeaveLogIdAndTimeZero) {
  v1::RunRequest request = ValidRun();
  request.set_log_id(0);
  request.set_log_date_time(0);
  EXPECT_THAT(ValidateRunRequest(request), IsOk());
  absl::StatusOr<Trigger> trigger = ToTrigger(request);
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  // Left for the caller (the API edge) to fill in.
  EXPECT_EQ(trigger->log_id, 0);
  EXPECT_EQ(trigger->log_date_time, 0);
  // Log still needs both.
  v1::LogRequest log;
  log.set_log_id(1);
  log.set_log_date_time(0);
  log.set_from_line_num(1);
  EXPECT_THAT(
      ValidateLogRequest(log),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_date_time")));
}

TEST(ValidationTest, ConfiguredFieldLimitsApply) {
  FieldLimits limits;
  limits.max_params_bytes = 10;
  limits.max_glue_source_bytes = 20;
  v1::RunRequest r = ValidRun();
  r.set_executor_params(std::string(10, 'p'));
  EXPECT_THAT(ValidateRunRequest(r, limits), IsOk());
  r.set_executor_params(std::string(11, 'p'));
  EXPECT_THAT(ValidateRunRequest(r, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "executor_params is 11 bytes; the limit is 10"));
  r = ValidRun();
  r.set_glue_type(v1::GLUE_SHELL);
  r.set_glue_source(std::string(21, 's'));
  EXPECT_THAT(ToTrigger(r, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "glue_source is 21 bytes; the limit is 20"));
  // Larger limits than the defaults let larger fields in.
  limits.max_params_bytes = kMaxParamsBytes * 2;
  r = ValidRun();
  r.set_executor_params(std::string(kMaxParamsBytes + 1, 'p'));
  EXPECT_THAT(ValidateRunRequest(r, limits), IsOk());
}

TEST(ValidationTest, AcceptsValuesAtTheLimits) {
  using R = v1::RunRequest;
  const std::vector<RunCase> cases = {
      {"handler at limit",
       [](R& r) {
         r.set_executor_handler(std::string(kMaxHandlerNameBytes, 'h'));
       },
       ""},
      {"params at limit",
       [](R& r) { r.set_executor_params(std::string(kMaxParamsBytes, 'p')); },
       ""},
      {"params with control characters",
       [](R& r) { r.set_executor_params("line 1\nline 2\ttab"); }, ""},
      {"glue source at limit",
       [](R& r) {
         r.set_glue_type(v1::GLUE_SHELL);
         r.set_glue_source(std::string(kMaxGlueSourceBytes, 's'));
       },
       ""},
      {"glue job without handler",
       [](R& r) {
         r.set_glue_type(v1::GLUE_PYTHON);
         r.clear_executor_handler();
       },
       ""},
      {"groovy is well-formed (the core refuses it)",
       [](R& r) { r.set_glue_type(v1::GLUE_GROOVY); }, ""},
      {"last shard",
       [](R& r) {
         r.set_broadcast_index(2);
         r.set_broadcast_total(3);
       },
       ""},
      {"large timeout", [](R& r) { r.set_executor_timeout(INT32_MAX); }, ""},
      {"last valid log_date_time",
       [](R& r) { r.set_log_date_time(kMaxLogDateTimeMs - 1); }, ""},
      {"log_date_time 1", [](R& r) { r.set_log_date_time(1); }, ""},
  };
  for (const RunCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::RunRequest request = ValidRun();
    c.mutate(request);
    EXPECT_THAT(ValidateRunRequest(request), IsOk());
  }
}

// The documented range: all of year 9999 (in every time zone), and the
// bound is exactly where year 10000 begins in the easternmost zone, so the
// log folder is always yyyy-MM-dd.
TEST(ValidationTest, LogDateTimeCoversTheYear9999InEveryTimeZone) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // UTC+14 (Pacific/Kiritimati), without relying on tzdata.
  const absl::TimeZone easternmost = absl::FixedTimeZone(14 * 3600);
  EXPECT_EQ(absl::FromUnixMillis(kMaxLogDateTimeMs),
            absl::FromCivil(absl::CivilSecond(10000, 1, 1), easternmost));
  for (const absl::CivilSecond when :
       {absl::CivilSecond(9999, 1, 1), absl::CivilSecond(9999, 6, 30, 12),
        absl::CivilSecond(9999, 12, 31, 9, 59, 59)}) {
    SCOPED_TRACE(absl::FormatCivilTime(when));
    v1::RunRequest r = ValidRun();
    r.set_log_date_time(absl::ToUnixMillis(absl::FromCivil(when, utc)));
    EXPECT_THAT(ValidateRunRequest(r), IsOk());
    v1::LogRequest log;
    log.set_log_id(1);
    log.set_from_line_num(1);
    log.set_log_date_time(r.log_date_time());
    EXPECT_THAT(ValidateLogRequest(log), IsOk());
  }
  // The last accepted moment still names a 9999 folder in the easternmost
  // zone, and the first refused one would not.
  EXPECT_EQ(
      absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(kMaxLogDateTimeMs - 1),
                       easternmost),
      "9999-12-31");
  EXPECT_EQ(
      absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(kMaxLogDateTimeMs),
                       easternmost),
      "10000-01-01");
  v1::RunRequest r = ValidRun();
  r.set_log_date_time(kMaxLogDateTimeMs);
  EXPECT_THAT(ValidateRunRequest(r),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("log_date_time must be epoch milliseconds")));
}

// A script gets params as argv[1], which a NUL would cut short without a
// word; a bean handler gets the whole string.
TEST(ValidationTest, NulInParamsIsRefusedForScriptJobsOnly) {
  const std::string params("before\0after", 12);
  for (v1::GlueType type :
       {v1::GLUE_SHELL, v1::GLUE_PYTHON, v1::GLUE_PYTHON2, v1::GLUE_NODEJS,
        v1::GLUE_PHP, v1::GLUE_POWERSHELL}) {
    SCOPED_TRACE(v1::GlueType_Name(type));
    v1::RunRequest r = ValidRun();
    r.set_glue_type(type);
    r.set_executor_params(params);
    EXPECT_THAT(ValidateRunRequest(r),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "executor_params contains a NUL byte at byte 6; a "
                         "script job gets params as its argument $1, which "
                         "would end there"));
  }
  for (v1::GlueType type : {v1::BEAN, v1::GLUE_TYPE_UNSPECIFIED}) {
    SCOPED_TRACE(v1::GlueType_Name(type));
    v1::RunRequest r = ValidRun();
    r.set_glue_type(type);
    r.set_executor_params(params);
    absl::StatusOr<Trigger> t = ToTrigger(r);
    ASSERT_THAT(t, IsOk());
    EXPECT_EQ(t->params, params);
  }
}

TEST(ValidationTest, ConvertsDefaultsOfAMinimalRun) {
  absl::StatusOr<Trigger> t = ToTrigger(ValidRun());
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->job_id, 7);
  EXPECT_EQ(t->log_id, 42);
  EXPECT_EQ(t->log_date_time, 1700000000000);
  EXPECT_EQ(t->handler, "demoJobHandler");
  EXPECT_EQ(t->block_strategy, BlockStrategy::kSerial);
  EXPECT_EQ(t->glue_type, GlueType::kBean);
  EXPECT_EQ(t->timeout, absl::ZeroDuration());
  // Non-broadcast runs see shard 0/1.
  EXPECT_EQ(t->shard_index, 0);
  EXPECT_EQ(t->shard_total, 1);
}

TEST(ValidationTest, ConvertsEveryField) {
  v1::RunRequest r = ValidRun();
  r.set_executor_params("a=1");
  r.set_executor_block_strategy(v1::COVER_EARLY);
  r.set_executor_timeout(30);
  r.set_glue_updatetime(1699999999999);
  r.set_broadcast_index(2);
  r.set_broadcast_total(5);
  absl::StatusOr<Trigger> t = ToTrigger(r);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->params, "a=1");
  EXPECT_EQ(t->block_strategy, BlockStrategy::kCoverEarly);
  EXPECT_EQ(t->timeout, absl::Seconds(30));
  EXPECT_EQ(t->glue_updatetime, 1699999999999);
  EXPECT_EQ(t->shard_index, 2);
  EXPECT_EQ(t->shard_total, 5);
}

TEST(ValidationTest, ConvertsBlockStrategies) {
  const std::vector<std::pair<v1::BlockStrategy, BlockStrategy>> cases = {
      {v1::BLOCK_STRATEGY_UNSPECIFIED, BlockStrategy::kSerial},
      {v1::SERIAL_EXECUTION, BlockStrategy::kSerial},
      {v1::DISCARD_LATER, BlockStrategy::kDiscardLater},
      {v1::COVER_EARLY, BlockStrategy::kCoverEarly},
  };
  for (const auto& [in, out] : cases) {
    SCOPED_TRACE(v1::BlockStrategy_Name(in));
    v1::RunRequest r = ValidRun();
    r.set_executor_block_strategy(in);
    absl::StatusOr<Trigger> t = ToTrigger(r);
    ASSERT_THAT(t, IsOk());
    EXPECT_EQ(t->block_strategy, out);
  }
}

TEST(ValidationTest, ConvertsGlueTypesAndDropsTheHandlerOfGlueJobs) {
  const std::vector<std::pair<v1::GlueType, GlueType>> cases = {
      {v1::GLUE_TYPE_UNSPECIFIED, GlueType::kBean},
      {v1::BEAN, GlueType::kBean},
      {v1::GLUE_GROOVY, GlueType::kGroovy},
      {v1::GLUE_SHELL, GlueType::kShell},
      {v1::GLUE_PYTHON, GlueType::kPython},
      {v1::GLUE_PYTHON2, GlueType::kPython2},
      {v1::GLUE_NODEJS, GlueType::kNodejs},
      {v1::GLUE_PHP, GlueType::kPhp},
      {v1::GLUE_POWERSHELL, GlueType::kPowershell},
  };
  // Every contract value is covered.
  ASSERT_EQ(cases.size(), static_cast<size_t>(v1::GlueType_ARRAYSIZE));
  for (const auto& [in, out] : cases) {
    SCOPED_TRACE(v1::GlueType_Name(in));
    v1::RunRequest r = ValidRun();
    r.set_glue_type(in);
    r.set_glue_source("echo hi");
    absl::StatusOr<Trigger> t = ToTrigger(r);
    ASSERT_THAT(t, IsOk());
    EXPECT_EQ(t->glue_type, out);
    EXPECT_EQ(t->glue_source, "echo hi");
    EXPECT_EQ(t->handler, out == GlueType::kBean ? "demoJobHandler" : "");
  }
}

TEST(ValidationTest, IdleBeat) {
  v1::IdleBeatRequest r;
  r.set_job_id(1);
  EXPECT_THAT(ValidateIdleBeatRequest(r), IsOk());
  for (int64_t job_id : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    r.set_job_id(job_id);
    EXPECT_THAT(ValidateIdleBeatRequest(r),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("job_id must be > 0")));
  }
}

TEST(ValidationTest, Kill) {
  struct Case {
    int64_t job_id;
    int64_t log_id;
    std::string message;  // Empty: valid.
  };
  const std::vector<Case> cases = {
      {1, 0, ""},  // The whole job.
      {1, 9, ""},  // One run.
      {0, 0, "job_id must be > 0"},
      {-3, 9, "job_id"},
      {1, -1, "log_id must be >= 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.job_id << "/" << c.log_id);
    v1::KillRequest r;
    r.set_job_id(c.job_id);
    r.set_log_id(c.log_id);
    if (c.message.empty()) {
      EXPECT_THAT(ValidateKillRequest(r), IsOk());
    } else {
      EXPECT_THAT(
          ValidateKillRequest(r),
          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    }
  }
}

TEST(ValidationTest, Log) {
  struct Case {
    int64_t log_date_time;
    int64_t log_id;
    int32_t from_line_num;
    std::string message;  // Empty: valid.
  };
  const std::vector<Case> cases = {
      {1700000000000, 5, 1, ""},
      {1700000000000, 5, 100000, ""},
      {1700000000000, 0, 1, "log_id must be > 0"},
      {1700000000000, -5, 1, "log_id"},
      {0, 5, 1, "log_date_time"},
      {-1, 5, 1, "log_date_time"},
      {kMaxLogDateTimeMs, 5, 1, "log_date_time"},
      {1700000000000, 5, 0, "from_line_num must be > 0"},
      {1700000000000, 5, -2, "from_line_num"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.log_date_time << "/" << c.log_id
                                      << "/" << c.from_line_num);
    v1::LogRequest r;
    r.set_log_date_time(c.log_date_time);
    r.set_log_id(c.log_id);
    r.set_from_line_num(c.from_line_num);
    if (c.message.empty()) {
      EXPECT_THAT(ValidateLogRequest(r), IsOk());
    } else {
      EXPECT_THAT(
          ValidateLogRequest(r),
          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    }
  }
}

}  // namespace
}  // namespace xxljob

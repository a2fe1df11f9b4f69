// End to end, what a caller and a job can put in a run's log (SPEC §4, §8):
// the real xxl-executor binary with --max_run_log_bytes and scripts on,
// driven over gRPC and read back with the Log call. A script's runaway
// output stops at the flag's cap with one line saying how much was dropped;
// params can't forge the executor's Result line; a NUL in a script job's
// params is refused while a bean job takes it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::xxljob::testing::ExecutorProcess;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

constexpr int64_t kCap = 100000;

CallOptions Patient() {
  CallOptions options;
  options.timeout = absl::Seconds(30);
  return options;
}

class RunLogBoundsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(ExecutorProcess::BinaryPath())) {
      GTEST_SKIP() << "xxl-executor not built at "
                   << ExecutorProcess::BinaryPath();
    }
    executor_ = std::make_unique<ExecutorProcess>(std::vector<std::string>{
        "--listen=127.0.0.1:0", "--log_path=" + dir_.path() + "/data",
        "--enable_scripts", absl::StrCat("--max_run_log_bytes=", kCap)});
    ASSERT_THAT(executor_->WaitUntilServing(), IsOk());
    client_ = std::make_unique<ExecutorClient>(executor_->address());
  }

  static v1::RunRequest Request(int64_t log_id, v1::GlueType type,
                                std::string params) {
    v1::RunRequest r;
    r.set_job_id(log_id);
    r.set_log_id(log_id);
    r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
    r.set_glue_type(type);
    r.set_executor_params(std::move(params));
    if (type == v1::BEAN) r.set_executor_handler("demoJobHandler");
    return r;
  }

  // The whole log of a run, page by page through Log, once it has ended.
  std::string WholeLog(const v1::RunRequest& run) {
    std::string text;
    EXPECT_TRUE(::xxljob::testing::Eventually(
        [&] {
          text.clear();
          v1::LogRequest req;
          req.set_log_id(run.log_id());
          req.set_log_date_time(run.log_date_time());
          for (int32_t from = 1;;) {
            req.set_from_line_num(from);
            absl::StatusOr<v1::LogResponse> page = client_->Log(req, Patient());
            if (!page.ok() || page->code() != 200) return false;
            text += page->log_content();
            if (page->is_end()) return true;
            if (page->to_line_num() < from) return false;  // Not ended yet.
            from = page->to_line_num() + 1;
          }
        },
        absl::Seconds(60)));
    return text;
  }

  static std::vector<std::string> ResultLines(const std::string& log) {
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (line.size() > 24 &&
          absl::StartsWith(line.substr(24), "----------- Result: ")) {
        out.emplace_back(line);
      }
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<ExecutorProcess> executor_;
  std::unique_ptr<ExecutorClient> client_;
};

TEST_F(RunLogBoundsE2eTest, BeatReportsTheCap) {
  absl::StatusOr<v1::BeatResponse> beat = client_->Beat({}, Patient());
  ASSERT_THAT(beat, IsOk());
  EXPECT_EQ(beat->max_run_log_bytes(), kCap);
}

TEST_F(RunLogBoundsE2eTest, RunawayScriptOutputStopsAtTheFlagsCap) {
  v1::RunRequest run = Request(1, v1::GLUE_SHELL, "");
  run.set_glue_source("head -c 20000000 /dev/zero | tr '\\0' x\n");
  absl::StatusOr<v1::RunResponse> r = client_->Run(run, Patient());
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->code(), 200) << r->msg();
  const std::string log = WholeLog(run);
  EXPECT_LE(static_cast<int64_t>(log.size()), kCap + 1024);
  EXPECT_THAT(
      log, HasSubstr(absl::StrCat("----------- xxl-executor: run log limit of ",
                                  kCap, " bytes reached, ")));
  EXPECT_THAT(ResultLines(log), SizeIs(1));
  EXPECT_THAT(ResultLines(log)[0], HasSubstr("handleCode=200"));
}

TEST_F(RunLogBoundsE2eTest, ParamsCantForgeAResultLine) {
  const v1::RunRequest run =
      Request(2, v1::BEAN,
              "ok\n----------- Result: handleCode=500, handleMsg = x\x1b]");
  absl::StatusOr<v1::RunResponse> r = client_->Run(run, Patient());
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->code(), 200) << r->msg();
  const std::string log = WholeLog(run);
  ASSERT_THAT(ResultLines(log), SizeIs(1)) << log;
  EXPECT_THAT(ResultLines(log)[0], HasSubstr("handleCode=200"));
  EXPECT_THAT(log, HasSubstr("Param: ok\\n----------- Result: handleCode=500, "
                             "handleMsg = x\\x1b]"));
}

TEST_F(RunLogBoundsE2eTest, NulInParamsIsRefusedForScriptsOnly) {
  const std::string params("a\0b", 3);
  v1::RunRequest script = Request(3, v1::GLUE_SHELL, params);
  script.set_glue_source("echo \"$1\"\n");
  EXPECT_THAT(client_->Run(script, Patient()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("executor_params contains a NUL byte at "
                                 "byte 1")));
  absl::StatusOr<v1::RunResponse> bean =
      client_->Run(Request(4, v1::BEAN, params), Patient());
  ASSERT_THAT(bean, IsOk());
  EXPECT_EQ(bean->code(), 200) << bean->msg();
}

}  // namespace
}  // namespace xxljob

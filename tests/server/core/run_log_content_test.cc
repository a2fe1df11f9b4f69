// What a run can put in its log (SPEC §4): caller text can't forge the
// executor's own lines, and a run's log is bounded by max_run_log_bytes with
// one line saying how much was dropped. On the real core: real run logs in
// a temp dir, real bash scripts, a recording result sink.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"
#include "server/core/capped_log_sink.h"
#include "server/core/executor.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::xxljob::testing::IsOk;

constexpr uint64_t kCap = 64 * 1024;
constexpr char kResultLine[] = "----------- Result: handleCode=";
constexpr char kMarker[] = "----------- xxl-executor: run log limit of ";

// Lines of `log` whose text after the "yyyy-MM-dd HH:mm:ss.SSS " timestamp
// starts with `prefix`: the lines a reader takes for the executor's own.
std::vector<std::string> LinesStartingWith(const std::string& log,
                                           absl::string_view prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.size() > 24 && absl::StartsWith(line.substr(24), prefix)) {
      out.emplace_back(line);
    }
  }
  return out;
}

// The dropped-byte count of a marker line.
int64_t DroppedIn(absl::string_view marker) {
  absl::string_view rest = marker.substr(marker.find(" reached, ") + 10);
  int64_t n = -1;
  EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &n)) << marker;
  return n;
}

class RunLogContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RegisterBuiltinHandlers(&registry_), IsOk());
    ExecutorOptions options;
    options.log_path = dir_.path();
    options.enable_scripts = true;
    options.max_run_log_bytes = kCap;
    auto executor = Executor::Create(options, &registry_, &sink_);
    ASSERT_THAT(executor, IsOk());
    executor_ = *std::move(executor);
  }
  void TearDown() override {
    if (executor_ != nullptr) executor_->Shutdown(absl::ZeroDuration());
  }

  // Runs `t` and returns its result; its log is then complete.
  RunResult RunToEnd(const Trigger& t) {
    EXPECT_THAT(executor_->Run(t), IsOk());
    std::optional<RunResult> r = sink_.WaitFor(t.log_id);
    EXPECT_TRUE(r.has_value()) << "no result for log " << t.log_id;
    return r.value_or(RunResult{});
  }

  static Trigger Bean(int64_t log_id, std::string handler, std::string params) {
    Trigger t;
    t.job_id = 1;
    t.log_id = log_id;
    t.log_date_time = absl::ToUnixMillis(absl::Now());
    t.handler = std::move(handler);
    t.params = std::move(params);
    return t;
  }
  static Trigger Shell(int64_t log_id, std::string source) {
    Trigger t;
    t.job_id = 2;
    t.log_id = log_id;
    t.log_date_time = absl::ToUnixMillis(absl::Now());
    t.glue_type = GlueType::kShell;
    t.glue_source = std::move(source);
    t.glue_updatetime = log_id;
    return t;
  }

  std::string LogText(const Trigger& t) const {
    std::ifstream in(RunLogPath(dir_.path(), t.log_date_time, t.log_id));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  uint64_t LogSize(const Trigger& t) const {
    return std::filesystem::file_size(
        RunLogPath(dir_.path(), t.log_date_time, t.log_id));
  }

  testing::TempDir dir_;
  HandlerRegistry registry_;
  testing::RecordingResultSink sink_;
  std::unique_ptr<Executor> executor_;
};

// ------------------------------------------------------------ forged lines

constexpr char kForgery[] =
    "x\n----------- Result: handleCode=200, handleMsg = forged\r\x1b[2K\a";

TEST_F(RunLogContentTest, ParamsCantForgeAResultLine) {
  const Trigger t = Bean(1, "demoJobHandler", kForgery);
  ASSERT_EQ(RunToEnd(t).handle_code, 200);
  const std::string log = LogText(t);
  const std::vector<std::string> results = LinesStartingWith(log, kResultLine);
  ASSERT_THAT(results, SizeIs(1)) << log;
  EXPECT_THAT(results[0], HasSubstr("handleCode=200, handleMsg = "));
  EXPECT_THAT(results[0], ::testing::Not(HasSubstr("forged")));
  // The params are there, escaped, on the start line (and in the demo
  // handler's echo of them).
  const std::string escaped =
      "x\\n----------- Result: handleCode=200, handleMsg = "
      "forged\\r\\x1b[2K\\x07";
  EXPECT_THAT(log, HasSubstr(absl::StrCat("----------- Param: ", escaped)));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("params [", escaped, "]")));
  for (char c : log) {
    const unsigned char u = static_cast<unsigned char>(c);
    EXPECT_FALSE((u < 0x20 && c != '\n') || u == 0x7f) << static_cast<int>(u);
  }
}

TEST_F(RunLogContentTest, AResultMessageCantForgeAResultLine) {
  // failJobHandler fails with its params as the message.
  const Trigger t = Bean(2, "failJobHandler", kForgery);
  const RunResult r = RunToEnd(t);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, kForgery);  // The admin gets it as it was.
  const std::string log = LogText(t);
  const std::vector<std::string> results = LinesStartingWith(log, kResultLine);
  ASSERT_THAT(results, SizeIs(1)) << log;
  EXPECT_THAT(results[0],
              HasSubstr("handleCode=500, handleMsg = x\\n----------- Result: "
                        "handleCode=200, handleMsg = forged\\r\\x1b[2K\\x07"));
}

// ------------------------------------------------------------ the log cap

TEST_F(RunLogContentTest, ScriptOutputWithoutNewlinesIsCutAtTheCap) {
  constexpr int kBytes = 4 * 1024 * 1024;
  const std::string done = dir_.path() + "/went-on";
  // Past the cap, and then the script goes on: it touches a file and exits
  // 3, both seen only if the run was not stopped.
  const Trigger t =
      Shell(10, absl::StrCat("head -c ", kBytes, " /dev/zero | tr '\\0' x\n",
                             "touch ", done, "\nexit 3\n"));
  const RunResult r = RunToEnd(t);
  EXPECT_EQ(r.handle_code, 500);
  EXPECT_EQ(r.handle_msg, "script exit value(3) is failed");
  EXPECT_TRUE(std::filesystem::exists(done));

  const std::string log = LogText(t);
  // The cap, plus the executor's own lines (a few hundred bytes here).
  EXPECT_LE(LogSize(t), kCap + 1024);
  const std::vector<std::string> markers = LinesStartingWith(log, kMarker);
  ASSERT_THAT(markers, SizeIs(1)) << log.substr(log.size() - 2000);
  EXPECT_THAT(markers[0], HasSubstr(absl::StrCat(kCap, " bytes reached")));
  // Nothing is lost without a count: what is in the log plus what the
  // marker counts is all the script wrote.
  const std::vector<std::string> script = LinesStartingWith(log, "script: ");
  ASSERT_THAT(script, SizeIs(1));
  const size_t from = log.find(script[0]) + script[0].size() + 1;
  const std::string output = log.substr(from, log.find(markers[0]) - from);
  const int64_t kept = std::count(output.begin(), output.end(), 'x');
  EXPECT_EQ(kept + DroppedIn(markers[0]), kBytes);
  // The marker comes after the output, and the executor's end line after it.
  const std::vector<std::string> results = LinesStartingWith(log, kResultLine);
  ASSERT_THAT(results, SizeIs(1));
  EXPECT_LT(log.rfind('x', log.find(markers[0])), log.find(markers[0]));
  EXPECT_LT(log.find(markers[0]), log.find(results[0]));
}

TEST_F(RunLogContentTest, ScriptOutputWithNewlinesIsCutAtTheCap) {
  constexpr int kLines = 200000;  // "line N\n": ~1.3 MB.
  const Trigger t = Shell(
      11, absl::StrCat("for ((i = 1; i <= ", kLines,
                       "; i++)); do echo \"line $i\"; done\necho last >&2\n"));
  ASSERT_EQ(RunToEnd(t).handle_code, 200);
  const std::string log = LogText(t);
  EXPECT_LE(LogSize(t), kCap + 1024);
  const std::vector<std::string> markers = LinesStartingWith(log, kMarker);
  ASSERT_THAT(markers, SizeIs(1));
  // Lines are kept in order from the first; the last one may be cut.
  int64_t expected = 1;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::ConsumePrefix(&line, "line ")) continue;
    EXPECT_EQ(line, absl::StrCat(expected).substr(0, line.size()));
    ++expected;
  }
  EXPECT_GT(expected, 1000);
  EXPECT_THAT(log, ::testing::Not(HasSubstr("\nlast\n")));
  // The script's output: from after the executor's "script:" line to the
  // marker line.
  const std::vector<std::string> script = LinesStartingWith(log, "script: ");
  ASSERT_THAT(script, SizeIs(1));
  const size_t from = log.find(script[0]) + script[0].size() + 1;
  const int64_t kept = static_cast<int64_t>(log.find(markers[0]) - from);
  int64_t total = 0;
  for (int i = 1; i <= kLines; ++i) total += 5 + absl::StrCat(i).size() + 1;
  total += 5;  // "last\n".
  // A line the cap cut was ended by a '\n' of the writer's: at most one
  // byte more than the script wrote.
  EXPECT_LE(std::abs(kept + DroppedIn(markers[0]) - total), 1);
  EXPECT_THAT(LinesStartingWith(log, kResultLine), SizeIs(1));
}

TEST_F(RunLogContentTest, ALogUnderTheCapHasNoMarker) {
  const Trigger t = Shell(12, "echo short\n");
  ASSERT_EQ(RunToEnd(t).handle_code, 200);
  const std::string log = LogText(t);
  EXPECT_THAT(log, HasSubstr("\nshort\n"));
  EXPECT_THAT(LinesStartingWith(log, kMarker), SizeIs(0));
}

TEST(RunLogCapOptionTest, BelowOneKibibyteIsRefused) {
  testing::TempDir dir;
  HandlerRegistry registry;
  testing::RecordingResultSink sink;
  ExecutorOptions options;
  options.log_path = dir.path();
  options.max_run_log_bytes = 1023;
  EXPECT_THAT(Executor::Create(options, &registry, &sink),
              ::xxljob::testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  HasSubstr("max_run_log_bytes: must be >= 1024")));
}

// ------------------------------------------------------------ CappedLogSink

class CollectingSink : public RunLogSink {
 public:
  void Log(absl::string_view message) override {
    text_ += absl::StrCat("<log>", message, "\n");
  }
  void Output(absl::string_view chunk) override {
    text_.append(chunk.data(), chunk.size());
  }
  void FlushOutput() override { text_ += "<flush>"; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

TEST(CappedLogSinkTest, DropsWholeLinesAndCutsOutputAtACharacter) {
  CollectingSink out;
  CappedLogSink capped(&out, 100);
  capped.Log("0123456789");           // 10 + 25 = 35 of 100.
  capped.Output("\xc3\xa9\xc3\xa9");  // 4 bytes: 39.
  // 61 bytes of room; "aaaa...": 60 ASCII then a 2-byte character that
  // the cap would split.
  capped.Output(std::string(60, 'a') + "\xc3\xa9" + "tail");
  capped.Log("dropped");  // Dropped too: the cap was reached.
  capped.Output("more");
  EXPECT_EQ(capped.dropped_bytes(), 2u + 4u + 7u + 4u);
  capped.Finish();
  EXPECT_EQ(out.text(), absl::StrCat("<log>0123456789\n\xc3\xa9\xc3\xa9",
                                     std::string(60, 'a'), "<flush><log>",
                                     RunLogCapMarker(100, 17), "\n"));
  EXPECT_THAT(RunLogCapMarker(100, 17),
              HasSubstr("limit of 100 bytes reached, 17 bytes of output "
                        "dropped (max_run_log_bytes)"));
}

TEST(CappedLogSinkTest, ACharacterThatDoesNotFitIsDroppedWhole) {
  CollectingSink out;
  CappedLogSink capped(&out, 26);
  capped.Log("");             // 25 of 26.
  capped.Output("\xc3\xa9");  // 1 byte of room: not half of it.
  capped.Finish();
  EXPECT_EQ(out.text(),
            absl::StrCat("<log>\n<flush><log>", RunLogCapMarker(26, 2), "\n"));
}

TEST(CappedLogSinkTest, ALineThatDoesNotFitIsDroppedWhole) {
  CollectingSink out;
  CappedLogSink capped(&out, 40);
  capped.Log("short");                 // 30 of 40.
  capped.Log("this one is too long");  // 20 + 25: dropped.
  capped.Log("x");                     // Would fit, but comes after a drop.
  capped.Finish();
  EXPECT_EQ(out.text(), absl::StrCat("<log>short\n<flush><log>",
                                     RunLogCapMarker(40, 21), "\n"));
}

}  // namespace
}  // namespace xxljob

// Glue scripts below the executor core: the language table, the script store
// (written once per version, atomically, old versions removed), the engine's
// mapping of process exits to results (with a fake ProcessRunner), the run
// log's output path, and every interpreter for real where it is installed.
#include "handlers/script_handler.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::xxljob::testing::IsOk;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Keeps Log lines; Output takes RunLogSink's default (lines into Log).
class LineSink : public RunLogSink {
 public:
  void Log(absl::string_view message) override {
    absl::MutexLock lock(&mu_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> lines() const {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// Keeps raw output apart from Log lines, like the run log writer does.
class RawSink : public LineSink {
 public:
  void Output(absl::string_view chunk) override {
    absl::MutexLock lock(&mu_);
    raw_.append(chunk.data(), chunk.size());
  }
  void FlushOutput() override {
    absl::MutexLock lock(&mu_);
    ++flushes_;
  }
  std::string raw() const {
    absl::MutexLock lock(&mu_);
    return raw_;
  }
  int flushes() const {
    absl::MutexLock lock(&mu_);
    return flushes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string raw_ ABSL_GUARDED_BY(mu_);
  int flushes_ ABSL_GUARDED_BY(mu_) = 0;
};

// Records what it was asked to start; prints `chunks` and returns `result`.
class FakeProcessRunner : public ProcessRunner {
 public:
  absl::StatusOr<ProcessExit> Run(const ProcessSpec& spec,
                                  const Cancellation& cancel,
                                  const OutputFn& output) override {
    {
      absl::MutexLock lock(&mu_);
      specs_.push_back(spec);
    }
    for (const std::string& chunk : chunks) output(chunk);
    return result;
  }
  std::vector<ProcessSpec> specs() const {
    absl::MutexLock lock(&mu_);
    return specs_;
  }

  std::vector<std::string> chunks;
  absl::StatusOr<ProcessExit> result = ProcessExit{};

 private:
  mutable absl::Mutex mu_;
  std::vector<ProcessSpec> specs_ ABSL_GUARDED_BY(mu_);
};

ScriptVersion Version(int64_t job_id, const char* glue_type, int64_t updatetime,
                      std::string source) {
  const ScriptLanguage* language = FindScriptLanguage(glue_type);
  EXPECT_NE(language, nullptr) << glue_type;
  return ScriptVersion{job_id, language, updatetime, std::move(source)};
}

// ------------------------------------------------------------ languages

TEST(ScriptLanguageTest, TableIsTheSpecs) {
  struct Row {
    const char* glue_type;
    const char* interpreter;
    const char* extension;
  };
  for (const Row& row :
       {Row{"GLUE_SHELL", "bash", ".sh"}, Row{"GLUE_PYTHON", "python3", ".py"},
        Row{"GLUE_PYTHON2", "python", ".py"}, Row{"GLUE_NODEJS", "node", ".js"},
        Row{"GLUE_PHP", "php", ".php"},
        Row{"GLUE_POWERSHELL", "pwsh", ".ps1"}}) {
    const ScriptLanguage* language = FindScriptLanguage(row.glue_type);
    ASSERT_NE(language, nullptr) << row.glue_type;
    EXPECT_STREQ(language->interpreter, row.interpreter);
    EXPECT_STREQ(language->extension, row.extension);
  }
  EXPECT_EQ(FindScriptLanguage("BEAN"), nullptr);
  EXPECT_EQ(FindScriptLanguage("GLUE_GROOVY"), nullptr);
  EXPECT_EQ(FindScriptLanguage(""), nullptr);
}

// ---------------------------------------------------------------- store

TEST(ScriptStoreTest, WritesAVersionOnceAndPrivately) {
  testing::TempDir dir;
  ScriptStore store(dir.path() + "/glue");
  absl::StatusOr<std::string> path =
      store.Materialize(Version(7, "GLUE_SHELL", 100, "echo one\n"));
  ASSERT_THAT(path, IsOk());
  EXPECT_EQ(*path, dir.path() + "/glue/7_100.sh");
  EXPECT_EQ(ReadFile(*path), "echo one\n");
  struct stat first, dir_st;
  ASSERT_EQ(stat(path->c_str(), &first), 0);
  EXPECT_EQ(first.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(store.dir().c_str(), &dir_st), 0);
  EXPECT_EQ(dir_st.st_mode & 0777, 0700u);

  // Same version again: the file is not rewritten (same inode, same text,
  // even if the source differed, as XXL-JOB versions by updatetime).
  ASSERT_THAT(store.Materialize(Version(7, "GLUE_SHELL", 100, "echo two\n")),
              IsOk());
  struct stat second;
  ASSERT_EQ(stat(path->c_str(), &second), 0);
  EXPECT_EQ(second.st_ino, first.st_ino);
  EXPECT_EQ(ReadFile(*path), "echo one\n");
  EXPECT_THAT(ListDir(store.dir()), ElementsAre("7_100.sh"));  // No temps.
}

TEST(ScriptStoreTest, NewVersionRemovesTheJobsOtherVersionsOnly) {
  testing::TempDir dir;
  ScriptStore store(dir.path() + "/glue");
  ASSERT_THAT(store.Materialize(Version(1, "GLUE_SHELL", 100, "v1")), IsOk());
  ASSERT_THAT(store.Materialize(Version(12, "GLUE_SHELL", 100, "other")),
              IsOk());
  // A temp file a crash left behind while writing job 1.
  std::ofstream(store.dir() + "/.1_150.tmp999-1") << "half";
  ASSERT_THAT(store.Materialize(Version(1, "GLUE_PYTHON", 200, "v2")), IsOk());
  EXPECT_THAT(ListDir(store.dir()), ElementsAre("12_100.sh", "1_200.py"));
  EXPECT_EQ(ReadFile(store.dir() + "/1_200.py"), "v2");
}

TEST(ScriptStoreTest, FailedWriteLeavesNothing) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  std::ofstream(file) << "x";
  ScriptStore store(file + "/glue");
  EXPECT_FALSE(store.Materialize(Version(1, "GLUE_SHELL", 1, "x")).ok());
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("not-a-dir"));
}

// ------------------------------------------------- engine, fake processes

class ScriptEngineTest : public ::testing::Test {
 protected:
  // Runs `version` with params "p q", shard 2 of 5; the result.
  std::pair<int, std::string> RunOnce(const ScriptVersion& version,
                                      RunLogSink* sink,
                                      std::string search_path = "") {
    ScriptEngine engine({dir_.path() + "/glue", std::move(search_path), {}},
                        runner_);
    Cancellation cancel;
    RunContext ctx(RunInfo{7, 70, "p q", 2, 5}, sink, &cancel);
    engine.Run(version, ctx);
    return {ctx.handle_code(), ctx.handle_msg()};
  }

  testing::TempDir dir_;
  std::shared_ptr<FakeProcessRunner> runner_ =
      std::make_shared<FakeProcessRunner>();
};

TEST_F(ScriptEngineTest, StartsTheInterpreterOnTheScriptWithArgsAndEnv) {
  RawSink sink;
  EXPECT_EQ(RunOnce(Version(7, "GLUE_PYTHON", 100, "print(1)\n"), &sink),
            std::make_pair(200, std::string()));
  ASSERT_EQ(runner_->specs().size(), 1u);
  const ProcessSpec spec = runner_->specs()[0];
  EXPECT_EQ(spec.program, FindExecutable("python3", getenv("PATH")).value());
  const std::string script = dir_.path() + "/glue/7_100.py";
  EXPECT_THAT(spec.args, ElementsAre(script, "p q", "2", "5"));
  EXPECT_EQ(ReadFile(script), "print(1)\n");
  EXPECT_THAT(spec.env, Contains(Pair("XXL_JOB_ID", "7")));
  EXPECT_THAT(spec.env, Contains(Pair("XXL_LOG_ID", "70")));
  EXPECT_THAT(spec.env, Contains(Pair("XXL_SHARD_INDEX", "2")));
  EXPECT_THAT(spec.env, Contains(Pair("XXL_SHARD_TOTAL", "5")));
  EXPECT_THAT(spec.env, Contains(Pair("PYTHONUNBUFFERED", "1")));
}

TEST_F(ScriptEngineTest, MapsHowTheProcessEndedToTheResult) {
  struct Row {
    absl::StatusOr<ProcessExit> exit;
    int code;
    std::string msg;
  };
  ProcessExit exit3;
  exit3.exit_code = 3;
  ProcessExit segv;
  segv.signaled = true;
  segv.signal = 11;
  ProcessExit killed = segv;
  killed.signal = 15;
  killed.killed = true;
  const Row rows[] = {
      {ProcessExit{}, 200, ""},
      {exit3, 500, "script exit value(3) is failed"},
      {segv, 500, "script killed by signal 11 (SIGSEGV)"},
      {killed, 500, "script stopped: the run was cancelled"},
      {absl::PermissionDeniedError("cannot execute /x: denied"), 500,
       "script " + dir_.path() + "/glue/7_1.sh: cannot execute /x: denied"},
  };
  for (const Row& row : rows) {
    runner_->result = row.exit;
    LineSink sink;
    EXPECT_EQ(RunOnce(Version(7, "GLUE_SHELL", 1, "x"), &sink),
              std::make_pair(row.code, row.msg));
  }
}

TEST_F(ScriptEngineTest, MissingInterpreterIsNamedAndNothingRuns) {
  testing::TempDir empty_path;
  LineSink sink;
  EXPECT_EQ(
      RunOnce(Version(7, "GLUE_PYTHON2", 1, "x"), &sink, empty_path.path()),
      std::make_pair(500, std::string("interpreter python not found "
                                      "for GLUE_PYTHON2")));
  EXPECT_THAT(runner_->specs(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/glue/7_1.py"));
}

TEST_F(ScriptEngineTest, OutputGoesToTheRawPathAndIsFlushedAtTheEnd) {
  runner_->chunks = {"hel", "lo\nwor", "ld"};
  RawSink raw;
  RunOnce(Version(7, "GLUE_SHELL", 1, "x"), &raw);
  EXPECT_EQ(raw.raw(), "hello\nworld");
  EXPECT_EQ(raw.flushes(), 1);

  // A sink without a raw path gets the lines through Log, the last one when
  // the output is flushed.
  LineSink lines;
  RunOnce(Version(7, "GLUE_SHELL", 1, "x"), &lines);
  EXPECT_THAT(lines.lines(), Contains("hello"));
  EXPECT_EQ(lines.lines().back(), "world");
}

TEST(RunLogSinkTest, DefaultOutputMakesBoundedLines) {
  LineSink sink;
  sink.Output("a\nb");
  sink.Output("c\n\nd");
  EXPECT_THAT(sink.lines(), ElementsAre("a", "bc", ""));
  sink.FlushOutput();
  sink.FlushOutput();  // Nothing held: nothing written.
  EXPECT_THAT(sink.lines(), ElementsAre("a", "bc", "", "d"));

  LineSink long_lines;
  long_lines.Output(std::string(RunLogSink::kMaxHeldOutputBytes + 10, 'x'));
  ASSERT_EQ(long_lines.lines().size(), 1u);
  EXPECT_EQ(long_lines.lines()[0].size(), RunLogSink::kMaxHeldOutputBytes);
  long_lines.FlushOutput();
  EXPECT_EQ(long_lines.lines().back(), std::string(10, 'x'));
}

// ------------------------------------------------ every interpreter, real

struct LanguageCase {
  const char* glue_type;
  const char* source;
};

// Names the case in test listings (instead of its bytes).
void PrintTo(const LanguageCase& c, std::ostream* os) { *os << c.glue_type; }

class RealInterpreterTest : public ::testing::TestWithParam<LanguageCase> {};

TEST_P(RealInterpreterTest, GetsArgumentsAndEnvironment) {
  const ScriptLanguage* language = FindScriptLanguage(GetParam().glue_type);
  ASSERT_NE(language, nullptr);
  if (!FindExecutable(language->interpreter, getenv("PATH")).ok()) {
    GTEST_SKIP() << language->interpreter << " (" << language->glue_type
                 << ") is not installed on this machine";
  }
  testing::TempDir dir;
  ScriptEngine engine({dir.path() + "/glue", "", {}}, NewProcessRunner());
  Cancellation cancel;
  RawSink sink;
  RunContext ctx(RunInfo{9, 90, "p q", 1, 3}, &sink, &cancel);
  engine.Run(Version(9, GetParam().glue_type, 5, GetParam().source), ctx);
  EXPECT_EQ(ctx.handle_code(), 200) << ctx.handle_msg() << "\n" << sink.raw();
  EXPECT_EQ(sink.raw(), "args:p q|1|3 env:9|90|1|3\n");
}

INSTANTIATE_TEST_SUITE_P(
    Languages, RealInterpreterTest,
    ::testing::Values(
        LanguageCase{"GLUE_SHELL",
                     "echo \"args:$1|$2|$3 "
                     "env:$XXL_JOB_ID|$XXL_LOG_ID|$XXL_SHARD_INDEX|"
                     "$XXL_SHARD_TOTAL\"\n"},
        // Python 2 and 3 alike.
        LanguageCase{"GLUE_PYTHON",
                     "import os, sys\n"
                     "e = os.environ\n"
                     "print('args:%s|%s|%s env:%s|%s|%s|%s' % (sys.argv[1], "
                     "sys.argv[2], sys.argv[3], e['XXL_JOB_ID'], "
                     "e['XXL_LOG_ID'], e['XXL_SHARD_INDEX'], "
                     "e['XXL_SHARD_TOTAL']))\n"},
        LanguageCase{"GLUE_PYTHON2",
                     "import os, sys\n"
                     "e = os.environ\n"
                     "print('args:%s|%s|%s env:%s|%s|%s|%s' % (sys.argv[1], "
                     "sys.argv[2], sys.argv[3], e['XXL_JOB_ID'], "
                     "e['XXL_LOG_ID'], e['XXL_SHARD_INDEX'], "
                     "e['XXL_SHARD_TOTAL']))\n"},
        LanguageCase{"GLUE_NODEJS",
                     "const a = process.argv, e = process.env;\n"
                     "console.log(`args:${a[2]}|${a[3]}|${a[4]} "
                     "env:${e.XXL_JOB_ID}|${e.XXL_LOG_ID}|"
                     "${e.XXL_SHARD_INDEX}|${e.XXL_SHARD_TOTAL}`);\n"},
        LanguageCase{"GLUE_PHP",
                     "<?php\n"
                     "echo \"args:{$argv[1]}|{$argv[2]}|{$argv[3]} env:\" . "
                     "getenv('XXL_JOB_ID') . '|' . getenv('XXL_LOG_ID') . '|' "
                     ". getenv('XXL_SHARD_INDEX') . '|' . "
                     "getenv('XXL_SHARD_TOTAL') . \"\\n\";\n"},
        LanguageCase{"GLUE_POWERSHELL",
                     "Write-Output \"args:$($args[0])|$($args[1])|$($args[2]) "
                     "env:$env:XXL_JOB_ID|$env:XXL_LOG_ID|$env:XXL_SHARD_INDEX|"
                     "$env:XXL_SHARD_TOTAL\"\n"}),
    [](const ::testing::TestParamInfo<LanguageCase>& info) {
      return std::string(info.param.glue_type);
    });

}  // namespace
}  // namespace xxljob

#include "server/core/run_log.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// 2024-03-05 10:00 local: a fixed date folder for the tests.
int64_t TestLogDateTime() {
  return absl::ToUnixMillis(absl::FromCivil(
      absl::CivilSecond(2024, 3, 5, 10, 0, 0), absl::LocalTimeZone()));
}

std::unique_ptr<RunLogWriter> OpenOrDie(const std::string& dir,
                                        int64_t log_id) {
  absl::StatusOr<std::unique_ptr<RunLogWriter>> writer =
      RunLogWriter::Open(dir, TestLogDateTime(), log_id);
  EXPECT_TRUE(writer.ok()) << writer.status();
  return writer.ok() ? std::move(*writer) : nullptr;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string LogFile(const std::string& dir, int64_t log_id) {
  return RunLogPath(dir, TestLogDateTime(), log_id);
}

std::string IndexFile(const std::string& dir, int64_t log_id) {
  const std::string log = LogFile(dir, log_id);
  return log.substr(0, log.size() - 4) + ".idx";
}

// Line start offsets as the index stores them: little-endian uint64s.
std::string EncodeIndex(const std::vector<uint64_t>& offsets) {
  std::string index;
  for (uint64_t offset : offsets) {
    for (int b = 0; b < 8; ++b) index.push_back((offset >> (8 * b)) & 0xFF);
  }
  return index;
}

std::vector<uint64_t> DecodeIndex(const std::string& index) {
  std::vector<uint64_t> offsets(index.size() / 8);
  for (size_t i = 0; i < offsets.size() * 8; ++i) {
    offsets[i / 8] |= uint64_t{static_cast<unsigned char>(index[i])}
                      << (8 * (i % 8));
  }
  return offsets;
}

// Where each line of `content` starts (line 1 at [0]), plus the end.
std::vector<uint64_t> LineStarts(const std::string& content) {
  std::vector<uint64_t> starts = {0};
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

// The index a log's content calls for.
std::string ExpectedIndex(const std::string& content) {
  const std::vector<uint64_t> starts = LineStarts(content);
  std::vector<uint64_t> entries;
  for (size_t k = 1; k * kLogIndexStride < starts.size(); ++k) {
    entries.push_back(starts[k * kLogIndexStride]);
  }
  return EncodeIndex(entries);
}

// Lines of `content`, without their '\n'; a trailing '\n' ends the last.
std::vector<std::string> Lines(const std::string& content) {
  std::vector<std::string> lines = absl::StrSplit(content, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Line i (1-based) of the big test logs; lengths vary to move offsets around.
std::string NumberedLine(int64_t i) {
  return absl::StrCat("line ", i, " ", std::string(i % 50, 'x'), "\n");
}

// Writes lines 1..count of NumberedLine to run `log_id`; returns the content.
std::string WriteNumberedLog(const std::string& dir, int64_t log_id,
                             int64_t count) {
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(dir, log_id);
  std::string all, batch;
  for (int64_t i = 1; i <= count; ++i) {
    batch += NumberedLine(i);
    if (i % 1000 == 0 || i == count) {
      writer->AppendRaw(batch);
      all += batch;
      batch.clear();
    }
  }
  EXPECT_EQ(writer->line_count(), count);
  return all;
}

// Pages through the whole log, checking each page continues the last;
// returns the concatenated content.
std::string ReadAllPages(const std::string& dir, int64_t log_id,
                         const LogPageLimits& limits, bool run_finished) {
  std::string all;
  int32_t from = 1;
  for (int guard = 0; guard < 1000000; ++guard) {
    absl::StatusOr<LogPage> page =
        ReadLogPage(dir, TestLogDateTime(), log_id, from, run_finished, limits);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_EQ(page->from_line_num, from);
    EXPECT_LE(page->to_line_num - from + 1, limits.max_lines);
    EXPECT_LE(page->content.size(), limits.max_bytes);
    all += page->content;
    if (page->at_end_of_file) break;
    EXPECT_GE(page->to_line_num, from) << "no progress";
    if (page->to_line_num < from) break;
    from = page->to_line_num + 1;
  }
  return all;
}

absl::StatusOr<LogPage> Read(const std::string& dir, int64_t log_id,
                             int32_t from, bool run_finished,
                             LogPageLimits limits = {}) {
  return ReadLogPage(dir, TestLogDateTime(), log_id, from, run_finished,
                     limits);
}

TEST(RunLogTest, PathUsesLocalDateOfLogDateTime) {
  const absl::TimeZone tz = absl::LocalTimeZone();
  const int64_t last_ms = absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(2024, 3, 5, 23, 59, 59), tz) +
      absl::Milliseconds(999));
  EXPECT_EQ(RunLogPath("/data/logs", last_ms, 42),
            "/data/logs/2024-03-05/42.log");
  EXPECT_EQ(RunLogPath("/data/logs", last_ms + 1, 42),
            "/data/logs/2024-03-06/42.log");
  EXPECT_EQ(RunLogPath("rel", TestLogDateTime(), 9007199254740993),
            "rel/2024-03-05/9007199254740993.log");
  // Dates are cached by the second: a millisecond before the epoch is in
  // the second before it, not in the epoch's.
  EXPECT_EQ(
      RunLogPath("/d", -1, 1),
      absl::StrCat("/d/",
                   absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(-1), tz),
                   "/1.log"));
}

TEST(RunLogTest, OpenCreatesMissingParentFolders) {
  testing::TempDir tmp;
  const std::string base = tmp.path() + "/a/b";
  ASSERT_NE(OpenOrDie(base, 1), nullptr);
  EXPECT_TRUE(fs::is_regular_file(LogFile(base, 1)));
}

TEST(RunLogTest, IndexFileAppearsOnlyWhenItsFirstEntryIsDue) {
  testing::TempDir tmp;
  auto writer = OpenOrDie(tmp.path(), 1);
  for (int i = 1; i < kLogIndexStride; ++i) writer->Log("line");
  EXPECT_FALSE(fs::exists(IndexFile(tmp.path(), 1)));
  writer->Log("line");
  EXPECT_TRUE(fs::is_regular_file(IndexFile(tmp.path(), 1)));
}

TEST(RunLogTest, OpenFailsWhenFolderCannotBeMade) {
  testing::TempDir tmp;
  WriteFile(tmp.path() + "/file", "not a folder");
  EXPECT_FALSE(
      RunLogWriter::Open(tmp.path() + "/file", TestLogDateTime(), 1).ok());
}

TEST(RunLogTest, LogTimestampsEachLineInLocalTime) {
  testing::TempDir tmp;
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  // Timestamps show whole milliseconds, rounded down.
  const absl::Time before =
      absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  writer->Log("hello");
  writer->Log("two\nlines\n");
  writer->Log("");
  writer->Log("\n");
  writer->Log("a\n\nb");
  const absl::Time after = absl::Now();
  EXPECT_EQ(writer->line_count(), 8);

  std::vector<std::string> texts;
  for (const std::string& line : Lines(ReadFile(LogFile(tmp.path(), 1)))) {
    ASSERT_GE(line.size(), 24u) << line;
    ASSERT_EQ(line[23], ' ') << line;
    absl::Time stamp;
    std::string error;
    ASSERT_TRUE(absl::ParseTime("%Y-%m-%d %H:%M:%E*S", line.substr(0, 23),
                                absl::LocalTimeZone(), &stamp, &error))
        << line << ": " << error;
    EXPECT_EQ(line[19], '.') << "milliseconds always shown: " << line;
    EXPECT_GE(stamp, before);
    EXPECT_LE(stamp, after);
    texts.push_back(line.substr(24));
  }
  EXPECT_THAT(texts,
              ElementsAre("hello", "two", "lines", "", "", "a", "", "b"));
}

TEST(RunLogTest, LogSplitsLinesLongerThanTheCap) {
  testing::TempDir tmp;
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  std::string ascii(40000, 'x');
  std::string utf8;
  for (int i = 0; i < 20000; ++i) utf8 += "\xC3\xA9";  // é
  writer->Log(ascii);
  const int64_t ascii_lines = writer->line_count();
  writer->Log(utf8);

  std::string joined_ascii, joined_utf8;
  const std::vector<std::string> lines =
      Lines(ReadFile(LogFile(tmp.path(), 1)));
  ASSERT_EQ(static_cast<int64_t>(lines.size()), writer->line_count());
  EXPECT_EQ(ascii_lines, 3);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), kMaxLogLineBytes);
    const std::string text = lines[i].substr(24);
    if (static_cast<int64_t>(i) < ascii_lines) {
      joined_ascii += text;
    } else {
      // Cut between characters, never inside one.
      EXPECT_EQ(text.size() % 2, 0u);
      EXPECT_EQ(text[0], '\xC3');
      joined_utf8 += text;
    }
  }
  EXPECT_EQ(joined_ascii, ascii);
  EXPECT_EQ(joined_utf8, utf8);
}

TEST(RunLogTest, ConcurrentLogCallsWriteWholeLines) {
  testing::TempDir tmp;
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        // Long enough that a torn write would show.
        writer->Log(absl::StrCat("t", t, " i", i, " ", std::string(200, 'z')));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(writer->line_count(), kThreads * kLinesPerThread);

  const std::string content = ReadFile(LogFile(tmp.path(), 1));
  const std::vector<std::string> lines = Lines(content);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    const std::vector<std::string> fields =
        absl::StrSplit(line.substr(24), ' ');
    ASSERT_EQ(fields.size(), 3u) << line;
    ASSERT_EQ(fields[2], std::string(200, 'z')) << line;
    int t, i;
    ASSERT_TRUE(absl::SimpleAtoi(fields[0].substr(1), &t)) << line;
    ASSERT_TRUE(absl::SimpleAtoi(fields[1].substr(1), &i)) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(i, next[t]++) << "each thread's lines in its order";
  }
  EXPECT_EQ(ReadFile(IndexFile(tmp.path(), 1)), ExpectedIndex(content));
}

TEST(RunLogTest, ReopenContinuesLineCountAndIndex) {
  testing::TempDir tmp;
  for (int i = 0; i < 3000; ++i) OpenOrDie(tmp.path(), 1)->Log("first");
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  EXPECT_EQ(writer->line_count(), 3000);
  for (int i = 0; i < 2000; ++i) writer->Log("second");
  EXPECT_EQ(writer->line_count(), 5000);

  const std::string content = ReadFile(LogFile(tmp.path(), 1));
  EXPECT_EQ(Lines(content).size(), 5000u);
  const std::string index = ReadFile(IndexFile(tmp.path(), 1));
  EXPECT_EQ(index.size(), 4u * 8);
  EXPECT_EQ(index, ExpectedIndex(content));
}

TEST(RunLogTest, ReopenRebuildsMissingShortOrDamagedIndex) {
  testing::TempDir tmp;
  const std::string content = WriteNumberedLog(tmp.path(), 1, 5000);
  const std::string index_file = IndexFile(tmp.path(), 1);
  ASSERT_EQ(ReadFile(index_file), ExpectedIndex(content));

  const std::string good = ExpectedIndex(content);
  for (const std::string& bad :
       {std::string(), good.substr(0, 8), std::string(good.size(), '\xFF'),
        good + good}) {
    WriteFile(index_file, bad);
    EXPECT_EQ(OpenOrDie(tmp.path(), 1)->line_count(), 5000);
    EXPECT_EQ(ReadFile(index_file), good);
  }
  fs::remove(index_file);
  OpenOrDie(tmp.path(), 1);
  EXPECT_EQ(ReadFile(index_file), good);
}

TEST(RunLogTest, ReopenEndsAnUnfinishedLastLineBeforeWriting) {
  testing::TempDir tmp;
  OpenOrDie(tmp.path(), 1);
  WriteFile(LogFile(tmp.path(), 1), "a\nb");  // As a crash could leave it.
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  EXPECT_EQ(writer->line_count(), 1);
  writer->AppendRaw("c\n");
  EXPECT_EQ(writer->line_count(), 3);
  EXPECT_EQ(ReadFile(LogFile(tmp.path(), 1)), "a\nb\nc\n");
}

TEST(RunLogTest, WriteErrorsAreDroppedAndNotCounted) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "needs /dev/full";
  testing::TempDir tmp;
  const std::string log_file = LogFile(tmp.path(), 1);
  fs::create_directories(fs::path(log_file).parent_path());
  // Every write to /dev/full fails with ENOSPC, like a full disk.
  fs::create_symlink("/dev/full", log_file);
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  ASSERT_NE(writer, nullptr);
  for (int i = 0; i < 3000; ++i) writer->Log("lost");
  writer->AppendRaw("lost too\npartial");
  writer->FlushRaw();
  EXPECT_EQ(writer->line_count(), 0);
  EXPECT_EQ(ReadFile(IndexFile(tmp.path(), 1)), "");
}

TEST(RunLogTest, AppendRawHoldsPartialLineUntilNewlineOrFlush) {
  testing::TempDir tmp;
  const std::string log_file = LogFile(tmp.path(), 1);
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  writer->AppendRaw("ab");
  EXPECT_EQ(ReadFile(log_file), "");
  EXPECT_EQ(writer->line_count(), 0);
  writer->AppendRaw("c\nd\ne");
  EXPECT_EQ(ReadFile(log_file), "abc\nd\n");
  EXPECT_EQ(writer->line_count(), 2);
  writer->Log("stamped");  // Not mixed into the held "e".
  writer->FlushRaw();
  writer->FlushRaw();  // Nothing held: no empty line.
  const std::vector<std::string> lines = Lines(ReadFile(log_file));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr(" stamped"));
  EXPECT_EQ(lines[3], "e");
  EXPECT_EQ(writer->line_count(), 4);
}

TEST(RunLogTest, AppendRawWritesHeldLineWhenItReachesTheCap) {
  testing::TempDir tmp;
  const std::string log_file = LogFile(tmp.path(), 1);
  std::unique_ptr<RunLogWriter> writer = OpenOrDie(tmp.path(), 1);
  writer->AppendRaw(std::string(kMaxLogLineBytes - 1, 'y'));
  EXPECT_EQ(ReadFile(log_file), "");
  writer->AppendRaw("yyy");
  EXPECT_EQ(ReadFile(log_file), std::string(kMaxLogLineBytes, 'y') + "\n");
  // A complete line over the cap is split too.
  writer->AppendRaw(std::string(2 * kMaxLogLineBytes + 1, 'z') + "\n");
  EXPECT_EQ(writer->line_count(), 4);
  EXPECT_THAT(Lines(ReadFile(log_file)),
              ElementsAre(std::string(kMaxLogLineBytes, 'y'),
                          "yy" + std::string(kMaxLogLineBytes - 2, 'z'),
                          std::string(kMaxLogLineBytes, 'z'), "zzz"));
}

TEST(RunLogTest, DestructorFlushesHeldPartialLine) {
  testing::TempDir tmp;
  OpenOrDie(tmp.path(), 1)->AppendRaw("done\ntail");
  EXPECT_EQ(ReadFile(LogFile(tmp.path(), 1)), "done\ntail\n");
}

TEST(RunLogTest, PagingReturnsEveryLineOnceInOrder) {
  testing::TempDir tmp;
  const std::string content = WriteNumberedLog(tmp.path(), 1, 200000);
  // Capped by lines, then by bytes.
  for (const LogPageLimits& limits :
       {LogPageLimits{997, 1 << 20}, LogPageLimits{5000, 4096}}) {
    SCOPED_TRACE(
        absl::StrCat(limits.max_lines, " lines, ", limits.max_bytes, " bytes"));
    EXPECT_TRUE(ReadAllPages(tmp.path(), 1, limits, false) == content);
  }
}

TEST(RunLogTest, ReadSeeksThroughIndex) {
  testing::TempDir tmp;
  const std::string content = WriteNumberedLog(tmp.path(), 1, 5000);
  // An index whose every entry is one line late: a reader that consults it
  // returns the line after the one asked for.
  const std::vector<uint64_t> starts = LineStarts(content);
  std::vector<uint64_t> shifted;
  for (int64_t k = 1; k * kLogIndexStride + 1 < 5000; ++k) {
    shifted.push_back(starts[k * kLogIndexStride + 1]);
  }
  WriteFile(IndexFile(tmp.path(), 1), EncodeIndex(shifted));

  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 3000, false, {1, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, NumberedLine(3001));
  // Below the first entry the index plays no part.
  page = Read(tmp.path(), 1, 1000, false, {1, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, NumberedLine(1000));
}

TEST(RunLogTest, ReadIsTheSameWithGoodMissingOrDamagedIndex) {
  testing::TempDir tmp;
  constexpr int64_t kLines = 200000;
  const std::string content = WriteNumberedLog(tmp.path(), 1, kLines);
  const std::string index_file = IndexFile(tmp.path(), 1);
  const std::string good = ReadFile(index_file);
  ASSERT_EQ(good, ExpectedIndex(content));

  // Pages read with the writer's own index are the reference.
  const std::vector<int32_t> froms = {1,      1024,   1025,   1026,
                                      2049,   150000, 150001, 199999,
                                      200000, 200001, 250000};
  std::vector<LogPage> reference;
  for (int32_t from : froms) {
    absl::StatusOr<LogPage> page = Read(tmp.path(), 1, from, false, {3, 4096});
    ASSERT_TRUE(page.ok()) << page.status();
    if (from <= kLines) {
      std::string expected;
      for (int64_t i = from; i < from + 3 && i <= kLines; ++i) {
        expected += NumberedLine(i);
      }
      EXPECT_EQ(page->content, expected) << "from " << from;
    }
    reference.push_back(*page);
  }

  std::string past_end = good;  // Every entry points beyond the file.
  for (size_t i = 7; i < past_end.size(); i += 8) past_end[i] = '\x7F';
  std::vector<uint64_t> mid_line = DecodeIndex(good);
  for (uint64_t& offset : mid_line) ++offset;  // One byte into its line.
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty", ""},
      {"half", good.substr(0, good.size() / 2)},
      {"torn entry", good.substr(0, good.size() - 3)},
      {"zeros", std::string(good.size(), '\0')},
      {"ones", std::string(good.size(), '\xFF')},
      {"past end", past_end},
      {"mid line", EncodeIndex(mid_line)},
      {"missing", ""}};
  for (const auto& [name, index] : damaged) {
    SCOPED_TRACE(name);
    if (name == "missing") {
      fs::remove(index_file);
    } else {
      WriteFile(index_file, index);
    }
    for (size_t i = 0; i < froms.size(); ++i) {
      absl::StatusOr<LogPage> page =
          Read(tmp.path(), 1, froms[i], false, {3, 4096});
      ASSERT_TRUE(page.ok()) << page.status();
      EXPECT_EQ(page->from_line_num, reference[i].from_line_num);
      EXPECT_EQ(page->to_line_num, reference[i].to_line_num);
      EXPECT_EQ(page->content, reference[i].content);
      EXPECT_EQ(page->at_end_of_file, reference[i].at_end_of_file);
    }
  }
}

// Writes "a\nb\n" through a writer, then an unfinished "c" as a still
// running program's output looks mid-write.
void WriteLogWithPartialLine(const std::string& dir) {
  OpenOrDie(dir, 1)->AppendRaw("a\nb\n");
  std::ofstream(LogFile(dir, 1), std::ios::binary | std::ios::app) << "c";
}

TEST(RunLogTest, PartialLastLineHiddenUntilRunFinished) {
  testing::TempDir tmp;
  WriteLogWithPartialLine(tmp.path());

  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, false);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "a\nb\n");
  EXPECT_EQ(page->to_line_num, 2);
  EXPECT_FALSE(page->at_end_of_file) << "\"c\" is still to come";

  page = Read(tmp.path(), 1, 3, false);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "");
  EXPECT_EQ(page->to_line_num, 2);
  EXPECT_FALSE(page->at_end_of_file);

  page = Read(tmp.path(), 1, 1, true);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "a\nb\nc");
  EXPECT_EQ(page->to_line_num, 3);
  EXPECT_TRUE(page->at_end_of_file);

  page = Read(tmp.path(), 1, 4, true);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 3);
  EXPECT_TRUE(page->at_end_of_file);
}

TEST(RunLogTest, PartialLastLineAfterFullPageIsNotTheEnd) {
  testing::TempDir tmp;
  WriteLogWithPartialLine(tmp.path());
  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, false, {2, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 2);
  EXPECT_FALSE(page->at_end_of_file);
  page = Read(tmp.path(), 1, 2, true, {2, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "b\nc");
  EXPECT_TRUE(page->at_end_of_file);
}

TEST(RunLogTest, AtEndOfFileOnlyWhenPageReachesTheEnd) {
  testing::TempDir tmp;
  WriteNumberedLog(tmp.path(), 1, 10);
  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, true, {5, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 5);
  EXPECT_FALSE(page->at_end_of_file);
  page = Read(tmp.path(), 1, 6, true, {5, 1024});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 10);
  EXPECT_TRUE(page->at_end_of_file) << "the page ends exactly at the end";
  // Stopped by the byte cap just before the end.
  page = Read(tmp.path(), 1, 9, true,
              {100, NumberedLine(9).size() + NumberedLine(10).size() - 1});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 9);
  EXPECT_FALSE(page->at_end_of_file);
}

TEST(RunLogTest, FromBeyondTheEndReturnsEmptyPage) {
  testing::TempDir tmp;
  WriteNumberedLog(tmp.path(), 1, 10);
  for (int32_t from : {11, 12, 5000, 2147483647}) {
    absl::StatusOr<LogPage> page = Read(tmp.path(), 1, from, false);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->from_line_num, from);
    EXPECT_EQ(page->to_line_num, from - 1);
    EXPECT_EQ(page->content, "");
    EXPECT_TRUE(page->at_end_of_file);
  }
}

TEST(RunLogTest, EmptyLogReadsAsEmptyPageAtTheEnd) {
  testing::TempDir tmp;
  OpenOrDie(tmp.path(), 1);
  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, false);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->to_line_num, 0);
  EXPECT_EQ(page->content, "");
  EXPECT_TRUE(page->at_end_of_file);
}

TEST(RunLogTest, OversizeLineIsCutAndSkippedPast) {
  testing::TempDir tmp;
  std::string utf8_long;
  for (int i = 0; i < 300; ++i) utf8_long += "\xE2\x82\xAC";  // €, 3 bytes
  OpenOrDie(tmp.path(), 1)
      ->AppendRaw(absl::StrCat("short\n", std::string(1000, 'x'), "\n",
                               utf8_long, "\nnext\n"));
  const LogPageLimits limits{100, 100};

  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, false, limits);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "short\n") << "the long line waits for its page";
  EXPECT_EQ(page->to_line_num, 1);

  page = Read(tmp.path(), 1, 2, false, limits);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, std::string(99, 'x') + "\n");
  EXPECT_EQ(page->to_line_num, 2);
  EXPECT_FALSE(page->at_end_of_file);

  page = Read(tmp.path(), 1, 3, false, limits);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, utf8_long.substr(0, 99) + "\n")
      << "cut between characters";
  EXPECT_EQ(page->to_line_num, 3);

  page = Read(tmp.path(), 1, 4, false, limits);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, "next\n");
  EXPECT_TRUE(page->at_end_of_file);
}

// Found by tests/fuzz/log_pager_fuzzer: a cut must not split a character
// when the line has no '\n' (the last line of a finished run) nor when the
// page cap is smaller than the character.
TEST(RunLogTest, CutNeverSplitsACharacter) {
  testing::TempDir tmp;
  std::string euros;
  for (int i = 0; i < 300; ++i) euros += "\xE2\x82\xAC";  // €, 3 bytes
  std::filesystem::create_directories(
      std::filesystem::path(LogFile(tmp.path(), 1)).parent_path());
  WriteFile(LogFile(tmp.path(), 1), euros);  // No newline: a partial line.
  absl::StatusOr<LogPage> page = Read(tmp.path(), 1, 1, true, {100, 100});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->content, euros.substr(0, 99));
  EXPECT_EQ(page->to_line_num, 1);
  EXPECT_TRUE(page->at_end_of_file);

  WriteFile(LogFile(tmp.path(), 2), "\xE2\x82\xAC\nnext\n");
  for (size_t cap : {1, 2, 3}) {
    page = Read(tmp.path(), 2, 1, true, {100, cap});
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->content, "\n") << "cap " << cap;
    EXPECT_EQ(page->to_line_num, 1) << "cap " << cap;
  }
}

TEST(RunLogTest, MissingLogIsNotFoundAndReadCreatesNothing) {
  testing::TempDir tmp;
  const std::string base = tmp.path() + "/absent";
  absl::StatusOr<LogPage> page = Read(base, 1, 1, true);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(page.status().message(), "log file not found");
  EXPECT_FALSE(fs::exists(base));

  // The date folder exists, the run's file does not.
  OpenOrDie(tmp.path(), 1);
  page = Read(tmp.path(), 2, 1, true);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(LogFile(tmp.path(), 2)));
  EXPECT_FALSE(fs::exists(IndexFile(tmp.path(), 2)));
}

TEST(RunLogTest, FromLineBelowOneIsInvalidArgument) {
  testing::TempDir tmp;
  OpenOrDie(tmp.path(), 1);
  for (int32_t from : {0, -1}) {
    EXPECT_EQ(Read(tmp.path(), 1, from, true).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace xxljob

// Fuzz target: the run log pager, ReadLogPage (server/core/log_pager.cc),
// and the UTF-8 clean-up Log answers go through (common/utf8.cc).
//
// Feeds: a run log whose content is fuzzed bytes (any bytes: no newline at
// the end, NULs, invalid UTF-8, long lines), optionally repeated so that
// small inputs make logs of thousands of lines and reach the sparse
// .idx index; beside it no index, the index the real writer builds
// (RunLogWriter::Open on the existing file), that index torn at a fuzzed
// length, that index with fuzzed bytes overwritten, or a wholly fuzzed
// index. Then pages are read with fuzzed caps (max_lines, max_bytes, down to
// the minimum of 1), run_finished either way, from fuzzed line numbers
// (any int32) and by walking the log page after page.
//
// Checks, against a model computed here from the file's bytes:
// - with no index, the writer's index or a torn one, every page is exactly
//   the model's: the lines from from_line_num, as many as fit the caps, a
//   lone line over max_bytes cut (its '\n' kept) and still counted, a last
//   line without '\n' held back unless the run finished, to_line_num the
//   last line returned (from_line_num - 1 when none), at_end_of_file iff
//   nothing of the file follows;
// - with an index that lies (the code can't catch every lie and promises
//   only that reads don't break), the page is still whole consecutive lines
//   of the file, within the caps, with to_line_num - from_line_num + 1 of
//   them;
// - a page is never over max_bytes nor over max_lines lines; a cut keeps a
//   UTF-8 sequence whole when the file is valid UTF-8; SanitizeUtf8 of any
//   page is valid UTF-8 of the same length; from_line_num < 1 is
//   INVALID_ARGUMENT; reading never fails otherwise, never creates a file
//   (no .idx appears where there was none) and an unknown log is NOT_FOUND.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "server/core/run_log.h"
#include "tests/fuzz/fuzz_support.h"

namespace xxljob {
namespace {

using fuzz::IsValidUtf8;

constexpr int64_t kLogDateTime = 1700000000000;  // 2023-11-14
constexpr int64_t kLogId = 7;

enum class IndexKind { kNone, kWriter, kTorn, kPatched, kFuzzed };

struct Line {
  size_t begin = 0;   // Offset of the first byte.
  size_t length = 0;  // Without the '\n'.
  bool terminated = false;
};

std::vector<Line> SplitLines(const std::string& file) {
  std::vector<Line> lines;
  size_t begin = 0;
  while (begin < file.size()) {
    const size_t newline = file.find('\n', begin);
    if (newline == std::string::npos) {
      lines.push_back({begin, file.size() - begin, false});
      break;
    }
    lines.push_back({begin, newline - begin, true});
    begin = newline + 1;
  }
  return lines;
}

// The page the contract describes, computed the slow, obvious way.
LogPage ModelPage(const std::string& file, const std::vector<Line>& lines,
                  int32_t from, bool run_finished, const LogPageLimits& caps) {
  const size_t max_lines = std::max(caps.max_lines, 1);
  const size_t max_bytes = std::max<size_t>(caps.max_bytes, 1);
  size_t visible = lines.size();
  if (!lines.empty() && !lines.back().terminated && !run_finished) --visible;
  LogPage page;
  page.from_line_num = from;
  page.to_line_num = from - 1;
  size_t i = static_cast<size_t>(from) - 1;
  for (; i < visible && i - (from - 1) < max_lines; ++i) {
    const Line& line = lines[i];
    const size_t need = line.length + (line.terminated ? 1 : 0);
    if (page.content.size() + need > max_bytes) {
      if (!page.content.empty()) break;
      // A lone line over the cap: cut where a UTF-8 sequence starts (at
      // most 3 bytes early), keeping its '\n'.
      const size_t keep = max_bytes - (line.terminated ? 1 : 0);
      page.content = file.substr(line.begin, keep);
      if (line.terminated) page.content.push_back('\n');
      page.to_line_num = static_cast<int32_t>(i + 1);
      ++i;
      break;
    }
    page.content.append(file, line.begin, need);
    page.to_line_num = static_cast<int32_t>(i + 1);
  }
  const size_t consumed = static_cast<size_t>(page.to_line_num);
  page.at_end_of_file =
      consumed >= lines.size() &&
      (run_finished || lines.empty() || lines.back().terminated ||
       static_cast<size_t>(from) > lines.size());
  if (static_cast<size_t>(from) > visible) {
    // Nothing to return: at the end unless a partial line is held back.
    page.at_end_of_file = visible == lines.size();
  }
  return page;
}

// `page` is whole consecutive lines of `file` starting at a line start:
// what any page must be, even one found through a lying index.
void CheckWholeLines(const std::string& file, const std::vector<Line>& lines,
                     const LogPage& page, bool run_finished) {
  const int32_t count = page.to_line_num - page.from_line_num + 1;
  if (count == 0) {
    FUZZ_CHECK(page.content.empty(), "no lines but %zu bytes",
               page.content.size());
    return;
  }
  // A cut line is a prefix of a line; otherwise the content is lines.
  size_t newlines = std::count(page.content.begin(), page.content.end(), '\n');
  const bool last_unterminated =
      page.content.empty() || page.content.back() != '\n';
  FUZZ_CHECK(
      newlines + (last_unterminated ? 1 : 0) == static_cast<size_t>(count),
      "%d lines claimed, content has %zu newlines", count, newlines);
  if (last_unterminated && count > 1) {
    // Only the file's own last line (or a lone cut line) lacks a '\n'.
    FUZZ_CHECK(run_finished && !lines.empty() && !lines.back().terminated,
               "an unterminated line that is not the file's last");
  }
  // Whole lines start where a line starts; a cut line is a prefix of one.
  // (A lone line cut under a cap of 1-3 bytes may keep nothing at all.)
  const bool cut =
      count == 1 && !page.content.empty() && page.content.back() == '\n';
  const std::string stem =
      page.content.substr(0, page.content.size() - (cut ? 1 : 0));
  bool found = false;
  for (size_t at = file.find(page.content); at != std::string::npos && !found;
       at = file.find(page.content, at + 1)) {
    found = at == 0 || file[at - 1] == '\n';
  }
  for (size_t at = cut ? file.find(stem) : std::string::npos;
       at != std::string::npos && !found; at = file.find(stem, at + 1)) {
    found = at == 0 || file[at - 1] == '\n';
  }
  FUZZ_CHECK(found, "page content (%zu bytes) is not lines of the file",
             page.content.size());
}

void CheckPage(const std::string& file, bool file_is_utf8,
               const std::vector<Line>& lines, const LogPage& page,
               int32_t from, bool run_finished, const LogPageLimits& caps,
               bool exact) {
  const size_t max_lines = std::max(caps.max_lines, 1);
  const size_t max_bytes = std::max<size_t>(caps.max_bytes, 1);
  FUZZ_CHECK(page.from_line_num == from, "from %d, asked %d",
             page.from_line_num, from);
  FUZZ_CHECK(page.to_line_num >= from - 1, "to %d < from %d - 1",
             page.to_line_num, from);
  FUZZ_CHECK(static_cast<size_t>(page.to_line_num - (from - 1)) <= max_lines,
             "%d lines, cap %zu", page.to_line_num - (from - 1), max_lines);
  FUZZ_CHECK(page.content.size() <= max_bytes, "%zu bytes, cap %zu",
             page.content.size(), max_bytes);
  if (file_is_utf8) {
    FUZZ_CHECK(IsValidUtf8(page.content),
               "a valid UTF-8 log gave an invalid page (from %d, %zu bytes, "
               "cap %zu)",
               from, page.content.size(), max_bytes);
  }
  const std::string clean = SanitizeUtf8(page.content);
  FUZZ_CHECK(IsValidUtf8(clean) && clean.size() == page.content.size(),
             "SanitizeUtf8 gave invalid UTF-8 or changed the length");
  for (size_t cut : {size_t{0}, size_t{1}, page.content.size() / 2}) {
    const absl::string_view t = TruncateUtf8(clean, cut);
    FUZZ_CHECK(t.size() <= cut || t.size() == clean.size(), "truncate");
    FUZZ_CHECK(IsValidUtf8(t), "TruncateUtf8 split a sequence");
  }
  if (!exact) {
    CheckWholeLines(file, lines, page, run_finished);
    return;
  }
  const LogPage want = ModelPage(file, lines, from, run_finished, caps);
  FUZZ_CHECK(page.to_line_num == want.to_line_num,
             "from %d: to_line_num %d, model %d (finished %d, caps %d/%zu)",
             from, page.to_line_num, want.to_line_num, run_finished,
             caps.max_lines, caps.max_bytes);
  FUZZ_CHECK(page.at_end_of_file == want.at_end_of_file,
             "from %d: at_end_of_file %d, model %d", from, page.at_end_of_file,
             want.at_end_of_file);
  // A cut line may end up to 3 bytes earlier than the cap (a UTF-8
  // sequence kept whole); otherwise the bytes are the model's.
  if (page.content != want.content) {
    const bool cut = page.to_line_num == from && want.content.size() > 0 &&
                     page.content.size() + 3 >= want.content.size() &&
                     page.content.size() <= want.content.size();
    FUZZ_CHECK(cut, "from %d: content differs from the model (%zu vs %zu)",
               from, page.content.size(), want.content.size());
    const bool nl = want.content.back() == '\n';
    const std::string stem = page.content.substr(
        0, page.content.size() - (nl && !page.content.empty() ? 1 : 0));
    FUZZ_CHECK(want.content.compare(0, stem.size(), stem) == 0 &&
                   (!nl || page.content.back() == '\n'),
               "from %d: a cut line is not a prefix of the line", from);
  }
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good(), "can't write %s", path.c_str());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace
}  // namespace xxljob

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  xxljob::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xxljob;  // NOLINT: a file of its own
  FuzzedDataProvider in(data, size);
  const std::string& root = fuzz::ScratchDir("log-pager");
  const std::string log_path = RunLogPath(root, kLogDateTime, kLogId);
  const std::string index_path =
      log_path.substr(0, log_path.size() - 4) + ".idx";
  std::filesystem::create_directories(
      std::filesystem::path(log_path).parent_path());
  unlink(index_path.c_str());

  // The log: a block of fuzzed bytes, repeated, then a fuzzed tail.
  const int repeat = in.ConsumeBool() ? in.ConsumeIntegralInRange(1, 3000) : 1;
  const std::string block = in.ConsumeRandomLengthString(256);
  const auto kind = in.PickValueInArray({IndexKind::kNone, IndexKind::kWriter,
                                         IndexKind::kTorn, IndexKind::kPatched,
                                         IndexKind::kFuzzed});
  const int read_count = in.ConsumeIntegralInRange(1, 8);
  std::string file;
  file.reserve(block.size() * repeat);
  for (int i = 0; i < repeat; ++i) file += block;
  file += in.ConsumeRandomLengthString(4096);
  WriteFile(log_path, file);

  bool exact = true;
  if (kind != IndexKind::kNone) {
    // The writer rebuilds the index of a log it continues.
    absl::StatusOr<std::unique_ptr<RunLogWriter>> writer =
        RunLogWriter::Open(root, kLogDateTime, kLogId);
    FUZZ_CHECK(writer.ok(), "RunLogWriter::Open: %s",
               writer.status().ToString().c_str());
    writer->reset();
    FUZZ_CHECK(ReadFile(log_path) == file, "opening a writer changed the log");
    std::string index = Exists(index_path) ? ReadFile(index_path) : "";
    if (kind == IndexKind::kTorn) {
      index.resize(in.ConsumeIntegralInRange<size_t>(0, index.size()));
    } else if (kind == IndexKind::kPatched) {
      const int patches = in.ConsumeIntegralInRange(1, 4);
      for (int p = 0; p < patches; ++p) {
        const size_t at = in.ConsumeIntegralInRange<size_t>(0, index.size());
        const std::string bytes = in.ConsumeRandomLengthString(16);
        if (index.size() < at + bytes.size()) index.resize(at + bytes.size());
        index.replace(at, bytes.size(), bytes);
      }
      exact = false;
    } else if (kind == IndexKind::kFuzzed) {
      index = in.ConsumeRandomLengthString(1024);
      exact = false;
    }
    WriteFile(index_path, index);
  }
  const bool had_index = Exists(index_path);
  const std::vector<Line> lines = SplitLines(file);
  const bool file_is_utf8 = IsValidUtf8(file);

  for (int r = 0; r < read_count && in.remaining_bytes() > 0; ++r) {
    LogPageLimits caps;
    caps.max_lines = in.ConsumeBool() ? in.ConsumeIntegralInRange(-1, 3000)
                                      : in.ConsumeIntegral<int>();
    caps.max_bytes = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(0, 64)
                                      : in.ConsumeIntegral<uint32_t>();
    const bool finished = in.ConsumeBool();
    const bool walk = in.ConsumeBool();
    int32_t from = walk ? 1 : in.ConsumeIntegral<int32_t>();
    if (!walk && in.ConsumeBool()) {
      from = in.ConsumeIntegralInRange<int32_t>(-1, lines.size() + 2);
    }
    // A walk reads the log page after page, as a client does (bounded:
    // each page reads a 64 KiB chunk).
    const int max_pages = !walk ? 1 : exact ? 256 : 64;
    for (int pages = 0; pages < max_pages; ++pages) {
      absl::StatusOr<LogPage> page =
          ReadLogPage(root, kLogDateTime, kLogId, from, finished, caps);
      if (from < 1) {
        FUZZ_CHECK(page.status().code() == absl::StatusCode::kInvalidArgument,
                   "from %d: %s", from, page.status().ToString().c_str());
        break;
      }
      FUZZ_CHECK(page.ok(), "from %d: %s", from,
                 page.status().ToString().c_str());
      CheckPage(file, file_is_utf8, lines, *page, from, finished, caps, exact);
      if (page->at_end_of_file || page->to_line_num < from ||
          page->to_line_num == std::numeric_limits<int32_t>::max()) {
        break;
      }
      from = page->to_line_num + 1;
    }
  }
  FUZZ_CHECK(Exists(index_path) == had_index, "reading created an index");
  absl::StatusOr<LogPage> unknown =
      ReadLogPage(root, kLogDateTime, kLogId + 1, 1, true);
  FUZZ_CHECK(unknown.status().code() == absl::StatusCode::kNotFound,
             "unknown log: %s", unknown.status().ToString().c_str());
  FUZZ_CHECK(!Exists(RunLogPath(root, kLogDateTime, kLogId + 1)),
             "reading created a log");
  return 0;
}

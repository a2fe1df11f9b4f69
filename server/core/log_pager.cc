// ReadLogPage: one page of a run log, found through the sparse line index so
// the cost is the page plus at most kLogIndexStride lines, whatever the page
// number.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"
#include "server/core/run_log.h"

namespace xxljob {
namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr size_t kIndexEntryBytes = 8;
// Index entries read per pread while looking for a valid one.
constexpr int64_t kIndexEntriesPerRead = 512;

// pread that retries EINTR; -1 with errno on error.
ssize_t PreadRetry(int fd, char* buf, size_t len, uint64_t offset) {
  ssize_t n;
  do {
    n = pread(fd, buf, len, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  return n;
}

// Like the writer's rule, cut at most 3 bytes early to keep a UTF-8
// sequence whole (the page goes out in a proto3 string); unlike the writer,
// the cut may be empty (a page of a lone cut line moves on regardless).
// `text` must hold the byte after the cut, when there is one, to see
// whether the cut splits a sequence.
size_t Utf8CutPoint(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  for (size_t cut = max_bytes; cut + 3 >= max_bytes; --cut) {
    if ((static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80) return cut;
    if (cut == 0) break;
  }
  return max_bytes;  // Not UTF-8 there: nothing to keep whole.
}

uint64_t DecodeIndexEntry(const char* in) {
  uint64_t value = 0;
  for (size_t i = 0; i < kIndexEntryBytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[i]))
             << (8 * i);
  }
  return value;
}

// Reads a file forward through a 64 KiB buffer, up to a size fixed when the
// read began (a writer may be appending meanwhile).
class LineReader {
 public:
  LineReader(int fd, uint64_t pos, uint64_t end)
      : fd_(fd), pos_(pos), end_(end) {}

  bool at_end() const { return pos_ >= end_; }

  // Skips up to `n` lines. A last line without its '\n' is skipped only if
  // `skip_partial`. Returns how many were skipped.
  absl::StatusOr<int64_t> SkipLines(int64_t n, bool skip_partial) {
    int64_t skipped = 0;
    while (skipped < n && !at_end()) {
      absl::Status filled = Fill();
      if (!filled.ok()) return filled;
      const char* const start = Data();
      const size_t available = Available();
      const char* newline =
          static_cast<const char*>(memchr(start, '\n', available));
      if (newline != nullptr) {
        pos_ += newline - start + 1;
        ++skipped;
      } else if (pos_ + available < end_) {
        pos_ += available;  // The line goes on in the next chunk.
      } else {
        if (skip_partial) {
          pos_ = end_;
          ++skipped;
        }
        break;
      }
    }
    return skipped;
  }

  struct Line {
    uint64_t length = 0;  // Without the '\n'.
    bool terminated = false;
  };
  // Consumes the next line, appending at most `keep` of its bytes to `out`.
  // REQUIRES: !at_end().
  absl::StatusOr<Line> ReadLine(size_t keep, std::string* out) {
    Line line;
    while (!at_end()) {
      absl::Status filled = Fill();
      if (!filled.ok()) return filled;
      const char* const start = Data();
      const size_t available = Available();
      const char* newline =
          static_cast<const char*>(memchr(start, '\n', available));
      const size_t length = newline ? newline - start : available;
      if (line.length < keep) {
        out->append(start, std::min<uint64_t>(length, keep - line.length));
      }
      line.length += length;
      pos_ += length;
      if (newline != nullptr) {
        ++pos_;
        line.terminated = true;
        break;
      }
    }
    return line;
  }

 private:
  // Makes the buffer hold the byte at pos_. REQUIRES: !at_end().
  absl::Status Fill() {
    if (pos_ >= buf_start_ && pos_ < buf_start_ + buf_len_) {
      return absl::OkStatus();
    }
    buf_.resize(kReadChunkBytes);
    const size_t want = std::min<uint64_t>(kReadChunkBytes, end_ - pos_);
    const ssize_t n = PreadRetry(fd_, buf_.data(), want, pos_);
    if (n < 0) return absl::ErrnoToStatus(errno, "read log file");
    if (n == 0) {
      // Truncated under us: what was there is all there is.
      end_ = pos_;
      return absl::DataLossError("log file shrank while being read");
    }
    buf_start_ = pos_;
    buf_len_ = n;
    return absl::OkStatus();
  }
  const char* Data() const { return buf_.data() + (pos_ - buf_start_); }
  size_t Available() const {
    return std::min<uint64_t>(buf_start_ + buf_len_, end_) - pos_;
  }

  const int fd_;
  uint64_t pos_;
  uint64_t end_;
  std::string buf_;
  uint64_t buf_start_ = 0;
  size_t buf_len_ = 0;
};

// Where line 1 + k * kLogIndexStride starts, per the index, for the largest
// k <= `wanted_k` whose entry checks out; {0, 1} (line 1 at offset 0) when
// none does. An entry checks out if it could be a line start: past the first
// k * kLogIndexStride bytes (every line takes at least one), inside the file,
// and just after a '\n'. A missing or damaged index costs speed, not
// correctness; an index that lies about a valid line start can't be caught.
struct SeekPoint {
  uint64_t offset = 0;
  int64_t line = 1;
};
SeekPoint FindSeekPoint(const std::string& index_path, int log_fd,
                        uint64_t log_size, int64_t wanted_k) {
  if (wanted_k <= 0) return {};
  UniqueFd index(open(index_path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (index.get() < 0 || fstat(index.get(), &st) != 0) return {};
  int64_t hi = std::min<int64_t>(wanted_k, st.st_size / kIndexEntryBytes);
  std::string entries;
  while (hi >= 1) {
    const int64_t lo = std::max<int64_t>(1, hi - kIndexEntriesPerRead + 1);
    entries.resize((hi - lo + 1) * kIndexEntryBytes);
    const ssize_t n = PreadRetry(index.get(), entries.data(), entries.size(),
                                 (lo - 1) * kIndexEntryBytes);
    if (n != static_cast<ssize_t>(entries.size())) return {};
    for (int64_t k = hi; k >= lo; --k) {
      const uint64_t offset =
          DecodeIndexEntry(entries.data() + (k - lo) * kIndexEntryBytes);
      char before;
      if (offset >= static_cast<uint64_t>(k) * kLogIndexStride &&
          offset <= log_size &&
          PreadRetry(log_fd, &before, 1, offset - 1) == 1 && before == '\n') {
        return {offset, 1 + k * kLogIndexStride};
      }
    }
    hi = lo - 1;
  }
  return {};
}

}  // namespace

absl::StatusOr<LogPage> ReadLogPage(absl::string_view log_path,
                                    int64_t log_date_time, int64_t log_id,
                                    int32_t from_line_num, bool run_finished,
                                    const LogPageLimits& limits) {
  if (from_line_num < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_line_num must be >= 1, got ", from_line_num));
  }
  const std::string path = RunLogPath(log_path, log_date_time, log_id);
  // O_RDONLY without O_CREAT: reading must never create the log or its
  // folders.
  UniqueFd log(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (log.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError("log file not found");
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  struct stat st;
  if (fstat(log.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("fstat ", path));
  }
  if (!S_ISREG(st.st_mode)) return absl::NotFoundError("log file not found");
  const uint64_t size = st.st_size;

  const SeekPoint seek =
      FindSeekPoint(absl::StrCat(path.substr(0, path.size() - 4), ".idx"),
                    log.get(), size, (from_line_num - 1) / kLogIndexStride);
  LineReader reader(log.get(), seek.offset, size);
  LogPage page;
  page.from_line_num = from_line_num;
  page.to_line_num = from_line_num - 1;
  absl::StatusOr<int64_t> skipped =
      reader.SkipLines(from_line_num - seek.line, run_finished);
  if (!skipped.ok()) return skipped.status();
  if (*skipped < from_line_num - seek.line) {
    page.at_end_of_file = reader.at_end();
    return page;
  }

  // Caps below 1 would return nothing and make no progress.
  const int max_lines = std::max(limits.max_lines, 1);
  const size_t max_bytes = std::max<size_t>(limits.max_bytes, 1);
  std::string& content = page.content;
  while (page.to_line_num - from_line_num + 1 < max_lines &&
         page.to_line_num < std::numeric_limits<int32_t>::max() &&
         !reader.at_end()) {
    const size_t before = content.size();
    const size_t room = max_bytes - before;
    if (room == 0) break;  // Full; the next line is for the next page.
    // One byte past the room, so that a cut can see whether it splits a
    // UTF-8 sequence.
    absl::StatusOr<LineReader::Line> line = reader.ReadLine(room + 1, &content);
    if (!line.ok()) return line.status();
    if (!line->terminated && !run_finished) {
      // Still being written: not a line yet, and not the end either.
      content.resize(before);
      return page;
    }
    const uint64_t need = line->length + (line->terminated ? 1 : 0);
    if (need > room) {
      if (page.to_line_num >= from_line_num) {
        content.resize(before);  // Left for the next page.
        return page;
      }
      // Alone too big for a page: cut it, so the reader still moves on.
      const size_t keep = room - (line->terminated ? 1 : 0);
      content.resize(
          before +
          Utf8CutPoint(absl::string_view(content).substr(before), keep));
      if (line->terminated) content.push_back('\n');
      ++page.to_line_num;
      break;
    }
    if (line->terminated) content.push_back('\n');
    ++page.to_line_num;
  }
  page.at_end_of_file = reader.at_end();
  return page;
}

}  // namespace xxljob

// RunLogPath and RunLogWriter: appending a run's log and keeping its sparse
// line index in step with what actually reached the file.
#include "server/core/run_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

constexpr size_t kScanChunkBytes = 64 * 1024;
constexpr size_t kIndexEntryBytes = 8;

// The largest cut <= max_bytes of `text` that does not split a UTF-8
// sequence, so a split line stays valid text. Steps back at most 3 bytes:
// text that is not UTF-8 is cut at max_bytes, and a cut is never empty
// when max_bytes >= 4 (so splitting always makes progress).
size_t Utf8CutPoint(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  for (size_t cut = max_bytes; cut + 3 >= max_bytes && cut > 0; --cut) {
    if ((static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80) return cut;
  }
  return max_bytes;
}

// Appends `text` to `batch` as one or more lines of "<prefix><chunk>\n",
// chunks cut so that no line (without its '\n') exceeds kMaxLogLineBytes.
void AppendSplitLine(absl::string_view prefix, absl::string_view text,
                     std::string* batch) {
  const size_t max_text = kMaxLogLineBytes - prefix.size();
  do {
    const size_t cut = Utf8CutPoint(text, max_text);
    absl::StrAppend(batch, prefix, text.substr(0, cut), "\n");
    text.remove_prefix(cut);
  } while (!text.empty());
}

void EncodeIndexEntry(uint64_t offset, char* out) {
  for (size_t i = 0; i < kIndexEntryBytes; ++i) {
    out[i] = static_cast<char>((offset >> (8 * i)) & 0xFF);
  }
}

// The local time zone, looked up once: absl::LocalTimeZone() takes a
// process-wide lock (cctz's zone table) on every call, and every run made
// four such calls (its folder, its three lines).
absl::TimeZone LocalZone() {
  static const absl::TimeZone zone = absl::LocalTimeZone();
  return zone;
}

// "yyyy-MM-dd HH:mm:ss" of `unix_seconds` in the local time zone. Formatting
// costs a zone lookup and a strftime; runs that start and log within one
// second share it through a per-thread cache of the last second formatted.
absl::string_view LocalSecondText(int64_t unix_seconds) {
  struct Cache {
    int64_t seconds = std::numeric_limits<int64_t>::min();
    std::string text;
  };
  thread_local Cache cache;
  if (cache.seconds != unix_seconds) {
    cache.text = absl::FormatTime(
        "%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(unix_seconds), LocalZone());
    cache.seconds = unix_seconds;
  }
  return cache.text;
}

// Floor division, so that times before the epoch land in the right second.
int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

absl::Status MakeDirs(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory"));
  }
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirs(path.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  // EEXIST: another thread or process made it first, which is fine.
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  return absl::OkStatus();
}

// What an existing log holds: its size, its complete lines and the index
// entries those lines call for.
struct LogScan {
  uint64_t size = 0;
  int64_t lines = 0;
  bool ends_mid_line = false;
  std::string index;  // Encoded entries, ready to compare or write.
};

absl::StatusOr<LogScan> ScanLog(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("fstat ", path));
  }
  LogScan scan;
  // Only S_ISREG sizes mean anything; anything else (a device, say) is
  // treated as empty rather than read forever.
  const uint64_t size = S_ISREG(st.st_mode) ? st.st_size : 0;
  std::string buf(kScanChunkBytes, '\0');
  char last = '\n';
  while (scan.size < size) {
    const ssize_t n = pread(fd, buf.data(), buf.size(), scan.size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;  // Shrank under us; take what is there.
    for (const char* p = buf.data();
         (p = static_cast<const char*>(memchr(p, '\n', buf.data() + n - p)));
         ++p) {
      if (++scan.lines % kLogIndexStride == 0) {
        char entry[kIndexEntryBytes];
        EncodeIndexEntry(scan.size + (p - buf.data()) + 1, entry);
        scan.index.append(entry, kIndexEntryBytes);
      }
    }
    last = buf[n - 1];
    scan.size += n;
  }
  scan.ends_mid_line = last != '\n';
  return scan;
}

// Makes the index file hold exactly `expected`. Best effort: the index only
// speeds reads up, so a failure is logged and the log is written without it.
void RepairIndex(int index_fd, const std::string& index_path,
                 const std::string& expected) {
  std::string actual(expected.size() + 1, '\0');
  const ssize_t n = pread(index_fd, actual.data(), actual.size(), 0);
  if (n == static_cast<ssize_t>(expected.size()) &&
      actual.compare(0, n, expected) == 0) {
    return;
  }
  LOG(WARNING) << "rebuilding run log index " << index_path;
  if (ftruncate(index_fd, 0) != 0 ||
      pwrite(index_fd, expected.data(), expected.size(), 0) !=
          static_cast<ssize_t>(expected.size())) {
    PLOG(ERROR) << "can't rebuild run log index " << index_path
                << "; reads of this log will be slower";
  }
}

std::string IndexPath(const std::string& log_file) {
  return absl::StrCat(log_file.substr(0, log_file.size() - 4), ".idx");
}

// Not O_APPEND: entries are written with pwrite at their own position, which
// O_APPEND would ignore on Linux. -1 (logged) if it can't be opened.
int OpenIndex(const std::string& log_file) {
  const std::string index_path = IndexPath(log_file);
  const int fd = open(index_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    PLOG(ERROR) << "can't open run log index " << index_path
                << "; reads of this log will be slower";
  }
  return fd;
}

}  // namespace

std::string RunLogPath(absl::string_view log_path, int64_t log_date_time,
                       int64_t log_id) {
  const absl::string_view date =
      LocalSecondText(FloorDiv(log_date_time, 1000)).substr(0, 10);
  return absl::StrCat(log_path, "/", date, "/", log_id, ".log");
}

absl::StatusOr<std::unique_ptr<RunLogWriter>> RunLogWriter::Open(
    absl::string_view log_path, int64_t log_date_time, int64_t log_id) {
  std::string path = RunLogPath(log_path, log_date_time, log_id);
  // O_RDWR only so Open can read back an existing log through the same fd;
  // every write goes through O_APPEND.
  constexpr int kFlags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC;
  // O_EXCL: a run's log is almost always new, and a file this open made is
  // known to be empty, so it needs no fstat and no scan. Only an existing
  // log (EEXIST: a run continued after a restart) is opened again and read.
  // Creating files in one folder takes the folder's lock in the kernel,
  // where concurrent creators spin (measured: most of the CPU of a burst of
  // short runs on many worker threads). Queueing here sleeps instead.
  static absl::Mutex create_mu(absl::kConstInit);
  auto create = [&path] {
    absl::MutexLock lock(&create_mu);
    return open(path.c_str(), kFlags | O_EXCL, 0644);
  };
  int log_fd = create();
  if (log_fd < 0 && errno == ENOENT) {
    // The date folder is made by the first run of the day; the others skip
    // this (one open per run on the hot path).
    absl::Status made = MakeDirs(path.substr(0, path.find_last_of('/')));
    if (!made.ok()) return made;
    log_fd = create();
  }
  const bool created = log_fd >= 0;
  if (!created && errno == EEXIST) log_fd = open(path.c_str(), kFlags, 0644);
  if (log_fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  absl::StatusOr<LogScan> scan =
      created ? absl::StatusOr<LogScan>(LogScan{}) : ScanLog(log_fd, path);
  if (!scan.ok()) {
    close(log_fd);
    return scan.status();
  }
  int index_fd = -1;
  if (scan->size > 0) {
    // Continuing a log: make its index match what the file holds (a stale
    // or foreign index would otherwise outlive this writer).
    index_fd = OpenIndex(path);
    if (index_fd >= 0) RepairIndex(index_fd, IndexPath(path), scan->index);
  }
  return std::unique_ptr<RunLogWriter>(
      new RunLogWriter(std::move(path), log_fd, index_fd, scan->lines,
                       scan->size, scan->ends_mid_line));
}

RunLogWriter::RunLogWriter(std::string path, int log_fd, int index_fd,
                           int64_t lines, uint64_t size, bool ends_mid_line)
    : path_(std::move(path)),
      log_fd_(log_fd),
      index_fd_(index_fd),
      lines_(lines),
      size_(size),
      ends_mid_line_(ends_mid_line) {}

RunLogWriter::~RunLogWriter() {
  FlushRaw();
  close(log_fd_);
  if (index_fd_ >= 0) close(index_fd_);
}

void RunLogWriter::Log(absl::string_view message) {
  // Formatted outside the lock: only the write itself needs ordering.
  // "yyyy-MM-dd HH:mm:ss.SSS ", built without an allocation.
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const int64_t ms = now_ms - FloorDiv(now_ms, 1000) * 1000;
  char stamp[32];
  const absl::string_view second = LocalSecondText(FloorDiv(now_ms, 1000));
  char* end = std::copy(second.begin(), second.end(), stamp);
  *end++ = '.';
  *end++ = static_cast<char>('0' + ms / 100);
  *end++ = static_cast<char>('0' + ms / 10 % 10);
  *end++ = static_cast<char>('0' + ms % 10);
  *end++ = ' ';
  const absl::string_view prefix(stamp, end - stamp);
  if (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  std::string batch;
  batch.reserve(message.size() + 2 * prefix.size());
  for (;;) {
    const size_t newline = message.find('\n');
    AppendSplitLine(prefix, message.substr(0, newline), &batch);
    if (newline == absl::string_view::npos) break;
    message.remove_prefix(newline + 1);
  }
  absl::MutexLock lock(&mu_);
  WriteLinesLocked(batch);
}

void RunLogWriter::AppendRaw(absl::string_view text) {
  absl::MutexLock lock(&mu_);
  std::string batch;
  for (size_t newline; (newline = text.find('\n')) != absl::string_view::npos;
       text.remove_prefix(newline + 1)) {
    if (partial_.empty()) {
      AppendSplitLine("", text.substr(0, newline), &batch);
    } else {
      partial_.append(text.data(), newline);
      AppendSplitLine("", partial_, &batch);
      partial_.clear();
    }
  }
  partial_.append(text.data(), text.size());
  // Bounds the buffer: output that never ends a line still gets written.
  while (partial_.size() >= kMaxLogLineBytes) {
    const size_t cut = Utf8CutPoint(partial_, kMaxLogLineBytes);
    absl::StrAppend(&batch, absl::string_view(partial_).substr(0, cut), "\n");
    partial_.erase(0, cut);
  }
  if (!batch.empty()) WriteLinesLocked(batch);
}

void RunLogWriter::FlushRaw() {
  absl::MutexLock lock(&mu_);
  if (partial_.empty()) return;
  partial_.push_back('\n');
  WriteLinesLocked(partial_);
  partial_.clear();
}

int64_t RunLogWriter::line_count() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

void RunLogWriter::WriteLinesLocked(absl::string_view text) {
  std::string terminated;
  if (ends_mid_line_) {
    // An earlier write was cut short (or a crash left a partial line): end
    // that line first so ours start on a line of their own.
    terminated = absl::StrCat("\n", text);
    text = terminated;
  }
  // One write() per batch keeps lines whole; the loop only matters for the
  // rare short write, which on a regular file means an error is coming.
  size_t written = 0;
  int error = 0;
  while (written < text.size()) {
    const ssize_t n =
        write(log_fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    written += n;
  }
  AccountWrittenLocked(text.substr(0, written));
  if (error != 0) {
    // Dropped, not returned: a full disk must not fail the run, and a
    // chatty job must not flood our own log with the same complaint.
    LOG_EVERY_N(ERROR, 100)
        << "run log " << path_ << ": write failed, " << (text.size() - written)
        << " bytes dropped: " << std::generic_category().message(error) << " ("
        << google::COUNTER << " write failures so far)";
  }
}

void RunLogWriter::AccountWrittenLocked(absl::string_view written) {
  if (written.empty()) return;
  const char* const begin = written.data();
  const char* const end = begin + written.size();
  for (const char* p = begin;
       (p = static_cast<const char*>(memchr(p, '\n', end - p))); ++p) {
    if (++lines_ % kLogIndexStride == 0) {
      WriteIndexEntryLocked(lines_ / kLogIndexStride, size_ + (p - begin) + 1);
    }
  }
  size_ += written.size();
  ends_mid_line_ = written.back() != '\n';
}

void RunLogWriter::WriteIndexEntryLocked(int64_t k, uint64_t offset) {
  if (index_fd_ < 0 && !index_failed_) {
    index_fd_ = OpenIndex(path_);
    index_failed_ = index_fd_ < 0;
  }
  if (index_fd_ < 0) return;
  char entry[kIndexEntryBytes];
  EncodeIndexEntry(offset, entry);
  // At its own position, so one failed entry leaves a hole (zeros, which
  // readers reject) instead of shifting every later entry.
  const off_t at = static_cast<off_t>((k - 1) * kIndexEntryBytes);
  const ssize_t n = pwrite(index_fd_, entry, kIndexEntryBytes, at);
  if (n != static_cast<ssize_t>(kIndexEntryBytes)) {
    LOG_EVERY_N(ERROR, 100)
        << "run log index of " << path_ << ": write failed: "
        << (n < 0 ? std::generic_category().message(errno) : "short write");
  }
}

}  // namespace xxljob

// Run logs: one file per run at <log_path>/<yyyy-MM-dd>/<log_id>.log (the date
// of log_date_time in the local time zone), written as the run goes and read
// back a page at a time.
//
// Every writer also keeps a sparse line index beside the log,
// <log_id>.idx: the byte offset of line 1 + k * kLogIndexStride for k = 1, 2,
// ... as little-endian uint64s. A reader seeks through it, so reading page k
// costs the page, not the k - 1 pages before it. A missing, short or damaged
// index only makes reads slower (they scan from the last valid entry).
#ifndef XXLJOB_SERVER_CORE_RUN_LOG_H_
#define XXLJOB_SERVER_CORE_RUN_LOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "handlers/run_context.h"
#include "server/core/executor_options.h"

namespace xxljob {

inline constexpr int64_t kLogIndexStride = 1024;
// Longer lines (timestamp included, '\n' not) are split when written, at a
// UTF-8 sequence boundary.
inline constexpr size_t kMaxLogLineBytes = 16 * 1024;

// "<log_path>/<yyyy-MM-dd>/<log_id>.log" for the local date of
// `log_date_time` (epoch ms).
std::string RunLogPath(absl::string_view log_path, int64_t log_date_time,
                       int64_t log_id);

// Appends to one run's log. Thread-safe: each line reaches the file in one
// write, whole, so lines from several threads never interleave mid-line.
// One writer per log at a time: line count and index assume nobody else
// appends to the file.
class RunLogWriter : public RunLogSink {
 public:
  // Opens (creating log_path, the date folder and the file if needed) the log
  // of run `log_id` for appending; an existing log is continued: it is
  // scanned once to recover its line count and to rebuild its index if that
  // is missing or wrong, and a last line left without its newline (a crash)
  // is ended by the next write. Fails with the OS error if the folder or
  // file can't be made or read; trouble with the index is only logged.
  static absl::StatusOr<std::unique_ptr<RunLogWriter>> Open(
      absl::string_view log_path, int64_t log_date_time, int64_t log_id);
  ~RunLogWriter() override;
  RunLogWriter(const RunLogWriter&) = delete;
  RunLogWriter& operator=(const RunLogWriter&) = delete;

  // Appends "<yyyy-MM-dd HH:mm:ss.SSS> <message>" in local time (each
  // embedded line gets its own timestamp; a trailing '\n' adds no empty
  // line; "" writes one empty line). The call's lines go out in one write.
  // Write errors are logged (rate-limited) and dropped: a full disk must not
  // fail the run. Lines that did not reach the file are not counted.
  void Log(absl::string_view message) override;

  // Appends program output as it arrives, without timestamps. Complete lines
  // are written at once; a trailing partial line is held until its newline
  // arrives or FlushRaw() is called, but no longer than kMaxLogLineBytes:
  // then that much is written as a line of its own.
  void AppendRaw(absl::string_view text);
  // Writes a held partial line, ending it with '\n'. The destructor calls it.
  void FlushRaw();

  // Program output goes in untouched (no timestamps): RunLogSink's contract,
  // kept by AppendRaw/FlushRaw.
  void Output(absl::string_view chunk) override { AppendRaw(chunk); }
  void FlushOutput() override { FlushRaw(); }

  // Complete lines in the file (including those found when it was opened).
  int64_t line_count() const;

 private:
  RunLogWriter(std::string path, int log_fd, int index_fd, int64_t lines,
               uint64_t size, bool ends_mid_line);
  // Writes `text` (whole lines, each ending in '\n') in one write().
  void WriteLinesLocked(absl::string_view text)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts the lines of `written` (what reached the file) and indexes them.
  void AccountWrittenLocked(absl::string_view written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteIndexEntryLocked(int64_t k, uint64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  const int log_fd_;
  // Opened when the first entry is due (most runs log far fewer than
  // kLogIndexStride lines and never need one). -1 until then, and for good
  // if it can't be opened: the log is then written without an index.
  int index_fd_ ABSL_GUARDED_BY(mu_);
  bool index_failed_ ABSL_GUARDED_BY(mu_) = false;
  // Complete lines in the file, and its size.
  int64_t lines_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_);
  // The file ends in an unfinished line (a write cut short, or a crash
  // before this Open); the next write ends it first.
  bool ends_mid_line_ ABSL_GUARDED_BY(mu_);
  // AppendRaw output after its last newline; under kMaxLogLineBytes.
  std::string partial_ ABSL_GUARDED_BY(mu_);
};

struct LogPage {
  int32_t from_line_num = 0;
  // Last line returned; from_line_num - 1 when none.
  int32_t to_line_num = 0;
  // The lines, each with its '\n' (a last line returned without one had none
  // in the file).
  std::string content;
  // The page reaches the end of the file (nothing after to_line_num). False
  // while a partial last line is held back.
  bool at_end_of_file = false;
};

// Reads lines from_line_num.. (1-based) of run `log_id`'s log, up to `limits`.
// A page holds at least one line when there is one: a first line over
// max_bytes is returned cut (at a UTF-8 boundary, its '\n' kept, within
// max_bytes) and to_line_num still moves past it. A trailing line without
// its newline is returned only if `run_finished`, which the caller must
// decide before the call (so a run that ends meanwhile is not misread as
// complete). From beyond the end: an empty page, to_line_num =
// from_line_num - 1. Costs the page (plus at most kLogIndexStride lines and
// a few index reads), never the whole file before it. Never creates files or
// folders.
// Errors: NOT_FOUND "log file not found"; INVALID_ARGUMENT for
// from_line_num < 1; the OS error if the file can't be read; DATA_LOSS if it
// shrinks while being read (logs only grow).
absl::StatusOr<LogPage> ReadLogPage(absl::string_view log_path,
                                    int64_t log_date_time, int64_t log_id,
                                    int32_t from_line_num, bool run_finished,
                                    const LogPageLimits& limits = {});

// Removes date folders (named exactly as a real date yyyy-MM-dd; nothing else
// is touched, symlinks included) under `log_path`, with everything in them,
// whose date is before (today - retention_days), today being `now`'s date in
// the local time zone: with 30, today - 30 is kept and today - 31 removed.
// retention_days < 3 disables cleanup. Returns how many folders were removed;
// a missing log_path removes none, and a folder that can't be removed is
// logged and skipped.
int RemoveExpiredLogDirs(absl::string_view log_path, int retention_days,
                         absl::Time now);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RUN_LOG_H_

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

namespace xxljob {

inline constexpr int64_t kLogIndexStride = 1024;
// Longer lines are split when written.
inline constexpr size_t kMaxLogLineBytes = 16 * 1024;

// "<log_path>/<yyyy-MM-dd>/<log_id>.log" for the local date of
// `log_date_time` (epoch ms).
std::string RunLogPath(absl::string_view log_path, int64_t log_date_time,
                       int64_t log_id);

// Appends to one run's log. Thread-safe: each line reaches the file in one
// write, whole, so lines from several threads never interleave mid-line.
class RunLogWriter : public RunLogSink {
 public:
  // Opens (creating the date folder and the file if needed) the log of run
  // `log_id` for appending; an existing log is continued, its line count
  // recovered. Fails with the OS error if the folder or file can't be made.
  static absl::StatusOr<std::unique_ptr<RunLogWriter>> Open(
      absl::string_view log_path, int64_t log_date_time, int64_t log_id);
  ~RunLogWriter() override;
  RunLogWriter(const RunLogWriter&) = delete;
  RunLogWriter& operator=(const RunLogWriter&) = delete;

  // Appends "<yyyy-MM-dd HH:mm:ss.SSS> <message>" (each embedded line gets
  // its own timestamp). Write errors are logged (rate-limited) and dropped:
  // a full disk must not fail the run.
  void Log(absl::string_view message) override;

  // Appends program output as it arrives, without timestamps. Complete lines
  // are written at once; a trailing partial line is held until its newline
  // arrives or FlushRaw() is called.
  void AppendRaw(absl::string_view text);
  void FlushRaw();

  // Lines written so far (including lines found when the file was opened).
  int64_t line_count() const;

 private:
  RunLogWriter(int log_fd, int index_fd, int64_t lines, uint64_t size);
  void WriteLinesLocked(absl::string_view text)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  const int log_fd_;
  const int index_fd_;
  int64_t lines_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_);
  std::string partial_ ABSL_GUARDED_BY(mu_);
};

// Page caps for ReadLogPage.
struct LogPageLimits {
  int max_lines = 2000;
  size_t max_bytes = 256 * 1024;
};

struct LogPage {
  int32_t from_line_num = 0;
  // Last line returned; from_line_num - 1 when none.
  int32_t to_line_num = 0;
  std::string content;
  // The page reaches the end of the file (nothing after to_line_num).
  bool at_end_of_file = false;
};

// Reads lines from_line_num.. (1-based) of run `log_id`'s log, up to `limits`
// (a single line over max_bytes is returned cut to max_bytes). A trailing
// line without its newline is returned only if `run_finished`. Costs the
// page (plus at most kLogIndexStride lines), never the whole file before it.
// Never creates files or folders.
// Errors: NOT_FOUND "log file not found"; INVALID_ARGUMENT for
// from_line_num < 1; the OS error if the file can't be read.
absl::StatusOr<LogPage> ReadLogPage(absl::string_view log_path,
                                    int64_t log_date_time, int64_t log_id,
                                    int32_t from_line_num, bool run_finished,
                                    const LogPageLimits& limits = {});

// Removes date folders (yyyy-MM-dd; nothing else is touched) under `log_path`
// older than `retention_days` days before `now`, in the local time zone.
// retention_days < 3 disables cleanup. Returns how many folders were removed;
// a folder that can't be removed is logged and skipped.
int RemoveExpiredLogDirs(absl::string_view log_path, int retention_days,
                         absl::Time now);

}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_RUN_LOG_H_

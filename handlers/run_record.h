// Internal to the script runner: the record each running script leaves in
// the data directory (<log_path>/glue/running/<tag>.run), so that a
// restarted executor can find and kill what a crashed one left running
// (script_recovery.h).
//
// A record is written before the program is started (the run's tag and
// cgroups are known then) and the program's pid and start time are added
// once it runs; it is removed when every process of the run is gone. The
// format is text, one "key=value" per line:
//
//   xxl-executor-run 1
//   boot=<kernel boot id>            a reboot ends every process: stale
//   executor=<pid> <start time>      the executor that started the run
//   tag=<tag>                        XXL_EXECUTOR_RUN in its environment
//   name=<job J log L>               for the log
//   cgroup=<dir>                     zero or more
//   program=<pid> <start time>       added after the start
//
// Start times are /proc/<pid>/stat field 22 (clock ticks after boot): with
// the pid they name one process for good. No fsync: the failure a record
// must survive is the death of the executor, which leaves the kernel's
// page cache intact; after a kernel crash or a power loss no process of
// the run is left (and the boot id tells the record is stale).
#ifndef XXLJOB_HANDLERS_RUN_RECORD_H_
#define XXLJOB_HANDLERS_RUN_RECORD_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xxljob {
namespace process_internal {

struct RunRecord {
  std::string boot_id;
  pid_t executor_pid = 0;
  uint64_t executor_start = 0;
  std::string tag;
  std::string name;
  std::vector<std::string> cgroups;
  pid_t program = 0;  // 0 until the program started.
  uint64_t program_start = 0;
};

std::string FormatRunRecord(const RunRecord& record);
// nullopt unless `text` is a record (a torn one, cut before its tag, is not).
std::optional<RunRecord> ParseRunRecord(absl::string_view text);

// This kernel's boot id (/proc/sys/kernel/random/boot_id); "" if unknown.
const std::string& BootId();
// This process's start time; 0 if unknown.
uint64_t OwnStartTime();

// One run's record file. Not thread-safe: the run's thread owns it.
class RunRecordFile {
 public:
  // Writes `record` to <dir>/<record.tag>.run (mode 0600; `dir` made 0700
  // if missing). Errors: the OS error (nothing is left behind).
  static absl::StatusOr<std::unique_ptr<RunRecordFile>> Create(
      const std::string& dir, const RunRecord& record);
  RunRecordFile(const RunRecordFile&) = delete;
  RunRecordFile& operator=(const RunRecordFile&) = delete;
  // Closes the file; does not remove it (Remove does).
  ~RunRecordFile();

  // Appends the program's identity. Errors: the OS error (the record then
  // still names the run's tag and cgroups).
  absl::Status SetProgram(pid_t pid, uint64_t start_time);
  // Deletes the file: the run's processes are all gone.
  void Remove();
  const std::string& path() const { return path_; }

 private:
  RunRecordFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
};

}  // namespace process_internal
}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_RUN_RECORD_H_

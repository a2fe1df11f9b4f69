// Run records; see run_record.h for the format and why there is no fsync.
#include "handlers/run_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "handlers/process_tree.h"

namespace xxljob {
namespace process_internal {
namespace {

constexpr absl::string_view kMagic = "xxl-executor-run 1";

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

bool ParseIdentity(absl::string_view value, pid_t* pid, uint64_t* start) {
  std::vector<absl::string_view> f =
      absl::StrSplit(value, ' ', absl::SkipEmpty());
  int p = 0;
  if (f.size() != 2 || !absl::SimpleAtoi(f[0], &p) || p <= 0 ||
      !absl::SimpleAtoi(f[1], start)) {
    return false;
  }
  *pid = p;
  return true;
}

}  // namespace

std::string FormatRunRecord(const RunRecord& r) {
  std::string out =
      absl::StrCat(kMagic, "\nboot=", r.boot_id, "\nexecutor=", r.executor_pid,
                   " ", r.executor_start, "\ntag=", r.tag, "\n");
  if (!r.name.empty()) absl::StrAppend(&out, "name=", r.name, "\n");
  for (const std::string& dir : r.cgroups) {
    absl::StrAppend(&out, "cgroup=", dir, "\n");
  }
  if (r.program > 0) {
    absl::StrAppend(&out, "program=", r.program, " ", r.program_start, "\n");
  }
  return out;
}

std::optional<RunRecord> ParseRunRecord(absl::string_view text) {
  if (!absl::ConsumePrefix(&text, kMagic) || !absl::ConsumePrefix(&text, "\n"))
    return std::nullopt;
  RunRecord r;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;  // A torn last line.
    const absl::string_view key = line.substr(0, eq);
    const absl::string_view value = line.substr(eq + 1);
    if (key == "boot") {
      r.boot_id = std::string(value);
    } else if (key == "executor") {
      ParseIdentity(value, &r.executor_pid, &r.executor_start);
    } else if (key == "tag") {
      r.tag = std::string(value);
    } else if (key == "name") {
      r.name = std::string(value);
    } else if (key == "cgroup" && absl::StartsWith(value, "/")) {
      r.cgroups.emplace_back(value);
    } else if (key == "program") {
      ParseIdentity(value, &r.program, &r.program_start);
    }
  }
  if (r.tag.empty()) return std::nullopt;
  return r;
}

const std::string& BootId() {
  static const std::string* id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    std::getline(in, line);
    return new std::string(absl::StripAsciiWhitespace(line));
  }();
  return *id;
}

uint64_t OwnStartTime() {
  static const uint64_t start = [] {
    const std::optional<ProcStat> st = ReadProcStat(getpid());
    return st.has_value() ? st->start_time : 0;
  }();
  return start;
}

absl::StatusOr<std::unique_ptr<RunRecordFile>> RunRecordFile::Create(
    const std::string& dir, const RunRecord& record) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(
        std::filesystem::path(dir).parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir));
    }
  }
  std::string path = absl::StrCat(dir, "/", record.tag, ".run");
  const int fd = open(path.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", path));
  std::unique_ptr<RunRecordFile> file(new RunRecordFile(std::move(path), fd));
  if (absl::Status s = WriteAll(fd, FormatRunRecord(record)); !s.ok()) {
    file->Remove();
    return absl::Status(s.code(), absl::StrCat(s.message(), " ", file->path_));
  }
  return file;
}

RunRecordFile::~RunRecordFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status RunRecordFile::SetProgram(pid_t pid, uint64_t start_time) {
  return WriteAll(fd_, absl::StrCat("program=", pid, " ", start_time, "\n"));
}

void RunRecordFile::Remove() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!path_.empty() && unlink(path_.c_str()) != 0 && errno != ENOENT) {
    PLOG(WARNING) << "can't remove " << path_;
  }
  path_.clear();
}

}  // namespace process_internal
}  // namespace xxljob

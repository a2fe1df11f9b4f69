// ProcessTree and the /proc, pidfd and child-table helpers under it; see
// process_tree.h for what each is, and process.cc for why.
#include "handlers/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"

namespace xxljob {
namespace process_internal {

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}
int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  char buf[1024];
  const ssize_t n = read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // The command name, in parentheses, may itself hold ") ": the fields
  // start after the last ')'.
  const char* fields = strrchr(buf, ')');
  if (fields == nullptr || fields[1] == '\0') return std::nullopt;
  ProcStat st;
  st.pid = pid;
  int ppid = 0, sid = 0;
  unsigned long long start = 0;  // NOLINT(runtime/int): scanf's type.
  if (sscanf(fields + 2,
             "%c %d %*d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
             "%*d %*d %*d %llu",
             &st.state, &ppid, &sid, &start) != 4) {
    return std::nullopt;
  }
  st.ppid = ppid;
  st.sid = sid;
  st.start_time = start;
  return st;
}

std::vector<ProcStat> ScanProcesses() {
  std::vector<ProcStat> procs;
  DIR* dir = opendir("/proc");  // glibc opens it O_CLOEXEC.
  if (dir == nullptr) {
    PLOG_EVERY_N(ERROR, 100) << "can't list /proc; script processes can't be "
                                "tracked beyond their process group";
    return procs;
  }
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long pid = strtol(entry->d_name, &end, 10);  // NOLINT(runtime/int)
    if (*end != '\0' || pid <= 0) continue;
    if (std::optional<ProcStat> st = ReadProcStat(pid)) procs.push_back(*st);
  }
  closedir(dir);
  return procs;
}

bool EnvironHas(pid_t pid, const std::string& entry) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/environ", static_cast<int>(pid));
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  // Entries are NUL-terminated: with a NUL in front, "\0entry\0" matches
  // whole entries only, the first included.
  std::string env(1, '\0');
  char buf[16 * 1024];
  for (ssize_t n;
       env.size() < (1 << 20) && (n = read(fd.get(), buf, sizeof(buf))) > 0;) {
    env.append(buf, n);
  }
  env.push_back('\0');
  const std::string needle = absl::StrCat(absl::string_view("\0", 1), entry,
                                          absl::string_view("\0", 1));
  return env.find(needle) != std::string::npos;
}

void BecomeSubreaper() {
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    PLOG(WARNING) << "can't become a child subreaper; orphaned descendants "
                     "of scripts that left their session can't be reaped";
  } else {
    LOG(INFO) << "child subreaper: orphaned script descendants are "
                 "re-parented to this process";
  }
}

ChildTable& ChildTable::Get() {
  static ChildTable* table = new ChildTable;  // Never destroyed.
  return *table;
}

void ChildTable::ReapStrays(const std::vector<ProcStat>& procs) {
  const pid_t self = getpid();
  const pid_t own_sid = getsid(0);
  absl::MutexLock lock(&mu);
  for (const ProcStat& p : procs) {
    if (p.ppid != self || !p.dead() || p.sid == own_sid ||
        claimed.contains(p.pid)) {
      continue;
    }
    // By pid and WNOHANG: never waits, never takes someone else's child.
    if (waitpid(p.pid, nullptr, WNOHANG) == p.pid) {
      VLOG(1) << "reaped orphan " << p.pid << " (session " << p.sid << ")";
    }
  }
}

ProcessTree::ProcessTree() : self_(getpid()), own_sid_(getsid(0)) {}

void ProcessTree::SetProgram(pid_t program, std::string tag_entry) {
  program_ = program;
  tag_entry_ = std::move(tag_entry);
  members_[program_] = 0;  // Its start time is filled in by the first scan.
}

absl::flat_hash_map<pid_t, uint64_t> ProcessTree::AttributeLocked(
    const ChildTable& table) const {
  absl::flat_hash_map<pid_t, std::vector<const ProcStat*>> children;
  for (const ProcStat& p : last_scan_) children[p.ppid].push_back(&p);
  absl::flat_hash_map<pid_t, uint64_t> found;
  std::vector<const ProcStat*> queue;
  auto add = [&](const ProcStat& p) {
    if (p.pid <= 1 || p.pid == self_) return;
    if (found.emplace(p.pid, p.start_time).second) queue.push_back(&p);
  };
  for (const ProcStat& p : last_scan_) {
    auto known = members_.find(p.pid);
    const bool still_known =
        known != members_.end() &&
        (known->second == p.start_time || p.pid == program_);
    if (still_known || p.sid == program_) {
      add(p);
    } else if (p.ppid == self_ && !p.dead() && p.sid != own_sid_ &&
               !table.claimed.contains(p.pid) &&
               EnvironHas(p.pid, tag_entry_)) {
      add(p);  // An orphan of this run, re-parented to us.
    }
  }
  // Descendants, by PPid links as they are now.
  for (size_t i = 0; i < queue.size(); ++i) {
    auto it = children.find(queue[i]->pid);
    if (it == children.end()) continue;
    for (const ProcStat* child : it->second) add(*child);
  }
  return found;
}

ProcessTree::Collected ProcessTree::Collect(int sig) {
  last_scan_ = ScanProcesses();
  absl::flat_hash_map<pid_t, const ProcStat*> by_pid;
  for (const ProcStat& p : last_scan_) by_pid[p.pid] = &p;
  ChildTable& table = ChildTable::Get();
  absl::MutexLock lock(&table.mu);
  absl::flat_hash_map<pid_t, uint64_t> now_members = AttributeLocked(table);

  Collected result;
  std::vector<pid_t> reaped;
  for (const auto& [pid, start_time] : now_members) {
    const ProcStat& p = *by_pid[pid];
    auto known = members_.find(pid);
    if (known == members_.end() ||
        (known->second != start_time && pid != program_)) {
      ++result.added;
      table.claimed.insert(pid);
      if (sig != 0 && !p.dead()) Signal(pid, start_time, sig);
    }
    if (!p.dead()) {
      ++result.alive;
    } else if (pid != program_ && p.ppid == self_ &&
               waitpid(pid, nullptr, WNOHANG) == pid) {
      // A re-parented member: reaped here, it is gone for good.
      reaped.push_back(pid);
    }
  }
  for (pid_t pid : reaped) {
    now_members.erase(pid);
    table.claimed.erase(pid);
  }
  for (const auto& [pid, start_time] : members_) {
    if (!now_members.contains(pid) && pid != program_) table.claimed.erase(pid);
  }
  // The program stays a member (and claimed) until the run has reaped it,
  // even if the scan missed it.
  now_members.try_emplace(program_, 0);
  members_ = std::move(now_members);
  return result;
}

void ProcessTree::SignalMembers(int sig) {
  for (const auto& [pid, start_time] : members_) Signal(pid, start_time, sig);
}

void ProcessTree::Signal(pid_t pid, uint64_t start_time, int sig) {
  if (pid == program_) {
    // Unreaped, so its pid can't have been reused.
    kill(pid, sig);
    return;
  }
  // Open first, then check the start time: if it still matches, the pidfd
  // names the process the scan saw, whatever happens to the pid after.
  Fd pidfd(PidfdOpen(pid));
  if (pidfd.get() < 0 && errno == ESRCH) return;
  const std::optional<ProcStat> st = ReadProcStat(pid);
  if (!st.has_value() || st->start_time != start_time) return;
  if (pidfd.get() >= 0) {
    PidfdSendSignal(pidfd.get(), sig);
  } else {
    kill(pid, sig);  // No pidfds: a tiny window for pid reuse remains.
  }
}

void ProcessTree::Release() {
  ChildTable& table = ChildTable::Get();
  {
    absl::MutexLock lock(&table.mu);
    // A program that outlived SIGKILL stays unreaped: released, the stray
    // reaper takes it when it finally dies (it is outside our session).
    for (const auto& [pid, start_time] : members_) table.claimed.erase(pid);
  }
  table.ReapStrays(last_scan_);
}

}  // namespace process_internal
}  // namespace xxljob

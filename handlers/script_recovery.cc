// RecoverScriptRuns; see script_recovery.h for what it kills and why.
#include "handlers/script_recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "handlers/process_tree.h"
#include "handlers/run_cgroup.h"
#include "handlers/run_record.h"

namespace xxljob {

using process_internal::BootId;
using process_internal::Fd;
using process_internal::KillCgroupDirs;
using process_internal::ParseRunRecord;
using process_internal::PidfdOpen;
using process_internal::PidfdSendSignal;
using process_internal::ProcStat;
using process_internal::ReadProcStat;
using process_internal::RunRecord;
using process_internal::ScanProcesses;

namespace {

constexpr absl::string_view kTagPrefix = "XXL_EXECUTOR_RUN=";

struct Leftover {
  std::string path;
  RunRecord record;
  // Rounds in a row that found none of its processes; two make it done (a
  // process caught mid-exec or mid-fork by one scan is seen by the next).
  int quiet_rounds = 0;
  bool done = false;
};

bool Alive(pid_t pid, uint64_t start_time) {
  const std::optional<ProcStat> st = ReadProcStat(pid);
  return st.has_value() && st->start_time == start_time && !st->dead();
}

// The run tag in `pid`'s initial environment; "" if none or unreadable.
std::string RunTagOf(pid_t pid) {
  Fd fd(open(absl::StrCat("/proc/", pid, "/environ").c_str(),
             O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return "";
  std::string env;
  char buf[16 * 1024];
  for (ssize_t n;
       env.size() < (1 << 20) && (n = read(fd.get(), buf, sizeof(buf))) > 0;) {
    env.append(buf, n);
  }
  for (size_t at = 0; at < env.size();) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    const absl::string_view entry(env.data() + at, end - at);
    if (absl::StartsWith(entry, kTagPrefix)) {
      return std::string(entry.substr(kTagPrefix.size()));
    }
    at = end + 1;
  }
  return "";
}

// SIGCONT then SIGKILL to `p`, through a pidfd checked against its start
// time, so a pid reused since the scan is never hit.
void KillProcess(const ProcStat& p) {
  Fd pidfd(PidfdOpen(p.pid));
  const std::optional<ProcStat> now = ReadProcStat(p.pid);
  if (!now.has_value() || now->start_time != p.start_time) return;
  for (int sig : {SIGCONT, SIGKILL}) {
    if (pidfd.get() >= 0) {
      PidfdSendSignal(pidfd.get(), sig);
    } else {
      kill(p.pid, sig);
    }
  }
}

// The records in `dir`: stale ones (another boot, unreadable) are removed,
// those of a live executor counted and left alone.
std::vector<Leftover> ReadRecords(const std::string& dir,
                                  ScriptRecovery* report) {
  std::vector<Leftover> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) PLOG(ERROR) << "can't list " << dir;
    return out;
  }
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (!absl::EndsWith(name, ".run")) continue;
    const std::string path = absl::StrCat(dir, "/", name);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::optional<RunRecord> record = ParseRunRecord(text.str());
    if (record.has_value() && record->boot_id == BootId() &&
        Alive(record->executor_pid, record->executor_start)) {
      ++report->live_executor;
      continue;
    }
    if (!record.has_value() || record->boot_id != BootId()) {
      // Another boot: every process it names is gone. Cgroups of another
      // boot are gone too (cgroupfs lives in memory).
      unlink(path.c_str());
      continue;
    }
    out.push_back({path, *std::move(record)});
  }
  closedir(d);
  return out;
}

// One round: signals every live process of the runs not yet done; a run is
// done once a round finds none. Returns the runs still not done.
int KillRound(std::vector<Leftover>& runs,
              absl::flat_hash_set<std::pair<pid_t, uint64_t>>& killed) {
  const std::vector<ProcStat> procs = ScanProcesses();
  absl::flat_hash_map<std::string, Leftover*> by_tag;
  for (Leftover& run : runs) {
    if (!run.done) by_tag[run.record.tag] = &run;
  }
  absl::flat_hash_map<pid_t, const ProcStat*> by_pid;
  for (const ProcStat& p : procs) by_pid[p.pid] = &p;
  absl::flat_hash_set<Leftover*> found;
  const pid_t self = getpid();
  // A run's session is made by setsid in its child, so it is never ours:
  // a session id that looks like a run's but is ours (a reused pid) is
  // left alone, and with it this process's own family.
  const pid_t own_sid = getsid(0);
  auto take = [&](const ProcStat& p, Leftover* run) {
    if (p.pid == self || p.pid <= 1 || p.dead() || p.sid == own_sid) return;
    KillProcess(p);
    killed.insert({p.pid, p.start_time});
    found.insert(run);
  };
  for (Leftover& run : runs) {
    if (run.done) continue;
    if (!KillCgroupDirs(run.record.cgroups)) found.insert(&run);
    const pid_t sid = run.record.program;
    if (sid <= 0) continue;
    // The session id is still the run's unless its pid now names another
    // process (a pid is reused only once nothing has it as its pid, group
    // or session).
    auto it = by_pid.find(sid);
    if (it != by_pid.end() &&
        it->second->start_time != run.record.program_start)
      continue;
    for (const ProcStat& p : procs) {
      if (p.sid == sid) take(p, &run);
    }
  }
  for (const ProcStat& p : procs) {
    if (p.pid == self || p.dead()) continue;
    const std::string tag = RunTagOf(p.pid);
    if (tag.empty()) continue;
    if (auto it = by_tag.find(tag); it != by_tag.end()) take(p, it->second);
  }
  int not_done = 0;
  for (Leftover& run : runs) {
    if (run.done) continue;
    if (found.contains(&run)) {
      run.quiet_rounds = 0;
      ++not_done;
    } else if (++run.quiet_rounds >= 2) {
      run.done = true;
    } else {
      ++not_done;
    }
  }
  return not_done;
}

}  // namespace

std::string ScriptRunsDir(const std::string& log_path) {
  return log_path + "/glue/running";
}

ScriptRecovery RecoverScriptRuns(const std::string& dir,
                                 absl::Duration timeout) {
  ScriptRecovery report;
  std::vector<Leftover> runs = ReadRecords(dir, &report);
  report.runs = static_cast<int>(runs.size());
  if (report.live_executor > 0) {
    LOG(INFO) << report.live_executor << " script run(s) recorded in " << dir
              << " belong to a live executor; left alone";
  }
  if (runs.empty()) return report;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  absl::flat_hash_set<std::pair<pid_t, uint64_t>> killed;
  absl::Duration pause = absl::Milliseconds(2);
  // Nothing signals "a process elsewhere died": rescan, backing off.
  while (KillRound(runs, killed) > 0 && absl::Now() < deadline) {
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
  report.processes = static_cast<int>(killed.size());
  for (Leftover& run : runs) {
    if (run.done) {
      unlink(run.path.c_str());
      continue;
    }
    ++report.left;
    LOG(ERROR) << "script run " << run.record.name << " (" << run.path
               << ") still has processes " << absl::FormatDuration(timeout)
               << " after SIGKILL (stuck in the kernel?); its record is kept";
  }
  LOG(WARNING) << "a previous executor left " << report.runs
               << " script run(s) behind: killed " << report.processes
               << " process(es) in "
               << absl::FormatDuration(absl::Now() - start)
               << (report.left > 0
                       ? absl::StrCat("; ", report.left, " run(s) not gone yet")
                       : "");
  return report;
}

}  // namespace xxljob

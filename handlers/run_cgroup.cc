// RunCgroup and cgroup discovery; see run_cgroup.h.
#include "handlers/run_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

namespace xxljob {
namespace process_internal {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `value` to an existing cgroup file; the errno on failure.
int WriteFile(const std::string& path, absl::string_view value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = write(fd, value.data(), value.size());
  const int err = n < 0 ? errno : 0;
  close(fd);
  return err;
}

struct Mount {
  std::string root;   // The mount's root within its hierarchy.
  std::string point;  // Where it is mounted.
};

// The cgroup2 mount and the v1 mounts of `memory` and `pids`, from
// /proc/self/mountinfo.
struct Mounts {
  Mount v2, memory, pids;
};

Mounts ReadMounts() {
  Mounts mounts;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root point options [optional...] - type source
    // super-options
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> left = absl::StrSplit(line.substr(0, dash), ' ');
    std::vector<std::string> right = absl::StrSplit(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    const Mount mount{left[3], left[4]};
    if (right[0] == "cgroup2" && mounts.v2.point.empty()) {
      mounts.v2 = mount;
    } else if (right[0] == "cgroup") {
      for (absl::string_view option : absl::StrSplit(right[2], ',')) {
        if (option == "memory" && mounts.memory.point.empty()) {
          mounts.memory = mount;
        }
        if (option == "pids" && mounts.pids.point.empty()) mounts.pids = mount;
      }
    }
  }
  return mounts;
}

// This process's cgroup in the hierarchy named `controller` ("" for v2),
// as a path under `mount`; "" if unknown.
std::string OwnCgroupDir(const Mount& mount, absl::string_view controller) {
  if (mount.point.empty()) return "";
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    const bool match =
        controller.empty()
            ? f[0] == "0" && f[1].empty()
            : absl::c_linear_search(absl::StrSplit(f[1], ','), controller);
    if (!match) continue;
    absl::string_view path = f[2];
    // Inside a cgroup namespace the path is already relative to the root.
    if (mount.root != "/") absl::ConsumePrefix(&path, mount.root);
    std::string dir = mount.point;
    if (!path.empty() && path != "/") absl::StrAppend(&dir, path);
    return dir;
  }
  return "";
}

// Whether a cgroup can be created (and removed) under `dir`.
bool CanCreateUnder(const std::string& dir) {
  const std::string probe = absl::StrCat(dir, "/xxl-probe-", getpid());
  if (mkdir(probe.c_str(), 0755) != 0) return false;
  rmdir(probe.c_str());
  return true;
}

// Enables `controller` for the children of the v2 cgroup `dir` if it can;
// whether it is enabled.
bool EnableController(const std::string& dir, absl::string_view controller) {
  auto listed = [](const std::string& file, absl::string_view name) {
    return absl::c_linear_search(
        absl::StrSplit(absl::StripAsciiWhitespace(ReadSmallFile(file)), ' '),
        name);
  };
  if (listed(dir + "/cgroup.subtree_control", controller)) return true;
  if (!listed(dir + "/cgroup.controllers", controller)) return false;
  const int err =
      WriteFile(dir + "/cgroup.subtree_control", absl::StrCat("+", controller));
  if (err != 0) {
    // EBUSY: `dir` holds processes (this one) and is not the root; the
    // operator has to delegate a cgroup without them (operations.md).
    LOG(WARNING) << "can't enable the " << controller << " controller in "
                 << dir << ": " << std::strerror(err);
    return false;
  }
  return true;
}

absl::Status Errno(int err, absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

}  // namespace

bool IsCgroup2Dir(const std::string& path) {
  struct statfs fs;
  return statfs(path.c_str(), &fs) == 0 &&
         static_cast<int64_t>(fs.f_type) == CGROUP2_SUPER_MAGIC;
}

std::string CgroupSetup::Describe() const {
  if (!any()) return "none (processes tracked through /proc; rlimits only)";
  std::string out;
  if (!v2_parent.empty()) {
    absl::StrAppend(&out, "v2 under ", v2_parent, " (cgroup.kill",
                    v2_memory ? ", memory.max" : "",
                    v2_pids ? ", pids.max" : "", ")");
  }
  if (!v1_memory_parent.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", "v1 memory under ",
                    v1_memory_parent);
  }
  if (!v1_pids_parent.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", "v1 pids under ",
                    v1_pids_parent);
  }
  return out;
}

absl::StatusOr<CgroupSetup> DiscoverCgroups(absl::string_view mode,
                                            bool want_memory, bool want_pids) {
  CgroupSetup setup;
  if (mode == "off") return setup;
  const Mounts mounts = ReadMounts();
  if (mode != "auto") {
    const std::string dir(mode);
    if (!IsCgroup2Dir(dir) || !CanCreateUnder(dir)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "script cgroup ", dir,
          " is not a cgroup v2 directory this process can create cgroups in"));
    }
    setup.v2_parent = dir;
  } else {
    const std::string own = OwnCgroupDir(mounts.v2, "");
    if (!own.empty() && CanCreateUnder(own)) setup.v2_parent = own;
  }
  if (!setup.v2_parent.empty()) {
    setup.v2_memory =
        want_memory && EnableController(setup.v2_parent, "memory");
    setup.v2_pids = want_pids && EnableController(setup.v2_parent, "pids");
  }
  if (want_memory && !setup.v2_memory) {
    const std::string dir = OwnCgroupDir(mounts.memory, "memory");
    if (!dir.empty() && CanCreateUnder(dir)) setup.v1_memory_parent = dir;
  }
  if (want_pids && !setup.v2_pids) {
    const std::string dir = OwnCgroupDir(mounts.pids, "pids");
    if (!dir.empty() && CanCreateUnder(dir)) setup.v1_pids_parent = dir;
  }
  return setup;
}

// ---------------------------------------------------------------- RunCgroup

absl::StatusOr<std::unique_ptr<RunCgroup>> RunCgroup::Create(
    const CgroupSetup& setup, const std::string& name, const Limits& limits) {
  std::unique_ptr<RunCgroup> cg(new RunCgroup());
  cg->limits_ = limits;
  auto make = [&](const std::string& parent) -> absl::StatusOr<std::string> {
    const std::string dir = absl::StrCat(parent, "/", name);
    if (mkdir(dir.c_str(), 0755) != 0) return Errno(errno, "mkdir", dir);
    cg->dirs_.push_back(dir);
    const std::string procs = dir + "/cgroup.procs";
    const int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "open", procs);
    cg->join_fds_.push_back(fd);
    return dir;
  };
  auto set = [](const std::string& file, int64_t value) -> absl::Status {
    const int err = WriteFile(file, absl::StrCat(value));
    return err == 0 ? absl::OkStatus() : Errno(err, "write", file);
  };
  absl::Status status;
  auto fail = [&cg](absl::Status s) {
    cg->Remove();
    return s;
  };
  if (!setup.v2_parent.empty()) {
    absl::StatusOr<std::string> dir = make(setup.v2_parent);
    if (!dir.ok()) return fail(dir.status());
    cg->v2_ = *dir;
    cg->v2_dir_fd_ = open(dir->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (limits.memory_bytes > 0 && setup.v2_memory) {
      if (absl::Status s = set(cg->v2_ + "/memory.max", limits.memory_bytes);
          !s.ok()) {
        return fail(s);
      }
      // The whole run ends on an OOM kill, and swap does not stretch the
      // limit. Both are best effort (no swap controller: no file).
      WriteFile(cg->v2_ + "/memory.oom.group", "1");
      WriteFile(cg->v2_ + "/memory.swap.max", "0");
      cg->memory_limited_ = true;
    }
    if (limits.processes > 0 && setup.v2_pids) {
      if (absl::Status s = set(cg->v2_ + "/pids.max", limits.processes);
          !s.ok()) {
        return fail(s);
      }
      cg->pids_limited_ = true;
    }
  }
  if (limits.memory_bytes > 0 && !setup.v1_memory_parent.empty()) {
    absl::StatusOr<std::string> dir = make(setup.v1_memory_parent);
    if (!dir.ok()) return fail(dir.status());
    cg->v1_memory_ = *dir;
    if (absl::Status s =
            set(*dir + "/memory.limit_in_bytes", limits.memory_bytes);
        !s.ok()) {
      return fail(s);
    }
    // With swap accounting, swap counts too (no file without it).
    WriteFile(*dir + "/memory.memsw.limit_in_bytes",
              absl::StrCat(limits.memory_bytes));
    cg->memory_limited_ = true;
  }
  if (limits.processes > 0 && !setup.v1_pids_parent.empty()) {
    absl::StatusOr<std::string> dir = make(setup.v1_pids_parent);
    if (!dir.ok()) return fail(dir.status());
    cg->v1_pids_ = *dir;
    if (absl::Status s = set(*dir + "/pids.max", limits.processes); !s.ok()) {
      return fail(s);
    }
    cg->pids_limited_ = true;
  }
  return cg;
}

RunCgroup::~RunCgroup() { CloseJoinFds(); }

void RunCgroup::CloseJoinFds() {
  for (int fd : join_fds_) close(fd);
  join_fds_.clear();
  if (v2_dir_fd_ >= 0) close(v2_dir_fd_);
  v2_dir_fd_ = -1;
}

std::vector<pid_t> RunCgroup::Members() const {
  std::vector<pid_t> pids;
  if (v2_.empty()) return pids;
  std::ifstream in(v2_ + "/cgroup.procs");
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

bool RunCgroup::Populated() const {
  if (v2_.empty()) return false;
  return ReadCgroupKey(v2_ + "/cgroup.events", "populated") != 0;
}

bool RunCgroup::Freeze(bool frozen) {
  return !v2_.empty() &&
         WriteFile(v2_ + "/cgroup.freeze", frozen ? "1" : "0") == 0;
}

void RunCgroup::KillAll() {
  if (!v2_.empty() && WriteFile(v2_ + "/cgroup.kill", "1") == 0) return;
  KillCgroupDirs(dirs_);
}

int64_t RunCgroup::OomKills() const {
  int64_t n = 0;
  if (!v2_.empty() && memory_limited_) {
    n += ReadCgroupKey(v2_ + "/memory.events", "oom_kill");
  }
  if (!v1_memory_.empty()) {
    n += ReadCgroupKey(v1_memory_ + "/memory.oom_control", "oom_kill");
  }
  return n;
}

int64_t RunCgroup::ForksRefused() const {
  int64_t n = 0;
  if (!v2_.empty() && pids_limited_) {
    n += ReadCgroupKey(v2_ + "/pids.events", "max");
  }
  if (!v1_pids_.empty()) n += ReadCgroupKey(v1_pids_ + "/pids.events", "max");
  return n;
}

void RunCgroup::Remove() {
  CloseJoinFds();
  for (const std::string& dir : dirs_) {
    if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      PLOG(WARNING) << "can't remove the run's cgroup " << dir;
    }
  }
  dirs_.clear();
}

bool KillCgroupDirs(const std::vector<std::string>& dirs) {
  bool all_gone = true;
  for (const std::string& dir : dirs) {
    struct statfs fs;
    // Gone already; or not a cgroup at all (a damaged or forged record must
    // not make this rmdir anything else).
    if (statfs(dir.c_str(), &fs) != 0) continue;
    if (static_cast<int64_t>(fs.f_type) != CGROUP2_SUPER_MAGIC &&
        static_cast<int64_t>(fs.f_type) != CGROUP_SUPER_MAGIC) {
      continue;
    }
    bool empty = true;
    if (IsCgroup2Dir(dir)) {
      WriteFile(dir + "/cgroup.kill", "1");
      empty = ReadCgroupKey(dir + "/cgroup.events", "populated") == 0;
    }
    // Without cgroup.kill (v1, or v2 before 5.14): each member. A listed
    // process is alive (an exiting one leaves the list before it can be
    // reaped), so only the instants between reading and kill(2) remain.
    std::ifstream in(dir + "/cgroup.procs");
    for (pid_t pid; in >> pid;) {
      empty = false;
      kill(pid, SIGCONT);
      kill(pid, SIGKILL);
    }
    if (empty && rmdir(dir.c_str()) == 0) continue;
    all_gone = false;
  }
  return all_gone;
}

int64_t ReadCgroupKey(const std::string& path, absl::string_view key) {
  const std::string text = ReadSmallFile(path);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, " ")) {
      continue;
    }
    int64_t value = 0;
    if (absl::SimpleAtoi(line, &value)) return value;
  }
  return 0;
}

}  // namespace process_internal
}  // namespace xxljob

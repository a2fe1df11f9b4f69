// ResolveScriptUser; see script_sandbox.h.
#include "handlers/script_sandbox.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "handlers/run_cgroup.h"

namespace xxljob {
namespace {

constexpr int kCapSetgid = 6;
constexpr int kCapSetuid = 7;

// The effective capability set (CapEff of /proc/self/status); 0 if unknown.
uint64_t EffectiveCapabilities() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "CapEff:")) continue;
    uint64_t caps = 0;
    if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &caps)) {
      return caps;
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<ScriptUser> ResolveScriptUser(absl::string_view name) {
  const std::string user_name(name);
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);  // NOLINT(runtime/int)
  std::string buf(size > 0 ? size : 16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  int err;
  while ((err = getpwnam_r(user_name.c_str(), &pw, buf.data(), buf.size(),
                           &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (err != 0) {
    return absl::ErrnoToStatus(err, absl::StrCat("looking up user ", name));
  }
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no user named \"", name, "\""));
  }
  ScriptUser user;
  user.name = user_name;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  user.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
  int count = 32;
  std::vector<gid_t> groups(count);
  while (getgrouplist(user_name.c_str(), user.gid, groups.data(), &count) < 0) {
    groups.resize(count > static_cast<int>(groups.size()) ? count
                                                          : groups.size() * 2);
    count = static_cast<int>(groups.size());
  }
  groups.resize(count);
  user.groups = std::move(groups);

  const uint64_t caps = EffectiveCapabilities();
  // Root without the capabilities (a container that dropped them) can't.
  const bool can = caps != 0 ? ((caps >> kCapSetuid) & 1) != 0 &&
                                   ((caps >> kCapSetgid) & 1) != 0
                             : geteuid() == 0;
  if (!can) {
    return absl::FailedPreconditionError(absl::StrCat(
        "running scripts as user \"", name,
        "\" needs root or the "
        "CAP_SETUID and CAP_SETGID capabilities; this process is uid ",
        geteuid(), " without them"));
  }
  return user;
}

absl::Status CheckScriptCgroupMode(absl::string_view mode) {
  if (mode == "auto" || mode == "off") return absl::OkStatus();
  if (!process_internal::IsCgroup2Dir(std::string(mode))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "must be auto, off or a cgroup v2 directory, got \"", mode, "\""));
  }
  // An explicit directory is the operator's intent: unusable, it fails the
  // start rather than leave runs without the cgroups asked for.
  return process_internal::DiscoverCgroups(mode, false, false).status();
}

}  // namespace xxljob

// A process named for good (pid and start time, read from /proc), for tests
// that check which processes a run leaves behind. Written independently of
// handlers/process_tree.*, so the tests check that code instead of trusting
// it.
#ifndef XXLJOB_TESTS_TESTING_PROC_IDENTITY_H_
#define XXLJOB_TESTS_TESTING_PROC_IDENTITY_H_

#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace xxljob::testing {

// pid + start time: names one process for good.
struct ProcId {
  int pid = 0;
  std::string start_time;
};

// The state and start time (fields 3 and 22 of /proc/<pid>/stat), or
// nullopt if there is no such pid.
inline std::optional<std::pair<char, std::string>> StateAndStart(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  std::vector<std::string> f =
      absl::StrSplit(line.substr(line.rfind(')') + 2), ' ', absl::SkipEmpty());
  if (f.size() < 20) return std::nullopt;
  return std::make_pair(f[0][0], f[19]);
}

// No such process, or another one under its pid. With `zombies_too`, a
// zombie (dead, not yet reaped by a parent the test does not control) counts
// as gone.
inline bool Gone(const ProcId& id, bool zombies_too = false) {
  auto st = StateAndStart(id.pid);
  return !st.has_value() || st->second != id.start_time ||
         (zombies_too && st->first == 'Z');
}

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_PROC_IDENTITY_H_

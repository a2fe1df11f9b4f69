// RemoveExpiredLogDirs: deletes run log date folders past the retention
// period, touching nothing that is not named like one.
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "server/core/run_log.h"

namespace xxljob {
namespace {

namespace fs = std::filesystem;

// True if `name` is exactly a real date "yyyy-MM-dd". Round-tripping
// rejects what the parser would otherwise normalise or accept loosely
// ("2026-02-30", "2026-1-05", "+2026-01-05").
bool ParseDateFolderName(const std::string& name, absl::CivilDay* day) {
  if (name.size() != 10 || name[4] != '-' || name[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return absl::ParseCivilTime(name, day) && absl::FormatCivilTime(*day) == name;
}

}  // namespace

int RemoveExpiredLogDirs(absl::string_view log_path, int retention_days,
                         absl::Time now) {
  if (retention_days < 3) return 0;
  const absl::CivilDay oldest_kept =
      absl::ToCivilDay(now, absl::LocalTimeZone()) - retention_days;

  // Collected first, removed after: removing while iterating a directory
  // leaves what the iterator sees next unspecified.
  std::vector<fs::path> expired;
  std::error_code ec;
  fs::directory_iterator it(fs::path(std::string(log_path)), ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory) {
      LOG(ERROR) << "can't list run log folder " << log_path << ": "
                 << ec.message();
    }
    return 0;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    absl::CivilDay day;
    if (!ParseDateFolderName(it->path().filename().string(), &day) ||
        day >= oldest_kept) {
      continue;
    }
    // symlink_status: a link named like a date is not ours to follow.
    std::error_code type_ec;
    if (fs::symlink_status(it->path(), type_ec).type() ==
        fs::file_type::directory) {
      expired.push_back(it->path());
    }
  }
  if (ec) {
    // Keep going with what was listed: a partial clean beats none.
    LOG(ERROR) << "listing run log folder " << log_path
               << " stopped early: " << ec.message();
  }

  int removed = 0;
  for (const fs::path& dir : expired) {
    fs::remove_all(dir, ec);
    if (ec) {
      LOG(ERROR) << "can't remove expired run log folder " << dir.string()
                 << ": " << ec.message();
      continue;
    }
    LOG(INFO) << "removed expired run log folder " << dir.string();
    ++removed;
  }
  return removed;
}

}  // namespace xxljob

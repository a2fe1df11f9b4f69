#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/run_log.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

namespace fs = std::filesystem;

using ::testing::UnorderedElementsAre;

// Noon local time on 2024-03-31, so "today" is that date in any zone.
absl::Time Now() {
  return absl::FromCivil(absl::CivilSecond(2024, 3, 31, 12, 0, 0),
                         absl::LocalTimeZone());
}

std::string DaysAgo(int days) {
  return absl::FormatCivilTime(absl::CivilDay(2024, 3, 31) - days);
}

void MakeDateFolderWithLogs(const std::string& dir) {
  fs::create_directories(dir + "/nested");
  std::ofstream(dir + "/1.log") << "a\n";
  std::ofstream(dir + "/1.idx") << "";
  std::ofstream(dir + "/nested/x") << "x";
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST(LogRetentionTest, RemovesOnlyDateFoldersOlderThanRetention) {
  testing::TempDir tmp;
  const std::string base = tmp.path();
  for (int days : {0, 1, 29, 30, 31, 45, 400}) {
    MakeDateFolderWithLogs(base + "/" + DaysAgo(days));
  }
  MakeDateFolderWithLogs(base + "/" + DaysAgo(-1));  // Clock went back.
  for (const char* name :
       {"outbox", "glue", "2026-13-45", "2023-02-29", "2023-1-05",
        "2023-01-05.bak", "x2023-01-05", "+202-01-05"}) {
    MakeDateFolderWithLogs(base + "/" + name);
  }
  std::ofstream(base + "/" + DaysAgo(90)) << "a file, not a folder";

  EXPECT_EQ(RemoveExpiredLogDirs(base, 30, Now()), 3);
  EXPECT_THAT(Entries(base),
              UnorderedElementsAre(
                  DaysAgo(0), DaysAgo(1), DaysAgo(29), DaysAgo(30), DaysAgo(-1),
                  DaysAgo(90), "outbox", "glue", "2026-13-45", "2023-02-29",
                  "2023-1-05", "2023-01-05.bak", "x2023-01-05", "+202-01-05"));
  EXPECT_TRUE(fs::exists(base + "/" + DaysAgo(30) + "/nested/x"));
  EXPECT_EQ(RemoveExpiredLogDirs(base, 30, Now()), 0) << "nothing left to do";
}

TEST(LogRetentionTest, KeepsEverythingWhenRetentionBelowThree) {
  testing::TempDir tmp;
  MakeDateFolderWithLogs(tmp.path() + "/" + DaysAgo(1000));
  for (int days : {2, 1, 0, -1}) {
    EXPECT_EQ(RemoveExpiredLogDirs(tmp.path(), days, Now()), 0);
  }
  EXPECT_TRUE(fs::exists(tmp.path() + "/" + DaysAgo(1000) + "/1.log"));
  // The smallest retention that cleans.
  MakeDateFolderWithLogs(tmp.path() + "/" + DaysAgo(3));
  MakeDateFolderWithLogs(tmp.path() + "/" + DaysAgo(4));
  EXPECT_EQ(RemoveExpiredLogDirs(tmp.path(), 3, Now()), 2);
  EXPECT_THAT(Entries(tmp.path()), UnorderedElementsAre(DaysAgo(3)));
}

TEST(LogRetentionTest, DoesNotFollowSymlinkNamedLikeADate) {
  testing::TempDir tmp;
  const std::string target = tmp.path() + "/elsewhere";
  const std::string logs = tmp.path() + "/logs";
  MakeDateFolderWithLogs(target);
  fs::create_directories(logs);
  fs::create_directory_symlink(target, logs + "/" + DaysAgo(100));
  EXPECT_EQ(RemoveExpiredLogDirs(logs, 30, Now()), 0);
  EXPECT_TRUE(fs::exists(target + "/1.log"));
}

TEST(LogRetentionTest, MissingLogPathRemovesNothing) {
  testing::TempDir tmp;
  EXPECT_EQ(RemoveExpiredLogDirs(tmp.path() + "/absent", 30, Now()), 0);
  EXPECT_FALSE(fs::exists(tmp.path() + "/absent"));
}

}  // namespace
}  // namespace xxljob

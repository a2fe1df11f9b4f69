#include "server/api/refusal_log.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xxljob {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fake clock for RefusalLog.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1000000);
  RefusalLog::Clock AsClock() {
    return [this] { return now; };
  }
};

TEST(RefusalLogTest, WritesAtMostOneLinePerIntervalWithASummary) {
  FakeClock clock;
  std::vector<std::string> lines;
  RefusalLog log(
      absl::Seconds(10),
      [&](const std::string& line) { lines.push_back(line); }, clock.AsClock());
  log.Record("ipv4:10.0.0.1:5000", "wrong access token");
  ASSERT_THAT(lines, ElementsAre("refused a call from ipv4:10.0.0.1: wrong "
                                 "access token"));
  for (int i = 0; i < 5000; ++i) {
    log.Record(absl::StrCat("ipv4:10.0.0.", 1 + i % 2, ":", 40000 + i),
               "wrong access token");
    if (i % 1000 == 0) clock.now += absl::Seconds(1);
  }
  log.Record("ipv6:[::1]:5001", "missing access token");
  EXPECT_EQ(lines.size(), 1u);  // 5 s of guessing: still one line.
  clock.now += absl::Seconds(10);
  log.Record("ipv4:10.0.0.3:7", "wrong access token");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1],
            "refused 5002 calls in the last 15s (latest: wrong access "
            "token); from ipv4:10.0.0.1 x2500, ipv4:10.0.0.2 x2500, "
            "ipv4:10.0.0.3 x1, ipv6:[::1] x1");
  EXPECT_EQ(log.total(), 5003);
  log.Flush();  // Nothing pending.
  EXPECT_EQ(lines.size(), 2u);
  log.Record("unix:/tmp/sock", "missing access token");
  log.Flush();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2],
            "refused a call from unix:/tmp/sock: missing access token");
}

TEST(RefusalLogTest, CountsManyHostsInBoundedMemory) {
  FakeClock clock;
  std::vector<std::string> lines;
  RefusalLog log(
      absl::Seconds(10),
      [&](const std::string& line) { lines.push_back(line); }, clock.AsClock());
  log.Record("ipv4:10.0.0.1:1", "wrong access token");
  for (int i = 0; i < 1000; ++i) {
    log.Record(absl::StrCat("ipv4:10.1.", i / 256, ".", i % 256, ":1"),
               "wrong access token");
  }
  log.Record("ipv4:10.1.0.0:2", "wrong access token");
  log.Flush();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("refused 1001 calls"));
  EXPECT_THAT(lines[1], HasSubstr("from ipv4:10.1.0.0 x2, ipv4:10.1.0.1 x1"));
  // 5 named, the other 995 refusals summed up.
  EXPECT_THAT(lines[1], HasSubstr(", other hosts x995"));
}

}  // namespace
}  // namespace xxljob

#include "server/core/recent_results.h"

#include <string>

#include "gtest/gtest.h"

namespace xxljob {
namespace {

RunResult Result(int64_t log_id, int code, std::string msg) {
  return RunResult{1, log_id, 1000, code, std::move(msg)};
}

TEST(RecentResultsTest, FindsWhatWasAddedAndNothingElse) {
  RecentResults results;
  results.Add(Result(1, 200, "ok"));
  results.Add(Result(2, 502, "job execute timeout"));
  ASSERT_TRUE(results.Find(1).has_value());
  EXPECT_EQ(results.Find(1)->handle_code, 200);
  EXPECT_EQ(results.Find(2)->handle_msg, "job execute timeout");
  EXPECT_FALSE(results.Find(3).has_value());
}

TEST(RecentResultsTest, ARerunReplacesTheEarlierResult) {
  RecentResults results(/*max_entries=*/2);
  results.Add(Result(1, 500, "first"));
  results.Add(Result(1, 200, "second"));
  EXPECT_EQ(results.Find(1)->handle_msg, "second");
  EXPECT_EQ(results.size(), 1u);
  // The stale entry of the first result must not evict the second.
  results.Add(Result(2, 200, ""));
  results.Add(Result(3, 200, ""));
  EXPECT_FALSE(results.Find(1).has_value());  // Oldest live entry goes.
  EXPECT_TRUE(results.Find(2).has_value());
  EXPECT_TRUE(results.Find(3).has_value());
}

TEST(RecentResultsTest, ForgetsTheOldestBeyondTheEntryBound) {
  RecentResults results(/*max_entries=*/3);
  for (int64_t id = 1; id <= 10; ++id) results.Add(Result(id, 200, ""));
  EXPECT_EQ(results.size(), 3u);
  EXPECT_FALSE(results.Find(7).has_value());
  for (int64_t id = 8; id <= 10; ++id) EXPECT_TRUE(results.Find(id)) << id;
}

TEST(RecentResultsTest, ForgetsTheOldestBeyondTheByteBound) {
  RecentResults results(/*max_entries=*/100, /*max_bytes=*/250);
  for (int64_t id = 1; id <= 5; ++id) {
    results.Add(Result(id, 500, std::string(100, 'x')));
  }
  EXPECT_EQ(results.size(), 2u);  // 2 x 100 bytes fit in 250.
  EXPECT_TRUE(results.Find(5).has_value());
  EXPECT_TRUE(results.Find(4).has_value());
  EXPECT_FALSE(results.Find(3).has_value());
}

}  // namespace
}  // namespace xxljob

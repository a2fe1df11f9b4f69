#include "server/delivery/backoff.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(BackoffTest, GrowsByTheMultiplierUpToTheMaxWithoutJitter) {
  Backoff backoff({absl::Milliseconds(100), 2.0, absl::Milliseconds(500), 0});
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(400));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(500));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(500));
  backoff.Reset();
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(100));
}

TEST(BackoffTest, JitterStaysWithinItsBandAndVaries) {
  Backoff backoff({absl::Seconds(30), 1.0, absl::Seconds(30), 0.1});
  absl::Duration min = absl::InfiniteDuration();
  absl::Duration max = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration d = backoff.NextDelay();
    EXPECT_GE(d, absl::Seconds(27));
    EXPECT_LE(d, absl::Seconds(33));
    min = std::min(min, d);
    max = std::max(max, d);
  }
  // 1000 uniform draws over ±3 s: the spread is far wider than 1 s.
  EXPECT_GT(max - min, absl::Seconds(1));
}

TEST(BackoffTest, ValidationNamesTheBadField) {
  const BackoffOptions good;
  EXPECT_TRUE(ValidateBackoffOptions(good, "retry").ok());
  BackoffOptions o = good;
  o.initial = absl::ZeroDuration();
  EXPECT_EQ(ValidateBackoffOptions(o, "retry").message(),
            "retry.initial must be positive and finite");
  o = good;
  o.multiplier = 0.5;
  EXPECT_EQ(ValidateBackoffOptions(o, "retry").message(),
            "retry.multiplier must be >= 1");
  o = good;
  o.max = absl::Milliseconds(1);
  EXPECT_EQ(ValidateBackoffOptions(o, "retry").message(),
            "retry.max must be finite and >= initial");
  o = good;
  o.jitter = 1;
  EXPECT_EQ(ValidateBackoffOptions(o, "retry").message(),
            "retry.jitter must be in [0, 1)");
}

}  // namespace
}  // namespace xxljob

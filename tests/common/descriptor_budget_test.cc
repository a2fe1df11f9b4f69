#include "common/descriptor_budget.h"

#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(DescriptorBudgetTest, PlansTheReserveAndTheBound) {
  struct Case {
    int64_t limit;
    int max_running;
    int max_connections;
    int64_t reserved;
    int64_t want_reserved;
    int want_connections;
    bool want_warning;
  };
  const Case cases[] = {
      // Automatic: 256 + 4 per run reserved, the rest for connections.
      {65536, 1024, 0, 0, 4352, 61184, false},
      {20000, 16, 0, 0, 320, 19680, false},
      // A limit too low for the reserve: a quarter for connections.
      {256, 1024, 0, 0, 4352, 64, true},
      {1024, 1024, 0, 0, 4352, 256, true},
      // The operator's reserve.
      {1000, 1024, 0, 100, 100, 900, false},
      // The operator's bound, within or beyond what the limit leaves.
      {65536, 1024, 1000, 0, 4352, 1000, false},
      {256, 16, 100000, 1, 1, 100000, true},
  };
  for (const Case& c : cases) {
    const DescriptorBudget plan =
        PlanDescriptors(c.limit, c.max_running, c.max_connections, c.reserved);
    EXPECT_EQ(plan.limit, c.limit);
    EXPECT_EQ(plan.reserved, c.want_reserved) << c.limit;
    EXPECT_EQ(plan.max_connections, c.want_connections) << c.limit;
    EXPECT_EQ(!plan.warning.empty(), c.want_warning) << plan.warning;
  }
}

TEST(DescriptorBudgetTest, ReadsTheSoftLimit) { EXPECT_GT(OpenFileLimit(), 0); }

}  // namespace
}  // namespace xxljob

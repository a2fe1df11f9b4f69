#include "common/access_token.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(AccessTokenTest, ConstantTimeEqualsComparesWholeStrings) {
  struct Case {
    std::string presented;
    std::string expected;
    bool equal;
  };
  const std::vector<Case> cases = {
      {"secret", "secret", true},
      {"", "", true},
      {"secreT", "secret", false},   // Last byte differs.
      {"Secret", "secret", false},   // First byte differs.
      {"secre", "secret", false},    // Prefix.
      {"secret!", "secret", false},  // Extension.
      {"", "secret", false},
      {"secret", "", false},
      {std::string("sec\0et", 6), "secret", false},
      {std::string("a\0", 2), "a", false},  // A trailing NUL is a byte too.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "[" << c.presented << "] vs [" << c.expected << "]");
    EXPECT_EQ(ConstantTimeEquals(c.presented, c.expected), c.equal);
  }
}

}  // namespace
}  // namespace xxljob

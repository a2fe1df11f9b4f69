#include "server/service/auth.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace xxljob {
namespace {

using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

TEST(AuthTest, ConstantTimeEqualsComparesWholeStrings) {
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

TEST(AuthTest, NoConfiguredTokenLetsEveryCallIn) {
  EXPECT_THAT(CheckAccessToken(Metadata{}, "", "peer"), IsOk());
  const Metadata with_token = {{kAccessTokenMetadataKey, "anything"}};
  EXPECT_THAT(CheckAccessToken(with_token, "", "peer"), IsOk());
}

TEST(AuthTest, MatchingTokenPasses) {
  const Metadata md = {{"other", "x"}, {kAccessTokenMetadataKey, "s3cret"}};
  EXPECT_THAT(CheckAccessToken(md, "s3cret", "peer"), IsOk());
}

TEST(AuthTest, MissingOrWrongTokenIsUnauthenticated) {
  const std::vector<Metadata> cases = {
      {},
      {{"other", "s3cret"}},
      {{kAccessTokenMetadataKey, ""}},
      {{kAccessTokenMetadataKey, "s3cre"}},
      {{kAccessTokenMetadataKey, "s3cret2"}},
      {{kAccessTokenMetadataKey, "S3CRET"}},
  };
  // More rejections than the log's rate limit lets through: none may pass.
  for (int round = 0; round < 3; ++round) {
    for (const Metadata& md : cases) {
      EXPECT_THAT(CheckAccessToken(md, "s3cret", "ipv4:10.0.0.1:5000"),
                  StatusIs(absl::StatusCode::kUnauthenticated,
                           "missing or wrong access token"));
    }
  }
}

}  // namespace
}  // namespace xxljob

#include "common/cli.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

class ResolveAccessTokenTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv("XXL_JOB_ACCESS_TOKEN"); }
  void TearDown() override { unsetenv("XXL_JOB_ACCESS_TOKEN"); }

  std::string File(const std::string& content) {
    const std::string path = dir_.path() + "/token";
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  absl::StatusOr<std::string> Resolve(const std::string& token,
                                      const std::string& file) {
    return ResolveAccessToken("access_token", token, "access_token_file", file);
  }

  testing::TempDir dir_;
};

TEST_F(ResolveAccessTokenTest, FileContentWithoutTrailingLineBreaks) {
  EXPECT_EQ(Resolve("", File("s3cret\n")).value_or("?"), "s3cret");
  EXPECT_EQ(Resolve("", File("s3cret\r\n\n")).value_or("?"), "s3cret");
  EXPECT_EQ(Resolve("", File("s3cret")).value_or("?"), "s3cret");
  // Only line breaks at the end go; the token is otherwise as written.
  EXPECT_EQ(Resolve("", File(" a b\n")).value_or("?"), " a b");
}

TEST_F(ResolveAccessTokenTest, FlagsWinOverTheEnvironment) {
  setenv("XXL_JOB_ACCESS_TOKEN", "from-env", 1);
  EXPECT_EQ(Resolve("", "").value_or("?"), "from-env");
  EXPECT_EQ(Resolve("from-flag", "").value_or("?"), "from-flag");
  EXPECT_EQ(Resolve("", File("from-file\n")).value_or("?"), "from-file");
  unsetenv("XXL_JOB_ACCESS_TOKEN");
  EXPECT_THAT(Resolve("", ""), IsOk());
  EXPECT_EQ(Resolve("", "").value_or("?"), "");
}

TEST_F(ResolveAccessTokenTest, BothFlagsOrABadFileAreErrorsNamingTheFlags) {
  EXPECT_THAT(Resolve("t", File("u\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--access_token or --access_token_file")));
  EXPECT_THAT(Resolve("", dir_.path() + "/missing"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--access_token_file")));
  EXPECT_THAT(
      Resolve("", File("\n")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty token")));
}

}  // namespace
}  // namespace xxljob

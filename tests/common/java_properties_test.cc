#include "common/java_properties.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xxljob {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(JavaPropertiesTest, ReadsAJavaExecutorsApplicationProperties) {
  // The xxl-job-executor-sample-springboot file, as teams keep it.
  const char* file =
      "# web port\n"
      "server.port=8081\n"
      "! no web xml\n"
      "\n"
      "### xxl-job admin address list, such as \"http://address\" or "
      "\"http://address01,http://address02\"\n"
      "xxl.job.admin.addresses=http://127.0.0.1:8080/xxl-job-admin\n"
      "xxl.job.admin.accessToken = default_token\n"
      "xxl.job.admin.timeout=3\r\n"
      "xxl.job.executor.appname:xxl-job-executor-sample\n"
      "xxl.job.executor.address=\n"
      "xxl.job.executor.ip\n"
      "   xxl.job.executor.port   9999\n"
      "xxl.job.executor.logpath=/data/applogs/xxl-job/jobhandler\n"
      "xxl.job.executor.logretentiondays=30";
  absl::StatusOr<Pairs> pairs = ParseJavaProperties(file);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ(
      *pairs,
      (Pairs{{"server.port", "8081"},
             {"xxl.job.admin.addresses", "http://127.0.0.1:8080/xxl-job-admin"},
             {"xxl.job.admin.accessToken", "default_token"},
             {"xxl.job.admin.timeout", "3"},
             {"xxl.job.executor.appname", "xxl-job-executor-sample"},
             {"xxl.job.executor.address", ""},
             {"xxl.job.executor.ip", ""},
             {"xxl.job.executor.port", "9999"},
             {"xxl.job.executor.logpath", "/data/applogs/xxl-job/jobhandler"},
             {"xxl.job.executor.logretentiondays", "30"}}));
}

TEST(JavaPropertiesTest, ContinuationsEscapesAndSeparatorsAsJavaReadsThem) {
  absl::StatusOr<Pairs> pairs = ParseJavaProperties(
      "a=one \\\n    two\n"          // Continued; leading space dropped.
      "b=ends in a backslash\\\\\n"  // An even count does not continue.
      "c\\=d=e\n"                    // An escaped separator is the key's.
      "k\\ ey value\n"
      "u=caf\\u00e9 \\u4e2d\n"
      "t=tab\\there\n"
      "x:=y\n");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ(*pairs, (Pairs{{"a", "one two"},
                           {"b", "ends in a backslash\\"},
                           {"c=d", "e"},
                           {"k ey", "value"},
                           {"u", "caf\xc3\xa9 \xe4\xb8\xad"},
                           {"t", "tab\there"},
                           {"x", "=y"}}));
}

TEST(JavaPropertiesTest, AMalformedUnicodeEscapeNamesItsLine) {
  absl::StatusOr<Pairs> pairs = ParseJavaProperties("a=1\nb=\\u12\n");
  ASSERT_FALSE(pairs.ok());
  EXPECT_EQ(pairs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pairs.status().message(), "line 2: malformed \\uxxxx escape");
}

}  // namespace
}  // namespace xxljob

#include "common/host_port.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(HostPortTest, ParsesHostAndPortWithOrWithoutBrackets) {
  struct Case {
    std::string text;
    std::string host;
    int port;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:9999", "127.0.0.1", 9999},         {"[::1]:80", "::1", 80},
      {"admin.example:8080", "admin.example", 8080}, {":0", "", 0},
      {"0.0.0.0:65535", "0.0.0.0", 65535},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<HostPort> parsed = ParseHostPort(c.text, "listen");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->host, c.host);
    EXPECT_EQ(parsed->port, c.port);
    EXPECT_EQ(FormatHostPort(parsed->host, parsed->port), c.text);
  }
}

TEST(HostPortTest, RefusesWhatIsNotHostColonPort) {
  for (const char* text : {"", "9999", "host", "::1:80", "host:", "host:x",
                           "host:-1", "host:65536", "[::1]", "host:80:90"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<HostPort> parsed = ParseHostPort(text, "listen");
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(),
              "listen must be host:port (port 0..65535), got \"" +
                  std::string(text) + "\"");
  }
}

TEST(HostPortTest, WildcardAndLoopbackHosts) {
  for (const char* host : {"", "0.0.0.0", "::"}) {
    EXPECT_TRUE(IsWildcardHost(host)) << host;
  }
  EXPECT_FALSE(IsWildcardHost("127.0.0.1"));
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"10.0.0.1", "0.0.0.0", "::", "example.com"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  EXPECT_EQ(AdvertisedHost("10.1.2.3"), "10.1.2.3");
  EXPECT_FALSE(AdvertisedHost("0.0.0.0").empty());
  EXPECT_FALSE(IsWildcardHost(AdvertisedHost("")));
}

TEST(HostPortTest, PeerHostDropsThePort) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.1:5000"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5000"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("10.0.0.1:5000"), "10.0.0.1");
  EXPECT_EQ(PeerHost("unix:/tmp/sock"), "unix:/tmp/sock");
  EXPECT_EQ(PeerHost("host:"), "host:");
}

}  // namespace
}  // namespace xxljob

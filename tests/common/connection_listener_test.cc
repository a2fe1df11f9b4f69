#include "common/connection_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace xxljob {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(30);

// A TCP connection to `host` (an IPv4 or IPv6 literal) and `port`, or -1.
int Dial(const std::string& host, int port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  } else {
    return -1;
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once the peer closed `fd` (EOF or reset), false at the timeout.
bool ClosedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kTimeout))) <= 0) {
    return false;
  }
  char byte;
  return read(fd, &byte, 1) <= 0;
}

// Collects what the listener hands off; the test owns those descriptors.
class Sink {
 public:
  void Take(int fd) {
    absl::MutexLock lock(&mu_);
    fds_.push_back(fd);
  }
  // Waits until `n` connections were handed off or `timeout` passed; the
  // descriptors handed off.
  std::vector<int> WaitFor(size_t n, absl::Duration timeout = kTimeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return fds_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return fds_;
  }
  ~Sink() {
    for (int fd : fds_) close(fd);
  }

 private:
  absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<ConnectionListener> Listen(const std::string& host,
                                           int max_connections, Sink* sink) {
  ConnectionListenerOptions options;
  options.host = host;
  options.max_connections = max_connections;
  auto listener = ConnectionListener::Bind(options);
  EXPECT_TRUE(listener.ok()) << listener.status();
  if (!listener.ok()) return nullptr;
  (*listener)->Start([sink](int fd) { sink->Take(fd); });
  return *std::move(listener);
}

TEST(ConnectionListenerTest, RefusesPastTheBoundAndAdmitsOnceOneCloses) {
  Sink sink;
  auto listener = Listen("127.0.0.1", 2, &sink);
  ASSERT_NE(listener, nullptr);
  const int a = Dial("127.0.0.1", listener->port());
  const int b = Dial("127.0.0.1", listener->port());
  std::vector<int> taken = sink.WaitFor(2);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(listener->tracked_connections(), 2);

  const int refused = Dial("127.0.0.1", listener->port());
  EXPECT_TRUE(ClosedByPeer(refused));
  EXPECT_EQ(listener->refused_connections(), 1);

  // The transport closes one: the next connection is admitted.
  close(taken[0]);
  const absl::Time deadline = absl::Now() + kTimeout;
  int admitted = -1;
  while (absl::Now() < deadline) {
    admitted = Dial("127.0.0.1", listener->port());
    if (sink.WaitFor(3, absl::Milliseconds(500)).size() >= 3) break;
    // Refused (the listener re-checks at most every kSweepInterval): retry
    // as a client would.
    close(admitted);
    admitted = -1;
  }
  EXPECT_EQ(sink.WaitFor(3).size(), 3u);
  for (int fd : {a, b, refused, admitted}) {
    if (fd >= 0) close(fd);
  }
  listener->Stop();
}

TEST(ConnectionListenerTest, WildcardServesBothFamilies) {
  Sink sink;
  auto listener = Listen("0.0.0.0", 10, &sink);
  ASSERT_NE(listener, nullptr);
  const int v4 = Dial("127.0.0.1", listener->port());
  EXPECT_GE(v4, 0);
  const int v6 = Dial("::1", listener->port());
  // Hosts without IPv6 loopback can only be served over IPv4.
  EXPECT_EQ(sink.WaitFor(v6 >= 0 ? 2 : 1).size(), v6 >= 0 ? 2u : 1u);
  close(v4);
  if (v6 >= 0) close(v6);
}

TEST(ConnectionListenerTest, ANameIsServedOnEveryAddressItHas) {
  Sink sink;
  auto listener = Listen("localhost", 10, &sink);
  ASSERT_NE(listener, nullptr);
  const int v4 = Dial("127.0.0.1", listener->port());
  EXPECT_GE(v4, 0);
  EXPECT_EQ(sink.WaitFor(1).size(), 1u);
  if (v4 >= 0) close(v4);
}

TEST(ConnectionListenerTest, APortInUseIsUnavailable) {
  Sink sink;
  auto first = Listen("127.0.0.1", 10, &sink);
  ASSERT_NE(first, nullptr);
  ConnectionListenerOptions options;
  options.host = "127.0.0.1";
  options.port = first->port();
  auto second = ConnectionListener::Bind(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  options.host = "no-such-host.invalid";
  options.port = 0;
  EXPECT_EQ(ConnectionListener::Bind(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.host = "127.0.0.1";
  options.max_connections = 0;
  EXPECT_EQ(ConnectionListener::Bind(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace xxljob

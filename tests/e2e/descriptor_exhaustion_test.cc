// Running out of descriptors is never permanent (SPEC §8): a real
// xxl-executor under a low descriptor limit (prlimit --nofile=256:256) gets
// a burst of idle TCP connections (no token, no bytes), and afterwards a
// health check and a Run on new connections succeed within seconds; runs
// accepted during the burst keep their logs. Also: connections past
// --max_connections are closed at once, and a connection that never sends
// the HTTP/2 preface is closed after --handshake_timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certs.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

constexpr char kLowLimit[] = "--nofile=256:256";
// More connections than the limit has descriptors.
constexpr int kBurst = 400;
// How long the burst is held open: part of the scenario (an attacker's
// sockets sit idle), not a wait for anything.
constexpr absl::Duration kHold = absl::Seconds(5);
// "Within a few seconds", generous for a busy 2-core machine.
constexpr absl::Duration kRecoveryBound = absl::Seconds(15);

int DescriptorsOf(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// A plain TCP connection to 127.0.0.1:`port` that sends nothing, or -1.
int IdleConnection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closed `fd` (EOF or reset) within `timeout`. What it
// sent first (its HTTP/2 SETTINGS) is read and dropped.
bool ClosedByServer(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <=
        0) {
      continue;
    }
    char buffer[512];
    if (read(fd, buffer, sizeof(buffer)) <= 0) return true;
  }
}

// A channel with a connection of its own.
std::shared_ptr<grpc::Channel> NewConnection(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return grpc::health::v1::Health::NewStub(channel)->Check(
      Deadline(absl::Seconds(2)).get(), request, &response);
}
grpc::Status HealthCheck(const std::string& target) {
  return HealthCheck(NewConnection(target));
}

class DescriptorExhaustionTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags) {
    flags.push_back("--listen=127.0.0.1:0");
    flags.push_back("--log_path=" + dir_.path());
    executor_ = std::make_unique<testing::ExecutorProcess>(
        std::move(flags),
        std::vector<std::string>{"/usr/bin/prlimit", kLowLimit, "--"});
    ASSERT_TRUE(executor_->WaitUntilServing().ok());
    target_ = executor_->address();
  }

  // The well-behaved caller's connection, open before any abuse.
  void Connect() {
    stub_ = v1::Executor::NewStub(NewConnection(target_));
    v1::BeatResponse beat;
    ASSERT_TRUE(
        stub_->Beat(Deadline(absl::Seconds(10)).get(), v1::BeatRequest(), &beat)
            .ok());
    ASSERT_TRUE(HealthCheck(target_).ok());
  }

  v1::RunRequest Req(int64_t log_id) const {
    v1::RunRequest r;
    r.set_job_id(log_id);
    r.set_log_id(log_id);
    r.set_log_date_time(now_ms_);
    r.set_executor_handler("demoJobHandler");
    return r;
  }

  // Runs `log_id` over `stub` and waits (polling Log) for its log to end;
  // the log's content, or "" with a failure.
  std::string RunToEnd(v1::Executor::Stub* stub, int64_t log_id) {
    v1::RunResponse run;
    grpc::Status s =
        stub->Run(Deadline(absl::Seconds(10)).get(), Req(log_id), &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(run.code(), 200) << run.msg();
    const absl::Time deadline = absl::Now() + testing::kProcessTimeout;
    while (absl::Now() < deadline) {
      v1::LogRequest request;
      request.set_log_id(log_id);
      request.set_log_date_time(now_ms_);
      request.set_from_line_num(1);
      v1::LogResponse log;
      s = stub->Log(Deadline(absl::Seconds(10)).get(), request, &log);
      if (s.ok() && log.code() == 200 && log.is_end()) return log.log_content();
      absl::SleepFor(absl::Milliseconds(20));  // Polling the run's end.
    }
    ADD_FAILURE() << "log " << log_id << " never ended";
    return "";
  }

  // Opens kBurst idle connections, holds them kHold, closes them; returns
  // how many connected.
  int Burst() {
    std::vector<int> fds;
    for (int i = 0; i < kBurst; ++i) {
      const int fd = IdleConnection(executor_->port());
      if (fd >= 0) fds.push_back(fd);
    }
    const absl::Time until = absl::Now() + kHold;
    // Meanwhile a run accepted on an open connection keeps its log.
    const std::string log = RunToEnd(stub_.get(), 100);
    EXPECT_TRUE(absl::StrContains(log, "demoJobHandler")) << log;
    held_fds_ = DescriptorsOf(executor_->pid());
    absl::SleepFor(until - absl::Now());
    for (int fd : fds) close(fd);
    return static_cast<int>(fds.size());
  }

  // Polls a health check on fresh connections until one succeeds; the time
  // it took, or kRecoveryBound * 2 if none did.
  absl::Duration TimeToServe() {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < kRecoveryBound * 2) {
      if (HealthCheck(target_).ok()) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(50));  // Polling: a refusal is quick.
    }
    return kRecoveryBound * 2;
  }

  // After the burst: health and a Run on fresh connections work.
  void ExpectServedAgain(const char* what) {
    const absl::Duration recovery = TimeToServe();
    EXPECT_LT(recovery, kRecoveryBound) << "no health check answered";
    auto fresh = v1::Executor::NewStub(NewConnection(target_));
    const std::string log = RunToEnd(fresh.get(), 200);
    EXPECT_TRUE(absl::StrContains(log, "demoJobHandler")) << log;
    LOG(INFO) << what << ": " << before_fds_ << " fds before, " << held_fds_
              << " during the burst of " << kBurst << ", "
              << DescriptorsOf(executor_->pid())
              << " after; served again after "
              << absl::FormatDuration(recovery);
  }

  const int64_t now_ms_ = absl::ToUnixMillis(absl::Now());
  testing::TempDir dir_;
  std::unique_ptr<testing::ExecutorProcess> executor_;
  std::string target_;
  std::unique_ptr<v1::Executor::Stub> stub_;
  int before_fds_ = 0;
  int held_fds_ = 0;
};

// The defaults under a 256-descriptor limit: the bound keeps the burst from
// taking the descriptors runs need, and nothing ever fails to accept.
TEST_F(DescriptorExhaustionTest, BurstUnderALowLimitLeavesTheServerServing) {
  Start({});
  Connect();
  before_fds_ = DescriptorsOf(executor_->pid());
  EXPECT_EQ(Burst(), kBurst);
  ExpectServedAgain("bounded");
  EXPECT_FALSE(absl::StrContains(executor_->Stderr(), "Too many open files"));
  EXPECT_TRUE(absl::StrContains(executor_->Stderr(), "refusing connections"));
}

// With the bound set above what the limit allows, accepting does fail for
// lack of descriptors; it resumes once they are free.
TEST_F(DescriptorExhaustionTest,
       AcceptingRecoversAfterRunningOutOfDescriptors) {
  Start({"--max_connections=100000", "--reserved_fds=1"});
  Connect();
  before_fds_ = DescriptorsOf(executor_->pid());
  std::vector<int> fds;
  for (int i = 0; i < kBurst; ++i) {
    const int fd = IdleConnection(executor_->port());
    if (fd >= 0) fds.push_back(fd);
  }
  ASSERT_TRUE(executor_->WaitForStderr("cannot accept connections"));
  held_fds_ = DescriptorsOf(executor_->pid());
  for (int fd : fds) close(fd);
  ExpectServedAgain("unbounded");
}

// Past --max_connections a connection is closed at once; a connection that
// never sends the preface is closed after --handshake_timeout.
TEST_F(DescriptorExhaustionTest, ConnectionsPastTheBoundOrSilentAreClosed) {
  Start({"--max_connections=8", "--handshake_timeout=2s"});
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) fds.push_back(IdleConnection(executor_->port()));
  const int extra = IdleConnection(executor_->port());
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(executor_->WaitForStderr("1 refused since start"));
  EXPECT_TRUE(ClosedByServer(extra, absl::Seconds(10)));
  close(extra);
  // The silent ones go after the handshake timeout, and new ones are served.
  for (int fd : fds) {
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(ClosedByServer(fd, absl::Seconds(30)));
    close(fd);
  }
  EXPECT_LT(TimeToServe(), kRecoveryBound);
}

// The same over TLS: connections gRPC's TLS handshaker serves come from
// the same listener, with the same bound and handshake timeout.
TEST_F(DescriptorExhaustionTest, TlsConnectionsAreBoundedAndTimedOutToo) {
  absl::StatusOr<testing::TestCerts> certs =
      testing::MakeTestCerts(dir_.path());
  ASSERT_TRUE(certs.ok()) << certs.status();
  Start({"--tls_cert_file=" + certs->server_cert,
         "--tls_key_file=" + certs->server_key, "--max_connections=4",
         "--handshake_timeout=2s"});
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(IdleConnection(executor_->port()));
  const int extra = IdleConnection(executor_->port());
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(ClosedByServer(extra, absl::Seconds(10)));
  close(extra);
  // No ClientHello: closed after the handshake timeout.
  for (int fd : fds) {
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(ClosedByServer(fd, absl::Seconds(30)));
    close(fd);
  }
  grpc::SslCredentialsOptions tls;
  std::ifstream ca(certs->ca);
  tls.pem_root_certs.assign(std::istreambuf_iterator<char>(ca), {});
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("localhost:", executor_->port()),
                                grpc::SslCredentials(tls), args);
  EXPECT_TRUE(HealthCheck(channel).ok());
}

}  // namespace
}  // namespace xxljob

// What TailLog streams whose clients never read cost a real xxl-executor
// process, read from /proc/<pid>/status (VmRSS): the documented bound
// (docs/operations.md, "Bounds": at most --max_tail_streams x 256 KiB
// beyond gRPC's buffers) while they are stalled, and the memory given back
// once they are cancelled.
#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/temp_dir.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using testing::kRssIsMeaningful;

// One connection carries all the streams, as a hostile client would.
constexpr int kStalled = 256;
// A log of about 6 MB: more than any window, so every stream stalls with
// a page in flight.
constexpr char kScript[] =
    "seq -f 'line %g of a long log, padded to about sixty bytes ......' 1 "
    "100000\n";

int64_t RssKbOf(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t:"), absl::SkipEmpty());
    int64_t kb = 0;
    if (parts.size() >= 2 && parts[0] == "VmRSS" &&
        absl::SimpleAtoi(parts[1], &kb)) {
      return kb;
    }
  }
  return 0;
}

// Samples `pid`'s RSS every 200 ms until it has stayed within 1 MiB for
// two seconds (or 60 s passed); returns the last sample.
int64_t SettledRssKb(pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int64_t low = RssKbOf(pid);
  int64_t high = low;
  int steady = 0;
  while (absl::Now() < deadline && steady < 10) {
    absl::SleepFor(absl::Milliseconds(200));  // Sampling, not waiting.
    const int64_t now = RssKbOf(pid);
    low = std::min(low, now);
    high = std::max(high, now);
    if (high - low <= 1024) {
      ++steady;
    } else {
      steady = 0;
      low = high = now;
    }
  }
  return RssKbOf(pid);
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

class TailLogMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_ =
        std::make_unique<testing::ExecutorProcess>(std::vector<std::string>{
            "--listen=127.0.0.1:0", "--log_path=" + dir_.path(),
            "--enable_scripts"});
    ASSERT_TRUE(executor_->WaitUntilServing().ok());
    stub_ = v1::Executor::NewStub(grpc::CreateChannel(
        executor_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::LogRequest Follow() const {
    v1::LogRequest r;
    r.set_log_id(1);
    r.set_log_date_time(now_ms_);
    r.set_from_line_num(1);
    return r;
  }
  int64_t OpenStreams() {
    v1::BeatResponse beat;
    EXPECT_TRUE(stub_->Beat(Deadline(absl::Seconds(10)).get(), {}, &beat).ok());
    return beat.tail_streams();
  }
  bool Eventually(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + testing::kProcessTimeout;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));  // Polling.
    }
    return true;
  }

  const int64_t now_ms_ = absl::ToUnixMillis(absl::Now());
  testing::TempDir dir_;
  std::unique_ptr<testing::ExecutorProcess> executor_;
  std::unique_ptr<v1::Executor::Stub> stub_;
};

TEST_F(TailLogMemoryTest, StalledStreamsStayWithinTheBoundAndFreeTheirMemory) {
  if (!kRssIsMeaningful) GTEST_SKIP() << "resident memory under a sanitizer";
  v1::RunRequest run;
  run.set_job_id(1);
  run.set_log_id(1);
  run.set_log_date_time(now_ms_);
  run.set_glue_type(v1::GLUE_SHELL);
  run.set_glue_source(kScript);
  run.set_glue_updatetime(1);
  v1::RunResponse accepted;
  ASSERT_TRUE(
      stub_->Run(Deadline(absl::Seconds(10)).get(), run, &accepted).ok());
  ASSERT_EQ(accepted.code(), 200) << accepted.msg();
  // Followed to its end once: the run is over, and gRPC's threads and
  // buffers for a stream exist before the baseline is taken.
  {
    auto context = Deadline(testing::kProcessTimeout);
    auto reader = stub_->TailLog(context.get(), Follow());
    v1::LogResponse page;
    bool end = false;
    while (reader->Read(&page)) end = page.is_end();
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_TRUE(end);
  }
  const pid_t pid = executor_->pid();
  const int64_t before = SettledRssKb(pid);

  struct Stalled {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::LogResponse>> reader;
  };
  std::vector<Stalled> stalled;
  for (int i = 0; i < kStalled; ++i) {
    Stalled s;
    s.context = Deadline(absl::Minutes(5));
    s.reader = stub_->TailLog(s.context.get(), Follow());
    stalled.push_back(std::move(s));
  }
  ASSERT_TRUE(Eventually([&] { return OpenStreams() == kStalled; }));
  const int64_t during = SettledRssKb(pid);

  for (Stalled& s : stalled) s.context->TryCancel();
  for (Stalled& s : stalled) (void)s.reader->Finish();
  ASSERT_TRUE(Eventually([&] { return OpenStreams() == 0; }));
  const int64_t after = SettledRssKb(pid);

  LOG(INFO) << kStalled << " stalled TailLog streams on one connection: RSS "
            << before << " kB before, " << during << " kB stalled (+"
            << (during - before) / 1024 << " MiB), " << after
            << " kB after they were cancelled (+" << (after - before) / 1024
            << " MiB)";
  // The documented bound is 64 MiB for 256 streams beyond gRPC's buffers.
  EXPECT_LT(during - before, 64 * 1024);
  EXPECT_LT(after - before, 8 * 1024);
}

}  // namespace
}  // namespace xxljob

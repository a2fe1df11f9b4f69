// ResultReporter against a fake admin: batching, backoff while refused,
// restarts (crash-equivalent ends), orphans, the memory bound, a full disk,
// and standalone mode. Waits are on the fake's events, never sleeps.
#include "server/delivery/result_reporter.h"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/recording_result_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Le;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::kWaitTimeout;
using ::xxljob::testing::StatusIs;
using ::xxljob::testing::TempDir;

// An admin that records every Callback and can be told to refuse, or to hold
// calls until released (so a test controls what piles up meanwhile).
class FakeAdmin : public AdminApi {
 public:
  absl::Status Registry(const RegistryParam&) override {
    return absl::OkStatus();
  }
  absl::Status RegistryRemove(const RegistryParam&) override {
    return absl::OkStatus();
  }
  absl::Status Callback(const std::vector<RunResult>& results) override {
    absl::MutexLock lock(&mu_);
    ++entered_;
    auto released = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !held_; };
    mu_.Await(absl::Condition(&released));
    if (refuse_) {
      ++refused_;
      return absl::UnavailableError("admin says no");
    }
    batches_.push_back(results.size());
    for (const RunResult& r : results) {
      delivered_.push_back(r);
      ++count_[r.log_id];
    }
    return absl::OkStatus();
  }

  void set_refuse(bool refuse) {
    absl::MutexLock lock(&mu_);
    refuse_ = refuse;
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }
  // Waits until `n` calls have started (held ones included).
  bool WaitEntered(int n) {
    return WaitUntil(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= n; });
  }
  bool WaitRefused(int n) {
    return WaitUntil(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return refused_ >= n; });
  }
  bool WaitDelivered(size_t n) {
    return WaitUntil([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return delivered_.size() >= n;
    });
  }

  std::vector<RunResult> delivered() const {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  std::vector<size_t> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return entered_;
  }
  int refused() const {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  // Log ids delivered more than once.
  std::vector<int64_t> duplicates() const {
    absl::MutexLock lock(&mu_);
    std::vector<int64_t> out;
    for (const auto& [log_id, n] : count_) {
      if (n > 1) out.push_back(log_id);
    }
    return out;
  }

 private:
  template <typename F>
  bool WaitUntil(F f) {
    absl::MutexLock lock(&mu_);
    auto cond = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return f(); };
    return mu_.AwaitWithTimeout(absl::Condition(&cond), kWaitTimeout);
  }

  mutable absl::Mutex mu_;
  bool refuse_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<size_t> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<RunResult> delivered_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> count_ ABSL_GUARDED_BY(mu_);
};

Trigger MakeTrigger(int64_t log_id) {
  Trigger t;
  t.job_id = log_id % 7 + 1;
  t.log_id = log_id;
  t.log_date_time = 1700000000000 + log_id;
  return t;
}

RunResult MakeResult(int64_t log_id, size_t msg_bytes = 0) {
  return RunResult{log_id % 7 + 1, log_id, 1700000000000 + log_id, 200,
                   msg_bytes == 0 ? absl::StrCat("ok ", log_id)
                                  : std::string(msg_bytes, 'm')};
}

ReporterOptions TestOptions(const std::string& data_dir) {
  ReporterOptions options;
  options.outbox.dir = OutboxDir(data_dir);
  options.retry.initial = absl::Milliseconds(5);
  options.retry.max = absl::Milliseconds(100);
  return options;
}

std::unique_ptr<ResultReporter> CreateOrDie(const ReporterOptions& options,
                                            AdminApi* admin) {
  absl::StatusOr<std::unique_ptr<ResultReporter>> r =
      ResultReporter::Create(options, admin);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *std::move(r) : nullptr;
}

// Runs log ids [from, to] through the reporter as the executor would.
void RunAll(ResultReporter& reporter, int64_t from, int64_t to) {
  for (int64_t i = from; i <= to; ++i) {
    ASSERT_THAT(reporter.Accepted(MakeTrigger(i)), IsOk());
    reporter.Finished(MakeResult(i));
  }
}

std::vector<int64_t> LogIds(const std::vector<RunResult>& results) {
  std::vector<int64_t> ids;
  for (const RunResult& r : results) ids.push_back(r.log_id);
  return ids;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> ids;
  for (int64_t i = from; i <= to; ++i) ids.push_back(i);
  return ids;
}

class ReporterSyncModeTest : public ::testing::TestWithParam<SyncMode> {};

TEST_P(ReporterSyncModeTest, DeliversManyResultsInFewBatches) {
  TempDir tmp;
  FakeAdmin admin;
  ReporterOptions options = TestOptions(tmp.path());
  options.outbox.sync_mode = GetParam();
  options.max_batch = 100;
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_NE(reporter, nullptr);
  // Hold the first call so the rest pile up behind it.
  admin.Hold();
  RunAll(*reporter, 1, 1);
  ASSERT_TRUE(admin.WaitEntered(1));
  RunAll(*reporter, 2, 300);
  admin.Release();
  ASSERT_TRUE(admin.WaitDelivered(300));
  reporter->Shutdown(absl::Now() + kWaitTimeout);

  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 300));
  const std::vector<size_t> batches = admin.batches();
  EXPECT_LE(batches.size(), 1 + 3u);
  EXPECT_THAT(batches, Each(Le(100u)));
  const ResultReporter::Stats stats = reporter->stats();
  EXPECT_EQ(stats.delivered, 300);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.in_memory, 0);
  EXPECT_EQ(stats.batches_sent, static_cast<int64_t>(batches.size()));
  EXPECT_EQ(stats.max_batch_size, 100);
  EXPECT_EQ(stats.failed_attempts, 0);
  EXPECT_EQ(stats.journal_errors, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, ReporterSyncModeTest,
                         ::testing::Values(SyncMode::kNone, SyncMode::kGroup,
                                           SyncMode::kEveryRecord));

TEST(ResultReporterTest, ResultsWithinTheBatchDelayShareOneCallback) {
  TempDir tmp;
  FakeAdmin admin;
  ReporterOptions options = TestOptions(tmp.path());
  options.max_batch = 100;
  // Longer than any test: only a full batch can end the wait.
  options.batch_delay = absl::Hours(1);
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_NE(reporter, nullptr);
  RunAll(*reporter, 1, 250);
  // Two full batches go at once; the last 50 wait for their delay.
  ASSERT_TRUE(admin.WaitDelivered(200));
  EXPECT_EQ(admin.batches(), std::vector<size_t>({100, 100}));
  // Shutdown does not wait out the delay.
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 250));
  EXPECT_EQ(admin.batches(), std::vector<size_t>({100, 100, 50}));
  EXPECT_EQ(reporter->stats().pending, 0);
}

TEST(ResultReporterTest, TheLastResultIsDeliveredAfterTheBatchDelay) {
  TempDir tmp;
  FakeAdmin admin;
  ReporterOptions options = TestOptions(tmp.path());
  options.batch_delay = absl::Milliseconds(20);
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_NE(reporter, nullptr);
  // One result alone, then another after the first was delivered: neither
  // waits for company that never comes.
  RunAll(*reporter, 1, 1);
  ASSERT_TRUE(admin.WaitDelivered(1));
  RunAll(*reporter, 2, 2);
  ASSERT_TRUE(admin.WaitDelivered(2));
  EXPECT_EQ(admin.batches(), std::vector<size_t>({1, 1}));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(reporter->stats().pending, 0);
}

TEST(ResultReporterTest, NoBatchDelayDuringABackoff) {
  TempDir tmp;
  FakeAdmin admin;
  admin.set_refuse(true);
  ReporterOptions options = TestOptions(tmp.path());
  options.batch_delay = absl::Hours(1);
  options.max_batch = 100;
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_NE(reporter, nullptr);
  // A full batch goes at once and is refused; the retries that follow
  // send what is queued without waiting for a full batch.
  RunAll(*reporter, 1, 110);
  ASSERT_TRUE(admin.WaitRefused(3));
  admin.set_refuse(false);
  ASSERT_TRUE(admin.WaitDelivered(110));
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 110));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
}

TEST(ResultReporterTest, RetriesWithBackoffUntilAnAdminAccepts) {
  TempDir tmp;
  FakeAdmin admin;
  admin.set_refuse(true);
  ReporterOptions options = TestOptions(tmp.path());
  options.retry.initial = absl::Milliseconds(20);
  options.retry.multiplier = 2;
  options.retry.max = absl::Seconds(1);
  options.retry.jitter = 0.2;
  auto reporter = CreateOrDie(options, &admin);
  const absl::Time start = absl::Now();
  RunAll(*reporter, 1, 50);
  ASSERT_TRUE(admin.WaitRefused(5));
  // Four waits of at least 20, 40, 80, 160 ms, each within ±20%, so at
  // least 80% of that: a lower bound only, so a slow machine can't break it.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300 * 0.8));
  RunAll(*reporter, 51, 60);
  admin.set_refuse(false);
  ASSERT_TRUE(admin.WaitDelivered(60));
  reporter->Shutdown(absl::Now() + kWaitTimeout);

  std::vector<int64_t> ids = LogIds(admin.delivered());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, Range(1, 60));
  EXPECT_THAT(admin.duplicates(), ::testing::IsEmpty());
  const ResultReporter::Stats stats = reporter->stats();
  EXPECT_EQ(stats.failed_attempts, admin.refused());
  EXPECT_EQ(stats.delivered, 60);
  EXPECT_EQ(stats.pending, 0);
}

TEST(ResultReporterTest, UndeliveredResultsSurviveARestart) {
  TempDir tmp;
  const ReporterOptions options = TestOptions(tmp.path());
  {
    FakeAdmin refusing;
    refusing.set_refuse(true);
    auto reporter = CreateOrDie(options, &refusing);
    RunAll(*reporter, 1, 20);
    // A past deadline: one last (refused) attempt, then stop.
    reporter->Shutdown(absl::InfinitePast());
    EXPECT_GE(refusing.refused(), 1);
    EXPECT_EQ(reporter->stats().pending, 20);
  }
  {
    FakeAdmin refusing;
    refusing.set_refuse(true);
    auto reporter = CreateOrDie(options, &refusing);
    RunAll(*reporter, 21, 30);
    // Dropped without Shutdown, as close to a crash as a test gets here.
  }
  FakeAdmin admin;
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_TRUE(admin.WaitDelivered(30));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  // Older results (from the outbox) first, in order.
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 30));
  EXPECT_EQ(reporter->stats().pending, 0);
}

TEST(ResultReporterTest, DeliveredResultsAreNotSentAgainAfterARestart) {
  TempDir tmp;
  const ReporterOptions options = TestOptions(tmp.path());
  {
    FakeAdmin admin;
    auto reporter = CreateOrDie(options, &admin);
    RunAll(*reporter, 1, 10);
    ASSERT_TRUE(admin.WaitDelivered(10));
  }
  FakeAdmin admin;
  auto reporter = CreateOrDie(options, &admin);
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(admin.calls(), 0);
}

TEST(ResultReporterTest, AcceptedButUnfinishedRunIsReportedAfterRestart) {
  TempDir tmp;
  const ReporterOptions options = TestOptions(tmp.path());
  {
    FakeAdmin admin;
    auto reporter = CreateOrDie(options, &admin);
    ASSERT_THAT(reporter->Accepted(MakeTrigger(7)), IsOk());
    ASSERT_THAT(reporter->Accepted(MakeTrigger(8)), IsOk());
    reporter->Finished(MakeResult(8));
    ASSERT_TRUE(admin.WaitDelivered(1));
  }
  FakeAdmin admin;
  auto reporter = CreateOrDie(options, &admin);
  ASSERT_TRUE(admin.WaitDelivered(1));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  const std::vector<RunResult> delivered = admin.delivered();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].log_id, 7);
  EXPECT_EQ(delivered[0].job_id, MakeTrigger(7).job_id);
  EXPECT_EQ(delivered[0].log_date_time, MakeTrigger(7).log_date_time);
  EXPECT_EQ(delivered[0].handle_code, 500);
  EXPECT_EQ(delivered[0].handle_msg,
            "executor restarted before the run finished");
}

TEST(ResultReporterTest, SpillsPastTheMemoryBoundAndDeliversInOrder) {
  TempDir tmp;
  FakeAdmin admin;
  ReporterOptions options = TestOptions(tmp.path());
  options.max_batch = 5;
  options.max_pending_in_memory = 10;
  auto reporter = CreateOrDie(options, &admin);
  admin.Hold();
  RunAll(*reporter, 1, 1);
  ASSERT_TRUE(admin.WaitEntered(1));
  RunAll(*reporter, 2, 300);
  ResultReporter::Stats stats = reporter->stats();
  EXPECT_TRUE(stats.spilled);
  EXPECT_LE(stats.in_memory, 10);
  EXPECT_EQ(stats.pending, 300);
  admin.Release();
  ASSERT_TRUE(admin.WaitDelivered(300));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 300));
  EXPECT_THAT(admin.batches(), Each(Le(5u)));
  stats = reporter->stats();
  EXPECT_FALSE(stats.spilled);
  EXPECT_EQ(stats.pending, 0);
}

TEST(ResultReporterTest, BatchesStayUnderTheByteCap) {
  TempDir tmp;
  FakeAdmin admin;
  ReporterOptions options = TestOptions(tmp.path());
  options.max_batch_bytes = 10000;
  auto reporter = CreateOrDie(options, &admin);
  admin.Hold();
  reporter->Finished(MakeResult(1));
  ASSERT_TRUE(admin.WaitEntered(1));
  for (int64_t i = 2; i <= 11; ++i) reporter->Finished(MakeResult(i, 4000));
  reporter->Finished(MakeResult(12, 20000));  // Alone over the cap: sent alone.
  admin.Release();
  ASSERT_TRUE(admin.WaitDelivered(12));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(admin.batches(), (std::vector<size_t>{1, 2, 2, 2, 2, 2, 1}));
}

TEST(ResultReporterTest, UnjournaledResultsAreStillDelivered) {
  TempDir tmp;
  FakeAdmin admin;
  const ReporterOptions options = TestOptions(tmp.path());
  {
    auto reporter = CreateOrDie(options, &admin);
    admin.Hold();
    reporter->Finished(MakeResult(1));
    ASSERT_TRUE(admin.WaitEntered(1));
    // Accepted while the disk was fine, finished once it was full.
    for (int64_t i = 2; i <= 6; ++i) {
      ASSERT_THAT(reporter->Accepted(MakeTrigger(i)), IsOk());
    }
    reporter->outbox()->InjectWriteErrorForTesting(ENOSPC);
    for (int64_t i = 2; i <= 6; ++i) reporter->Finished(MakeResult(i));
    ResultReporter::Stats stats = reporter->stats();
    EXPECT_EQ(stats.journal_errors, 5);
    EXPECT_EQ(stats.refused_triggers, 0);
    EXPECT_EQ(stats.pending, 6);
    reporter->outbox()->InjectWriteErrorForTesting(0);
    admin.Release();
    ASSERT_TRUE(admin.WaitDelivered(6));
    reporter->Shutdown(absl::Now() + kWaitTimeout);
    EXPECT_EQ(reporter->stats().pending, 0);
  }
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 6));
  OutboxOptions outbox_options = options.outbox;
  absl::StatusOr<std::unique_ptr<Outbox>> outbox = Outbox::Open(outbox_options);
  ASSERT_THAT(outbox, IsOk());
  EXPECT_EQ((*outbox)->pending_count(), 0);
}

// A real full disk (a 64 KiB tmpfs); needs mount privileges, else skipped.
TEST(ResultReporterTest, FullDiskStillDeliversEveryResult) {
  TempDir tmp;
  const std::string mnt = tmp.path() + "/small";
  std::filesystem::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "can't mount a tmpfs (" << strerror(errno) << ")";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  FakeAdmin admin;
  auto reporter = CreateOrDie(TestOptions(mnt), &admin);
  admin.Hold();
  reporter->Finished(MakeResult(1));
  ASSERT_TRUE(admin.WaitEntered(1));
  for (int64_t i = 2; i <= 40; ++i) reporter->Finished(MakeResult(i, 4000));
  EXPECT_GT(reporter->stats().journal_errors, 0);
  admin.Release();
  ASSERT_TRUE(admin.WaitDelivered(40));
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(LogIds(admin.delivered()).size(), 40u);
  EXPECT_THAT(admin.duplicates(), ::testing::IsEmpty());
  EXPECT_EQ(reporter->stats().pending, 0);
}

// A trigger whose ACCEPTED record fails is refused, with a message that says
// why, and leaves no trace in the journal; accepting works again once the
// disk does.
TEST(ResultReporterTest, AcceptedIsRefusedWhenItCantBeJournaled) {
  struct Case {
    int error;
    const char* message;
  };
  const Case cases[] = {
      {ENOSPC, "data directory full: write "},
      {EDQUOT, "data directory full: write "},
      {EIO, "data directory failing, triggers can't be recorded: write "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(strerror(c.error));
    TempDir tmp;
    FakeAdmin admin;
    const ReporterOptions options = TestOptions(tmp.path());
    {
      auto reporter = CreateOrDie(options, &admin);
      reporter->outbox()->InjectWriteErrorForTesting(c.error);
      absl::Status refused = reporter->Accepted(MakeTrigger(1));
      EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                    HasSubstr(c.message)));
      EXPECT_THAT(refused.message(), HasSubstr(strerror(c.error)));
      EXPECT_EQ(reporter->stats().refused_triggers, 1);
      reporter->outbox()->InjectWriteErrorForTesting(0);
      EXPECT_THAT(reporter->Accepted(MakeTrigger(2)), IsOk());
      reporter->Shutdown(absl::Now());
    }
    // A crash-equivalent restart: only the run accepted is owed a result.
    OutboxOptions outbox_options = options.outbox;
    absl::StatusOr<std::unique_ptr<Outbox>> outbox =
        Outbox::Open(outbox_options);
    ASSERT_THAT(outbox, IsOk());
    EXPECT_EQ((*outbox)->recovery().orphans, 1);
    absl::StatusOr<std::vector<PendingResult>> pending =
        (*outbox)->ReadPending(0, 10, 1 << 20);
    ASSERT_THAT(pending, IsOk());
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ((*pending)[0].result.log_id, 2);
  }
}

TEST(ResultReporterTest, ShutdownFlushesPendingResults) {
  TempDir tmp;
  FakeAdmin admin;
  auto reporter = CreateOrDie(TestOptions(tmp.path()), &admin);
  admin.Hold();
  RunAll(*reporter, 1, 1);
  ASSERT_TRUE(admin.WaitEntered(1));
  RunAll(*reporter, 2, 50);
  admin.Release();
  reporter->Shutdown(absl::Now() + kWaitTimeout);
  EXPECT_EQ(LogIds(admin.delivered()), Range(1, 50));
  // After shutdown a result is only journaled, for the next start.
  reporter->Finished(MakeResult(51));
  EXPECT_EQ(admin.delivered().size(), 50u);
  EXPECT_EQ(reporter->stats().pending, 1);
}

TEST(ResultReporterTest, StandaloneJournalsNothing) {
  TempDir tmp;
  ReporterOptions options = TestOptions(tmp.path());
  auto reporter = CreateOrDie(options, nullptr);
  ASSERT_NE(reporter, nullptr);
  EXPECT_EQ(reporter->outbox(), nullptr);
  EXPECT_THAT(reporter->Accepted(MakeTrigger(1)), IsOk());
  reporter->Finished(MakeResult(1));
  reporter->Shutdown(absl::Now());
  EXPECT_FALSE(std::filesystem::exists(options.outbox.dir));
  EXPECT_EQ(reporter->stats().pending, 0);
}

TEST(ResultReporterTest, RejectsBadOptions) {
  FakeAdmin admin;
  TempDir tmp;
  const ReporterOptions good = TestOptions(tmp.path());
  struct Case {
    const char* field;
    void (*spoil)(ReporterOptions&);
  };
  const Case cases[] = {
      {"outbox.dir", [](ReporterOptions& o) { o.outbox.dir = ""; }},
      {"max_batch", [](ReporterOptions& o) { o.max_batch = 0; }},
      {"retry.initial",
       [](ReporterOptions& o) { o.retry.initial = absl::ZeroDuration(); }},
      {"retry.multiplier",
       [](ReporterOptions& o) { o.retry.multiplier = 0.5; }},
      {"retry.max",
       [](ReporterOptions& o) { o.retry.max = absl::Milliseconds(1); }},
      {"retry.jitter", [](ReporterOptions& o) { o.retry.jitter = 1; }},
      {"max_pending_in_memory",
       [](ReporterOptions& o) { o.max_pending_in_memory = 10; }},
      {"batch_delay",
       [](ReporterOptions& o) { o.batch_delay = absl::Milliseconds(-1); }},
  };
  for (const Case& c : cases) {
    ReporterOptions options = good;
    c.spoil(options);
    EXPECT_THAT(
        ResultReporter::Create(options, &admin),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field;
  }
}

// An admin that accepts at once and keeps only counts.
class CountingAdmin : public AdminApi {
 public:
  absl::Status Registry(const RegistryParam&) override {
    return absl::OkStatus();
  }
  absl::Status RegistryRemove(const RegistryParam&) override {
    return absl::OkStatus();
  }
  absl::Status Callback(const std::vector<RunResult>& results) override {
    absl::MutexLock lock(&mu_);
    delivered_ += results.size();
    ++batches_;
    return absl::OkStatus();
  }
  bool WaitDelivered(size_t n) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return delivered_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), absl::Minutes(5));
  }

 private:
  absl::Mutex mu_;
  size_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  size_t batches_ ABSL_GUARDED_BY(mu_) = 0;
};

// Throughput for docs, not assertions: run with
//   reporter_test --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
TEST(ResultReporterTest, DISABLED_MeasureThroughput) {
  for (SyncMode mode :
       {SyncMode::kNone, SyncMode::kGroup, SyncMode::kEveryRecord}) {
    TempDir tmp;
    CountingAdmin admin;
    ReporterOptions options = TestOptions(tmp.path());
    options.outbox.sync_mode = mode;
    auto reporter = CreateOrDie(options, &admin);
    const int64_t n = mode == SyncMode::kEveryRecord ? 2000 : 200000;
    const absl::Time start = absl::Now();
    RunAll(*reporter, 1, n);
    const absl::Duration producing = absl::Now() - start;
    ASSERT_TRUE(admin.WaitDelivered(n));
    const absl::Duration total = absl::Now() - start;
    reporter->Shutdown(absl::Now() + kWaitTimeout);
    const ResultReporter::Stats stats = reporter->stats();
    std::cout << "sync mode " << SyncModeName(mode) << ": " << n
              << " results delivered in " << total << " ("
              << static_cast<int64_t>(n / absl::ToDoubleSeconds(total))
              << "/s; Accepted+Finished "
              << absl::ToDoubleMicroseconds(producing / n) << " us each), "
              << stats.batches_sent << " batches, mean "
              << n / std::max<int64_t>(1, stats.batches_sent) << ", max "
              << stats.max_batch_size << "; outbox "
              << reporter->outbox()->file_bytes() << " bytes after "
              << reporter->outbox()->compactions() << " compactions\n";
  }
}

}  // namespace
}  // namespace xxljob

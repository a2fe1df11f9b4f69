// Outbox: round trips across reopen, orphan conversion, torn and corrupt
// tails, compaction, and failed appends (injected, and a real full tmpfs).
#include "server/delivery/outbox.h"

#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/delivery/outbox_record.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;
using ::xxljob::testing::TempDir;

RunResult MakeResult(int64_t log_id, std::string msg = "") {
  return RunResult{log_id % 7 + 1, log_id, 1700000000000 + log_id, 200,
                   msg.empty() ? absl::StrCat("ok ", log_id) : msg};
}

MATCHER_P(SameResult, expected, "") {
  const RunResult& r = arg;
  return r.job_id == expected.job_id && r.log_id == expected.log_id &&
         r.log_date_time == expected.log_date_time &&
         r.handle_code == expected.handle_code &&
         r.handle_msg == expected.handle_msg;
}

std::unique_ptr<Outbox> OpenOrDie(const std::string& dir,
                                  OutboxOptions options = {}) {
  options.dir = dir;
  absl::StatusOr<std::unique_ptr<Outbox>> outbox = Outbox::Open(options);
  EXPECT_THAT(outbox, IsOk());
  return outbox.ok() ? *std::move(outbox) : nullptr;
}

std::vector<RunResult> AllPending(Outbox& outbox) {
  absl::StatusOr<std::vector<PendingResult>> pending =
      outbox.ReadPending(0, SIZE_MAX, SIZE_MAX);
  EXPECT_THAT(pending, IsOk());
  std::vector<RunResult> out;
  if (pending.ok()) {
    for (PendingResult& p : *pending) out.push_back(std::move(p.result));
  }
  return out;
}

void AppendBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

int64_t FileSize(const std::string& path) {
  return static_cast<int64_t>(std::filesystem::file_size(path));
}

TEST(OutboxTest, PendingResultsSurviveReopen) {
  TempDir tmp;
  std::string path;
  {
    auto outbox = OpenOrDie(tmp.path());
    ASSERT_NE(outbox, nullptr);
    path = outbox->file_path();
    for (int64_t i = 1; i <= 5; ++i) {
      ASSERT_THAT(outbox->AppendAccepted(i % 7 + 1, i, 1700000000000 + i),
                  IsOk());
      absl::StatusOr<uint64_t> id = outbox->AppendResult(MakeResult(i));
      ASSERT_THAT(id, IsOk());
      EXPECT_EQ(*id, static_cast<uint64_t>(i));
    }
    ASSERT_THAT(outbox->AppendDelivered({2, 4}), IsOk());
    EXPECT_EQ(outbox->pending_count(), 3);
  }
  auto outbox = OpenOrDie(tmp.path());
  ASSERT_NE(outbox, nullptr);
  EXPECT_EQ(outbox->recovery().records, 5 + 5 + 1);
  EXPECT_EQ(outbox->recovery().orphans, 0);
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  EXPECT_THAT(AllPending(*outbox),
              ElementsAre(SameResult(MakeResult(1)), SameResult(MakeResult(3)),
                          SameResult(MakeResult(5))));
  // Ids go on after the largest one in the file.
  absl::StatusOr<uint64_t> id = outbox->AppendResult(MakeResult(6));
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, 6u);
}

TEST(OutboxTest, OrphansBecome500ResultsOnce) {
  TempDir tmp;
  {
    auto outbox = OpenOrDie(tmp.path());
    ASSERT_THAT(outbox->AppendAccepted(3, 10, 1700000000010), IsOk());
    ASSERT_THAT(outbox->AppendAccepted(3, 11, 1700000000011), IsOk());
    ASSERT_THAT(outbox->AppendResult(MakeResult(11)), IsOk());
  }
  const RunResult restarted{3, 10, 1700000000010, 500,
                            "executor restarted before the run finished"};
  {
    auto outbox = OpenOrDie(tmp.path());
    EXPECT_EQ(outbox->recovery().orphans, 1);
    EXPECT_THAT(AllPending(*outbox),
                ElementsAre(SameResult(MakeResult(11)), SameResult(restarted)));
  }
  // The conversion was journaled: a second restart finds no new orphan.
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_EQ(outbox->recovery().orphans, 0);
  EXPECT_THAT(AllPending(*outbox),
              ElementsAre(SameResult(MakeResult(11)), SameResult(restarted)));
}

TEST(OutboxTest, TornTailIsCutAndLaterAppendsAreClean) {
  TempDir tmp;
  std::string path;
  int64_t good_size = 0;
  {
    auto outbox = OpenOrDie(tmp.path());
    path = outbox->file_path();
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    ASSERT_THAT(outbox->AppendResult(MakeResult(2)), IsOk());
    good_size = outbox->file_bytes();
    ASSERT_THAT(outbox->AppendResult(MakeResult(3, std::string(100, 'x'))),
                IsOk());
  }
  // A crash in the middle of writing result 3.
  std::filesystem::resize_file(path, good_size + 20);
  {
    auto outbox = OpenOrDie(tmp.path());
    EXPECT_EQ(outbox->recovery().discarded_bytes, 20);
    EXPECT_FALSE(outbox->recovery().corrupt);
    EXPECT_EQ(FileSize(path), good_size);
    EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1)),
                                                 SameResult(MakeResult(2))));
    ASSERT_THAT(outbox->AppendResult(MakeResult(4)), IsOk());
  }
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  EXPECT_THAT(AllPending(*outbox),
              ElementsAre(SameResult(MakeResult(1)), SameResult(MakeResult(2)),
                          SameResult(MakeResult(4))));
}

// Tails a crash or a power loss can leave after the last good record.
struct TailCase {
  const char* name;
  std::string bytes;
};

class OutboxTailTest : public ::testing::TestWithParam<TailCase> {};

TEST_P(OutboxTailTest, EarlierRecordsSurviveAndAppendsWork) {
  TempDir tmp;
  std::string path;
  int64_t good_size = 0;
  {
    auto outbox = OpenOrDie(tmp.path());
    path = outbox->file_path();
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    ASSERT_THAT(outbox->AppendAccepted(1, 2, 1700000000002), IsOk());
    good_size = outbox->file_bytes();
  }
  AppendBytes(path, GetParam().bytes);
  {
    auto outbox = OpenOrDie(tmp.path());
    EXPECT_EQ(outbox->recovery().records, 2);
    EXPECT_EQ(outbox->recovery().discarded_bytes,
              static_cast<int64_t>(GetParam().bytes.size()));
    EXPECT_EQ(outbox->recovery().orphans, 1);
    ASSERT_THAT(outbox->AppendResult(MakeResult(3)), IsOk());
    EXPECT_GT(FileSize(path), good_size);
  }
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  EXPECT_THAT(AllPending(*outbox), SizeIs(3));
}

std::string RandomBytes(size_t n) {
  std::mt19937 gen(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Tails, OutboxTailTest,
    ::testing::Values(TailCase{"HeaderCutShort", std::string("\x10\x20\x30")},
                      TailCase{"RandomGarbage", RandomBytes(777)},
                      TailCase{"ZeroFilled", std::string(4096, '\0')},
                      // A header promising more payload than follows.
                      TailCase{"PayloadCutShort",
                               std::string("\1\2\3\4\x40\0\0\0\2abc", 12)}),
    [](const auto& info) { return std::string(info.param.name); });

// Power loss after appends that were never synced: the file system kept the
// new size, but only the start of the first unsynced record; zeros follow.
// That is a torn tail, not corruption. Found by tests/fuzz/outbox_fuzzer.
TEST(OutboxTest, PartlyWrittenRecordThenZerosIsATornTail) {
  TempDir tmp;
  std::string path;
  {
    auto outbox = OpenOrDie(tmp.path());
    path = outbox->file_path();
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
  }
  const std::string tail =
      outbox_internal::EncodeResult(2, MakeResult(2)).substr(0, 20) +
      std::string(4096, '\0');
  AppendBytes(path, tail);
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_FALSE(outbox->recovery().corrupt);
  EXPECT_EQ(outbox->recovery().discarded_bytes,
            static_cast<int64_t>(tail.size()));
  EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1))));
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find("outbox.log.corrupt-"),
              std::string::npos);
  }
}

TEST(OutboxTest, ChecksumMismatchStopsReplayAndKeepsACopy) {
  TempDir tmp;
  std::string path;
  int64_t second_record = 0;
  {
    auto outbox = OpenOrDie(tmp.path());
    path = outbox->file_path();
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    second_record = outbox->file_bytes();
    ASSERT_THAT(outbox->AppendResult(MakeResult(2)), IsOk());
    ASSERT_THAT(outbox->AppendResult(MakeResult(3)), IsOk());
  }
  {
    // Flip one bit of result 2's message (after the 36 fixed bytes).
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(second_record + 9 + 37);
    char c = 0;
    f.get(c);
    f.seekp(second_record + 9 + 37);
    f.put(static_cast<char>(c ^ 0x01));
  }
  const int64_t damaged_size = FileSize(path);
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_TRUE(outbox->recovery().corrupt);
  EXPECT_EQ(FileSize(path), second_record);
  EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1))));
  // The damaged file is kept whole for inspection.
  std::vector<int64_t> copies;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    if (e.path().filename().string().find("outbox.log.corrupt-") == 0) {
      copies.push_back(FileSize(e.path().string()));
    }
  }
  EXPECT_THAT(copies, ElementsAre(damaged_size));
  ASSERT_THAT(outbox->AppendResult(MakeResult(4)), IsOk());
}

// A record whose CRC is good but whose type means nothing is corruption:
// it is cut off (with a copy kept), or every later append would sit behind
// it and be lost at the next start. Found by tests/fuzz/outbox_fuzzer.
TEST(OutboxTest, MeaninglessRecordIsCutSoLaterAppendsSurvive) {
  TempDir tmp;
  std::string path;
  int64_t good_size = 0;
  {
    auto outbox = OpenOrDie(tmp.path());
    path = outbox->file_path();
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    good_size = outbox->file_bytes();
  }
  // Type 0, empty payload: well framed, good CRC, no meaning.
  AppendBytes(path, outbox_internal::EncodeRecord(
                        static_cast<outbox_internal::RecordType>(0), ""));
  {
    auto outbox = OpenOrDie(tmp.path());
    EXPECT_EQ(outbox->recovery().records, 1);
    EXPECT_EQ(outbox->recovery().discarded_bytes, 9);
    EXPECT_TRUE(outbox->recovery().corrupt);
    EXPECT_EQ(FileSize(path), good_size);
    ASSERT_THAT(outbox->AppendResult(MakeResult(2)), IsOk());
  }
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1)),
                                               SameResult(MakeResult(2))));
}

// Result ids never wrap to 0, an id replay and ReadPending skip: a journal
// holding an impossible id is corrupt there, and one at the last id stops
// issuing ids instead. Found by tests/fuzz/outbox_fuzzer.
TEST(OutboxTest, ResultIdsNeverWrap) {
  for (const uint64_t id : {outbox_internal::kMaxResultId + 1, ~uint64_t{0}}) {
    TempDir tmp;
    std::string path;
    {
      auto outbox = OpenOrDie(tmp.path());
      path = outbox->file_path();
      ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    }
    AppendBytes(path, outbox_internal::EncodeResult(id, MakeResult(2)));
    auto outbox = OpenOrDie(tmp.path());
    EXPECT_TRUE(outbox->recovery().corrupt) << id;
    EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1))));
    absl::StatusOr<uint64_t> next = outbox->AppendResult(MakeResult(3));
    ASSERT_THAT(next, IsOk());
    EXPECT_EQ(*next, 2u);
  }
  TempDir tmp;
  {
    auto outbox = OpenOrDie(tmp.path());
    AppendBytes(outbox->file_path(),
                outbox_internal::EncodeResult(outbox_internal::kMaxResultId,
                                              MakeResult(1)));
  }
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_FALSE(outbox->recovery().corrupt);
  EXPECT_THAT(outbox->AppendResult(MakeResult(2)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("ids exhausted")));
  EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1))));
}

TEST(OutboxTest, CompactionKeepsExactlyTheLiveRecords) {
  TempDir tmp;
  OutboxOptions options;
  options.compact_min_dead_records = 50;
  options.compact_dead_ratio = 2.0;
  std::string path;
  std::vector<RunResult> live;
  {
    auto outbox = OpenOrDie(tmp.path(), options);
    path = outbox->file_path();
    // A run still going on: its ACCEPTED is live through compactions.
    ASSERT_THAT(outbox->AppendAccepted(9, 1000, 1700000001000), IsOk());
    std::vector<uint64_t> delivered;
    for (int64_t i = 1; i <= 100; ++i) {
      ASSERT_THAT(outbox->AppendAccepted(i % 7 + 1, i, 0), IsOk());
      absl::StatusOr<uint64_t> id = outbox->AppendResult(MakeResult(i));
      ASSERT_THAT(id, IsOk());
      if (i % 20 == 0) {
        live.push_back(MakeResult(i));
      } else {
        delivered.push_back(*id);
      }
    }
    const int64_t before = outbox->file_bytes();
    ASSERT_THAT(outbox->AppendDelivered(delivered), IsOk());
    EXPECT_EQ(outbox->compactions(), 1);
    EXPECT_LT(outbox->file_bytes(), before / 4);
    EXPECT_EQ(FileSize(path), outbox->file_bytes());
    EXPECT_THAT(AllPending(*outbox), SizeIs(5));
    // Appends after the switch land in the new file.
    ASSERT_THAT(outbox->AppendResult(MakeResult(101)), IsOk());
    live.push_back(MakeResult(101));
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".compact"));
  auto outbox = OpenOrDie(tmp.path(), options);
  // 5 + 1 results, the one ACCEPTED (now an orphan) and its 500 result.
  EXPECT_EQ(outbox->recovery().records, 5 + 1 + 1);
  EXPECT_EQ(outbox->recovery().orphans, 1);
  std::vector<RunResult> pending = AllPending(*outbox);
  ASSERT_THAT(pending, SizeIs(7));
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_THAT(pending[i], SameResult(live[i]));
  }
  EXPECT_EQ(pending[6].log_id, 1000);
  EXPECT_EQ(pending[6].handle_code, 500);
}

// A slow fdatasync (milliseconds on a disk) must not stop the job and RPC
// threads that journal acceptances and results meanwhile.
TEST(OutboxTest, AppendsGoOnWhileASyncWaitsForTheDisk) {
  TempDir tmp;
  auto outbox = OpenOrDie(tmp.path());
  absl::Notification in_sync;
  absl::Notification release;
  std::atomic<int> syncs{0};
  outbox->SetSyncHookForTesting([&] {
    if (syncs.fetch_add(1) == 0) {
      in_sync.Notify();
      release.WaitForNotification();
    }
  });
  ASSERT_THAT(outbox->AppendAccepted(1, 1, 0), IsOk());
  absl::Status synced;
  std::thread syncer([&] { synced = outbox->Sync(); });
  ASSERT_TRUE(in_sync.WaitForNotificationWithTimeout(absl::Seconds(30)));

  absl::Notification appended;
  std::thread appender([&] {
    EXPECT_THAT(outbox->AppendAccepted(1, 2, 0), IsOk());
    EXPECT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    appended.Notify();
  });
  const bool went_on =
      appended.WaitForNotificationWithTimeout(absl::Seconds(30));
  release.Notify();
  appender.join();
  syncer.join();
  EXPECT_TRUE(went_on) << "appends waited for the fdatasync";
  EXPECT_THAT(synced, IsOk());

  // What was appended during that sync is synced by the next one; after
  // that there is nothing to sync.
  EXPECT_THAT(outbox->Sync(), IsOk());
  EXPECT_EQ(syncs.load(), 2);
  EXPECT_THAT(outbox->Sync(), IsOk());
  EXPECT_EQ(syncs.load(), 2);
}

TEST(OutboxTest, FailedAppendIsReportedAndLeavesTheFileClean) {
  TempDir tmp;
  {
    auto outbox = OpenOrDie(tmp.path());
    ASSERT_THAT(outbox->AppendResult(MakeResult(1)), IsOk());
    outbox->InjectWriteErrorForTesting(ENOSPC);
    EXPECT_THAT(outbox->AppendResult(MakeResult(2)),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("outbox.log")));
    EXPECT_THAT(outbox->AppendAccepted(1, 3, 0),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("")));
    EXPECT_EQ(outbox->pending_count(), 1);
    outbox->InjectWriteErrorForTesting(0);
    absl::StatusOr<uint64_t> id = outbox->AppendResult(MakeResult(4));
    ASSERT_THAT(id, IsOk());
    EXPECT_EQ(*id, 2u);  // The failed append used up no id.
  }
  auto outbox = OpenOrDie(tmp.path());
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  EXPECT_THAT(AllPending(*outbox), ElementsAre(SameResult(MakeResult(1)),
                                               SameResult(MakeResult(4))));
}

TEST(OutboxTest, ReadPendingHonoursItsLimits) {
  TempDir tmp;
  auto outbox = OpenOrDie(tmp.path());
  for (int64_t i = 1; i <= 10; ++i) {
    ASSERT_THAT(outbox->AppendResult(MakeResult(i, std::string(100, 'm'))),
                IsOk());
  }
  absl::StatusOr<std::vector<PendingResult>> page =
      outbox->ReadPending(3, 4, SIZE_MAX);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(*page, SizeIs(4));
  EXPECT_EQ(page->front().id, 4u);
  page = outbox->ReadPending(0, 100, 250);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, SizeIs(3));
  page = outbox->ReadPending(0, 100, 1);  // At least one.
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, SizeIs(1));
  EXPECT_TRUE(outbox->HasPendingAfter(9));
  EXPECT_FALSE(outbox->HasPendingAfter(10));
  page = outbox->ReadPending(10, 100, SIZE_MAX);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(*page, IsEmpty());
}

TEST(OutboxTest, RefusesASecondOpenAndForeignFiles) {
  TempDir tmp;
  {
    auto outbox = OpenOrDie(tmp.path());
    OutboxOptions options;
    options.dir = tmp.path();
    EXPECT_THAT(
        Outbox::Open(options),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("in use")));
  }
  TempDir other;
  AppendBytes(other.path() + "/outbox.log", "this is not an outbox file");
  OutboxOptions options;
  options.dir = other.path();
  EXPECT_THAT(Outbox::Open(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not an outbox")));
  options.dir = "";
  EXPECT_THAT(Outbox::Open(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dir")));
}

TEST(OutboxTest, OutboxDirIsUnderTheDataDirectory) {
  EXPECT_EQ(OutboxDir("/data/xxl"), "/data/xxl/outbox");
  EXPECT_EQ(OutboxDir("/data/xxl/"), "/data/xxl/outbox");
}

// A real full disk: a 64 KiB tmpfs. Needs mount privileges (root in CI
// containers usually has them); skipped otherwise.
TEST(OutboxTest, FullDiskFailsAppendsWithoutTearingTheFile) {
  TempDir tmp;
  const std::string mnt = tmp.path() + "/small";
  std::filesystem::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "can't mount a tmpfs (" << strerror(errno)
                 << "); the injected-error test covers the logic";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // Filler to free later, so the disk gets room again.
  const std::string filler = mnt + "/filler";
  std::ofstream(filler, std::ios::binary) << std::string(16 * 1024, 'z');
  int appended = 0;
  absl::Status failure;
  {
    auto outbox = OpenOrDie(mnt + "/outbox");
    ASSERT_NE(outbox, nullptr);
    for (int64_t i = 1; i <= 40 && failure.ok(); ++i) {
      absl::StatusOr<uint64_t> id =
          outbox->AppendResult(MakeResult(i, std::string(3000, 'f')));
      if (id.ok()) {
        ++appended;
      } else {
        failure = id.status();
      }
    }
    EXPECT_THAT(failure, StatusIs(absl::StatusCode::kResourceExhausted,
                                  HasSubstr("write")));
    EXPECT_GT(appended, 5);
    EXPECT_EQ(outbox->pending_count(), appended);
    // Room again: appends go on from the last good record.
    std::filesystem::remove(filler);
    ASSERT_THAT(outbox->AppendResult(MakeResult(100)), IsOk());
    std::vector<uint64_t> first{1, 2, 3, 4, 5};
    ASSERT_THAT(outbox->AppendDelivered(first), IsOk());
  }
  auto outbox = OpenOrDie(mnt + "/outbox");
  EXPECT_EQ(outbox->recovery().discarded_bytes, 0);
  std::vector<RunResult> pending = AllPending(*outbox);
  ASSERT_THAT(pending, SizeIs(appended + 1 - 5));
  EXPECT_EQ(pending.back().log_id, 100);
}

// Measurements for docs, not assertions: run with
//   reporter_test --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
TEST(OutboxTest, DISABLED_MeasureAppendAndReplay) {
  const std::string msg(100, 'r');
  for (SyncMode mode :
       {SyncMode::kNone, SyncMode::kGroup, SyncMode::kEveryRecord}) {
    TempDir tmp;
    OutboxOptions options;
    options.sync_mode = mode;
    auto outbox = OpenOrDie(tmp.path(), options);
    const int n = mode == SyncMode::kEveryRecord ? 1000 : 20000;
    const absl::Time start = absl::Now();
    for (int64_t i = 1; i <= n; ++i) {
      ASSERT_THAT(outbox->AppendAccepted(1, i, 0), IsOk());
      ASSERT_THAT(outbox->AppendResult(MakeResult(i, msg)), IsOk());
    }
    const absl::Duration appends = absl::Now() - start;
    const absl::Time sync_start = absl::Now();
    ASSERT_THAT(outbox->Sync(), IsOk());
    std::cout << "sync mode " << SyncModeName(mode) << ": ACCEPTED+RESULT "
              << absl::ToDoubleMicroseconds(appends / n)
              << " us per result; one Sync() after them "
              << absl::ToDoubleMicroseconds(absl::Now() - sync_start)
              << " us\n";
  }
  for (bool finished : {true, false}) {
    TempDir tmp;
    {
      auto outbox = OpenOrDie(tmp.path());
      for (int64_t i = 1; i <= 10000; ++i) {
        ASSERT_THAT(outbox->AppendAccepted(1, i, 0), IsOk());
        if (finished) {
          ASSERT_THAT(outbox->AppendResult(MakeResult(i, msg)), IsOk());
        }
      }
    }
    const absl::Time start = absl::Now();
    auto outbox = OpenOrDie(tmp.path());
    const absl::Duration open = absl::Now() - start;
    const absl::Time read_start = absl::Now();
    EXPECT_THAT(AllPending(*outbox), SizeIs(10000));
    std::cout << "reopen with 10000 " << (finished ? "pending" : "orphaned")
              << " results: Open " << open << ", ReadPending of all "
              << absl::Now() - read_start << "\n";
  }
  {
    // Compaction blocks appends while it rewrites the live records.
    TempDir tmp;
    auto outbox = OpenOrDie(tmp.path());
    std::vector<uint64_t> dead;
    for (int64_t i = 1; i <= 160000; ++i) {
      absl::StatusOr<uint64_t> id = outbox->AppendResult(MakeResult(i, msg));
      ASSERT_THAT(id, IsOk());
      if (i % 16 >= 5) dead.push_back(*id);
    }
    const int64_t before = outbox->file_bytes();
    const absl::Time start = absl::Now();
    ASSERT_THAT(outbox->AppendDelivered(dead), IsOk());
    std::cout << "compaction of " << outbox->pending_count()
              << " live results among " << dead.size()
              << " dead: " << absl::Now() - start << ", " << before << " -> "
              << outbox->file_bytes() << " bytes\n";
  }
}

}  // namespace
}  // namespace xxljob

// End to end, "talking to the admin" (SPEC §5-§6): the real xxl-executor
// binary as a child process (tests/testing/executor_process.h), in-process
// AdminSimulators as its admins, driven over gRPC. Covers delivery after an
// admin outage, kill -9 and restart with results pending and runs in
// flight, fail-over to a second admin, the shutdown order (RegistryRemove
// before triggers are refused and before exit, running runs killed and
// reported after the grace), a damaged outbox tail, the outbox lock,
// registration at start and on the interval, and standalone mode.
//
// Nothing here sleeps to synchronise: the tests wait on the simulator's
// records, on the executor's output, on its exit (a pidfd), or poll state
// (Beat, the outbox file) with generous deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/delivery/outbox.h"
#include "tests/testing/e2e_helpers.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/probe_handler.h"
#include "tests/testing/refusing_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob {
namespace {

using ::xxljob::testing::RefusingPort;

using ::testing::Each;
using ::testing::EndsWith;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::xxljob::testing::Eventually;
using ::xxljob::testing::ExecutorProcess;
using ::xxljob::testing::IsOk;

// Generous (a busy 2-core CI machine); only a failing test waits this long.
// Delivery after an outage also waits out the reporter's backoff, which
// grows with the outage (about as long again, capped at 30 s).
constexpr absl::Duration kTimeout = absl::Seconds(60);
constexpr char kAppName[] = "admin-e2e";
constexpr char kForever[] = "600000";

// ------------------------------------------------------------ the outbox

// What outbox/outbox.log holds, read with the format documented in
// server/delivery/outbox.h (independently of the Outbox class, so these tests
// also hold the file to its documentation).
struct OutboxFile {
  bool exists = false;
  bool magic_ok = false;
  // Bytes up to the end of the last intact record.
  int64_t good_bytes = 0;
  int64_t file_bytes = 0;
  // Undelivered results: how many for each log id.
  std::map<int64_t, int> pending_count;
  // Log ids ACCEPTED and without a RESULT (runs not finished).
  std::set<int64_t> unfinished;
};

uint32_t Crc32c(absl::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint64_t LittleEndian(absl::string_view bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return v;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

OutboxFile ReadOutbox(const std::string& path) {
  OutboxFile out;
  std::error_code ec;
  out.exists = std::filesystem::exists(path, ec);
  if (!out.exists) return out;
  const std::string data = ReadFile(path);
  out.file_bytes = static_cast<int64_t>(data.size());
  out.magic_ok = absl::string_view(data).substr(0, 8) == "XXLOBX01";
  if (!out.magic_ok) return out;
  constexpr size_t kHeader = 9;
  std::map<uint64_t, int64_t> pending;  // result id -> log id
  size_t pos = 8;
  while (data.size() - pos >= kHeader) {
    const uint32_t length =
        static_cast<uint32_t>(LittleEndian(data, pos + 4, 4));
    if (length > data.size() - pos - kHeader) break;
    const absl::string_view record =
        absl::string_view(data).substr(pos, kHeader + length);
    if (static_cast<uint32_t>(LittleEndian(record, 0, 4)) !=
        Crc32c(record.substr(4))) {
      break;
    }
    const absl::string_view p = record.substr(kHeader);
    const int type = static_cast<unsigned char>(record[8]);
    if (type == 1 && p.size() == 24) {
      out.unfinished.insert(static_cast<int64_t>(LittleEndian(p, 8, 8)));
    } else if (type == 2 && p.size() >= 36) {
      const int64_t log_id = static_cast<int64_t>(LittleEndian(p, 16, 8));
      pending[LittleEndian(p, 0, 8)] = log_id;
      out.unfinished.erase(log_id);
    } else if (type == 3 && !p.empty() && p.size() % 8 == 0) {
      for (size_t i = 0; i < p.size(); i += 8) {
        pending.erase(LittleEndian(p, i, 8));
      }
    } else {
      break;
    }
    pos += record.size();
  }
  out.good_bytes = static_cast<int64_t>(pos);
  for (const auto& [id, log_id] : pending) ++out.pending_count[log_id];
  return out;
}

std::string OutboxFilePath(const std::string& log_path) {
  return OutboxDir(log_path) + "/outbox.log";
}

// True once every one of `log_ids` has an undelivered result in the outbox:
// the executor finished those runs and journaled them.
bool OutboxHoldsResults(const std::string& log_path,
                        const std::vector<int64_t>& log_ids) {
  const OutboxFile outbox = ReadOutbox(OutboxFilePath(log_path));
  for (int64_t id : log_ids) {
    if (outbox.pending_count.count(id) == 0) return false;
  }
  return true;
}

// ------------------------------------------------------------ helpers

using testing::Patient;
using testing::RunReq;
using testing::StartSim;

// Triggers `request`; the executor must accept it (OK call, code 200).
void Trigger(ExecutorClient& client, const v1::RunRequest& request) {
  absl::StatusOr<v1::RunResponse> response = client.Run(request, Patient());
  ASSERT_THAT(response, IsOk()) << "log " << request.log_id();
  ASSERT_EQ(response->code(), 200)
      << "log " << request.log_id() << ": " << response->msg();
}

// Polls Beat until `condition` holds for a response.
bool BeatEventually(
    ExecutorClient& client,
    const std::function<bool(const v1::BeatResponse&)>& condition,
    absl::Duration timeout = kTimeout) {
  return Eventually(
      [&] {
        absl::StatusOr<v1::BeatResponse> beat = client.Beat({}, Patient());
        return beat.ok() && condition(*beat);
      },
      timeout);
}

// Exit code of a finished Terminate/WaitForExit, or -1 with a failure.
int ExitCode(const absl::StatusOr<int>& exit) {
  EXPECT_THAT(exit, IsOk());
  return exit.ok() ? *exit : -1;
}

class AdminE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(ExecutorProcess::BinaryPath())) {
      GTEST_SKIP() << "xxl-executor not built at "
                   << ExecutorProcess::BinaryPath();
    }
  }

  std::string LogPath(absl::string_view name = "data") const {
    return absl::StrCat(dir_.path(), "/", name);
  }

  // Starts an executor on 127.0.0.1:0 with `admins` (none: standalone),
  // `log_path` (default LogPath()) and then `extra` flags, and waits until
  // it serves. Null (with a failure) if it doesn't.
  //
  // Why --admin_timeout=5s, not shorter: the admins here that are down fail
  // a call at once (UNAVAILABLE, code 500, connection refused), so a short
  // deadline would save nothing; but a callback the simulator records and
  // answers after the deadline (a stall on a busy machine) is legitimately
  // sent again, which the exactly-once checks below would report.
  std::unique_ptr<ExecutorProcess> StartExecutor(
      const std::vector<std::string>& admins,
      std::vector<std::string> extra = {}, std::string log_path = "") {
    std::vector<std::string> flags = {
        "--listen=127.0.0.1:0",
        absl::StrCat("--app_name=", kAppName),
        "--log_path=" + (log_path.empty() ? LogPath() : log_path),
        "--admin_timeout=5s",
    };
    if (!admins.empty()) {
      flags.push_back("--admin_addresses=" + absl::StrJoin(admins, ","));
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto executor = std::make_unique<ExecutorProcess>(std::move(flags));
    absl::Status serving = executor->WaitUntilServing();
    EXPECT_THAT(serving, IsOk());
    return serving.ok() ? std::move(executor) : nullptr;
  }

  testing::TempDir dir_;
};

// ------------------------------------------------------------ results

TEST(OutboxFileTest, Crc32cMatchesTheStandardCheckValue) {
  // The CRC-32C (Castagnoli) check value: the reader above must compute the
  // same CRC as the outbox, or every other test here reads nothing.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST_F(AdminE2eTest, AdminDownDuring500RunsThenUpGetsEachResultExactlyOnce) {
  auto sim = StartSim(AdminSimMode::kUnavailable);
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor({sim->address()});
  ASSERT_NE(executor, nullptr);
  ExecutorClient client(executor->address());

  constexpr int kRuns = 500;
  constexpr int kJobs = 50;
  std::vector<int64_t> log_ids;
  for (int i = 0; i < kRuns; ++i) {
    log_ids.push_back(10000 + i);
    ASSERT_NO_FATAL_FAILURE(
        Trigger(client, RunReq(1 + i % kJobs, log_ids.back(), "demoJobHandler",
                               absl::StrCat("run ", i))));
  }
  // Every run finished and was journaled while no admin accepted, and
  // delivery was tried and refused.
  ASSERT_TRUE(Eventually([&] { return OutboxHoldsResults(LogPath(), log_ids); },
                         kTimeout));
  EXPECT_TRUE(executor->WaitForStderr("no admin accepted"));
  EXPECT_GT(sim->refused_calls(), 0);
  EXPECT_THAT(sim->callbacks(), IsEmpty());

  sim->SetMode(AdminSimMode::kAccept);
  ASSERT_TRUE(sim->WaitForCallbacks(kRuns, kTimeout))
      << sim->callbacks().size() << " of " << kRuns << " delivered";
  // Once the executor is gone nothing more can arrive: the counts are final.
  EXPECT_EQ(ExitCode(executor->Terminate()), 0);
  const std::vector<RecordedCallback> callbacks = sim->callbacks();
  EXPECT_THAT(callbacks, SizeIs(kRuns));
  EXPECT_THAT(callbacks, Each(Field(&RecordedCallback::handle_code, 200)));
  for (int64_t id : log_ids) EXPECT_EQ(sim->CountOf(id), 1) << "log " << id;
  // Batched: fewer calls than results.
  EXPECT_LT(sim->batch_sizes().size(), static_cast<size_t>(kRuns));
  EXPECT_THAT(ReadOutbox(OutboxFilePath(LogPath())).pending_count, IsEmpty());
}

TEST_F(AdminE2eTest, ResultsPendingAtKillNineAreDeliveredAfterRestart) {
  auto sim = StartSim(AdminSimMode::kRefuseWithCode500);
  ASSERT_NE(sim, nullptr);
  constexpr int kRuns = 40;
  std::vector<int64_t> log_ids;
  {
    auto executor = StartExecutor({sim->address()});
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    for (int i = 0; i < kRuns; ++i) {
      log_ids.push_back(200 + i);
      // Every fourth run fails, so a result's code and message are seen to
      // survive the crash too.
      ASSERT_NO_FATAL_FAILURE(Trigger(
          client, i % 4 == 3
                      ? RunReq(1 + i % 8, log_ids.back(), "failJobHandler",
                               absl::StrCat("boom ", i))
                      : RunReq(1 + i % 8, log_ids.back())));
    }
    ASSERT_TRUE(Eventually(
        [&] { return OutboxHoldsResults(LogPath(), log_ids); }, kTimeout));
    executor->Kill9();
    EXPECT_EQ(ExitCode(executor->WaitForExit()), 128 + SIGKILL);
  }
  EXPECT_THAT(sim->callbacks(), IsEmpty());

  sim->SetMode(AdminSimMode::kAccept);
  auto restarted = StartExecutor({sim->address()});
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(sim->WaitForCallbacks(kRuns, kTimeout))
      << sim->callbacks().size() << " of " << kRuns << " delivered";
  EXPECT_EQ(ExitCode(restarted->Terminate()), 0);
  EXPECT_THAT(sim->callbacks(), SizeIs(kRuns));
  for (const RecordedCallback& c : sim->callbacks()) {
    const int i = static_cast<int>(c.log_id - 200);
    SCOPED_TRACE(absl::StrCat("log ", c.log_id));
    EXPECT_EQ(sim->CountOf(c.log_id), 1);
    if (i % 4 == 3) {
      EXPECT_EQ(c.handle_code, 500);
      EXPECT_EQ(c.handle_msg, absl::StrCat("boom ", i));
    } else {
      EXPECT_EQ(c.handle_code, 200);
    }
  }
  for (int64_t id : log_ids) EXPECT_EQ(sim->CountOf(id), 1) << "log " << id;
}

TEST_F(AdminE2eTest, RunsInFlightAtKillNineAreReportedAsRestartedAfterRestart) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  {
    auto executor = StartExecutor({sim->address()});
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    // One run executing and one queued behind it (same job, serial).
    ASSERT_NO_FATAL_FAILURE(
        Trigger(client, RunReq(7, 70, "sleepJobHandler", kForever)));
    ASSERT_NO_FATAL_FAILURE(
        Trigger(client, RunReq(7, 71, "sleepJobHandler", "0")));
    ASSERT_TRUE(BeatEventually(client, [](const v1::BeatResponse& b) {
      return b.running() == 1 && b.queued() == 1;
    }));
    EXPECT_EQ(ReadOutbox(OutboxFilePath(LogPath())).unfinished,
              (std::set<int64_t>{70, 71}));
    executor->Kill9();
  }
  EXPECT_THAT(sim->callbacks(), IsEmpty());

  auto restarted = StartExecutor({sim->address()});
  ASSERT_NE(restarted, nullptr);
  ASSERT_TRUE(sim->WaitForCallbacks(2, kTimeout));
  ExecutorClient client(restarted->address());
  // Reported, not run again.
  absl::StatusOr<v1::BeatResponse> beat = client.Beat({}, Patient());
  ASSERT_THAT(beat, IsOk());
  EXPECT_EQ(beat->running(), 0);
  EXPECT_EQ(beat->queued(), 0);
  EXPECT_EQ(ExitCode(restarted->Terminate()), 0);

  const std::vector<RecordedCallback> callbacks = sim->callbacks();
  ASSERT_THAT(callbacks, SizeIs(2));
  for (const RecordedCallback& c : callbacks) {
    SCOPED_TRACE(absl::StrCat("log ", c.log_id));
    EXPECT_TRUE(c.log_id == 70 || c.log_id == 71);
    EXPECT_EQ(c.handle_code, 500);
    EXPECT_EQ(c.handle_msg, kRestartedBeforeFinishedMsg);
  }
  EXPECT_EQ(sim->CountOf(70), 1);
  EXPECT_EQ(sim->CountOf(71), 1);
}

// ------------------------------------------------------------ two admins

TEST_F(AdminE2eTest,
       SecondAdminGetsRegistrationAndEveryCallbackWhenFirstIsDown) {
  enum class FirstAdmin { kNotListening, kUnavailable, kRefusing500 };
  struct Case {
    const char* name;
    FirstAdmin first;
  };
  const Case cases[] = {
      {"not listening", FirstAdmin::kNotListening},
      {"answers UNAVAILABLE", FirstAdmin::kUnavailable},
      {"answers code 500", FirstAdmin::kRefusing500},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("first admin ", c.name));
    RefusingPort down;
    std::unique_ptr<AdminSimulator> first;
    if (c.first != FirstAdmin::kNotListening) {
      first = StartSim(c.first == FirstAdmin::kUnavailable
                           ? AdminSimMode::kUnavailable
                           : AdminSimMode::kRefuseWithCode500);
      ASSERT_NE(first, nullptr);
    }
    auto second = StartSim();
    ASSERT_NE(second, nullptr);
    auto executor =
        StartExecutor({first != nullptr ? first->address() : down.address(),
                       second->address()},
                      {}, LogPath(absl::StrCat("data", n)));
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    ASSERT_TRUE(second->WaitForRegistrations(1, kTimeout));

    constexpr int kRuns = 20;
    const int64_t base = 1000 * ++n;
    for (int i = 0; i < kRuns; ++i) {
      ASSERT_NO_FATAL_FAILURE(Trigger(client, RunReq(1 + i % 4, base + i)));
    }
    ASSERT_TRUE(second->WaitForCallbacks(kRuns, kTimeout));
    EXPECT_EQ(ExitCode(executor->Terminate()), 0);

    EXPECT_THAT(second->callbacks(), SizeIs(kRuns));
    for (int i = 0; i < kRuns; ++i) EXPECT_EQ(second->CountOf(base + i), 1);
    const std::vector<RecordedRegistry> regs = second->registrations();
    ASSERT_THAT(regs, SizeIs(1));
    EXPECT_EQ(regs[0].registry_group, "EXECUTOR");
    EXPECT_EQ(regs[0].registry_key, kAppName);
    EXPECT_THAT(regs[0].registry_value,
                EndsWith(absl::StrCat(":", executor->port())));
    EXPECT_THAT(second->removals(), SizeIs(1));
    if (first != nullptr) {
      // It was asked first, every time, and stored nothing.
      EXPECT_GT(first->refused_calls(), 0);
      EXPECT_THAT(first->registrations(), IsEmpty());
      EXPECT_THAT(first->callbacks(), IsEmpty());
      EXPECT_THAT(first->removals(), IsEmpty());
    }
  }
}

// ------------------------------------------------------------ shutdown

TEST_F(AdminE2eTest, RegistryRemoveIsRecordedBeforeTheProcessExits) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor({sim->address()});
  ASSERT_NE(executor, nullptr);
  ASSERT_TRUE(sim->WaitForRegistrations(1, kTimeout));
  EXPECT_THAT(sim->removals(), IsEmpty());

  const absl::StatusOr<int> exit = executor->Terminate();
  const absl::Time exit_seen = absl::Now();
  EXPECT_EQ(ExitCode(exit), 0);
  // No waiting here: the removal must already be recorded.
  const std::vector<RecordedRegistry> removals = sim->removals();
  ASSERT_THAT(removals, SizeIs(1));
  EXPECT_LE(removals[0].time, exit_seen);
  EXPECT_EQ(removals[0].registry_group, "EXECUTOR");
  EXPECT_EQ(removals[0].registry_key, kAppName);
  EXPECT_EQ(removals[0].registry_value, sim->registrations()[0].registry_value);
  // And no registration after it.
  for (const RecordedRegistry& r : sim->registrations()) {
    EXPECT_LE(r.time, removals[0].time);
  }
}

// SPEC §5: on shutdown RegistryRemove comes first, before the executor
// stops accepting work, so the admin stops routing triggers to it before
// they would be refused. A run that outlives the grace keeps the draining
// executor up long enough to see it refuse.
TEST_F(AdminE2eTest, RegistryRemoveIsRecordedBeforeTriggersAreRefused) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor({sim->address()}, {"--shutdown_grace=3s"});
  ASSERT_NE(executor, nullptr);
  ExecutorClient client(executor->address());
  ASSERT_NO_FATAL_FAILURE(
      Trigger(client, RunReq(1, 1, "sleepJobHandler", kForever)));
  ASSERT_TRUE(BeatEventually(
      client, [](const v1::BeatResponse& b) { return b.running() == 1; }));

  executor->Signal(SIGTERM);
  // Triggers (queued behind the sleeping run) until one is refused.
  int64_t log_id = 100;
  size_t removals_at_refusal = 0;
  absl::Status last;
  ASSERT_TRUE(Eventually(
      [&] {
        absl::StatusOr<v1::RunResponse> response =
            client.Run(RunReq(1, ++log_id, "sleepJobHandler", "0"), Patient());
        if (response.ok()) return false;
        last = response.status();
        removals_at_refusal = sim->removals().size();
        return true;
      },
      kTimeout));
  EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
  EXPECT_EQ(removals_at_refusal, 1u)
      << "a trigger was refused before RegistryRemove reached the admin";
  EXPECT_EQ(ExitCode(executor->WaitForExit()), 0);
  EXPECT_THAT(sim->removals(), SizeIs(1));
}

TEST_F(AdminE2eTest, SigtermKillsARunningRunAfterTheGraceAndReportsIt) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor({sim->address()}, {"--shutdown_grace=1s"});
  ASSERT_NE(executor, nullptr);
  ExecutorClient client(executor->address());
  ASSERT_NO_FATAL_FAILURE(
      Trigger(client, RunReq(3, 30, "sleepJobHandler", kForever)));
  ASSERT_NO_FATAL_FAILURE(
      Trigger(client, RunReq(3, 31, "sleepJobHandler", "0")));  // Queued.
  ASSERT_TRUE(BeatEventually(client, [](const v1::BeatResponse& b) {
    return b.running() == 1 && b.queued() == 1;
  }));

  const absl::Time start = absl::Now();
  const absl::StatusOr<int> exit = executor->Terminate(absl::Seconds(20));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(ExitCode(exit), 0);
  // The run had its grace (it sleeps far longer), and the exit came within
  // grace plus a few seconds (bounded loosely: the machine is busy).
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(20));

  // Delivered before the exit, not left for a next start.
  EXPECT_THAT(sim->callbacks(), SizeIs(2));
  EXPECT_EQ(sim->CountOf(30), 1);
  EXPECT_EQ(sim->CountOf(31), 1);
  for (const RecordedCallback& c : sim->callbacks()) {
    EXPECT_EQ(c.handle_code, 500);
    if (c.log_id == 30) {
      EXPECT_EQ(c.handle_msg, "executor shutting down [job running, killed]");
    } else {
      EXPECT_EQ(c.handle_msg,
                "executor shutting down [job not executed, in the job queue, "
                "killed]");
    }
  }
  EXPECT_THAT(ReadOutbox(OutboxFilePath(LogPath())).pending_count, IsEmpty());
}

// ------------------------------------------------------------ outbox repair

// Results left in the outbox by a graceful shutdown while no admin accepted,
// then damaged garbage after them: the next start keeps the results before
// the damage, says so, and delivers them.
TEST_F(AdminE2eTest,
       DamagedOutboxTailIsDroppedWithAWarningAndEarlierResultsDelivered) {
  constexpr int kRuns = 12;
  std::vector<int64_t> log_ids;
  {
    auto refusing = StartSim(AdminSimMode::kUnavailable);
    ASSERT_NE(refusing, nullptr);
    auto executor =
        StartExecutor({refusing->address()}, {"--shutdown_grace=0s"});
    ASSERT_NE(executor, nullptr);
    ExecutorClient client(executor->address());
    for (int i = 0; i < kRuns; ++i) {
      log_ids.push_back(500 + i);
      ASSERT_NO_FATAL_FAILURE(Trigger(client, RunReq(1 + i % 3, 500 + i)));
    }
    ASSERT_TRUE(Eventually(
        [&] { return OutboxHoldsResults(LogPath(), log_ids); }, kTimeout));
    // Graceful, but the admin refuses to the end: the results stay durable.
    EXPECT_EQ(ExitCode(executor->Terminate()), 0);
    EXPECT_THAT(refusing->callbacks(), IsEmpty());
  }
  const OutboxFile prepared = ReadOutbox(OutboxFilePath(LogPath()));
  ASSERT_TRUE(prepared.magic_ok);
  ASSERT_EQ(prepared.good_bytes, prepared.file_bytes);
  ASSERT_THAT(prepared.pending_count, SizeIs(kRuns));

  struct Case {
    const char* name;
    std::string garbage;
    // What the restarted executor must say about it.
    std::string says;
    // Whether the damaged file is kept aside as outbox.log.corrupt-<time>.
    bool keeps_copy;
  };
  // A record header promising 100 payload bytes, cut short after 20: a crash
  // mid-write.
  std::string torn = {'\x12', '\x34', '\x56', '\x78', 100, 0, 0, 0, 2};
  torn.append(20, 'x');
  const Case cases[] = {
      {"torn record", torn,
       absl::StrCat("torn record at offset ", prepared.good_bytes), false},
      // A length no record can have: not a torn write, corruption.
      {"garbage", std::string(64, '\xff'),
       absl::StrCat("is corrupt at offset ", prepared.good_bytes), true},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string log_path = LogPath(absl::StrCat("damaged", n++));
    std::filesystem::create_directories(log_path);
    std::filesystem::copy(OutboxDir(LogPath()), OutboxDir(log_path));
    const std::string file = OutboxFilePath(log_path);
    {
      std::ofstream out(file, std::ios::binary | std::ios::app);
      out << c.garbage;
    }

    auto sim = StartSim();
    ASSERT_NE(sim, nullptr);
    auto executor = StartExecutor({sim->address()}, {}, log_path);
    ASSERT_NE(executor, nullptr);
    EXPECT_THAT(executor->Stderr(), HasSubstr(c.says));
    ASSERT_TRUE(sim->WaitForCallbacks(kRuns, kTimeout));
    EXPECT_EQ(ExitCode(executor->Terminate()), 0);

    EXPECT_THAT(sim->callbacks(), SizeIs(kRuns));
    EXPECT_THAT(sim->callbacks(),
                Each(Field(&RecordedCallback::handle_code, 200)));
    for (int64_t id : log_ids) EXPECT_EQ(sim->CountOf(id), 1) << "log " << id;
    // The garbage was cut off, so later appends are clean.
    const OutboxFile repaired = ReadOutbox(file);
    EXPECT_EQ(repaired.good_bytes, repaired.file_bytes);
    EXPECT_THAT(repaired.pending_count, IsEmpty());
    bool copy = false;
    for (const auto& entry :
         std::filesystem::directory_iterator(OutboxDir(log_path))) {
      copy |=
          entry.path().filename().string().rfind("outbox.log.corrupt-", 0) == 0;
    }
    EXPECT_EQ(copy, c.keeps_copy);
  }
}

TEST_F(AdminE2eTest, SecondExecutorOnTheSameDataDirectoryExitsWithTwo) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto first = StartExecutor({sim->address()});
  ASSERT_NE(first, nullptr);
  ExecutorProcess second({"--listen=127.0.0.1:0", "--log_path=" + LogPath(),
                          "--admin_addresses=" + sim->address()});
  EXPECT_EQ(ExitCode(second.WaitForExit()), 2);
  EXPECT_THAT(second.Stderr(), HasSubstr("in use by another executor"));
  EXPECT_EQ(ExitCode(first->Terminate()), 0);
}

// ------------------------------------------------------------ registration

TEST_F(AdminE2eTest, RegistersAtStartWithoutWaitingForTheInterval) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto executor = StartExecutor({sim->address()}, {"--registry_interval=1h"});
  ASSERT_NE(executor, nullptr);
  ASSERT_TRUE(sim->WaitForRegistrations(1, kTimeout));
  const std::vector<RecordedRegistry> regs = sim->registrations();
  EXPECT_EQ(regs[0].registry_group, "EXECUTOR");
  EXPECT_EQ(regs[0].registry_key, kAppName);
  EXPECT_THAT(regs[0].registry_value,
              EndsWith(absl::StrCat(":", executor->port())));
  EXPECT_EQ(ExitCode(executor->Terminate()), 0);
  EXPECT_THAT(sim->registrations(), SizeIs(1));
  EXPECT_THAT(sim->removals(), SizeIs(1));
}

TEST_F(AdminE2eTest, RegistersAgainEveryInterval) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto executor =
      StartExecutor({sim->address()}, {"--registry_interval=200ms"});
  ASSERT_NE(executor, nullptr);
  ASSERT_TRUE(sim->WaitForRegistrations(3, kTimeout));
  EXPECT_EQ(ExitCode(executor->Terminate()), 0);
  const std::vector<RecordedRegistry> regs = sim->registrations();
  for (const RecordedRegistry& r : regs) {
    EXPECT_EQ(r.registry_key, kAppName);
    EXPECT_EQ(r.registry_value, regs[0].registry_value);
  }
  // Spread out by the interval, not a burst (a loose lower bound: the
  // jitter is +-10%).
  EXPECT_GE(regs[2].time - regs[0].time, absl::Milliseconds(300));
}

// ------------------------------------------------------------ standalone

TEST_F(AdminE2eTest, StandaloneRunsJobsAndJournalsNothing) {
  auto executor = StartExecutor({});
  ASSERT_NE(executor, nullptr);
  {
    ExecutorClient client(executor->address());
    const v1::RunRequest ok = RunReq(1, 11, "demoJobHandler", "hello");
    const v1::RunRequest failing = RunReq(2, 12, "failJobHandler", "nope");
    ASSERT_NO_FATAL_FAILURE(Trigger(client, ok));
    ASSERT_NO_FATAL_FAILURE(Trigger(client, failing));

    // The results are in the run logs.
    auto final_log = [&](const v1::RunRequest& run) {
      v1::LogRequest request;
      request.set_log_date_time(run.log_date_time());
      request.set_log_id(run.log_id());
      request.set_from_line_num(1);
      std::string content;
      EXPECT_TRUE(Eventually(
          [&] {
            absl::StatusOr<v1::LogResponse> page =
                client.Log(request, Patient());
            if (!page.ok() || !page->is_end()) return false;
            content = page->log_content();
            return true;
          },
          kTimeout))
          << "log " << run.log_id() << " never ended";
      return content;
    };
    EXPECT_THAT(final_log(ok), HasSubstr("handleCode=200"));
    EXPECT_THAT(final_log(failing),
                HasSubstr("handleCode=500, handleMsg = nope"));
  }
  // The client is closed first: a standalone executor with a client still
  // connected waits out its whole 3 s server-shutdown deadline before it
  // exits (known; with an admin configured it does not), which would only
  // slow the suite down.
  EXPECT_EQ(ExitCode(executor->Terminate()), 0);
  EXPECT_TRUE(std::filesystem::exists(LogPath()));
  EXPECT_FALSE(std::filesystem::exists(OutboxDir(LogPath())))
      << "standalone executor created an outbox";
}

}  // namespace
}  // namespace xxljob

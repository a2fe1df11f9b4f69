// Registrar: registration at start and on the interval, removal after the
// loop stopped, and quiet logging while the admin is down. Against a fake
// AdminApi where the order of calls matters, and against a real gRPC admin
// (AdminSimulator + AdminClient) end to end.
#include "server/delivery/registrar.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/admin_client.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/admin_sim/admin_simulator.h"

namespace xxljob {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::xxljob::testing::IsOk;

// Generous: only a failing test waits this long.
constexpr absl::Duration kWaitTimeout = absl::Seconds(10);
constexpr absl::Duration kShortInterval = absl::Milliseconds(50);

// Records the calls in order; fails the first `failures` Registry calls.
class FakeAdmin : public AdminApi {
 public:
  explicit FakeAdmin(int failures = 0) : failures_left_(failures) {}

  absl::Status Registry(const RegistryParam& param) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("registry " + param.registry_value);
    if (failures_left_ > 0) {
      --failures_left_;
      return absl::UnavailableError("admin down");
    }
    return absl::OkStatus();
  }
  absl::Status RegistryRemove(const RegistryParam& param) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("remove " + param.registry_value);
    return absl::OkStatus();
  }
  absl::Status Callback(const std::vector<RunResult>&) override {
    return absl::OkStatus();
  }

  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  mutable absl::Mutex mu_;
  int failures_left_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

// Counts the registrar's own log lines by severity while it is installed.
class RegistrarLogCounter : public google::LogSink {
 public:
  RegistrarLogCounter() { google::AddLogSink(this); }
  ~RegistrarLogCounter() override { google::RemoveLogSink(this); }

  void send(google::LogSeverity severity, const char* /*full_filename*/,
            const char* base_filename, int /*line*/,
            const google::LogMessageTime& /*time*/, const char* message,
            size_t message_len) override {
    if (std::string(base_filename) != "registrar.cc") return;
    absl::MutexLock lock(&mu_);
    if (severity == google::GLOG_WARNING) ++warnings_;
    if (severity == google::GLOG_INFO &&
        std::string(message, message_len).find("recovered") !=
            std::string::npos) {
      ++recoveries_;
    }
  }

  int warnings() const {
    absl::MutexLock lock(&mu_);
    return warnings_;
  }
  int recoveries() const {
    absl::MutexLock lock(&mu_);
    return recoveries_;
  }

 private:
  mutable absl::Mutex mu_;
  int warnings_ ABSL_GUARDED_BY(mu_) = 0;
  int recoveries_ ABSL_GUARDED_BY(mu_) = 0;
};

RegistrarOptions Options(absl::Duration interval = kShortInterval) {
  RegistrarOptions options;
  options.param.registry_key = "xxl-executor";
  options.param.registry_value = "10.0.0.5:9999";
  options.interval = interval;
  return options;
}

TEST(RegistrarTest, StopRemovesOnceAfterTheLoopEnded) {
  FakeAdmin admin;
  Registrar registrar(&admin, Options());
  registrar.Start();
  ASSERT_TRUE(registrar.WaitForAttemptsForTesting(2, kWaitTimeout));
  registrar.Stop();
  registrar.Stop();  // Idempotent.

  std::vector<std::string> calls = admin.calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls.back(), "remove 10.0.0.5:9999");
  calls.pop_back();
  // Every call before the removal was a registration, one per attempt.
  EXPECT_THAT(calls, Each("registry 10.0.0.5:9999"));
  EXPECT_EQ(static_cast<int64_t>(calls.size()), registrar.attempts());
  EXPECT_EQ(registrar.successes(), registrar.attempts());
}

TEST(RegistrarTest, StopWithoutStartCallsNothing) {
  FakeAdmin admin;
  {
    Registrar registrar(&admin, Options());
    registrar.Stop();
    registrar.Start();  // After Stop: a no-op.
  }
  EXPECT_THAT(admin.calls(), IsEmpty());
}

TEST(RegistrarTest, DestructorStopsAndRemoves) {
  FakeAdmin admin;
  {
    Registrar registrar(&admin, Options());
    registrar.Start();
    registrar.Start();  // Already started: a no-op.
    ASSERT_TRUE(registrar.WaitForAttemptsForTesting(1, kWaitTimeout));
  }
  const std::vector<std::string> calls = admin.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "remove 10.0.0.5:9999");
}

TEST(RegistrarTest, StopDoesNotWaitForTheInterval) {
  FakeAdmin admin;
  Registrar registrar(&admin, Options(absl::Hours(1)));
  registrar.Start();
  ASSERT_TRUE(registrar.WaitForAttemptsForTesting(1, kWaitTimeout));
  const absl::Time start = absl::Now();
  registrar.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(admin.calls(),
              ElementsAre("registry 10.0.0.5:9999", "remove 10.0.0.5:9999"));
}

TEST(RegistrarTest, WarnsOncePerOutageWithRemindersAndInfoOnRecovery) {
  RegistrarLogCounter logs;
  FakeAdmin admin(/*failures=*/7);
  RegistrarOptions options = Options(absl::Milliseconds(5));
  options.warn_every_n_failures = 3;
  Registrar registrar(&admin, options);
  registrar.Start();
  ASSERT_TRUE(registrar.WaitForSuccessesForTesting(1, kWaitTimeout));
  registrar.Stop();
  EXPECT_GE(registrar.attempts(), 8);
  // Failures 1, 4 and 7 warn; 2, 3, 5 and 6 are VLOG only. RegistryRemove
  // succeeds, so it adds no warning.
  EXPECT_EQ(logs.warnings(), 3);
  EXPECT_EQ(logs.recoveries(), 1);
}

TEST(RegistrarTest, RegistersWithARealAdminAtStartAndOnTheInterval) {
  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start({});
  ASSERT_THAT(sim, IsOk());
  AdminClientOptions client_options;
  client_options.addresses = {(*sim)->address()};
  absl::StatusOr<std::unique_ptr<AdminClient>> client =
      AdminClient::Create(client_options);
  ASSERT_THAT(client, IsOk());

  Registrar registrar(client->get(), Options());
  registrar.Start();
  ASSERT_TRUE((*sim)->WaitForRegistrations(3, kWaitTimeout));
  registrar.Stop();

  const std::vector<RecordedRegistry> regs = (*sim)->registrations();
  const std::vector<RecordedRegistry> removals = (*sim)->removals();
  ASSERT_THAT(removals, SizeIs(1));
  for (const RecordedRegistry& reg : regs) {
    EXPECT_EQ(reg.registry_group, "EXECUTOR");
    EXPECT_EQ(reg.registry_key, "xxl-executor");
    EXPECT_EQ(reg.registry_value, "10.0.0.5:9999");
    // The loop was joined before the removal was sent.
    EXPECT_LE(reg.time, removals[0].time);
  }
  EXPECT_EQ(static_cast<int64_t>(regs.size()), registrar.successes());
}

TEST(RegistrarTest, KeepsTryingWhileTheAdminRefusesAndRecovers) {
  RegistrarLogCounter logs;
  AdminSimulatorOptions sim_options;
  sim_options.mode = AdminSimMode::kRefuseWithCode500;
  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start(sim_options);
  ASSERT_THAT(sim, IsOk());
  AdminClientOptions client_options;
  client_options.addresses = {(*sim)->address()};
  absl::StatusOr<std::unique_ptr<AdminClient>> client =
      AdminClient::Create(client_options);
  ASSERT_THAT(client, IsOk());

  RegistrarOptions options = Options();
  // No reminders, so the count of warnings does not depend on timing.
  options.warn_every_n_failures = 1000000;
  Registrar registrar(client->get(), options);
  registrar.Start();
  ASSERT_TRUE(registrar.WaitForAttemptsForTesting(3, kWaitTimeout));
  EXPECT_EQ(registrar.successes(), 0);
  EXPECT_THAT((*sim)->registrations(), IsEmpty());

  (*sim)->SetMode(AdminSimMode::kAccept);
  ASSERT_TRUE(registrar.WaitForSuccessesForTesting(2, kWaitTimeout));
  EXPECT_THAT((*sim)->registrations(), Not(IsEmpty()));
  registrar.Stop();
  EXPECT_EQ(logs.warnings(), 1);
  EXPECT_EQ(logs.recoveries(), 1);
  EXPECT_THAT((*sim)->removals(), SizeIs(1));
}

}  // namespace
}  // namespace xxljob

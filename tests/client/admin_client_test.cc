// AdminClient against real gRPC admins (AdminSimulator on 127.0.0.1:0):
// fail-over, refusals, token, deadlines, address validation. Also the
// simulator's own output (event lines, JSON record), which the other tests
// and operators rely on.
#include "client/admin_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/refusing_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/admin_sim/admin_simulator.h"

namespace xxljob {
namespace {

using ::xxljob::testing::RefusingPort;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::xxljob::testing::IsOk;
using ::xxljob::testing::StatusIs;

// Generous: only a failing test waits this long.
constexpr absl::Duration kWaitTimeout = absl::Seconds(10);

std::unique_ptr<AdminSimulator> StartSim(AdminSimulatorOptions options = {}) {
  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start(std::move(options));
  EXPECT_THAT(sim, IsOk());
  return sim.ok() ? *std::move(sim) : nullptr;
}

std::unique_ptr<AdminClient> MakeClient(std::vector<std::string> addresses,
                                        std::string token = "",
                                        absl::Duration timeout = kWaitTimeout) {
  AdminClientOptions options;
  options.addresses = std::move(addresses);
  options.access_token = std::move(token);
  options.timeout = timeout;
  absl::StatusOr<std::unique_ptr<AdminClient>> client =
      AdminClient::Create(std::move(options));
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

RegistryParam Param() {
  RegistryParam param;
  param.registry_key = "xxl-executor";
  param.registry_value = "10.0.0.5:9999";
  return param;
}

RunResult Result(int64_t log_id, int code, std::string msg) {
  RunResult result;
  result.job_id = 7;
  result.log_id = log_id;
  result.log_date_time = 1700000000000 + log_id;
  result.handle_code = code;
  result.handle_msg = std::move(msg);
  return result;
}

TEST(AdminClientTest, OneAdminAcceptsEveryCall) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_THAT(client->RegistryRemove(Param()), IsOk());
  EXPECT_THAT(client->Callback(
                  {Result(12, 200, "ok"), Result(13, 500, "boom\nline two")}),
              IsOk());

  const std::vector<RecordedRegistry> regs = sim->registrations();
  ASSERT_THAT(regs, SizeIs(1));
  EXPECT_EQ(regs[0].registry_group, "EXECUTOR");
  EXPECT_EQ(regs[0].registry_key, "xxl-executor");
  EXPECT_EQ(regs[0].registry_value, "10.0.0.5:9999");
  EXPECT_THAT(sim->removals(), SizeIs(1));
  const std::vector<RecordedCallback> items = sim->callbacks();
  ASSERT_THAT(items, SizeIs(2));
  EXPECT_EQ(items[0].log_id, 12);
  EXPECT_EQ(items[0].log_date_time, 1700000000012);
  EXPECT_EQ(items[0].handle_code, 200);
  EXPECT_EQ(items[1].handle_code, 500);
  EXPECT_EQ(items[1].handle_msg, "boom\nline two");
  EXPECT_THAT(sim->batch_sizes(), ElementsAre(2));
  EXPECT_EQ(sim->CountOf(12), 1);
}

TEST(AdminClientTest, EmptyCallbackMakesNoCall) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Callback({}), IsOk());
  EXPECT_THAT(sim->batch_sizes(), IsEmpty());
}

TEST(AdminClientTest, InvalidUtf8MessageIsCleanedNotRejected) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Callback({Result(1, 500, "bad \xff byte")}), IsOk());
  ASSERT_THAT(sim->callbacks(), SizeIs(1));
  EXPECT_EQ(sim->callbacks()[0].handle_msg, "bad ? byte");
}

TEST(AdminClientTest, FailsOverWhenFirstAdminRefusesConnections) {
  RefusingPort down;
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({down.address(), sim->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_THAT(sim->registrations(), SizeIs(1));
}

TEST(AdminClientTest, FailsOverWhenFirstAdminShutDown) {
  auto first = StartSim();
  auto second = StartSim();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  auto client = MakeClient({first->address(), second->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Callback({Result(1, 200, "")}), IsOk());
  EXPECT_EQ(first->CountOf(1), 1);

  first->Shutdown();
  EXPECT_THAT(client->Callback({Result(2, 200, "")}), IsOk());
  EXPECT_EQ(first->CountOf(2), 0);
  EXPECT_EQ(second->CountOf(2), 1);
  EXPECT_EQ(second->CountOf(1), 0);
}

TEST(AdminClientTest, AllAdminsDownIsUnavailableListingEach) {
  RefusingPort a;
  RefusingPort b;
  auto client = MakeClient({a.address(), b.address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(
      client->Registry(Param()),
      StatusIs(
          absl::StatusCode::kUnavailable,
          AllOf(HasSubstr(absl::StrCat(a.address(), ": UNAVAILABLE")),
                HasSubstr(absl::StrCat("; ", b.address(), ": UNAVAILABLE")))));
}

TEST(AdminClientTest, Code500IsNotAccepted) {
  AdminSimulatorOptions options;
  options.mode = AdminSimMode::kRefuseWithCode500;
  auto refusing = StartSim(options);
  ASSERT_NE(refusing, nullptr);
  auto client = MakeClient({refusing->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Callback({Result(5, 200, "")}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat(
                           refusing->address(),
                           ": code 500: refused by admin simulator"))));
  EXPECT_THAT(refusing->callbacks(), IsEmpty());
  EXPECT_EQ(refusing->refused_calls(), 1);

  // The next admin in the list gets what the first refused.
  auto accepting = StartSim();
  ASSERT_NE(accepting, nullptr);
  auto both = MakeClient({refusing->address(), accepting->address()});
  ASSERT_NE(both, nullptr);
  EXPECT_THAT(both->Callback({Result(5, 200, "")}), IsOk());
  EXPECT_EQ(accepting->CountOf(5), 1);
}

TEST(AdminClientTest, UnavailableStatusIsNotAccepted) {
  AdminSimulatorOptions options;
  options.mode = AdminSimMode::kUnavailable;
  auto sim = StartSim(options);
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Registry(Param()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat(sim->address(),
                                              ": UNAVAILABLE: admin "
                                              "simulator is refusing"))));
  sim->SetMode(AdminSimMode::kAccept);
  EXPECT_THAT(client->Registry(Param()), IsOk());
}

TEST(AdminClientTest, TokenIsSentAndChecked) {
  AdminSimulatorOptions options;
  options.access_token = "s3cret";
  auto sim = StartSim(options);
  ASSERT_NE(sim, nullptr);

  auto right = MakeClient({sim->address()}, "s3cret");
  ASSERT_NE(right, nullptr);
  EXPECT_THAT(right->Registry(Param()), IsOk());

  auto wrong = MakeClient({sim->address()}, "s3creT");
  ASSERT_NE(wrong, nullptr);
  EXPECT_THAT(wrong->Registry(Param()), StatusIs(absl::StatusCode::kUnavailable,
                                                 HasSubstr("UNAUTHENTICATED")));
  auto none = MakeClient({sim->address()});
  ASSERT_NE(none, nullptr);
  EXPECT_THAT(none->Registry(Param()), StatusIs(absl::StatusCode::kUnavailable,
                                                HasSubstr("UNAUTHENTICATED")));
  EXPECT_THAT(sim->registrations(), SizeIs(1));
  EXPECT_EQ(sim->refused_calls(), 2);
}

TEST(AdminClientTest, SlowAdminHitsTheDeadlineAndTheNextOneIsTried) {
  // Long enough for the fast admin's first call (connection set-up included)
  // on a loaded machine or under a sanitizer.
  constexpr absl::Duration kShortDeadline = absl::Seconds(2);
  AdminSimulatorOptions slow_options;
  slow_options.response_delay = absl::Minutes(5);
  auto slow = StartSim(slow_options);
  auto fast = StartSim();
  ASSERT_NE(slow, nullptr);
  ASSERT_NE(fast, nullptr);
  auto client =
      MakeClient({slow->address(), fast->address()}, "", kShortDeadline);
  ASSERT_NE(client, nullptr);

  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Registry(Param()), IsOk());
  // One deadline plus a fast call: far below the 5-minute delay.
  EXPECT_LT(absl::Now() - start, absl::Minutes(1));
  EXPECT_THAT(fast->registrations(), SizeIs(1));

  // The delay can be changed on a running simulator.
  fast->SetResponseDelay(absl::Minutes(5));
  EXPECT_THAT(
      client->Registry(Param()),
      StatusIs(
          absl::StatusCode::kUnavailable,
          AllOf(HasSubstr(absl::StrCat(slow->address(), ": DEADLINE_EXCEEDED")),
                HasSubstr(
                    absl::StrCat(fast->address(), ": DEADLINE_EXCEEDED")))));
  fast->SetResponseDelay(absl::ZeroDuration());
  EXPECT_THAT(client->Registry(Param()), IsOk());
  // Shutting down cancels the delayed answers still pending on `slow`
  // instead of waiting them out.
  const absl::Time shutdown_start = absl::Now();
  slow->Shutdown();
  EXPECT_LT(absl::Now() - shutdown_start, absl::Minutes(1));
}

TEST(AdminClientTest, RefusedConnectionFailsWithoutWaitingForTheDeadline) {
  RefusingPort down;
  auto client = MakeClient({down.address()}, "", absl::Seconds(30));
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      client->Registry(Param()),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("UNAVAILABLE")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(AdminClientTest, RejectsInvalidOptions) {
  for (const std::string address :
       {"", "localhost", ":8080", "localhost:", "localhost:0",
        "localhost:65536", "localhost:http", "::1:8080", "[]:8080",
        "http://admin:8080", "ad min:8080"}) {
    AdminClientOptions options;
    options.addresses = {"127.0.0.1:8080", address};
    EXPECT_THAT(AdminClient::Create(options),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("admin address")))
        << address;
  }
  AdminClientOptions ok;
  ok.addresses = {"localhost:1", "[::1]:65535", "10.0.0.1:8080"};
  EXPECT_THAT(AdminClient::Create(ok), IsOk());

  AdminClientOptions empty;
  EXPECT_THAT(AdminClient::Create(empty),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no admin addresses")));
  AdminClientOptions bad_token = ok;
  bad_token.access_token = "new\nline";
  EXPECT_THAT(
      AdminClient::Create(bad_token),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("printable")));
  AdminClientOptions bad_timeout = ok;
  bad_timeout.timeout = absl::ZeroDuration();
  EXPECT_THAT(
      AdminClient::Create(bad_timeout),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout")));
}

TEST(AdminSimulatorTest, PrintsEventLinesAndRecordsJson) {
  xxljob::testing::TempDir dir;
  const std::string record = dir.path() + "/events.jsonl";
  std::ostringstream out;
  AdminSimulatorOptions options;
  options.out = &out;
  options.record_path = record;
  auto sim = StartSim(options);
  ASSERT_NE(sim, nullptr);
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_THAT(client->Callback({Result(12, 500, "a \"quoted\"\nmsg")}), IsOk());
  sim->SetMode(AdminSimMode::kRefuseWithCode500);
  EXPECT_THAT(client->RegistryRemove(Param()), Not(IsOk()));
  const std::string address = sim->address();
  sim->Shutdown();  // Writes every pending line.

  EXPECT_EQ(out.str(),
            absl::StrCat("admin-sim listening on ", address, "\n",
                         "registry EXECUTOR xxl-executor 10.0.0.5:9999\n",
                         "callback log_id=12 log_date_time=1700000000012 "
                         "code=500 batch=1 msg=a \\\"quoted\\\"\\nmsg\n",
                         "refused registry_remove EXECUTOR xxl-executor "
                         "10.0.0.5:9999 (code 500)\n"));
  std::ifstream in(record);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0],
              AllOf(HasSubstr("\"event\":\"registry\",\"accepted\":true,"
                              "\"registry_group\":\"EXECUTOR\""),
                    HasSubstr("\"registry_value\":\"10.0.0.5:9999\"}")));
  EXPECT_THAT(lines[1],
              HasSubstr("\"log_id\":12,\"log_date_time\":1700000000012,"
                        "\"handle_code\":500,\"handle_msg\":\"a "
                        "\\\"quoted\\\"\\u000amsg\",\"batch_size\":1}"));
  EXPECT_THAT(lines[2], HasSubstr("\"event\":\"registry_remove\","
                                  "\"accepted\":false,\"refusal\":\"code "
                                  "500\""));
}

TEST(AdminSimulatorTest, StartErrors) {
  AdminSimulatorOptions bad_listen;
  bad_listen.listen = "nowhere";
  EXPECT_THAT(
      AdminSimulator::Start(bad_listen),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listen")));

  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  AdminSimulatorOptions taken;
  taken.listen = sim->address();
  EXPECT_THAT(
      AdminSimulator::Start(taken),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen")));

  AdminSimulatorOptions bad_record;
  bad_record.record_path = "/nonexistent-dir/events.jsonl";
  EXPECT_THAT(AdminSimulator::Start(bad_record),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/nonexistent-dir/events.jsonl")));
}

TEST(AdminSimulatorTest, WaitsForEvents) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  EXPECT_FALSE(sim->WaitForCallbacks(1, absl::Milliseconds(1)));
  auto client = MakeClient({sim->address()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Callback({Result(1, 200, ""), Result(1, 200, "")}),
              IsOk());
  EXPECT_TRUE(sim->WaitForCallbacks(2, kWaitTimeout));
  EXPECT_EQ(sim->CountOf(1), 2);
  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_TRUE(sim->WaitForRegistrations(1, kWaitTimeout));
  EXPECT_THAT(client->RegistryRemove(Param()), IsOk());
  EXPECT_TRUE(sim->WaitForRemovals(1, kWaitTimeout));
}

// The xxl-admin-sim binary, run as a child with its stdout on a pipe.
class SimProcess {
 public:
  // Where CMake puts it, relative to this test binary (build/tests/).
  static std::string BinaryPath() {
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() /
            "../tools/xxl-admin-sim")
        .lexically_normal()
        .string();
  }

  explicit SimProcess(std::vector<std::string> flags) {
    int fds[2];
    if (pipe(fds) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    std::vector<std::string> args = {BinaryPath()};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) !=
        0) {
      ADD_FAILURE() << "cannot run " << argv[0];
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_fd_ = fds[0];
  }
  ~SimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  // The next stdout line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout = kWaitTimeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::nullopt;
      pollfd pfd{out_fd_, POLLIN, 0};
      if (poll(&pfd, 1,
               static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) {
        continue;
      }
      char chunk[512];
      const ssize_t n = read(out_fd_, chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Exit code, or -1 when it died of a signal. Blocks until it exits.
  int Wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void Signal(int sig) { kill(pid_, sig); }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

class AdminSimBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(SimProcess::BinaryPath())) {
      GTEST_SKIP() << "xxl-admin-sim not built at " << SimProcess::BinaryPath();
    }
  }
};

TEST_F(AdminSimBinaryTest, PrintsEventsAndExitsCleanlyOnSigterm) {
  SimProcess sim({"--listen=127.0.0.1:0", "--refuse=none"});
  const std::optional<std::string> banner = sim.ReadLine();
  ASSERT_TRUE(banner.has_value());
  const std::string prefix = "xxl-admin-sim listening on ";
  ASSERT_EQ(banner->substr(0, prefix.size()), prefix) << *banner;
  auto client = MakeClient({banner->substr(prefix.size())});
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->Registry(Param()), IsOk());
  EXPECT_THAT(client->Callback({Result(42, 200, "done")}), IsOk());
  EXPECT_EQ(sim.ReadLine(), "registry EXECUTOR xxl-executor 10.0.0.5:9999");
  EXPECT_EQ(sim.ReadLine(),
            "callback log_id=42 log_date_time=1700000000042 code=200 batch=1 "
            "msg=done");
  sim.Signal(SIGTERM);
  EXPECT_EQ(sim.Wait(), 0);
}

TEST_F(AdminSimBinaryTest, BadFlagsAndBusyPortExitWithTwo) {
  SimProcess bad_mode({"--refuse=sometimes"});
  EXPECT_EQ(bad_mode.Wait(), 2);
  SimProcess unknown({"--no_such_flag"});
  EXPECT_EQ(unknown.Wait(), 2);

  auto holder = StartSim();
  ASSERT_NE(holder, nullptr);
  SimProcess busy({"--listen=" + holder->address()});
  EXPECT_EQ(busy.Wait(), 2);
}

}  // namespace
}  // namespace xxljob

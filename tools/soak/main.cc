// xxl-soak: a long run of a real xxl-executor process under steady load with
// kills, timeouts and an admin that goes down and comes back, reporting the
// process's resident memory, open file descriptors and threads over time,
// and whether every accepted trigger had its result delivered.
//
//   xxl-soak --executor=build/server/xxl-executor --rate=1000 --duration=30m
//
// Not part of the test suite: it takes as long as --duration. The mix, per
// 100 triggers: 96 demoJobHandler runs over --jobs job ids; 2 sleep 3 s with
// a 1 s timeout (reported 502); 2 sleep 60 s and are killed by log id 0.5 s
// after they were accepted. Every --admin_period the in-process admin goes
// down for --admin_downtime (results wait in the executor's outbox). At the
// end the admin stays up until every result has arrived (or --drain_timeout
// passes), the executor idles for --settle (a last sample shows what it
// gives back), then gets SIGTERM. Exit code 0 when every accepted trigger's
// result was delivered and no result arrived for an unknown run.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.grpc.pb.h"

ABSL_FLAG(std::string, executor, "build/server/xxl-executor",
          "Path of the xxl-executor binary to run.");
ABSL_FLAG(int, port, 19999, "Loopback port the executor listens on.");
ABSL_FLAG(int, admin_port, 18090, "Loopback port of the in-process admin.");
ABSL_FLAG(double, rate, 1000, "Triggers per second (open loop).");
ABSL_FLAG(absl::Duration, duration, absl::Minutes(30), "Length of the load.");
ABSL_FLAG(int, jobs, 1000, "Job ids the demo runs are spread over.");
ABSL_FLAG(absl::Duration, sample_every, absl::Seconds(30),
          "How often to sample the executor's memory, fds and threads.");
ABSL_FLAG(absl::Duration, admin_period, absl::Minutes(5),
          "The admin goes down once per period...");
ABSL_FLAG(absl::Duration, admin_downtime, absl::Seconds(30),
          "...for this long.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Minutes(5),
          "After the load, how long results may take to arrive.");
ABSL_FLAG(absl::Duration, settle, absl::Seconds(100),
          "After the drain, how long the executor idles before the last "
          "sample (idle workers retire after 60 s, idle job threads after "
          "90 s).");
ABSL_FLAG(std::string, data_dir, "",
          "The executor's data directory (default: a new one under /tmp, "
          "removed at the end when the soak passed).");
ABSL_FLAG(std::string, csv, "", "Also write the samples here as CSV.");

namespace xxljob {
namespace {

constexpr int64_t kTimeoutJobBase = 1'000'000;
constexpr int64_t kKillJobBase = 2'000'000;

struct Sample {
  absl::Duration at;
  int64_t rss_kib = 0, fds = 0, threads = 0;
  int64_t job_threads = -1, running = -1, queued = -1;
  int64_t accepted = 0, delivered = 0;
  bool admin_up = false;
};

int64_t ProcField(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

int64_t OpenFds(pid_t pid) {
  std::error_code ec;
  int64_t n = 0;
  for (std::filesystem::directory_iterator
           it(absl::StrCat("/proc/", pid, "/fd"), ec),
       end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

// Starts the executor with stdout and stderr appended to `log_file`.
pid_t SpawnExecutor(const std::vector<std::string>& args,
                    const std::string& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int err =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    std::cerr << "cannot start " << args[0] << ": " << strerror(err) << "\n";
    return -1;
  }
  return pid;
}

// The admin, restarted on the same port; keeps the callbacks of every
// incarnation.
class Admin {
 public:
  explicit Admin(int port) : listen_(absl::StrCat("127.0.0.1:", port)) {}

  bool Up() {
    absl::MutexLock lock(&mu_);
    AdminSimulatorOptions options;
    options.listen = listen_;
    auto sim = AdminSimulator::Start(options);
    if (!sim.ok()) {
      std::cerr << "admin: " << sim.status() << "\n";
      return false;
    }
    sim_ = std::move(*sim);
    return true;
  }

  void Down() {
    absl::MutexLock lock(&mu_);
    if (sim_ == nullptr) return;
    sim_->Shutdown();
    for (const RecordedCallback& c : sim_->callbacks()) ++counts_[c.log_id];
    sim_.reset();
  }

  bool up() const {
    absl::MutexLock lock(&mu_);
    return sim_ != nullptr;
  }

  // Results delivered per log id, over every incarnation so far.
  absl::flat_hash_map<int64_t, int> Counts() const {
    absl::MutexLock lock(&mu_);
    absl::flat_hash_map<int64_t, int> counts = counts_;
    if (sim_ != nullptr) {
      for (const RecordedCallback& c : sim_->callbacks()) ++counts[c.log_id];
    }
    return counts;
  }

  int64_t Delivered() const {
    absl::MutexLock lock(&mu_);
    int64_t n = static_cast<int64_t>(counts_.size());
    if (sim_ != nullptr) n += static_cast<int64_t>(sim_->callbacks().size());
    return n;
  }

 private:
  const std::string listen_;
  mutable absl::Mutex mu_;
  std::unique_ptr<AdminSimulator> sim_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> counts_ ABSL_GUARDED_BY(mu_);
};

// Open-loop trigger sender with delayed kills.
class Load {
 public:
  explicit Load(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::Executor::NewStub(channel)) {}

  // Sends trigger `i` (non-blocking).
  void Send(int64_t i, int jobs) {
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
    v1::RunRequest& r = call->request;
    r.set_log_id(base_ + i);
    r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
    const int kind = static_cast<int>(i % 100);
    if (kind < 2) {
      r.set_job_id(kTimeoutJobBase + i % 97);
      r.set_executor_handler("sleepJobHandler");
      r.set_executor_params("3000");
      r.set_executor_timeout(1);
    } else if (kind < 4) {
      r.set_job_id(kKillJobBase + i % 97);
      r.set_executor_handler("sleepJobHandler");
      r.set_executor_params("60000");
      call->kill = true;
    } else {
      r.set_job_id(1 + i % jobs);
      r.set_executor_handler("demoJobHandler");
      r.set_executor_params("soak");
    }
    in_flight_.fetch_add(1);
    stub_->async()->Run(&call->ctx, &call->request, &call->response,
                        [this, call](grpc::Status status) {
                          OnAnswer(call, status);
                          delete call;
                          in_flight_.fetch_sub(1);
                        });
  }

  // Sends the kills that are due; returns how many.
  int KillDue() {
    std::vector<std::pair<int64_t, int64_t>> due;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      while (!kills_.empty() && kills_.front().at <= now) {
        due.emplace_back(kills_.front().job_id, kills_.front().log_id);
        kills_.pop_front();
      }
    }
    for (const auto& [job_id, log_id] : due) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
      v1::KillRequest request;
      request.set_job_id(job_id);
      request.set_log_id(log_id);
      v1::KillResponse response;
      stub_->Kill(&ctx, request, &response);
    }
    return static_cast<int>(due.size());
  }

  bool Beat(Sample* s) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    v1::BeatResponse response;
    if (!stub_->Beat(&ctx, v1::BeatRequest(), &response).ok()) return false;
    s->job_threads = response.job_threads();
    s->running = response.running();
    s->queued = response.queued();
    return true;
  }

  int64_t in_flight() const { return in_flight_.load(); }
  int64_t pending_kills() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(kills_.size());
  }
  int64_t base() const { return base_; }

  // Log ids accepted (code 200), refused, and failed RPCs.
  std::vector<int64_t> Accepted() const {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }
  int64_t accepted_count() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(accepted_.size());
  }
  int64_t refused() const {
    absl::MutexLock lock(&mu_);
    return refused_;
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    v1::RunRequest request;
    v1::RunResponse response;
    bool kill = false;
  };
  struct Kill {
    absl::Time at;
    int64_t job_id, log_id;
  };

  void OnAnswer(Call* call, const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (!status.ok() || call->response.code() != 200) {
      if (refused_++ < 5) {
        std::cerr << "refused: " << status.error_message() << " "
                  << call->response.msg() << "\n";
      }
      return;
    }
    accepted_.push_back(call->request.log_id());
    if (call->kill) {
      kills_.push_back({absl::Now() + absl::Milliseconds(500),
                        call->request.job_id(), call->request.log_id()});
    }
  }

  std::unique_ptr<v1::Executor::Stub> stub_;
  const int64_t base_ = absl::ToUnixMillis(absl::Now()) * 1000;
  std::atomic<int64_t> in_flight_{0};
  mutable absl::Mutex mu_;
  std::vector<int64_t> accepted_ ABSL_GUARDED_BY(mu_);
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Kill> kills_ ABSL_GUARDED_BY(mu_);
};

void PrintSample(const Sample& s, std::ostream& out) {
  out << absl::StrFormat("%7.0fs %9.1f %6d %7d %7d %7d %7d %10d %10d %s\n",
                         absl::ToDoubleSeconds(s.at), s.rss_kib / 1024.0, s.fds,
                         s.threads, s.job_threads, s.running, s.queued,
                         s.accepted, s.delivered, s.admin_up ? "up" : "down")
      << std::flush;
}

int Soak() {
  std::string dir = absl::GetFlag(FLAGS_data_dir);
  if (dir.empty()) {
    char tmpl[] = "/tmp/xxl-soak-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 2;
    dir = tmpl;
  }
  std::filesystem::create_directories(dir);
  const int port = absl::GetFlag(FLAGS_port);
  const int admin_port = absl::GetFlag(FLAGS_admin_port);
  Admin admin(admin_port);
  if (!admin.Up()) return 2;

  const std::string target = absl::StrCat("127.0.0.1:", port);
  const pid_t pid = SpawnExecutor(
      {absl::GetFlag(FLAGS_executor), absl::StrCat("--listen=", target),
       absl::StrCat("--address=", target), "--app_name=xxl-soak",
       absl::StrCat("--admin_addresses=127.0.0.1:", admin_port),
       absl::StrCat("--log_path=", dir, "/data"), "--registry_interval=10s"},
      dir + "/executor.log");
  if (pid < 0) return 2;
  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30))) {
    std::cerr << "the executor did not start; see " << dir << "/executor.log\n";
    kill(pid, SIGKILL);
    return 2;
  }
  Load load(channel);

  std::ofstream csv;
  if (!absl::GetFlag(FLAGS_csv).empty()) {
    csv.open(absl::GetFlag(FLAGS_csv));
    csv << "seconds,rss_kib,fds,threads,job_threads,running,queued,accepted,"
           "delivered,admin_up\n";
  }
  std::cout << "xxl-soak: executor pid " << pid << ", data " << dir << ", "
            << absl::GetFlag(FLAGS_rate) << " triggers/s for "
            << absl::FormatDuration(absl::GetFlag(FLAGS_duration)) << "\n"
            << "   time  rss(MiB)    fds threads jobthr running  queued "
               "  accepted  delivered admin\n";
  std::vector<Sample> samples;
  const absl::Time start = absl::Now();
  auto take_sample = [&] {
    Sample s;
    s.at = absl::Now() - start;
    s.rss_kib = ProcField(pid, "VmRSS");
    s.threads = ProcField(pid, "Threads");
    s.fds = OpenFds(pid);
    load.Beat(&s);
    s.accepted = load.accepted_count();
    s.delivered = admin.Delivered();
    s.admin_up = admin.up();
    PrintSample(s, std::cout);
    if (csv.is_open()) {
      csv << absl::ToInt64Seconds(s.at) << "," << s.rss_kib << "," << s.fds
          << "," << s.threads << "," << s.job_threads << "," << s.running << ","
          << s.queued << "," << s.accepted << "," << s.delivered << ","
          << (s.admin_up ? 1 : 0) << std::endl;
    }
    samples.push_back(s);
  };
  take_sample();

  const double rate = absl::GetFlag(FLAGS_rate);
  const int jobs = absl::GetFlag(FLAGS_jobs);
  const absl::Duration period = absl::GetFlag(FLAGS_admin_period);
  const absl::Duration downtime = absl::GetFlag(FLAGS_admin_downtime);
  const int64_t n = static_cast<int64_t>(
      rate * absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)));
  absl::Time next_sample = start + absl::GetFlag(FLAGS_sample_every);
  int64_t admin_cycles = 0, kills = 0;
  for (int64_t i = 0; i < n; ++i) {
    const absl::Time due = start + absl::Seconds(i / rate);
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    load.Send(i, jobs);
    if (i % 64 == 0) {
      kills += load.KillDue();
      // The admin is down during [period - downtime, period) of each period.
      const absl::Duration in_period = (now - start) % period;
      const bool want_up = in_period < period - downtime;
      if (want_up != admin.up()) {
        if (want_up) {
          admin.Up();
        } else {
          admin.Down();
          ++admin_cycles;
        }
      }
      if (now >= next_sample) {
        take_sample();
        next_sample += absl::GetFlag(FLAGS_sample_every);
      }
    }
  }
  // Let the remaining kills and answers happen, with the admin up.
  const absl::Time load_end = absl::Now();
  if (!admin.up()) admin.Up();
  const absl::Time drain_deadline =
      absl::Now() + absl::GetFlag(FLAGS_drain_timeout);
  while (absl::Now() < drain_deadline) {
    kills += load.KillDue();
    if (load.in_flight() == 0 && load.pending_kills() == 0 &&
        admin.Delivered() >= load.accepted_count()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::cout << "drain: " << absl::FormatDuration(absl::Now() - load_end)
            << " after the load (in flight " << load.in_flight()
            << ", delivered " << admin.Delivered() << " of "
            << load.accepted_count() << ")\n";
  take_sample();
  absl::SleepFor(absl::GetFlag(FLAGS_settle));
  take_sample();

  const std::vector<int64_t> accepted = load.Accepted();
  const absl::flat_hash_map<int64_t, int> counts = admin.Counts();
  int64_t missing = 0, duplicates = 0;
  for (int64_t log_id : accepted) {
    auto it = counts.find(log_id);
    if (it == counts.end()) {
      ++missing;
    } else {
      duplicates += it->second - 1;
    }
  }
  const int64_t unknown = static_cast<int64_t>(counts.size()) -
                          (static_cast<int64_t>(accepted.size()) - missing);

  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  admin.Down();

  const Sample& first = samples.front();
  const Sample& last = samples.back();
  std::cout << "\n"
            << absl::StrFormat(
                   "sent %d, accepted %d, refused %d, kills sent %d, admin "
                   "outages %d\n"
                   "delivered %d distinct results: missing %d, duplicates %d "
                   "(at-least-once across outages), unknown %d\n"
                   "rss %.1f -> %.1f MiB (max %.1f), fds %d -> %d, threads "
                   "%d -> %d\n"
                   "executor exit: %s %d\n",
                   n, accepted.size(), load.refused(), kills, admin_cycles,
                   counts.size(), missing, duplicates, unknown,
                   first.rss_kib / 1024.0, last.rss_kib / 1024.0,
                   [&] {
                     int64_t m = 0;
                     for (const Sample& s : samples) m = std::max(m, s.rss_kib);
                     return m / 1024.0;
                   }(),
                   first.fds, last.fds, first.threads, last.threads,
                   WIFEXITED(wstatus) ? "code" : "signal",
                   WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
                                      : WTERMSIG(wstatus));
  const bool passed = missing == 0 && unknown == 0 && WIFEXITED(wstatus) &&
                      WEXITSTATUS(wstatus) == 0;
  std::cout << (passed ? "PASS" : "FAIL")
            << ": every accepted trigger's result delivered" << std::endl;
  if (passed && absl::GetFlag(FLAGS_data_dir).empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return passed ? 0 : 1;
}

}  // namespace
}  // namespace xxljob

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Soak test: a real xxl-executor under steady load with kills, timeouts "
      "and admin outages; reports memory, fds and threads over time and "
      "checks that every accepted trigger's result is delivered.\n"
      "  xxl-soak --executor=build/server/xxl-executor --rate=1000 "
      "--duration=30m");
  absl::ParseCommandLine(argc, argv);
  return xxljob::Soak();
}

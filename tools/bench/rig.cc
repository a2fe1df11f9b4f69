#include "tools/bench/rig.h"

#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/delivery/result_reporter.h"

namespace xxljob::bench {

Clients::Clients(const std::string& target, int channels, std::string token)
    : token_(std::move(token)) {
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // Distinct connections.
    stubs_.push_back(v1::Executor::NewStub(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args)));
  }
}

void Clients::Prepare(grpc::ClientContext* ctx, absl::Duration timeout) const {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token_.empty()) ctx->AddMetadata("xxl-job-access-token", token_);
}

absl::StatusOr<std::unique_ptr<Rig>> Rig::Start(
    const RigOptions& options, const HandlerRegistry* registry) {
  static std::atomic<int> counter{0};
  std::unique_ptr<Rig> rig(new Rig());
  const std::string parent =
      options.data_parent.empty()
          ? std::filesystem::temp_directory_path().string()
          : options.data_parent;
  rig->data_dir_ =
      absl::StrCat(parent, "/xxl-bench-", ::getpid(), "-", counter++);

  AdminSimulatorOptions admin_options;
  admin_options.listen = "127.0.0.1:0";
  admin_options.out = nullptr;
  if (options.http) admin_options.http_listen = "127.0.0.1:0";
  auto admin = AdminSimulator::Start(admin_options);
  if (!admin.ok()) return admin.status();
  rig->admin_ = *std::move(admin);

  AppOptions app_options;
  app_options.grpc.listen = "127.0.0.1:0";
  app_options.executor.log_path = rig->data_dir_;
  app_options.executor.idle_timeout = options.idle_timeout;
  app_options.executor.max_running = options.max_running;
  app_options.admin_addresses = {options.http ? rig->admin_->http_url()
                                              : rig->admin_->address()};
  if (options.http) app_options.http.listen = "127.0.0.1:0";
  if (options.metrics) app_options.metrics.listen = "127.0.0.1:0";
  auto app = ExecutorApp::Start(app_options, registry);
  if (!app.ok()) return app.status();
  rig->app_ = *std::move(app);
  rig->target_ = absl::StrCat("127.0.0.1:", rig->app_->grpc_port());
  rig->clients_ = std::make_unique<Clients>(rig->target_, options.channels, "");
  return rig;
}

Rig::~Rig() {
  clients_.reset();
  if (app_ != nullptr) app_->Shutdown(absl::Seconds(2));
  app_.reset();
  if (admin_ != nullptr) admin_->Shutdown();
  std::error_code ignored;  // Best effort: a leftover temp dir is harmless.
  std::filesystem::remove_all(data_dir_, ignored);
}

std::string Rig::FileSystem() const {
  struct statfs fs;
  if (::statfs(data_dir_.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<uint64_t>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlay";
    default:
      return absl::StrCat(absl::Hex(static_cast<uint64_t>(fs.f_type)));
  }
}

int64_t Rig::delivered() const { return app_->reporter()->stats().delivered; }

bool Rig::WaitDelivered(int64_t n, absl::Duration timeout) const {
  const absl::Time end = absl::Now() + timeout;
  while (delivered() < n) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

bool Rig::WaitIdle(absl::Duration timeout) const {
  const absl::Time end = absl::Now() + timeout;
  int64_t last = -1;
  absl::Time still_since = absl::Now();
  while (absl::Now() < end) {
    const ResultReporter::Stats stats = app_->reporter()->stats();
    if (stats.delivered != last || stats.pending > 0) {
      last = stats.delivered;
      still_since = absl::Now();
    } else if (absl::Now() - still_since >= absl::Milliseconds(200)) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

v1::RunRequest MakeRun(int64_t job_id, int64_t log_id,
                       const std::string& handler, const std::string& params) {
  v1::RunRequest request;
  request.set_job_id(job_id);
  request.set_log_id(log_id);
  request.set_log_date_time(absl::ToUnixMillis(absl::Now()));
  request.set_executor_handler(handler);
  request.set_executor_params(params);
  return request;
}

int64_t FreshLogIdBase() {
  // Milliseconds since the epoch times 1000 (about 1.8e15 in 2026, 2^53 in
  // 2255): unique across runs, and ranges of up to 1000 ids per millisecond
  // elapsed never collide.
  static std::atomic<int64_t> last{0};
  int64_t base = absl::ToUnixMillis(absl::Now()) * 1000;
  int64_t prev = last.load();
  while (true) {
    if (base <= prev) base = prev + 100'000'000;
    if (last.compare_exchange_weak(prev, base)) return base;
  }
}

int64_t ProcStatus(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, prefix)) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    int64_t value = 0;
    return absl::SimpleAtoi(rest, &value) ? value : -1;
  }
  return -1;
}

}  // namespace xxljob::bench

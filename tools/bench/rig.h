// What xxl-bench measures against: gRPC stubs to an executor (Clients), and
// an in-process deployment (Rig) wired like production: an admin simulator
// and an ExecutorApp whose reporter delivers results to it by Callback.
#ifndef XXLJOB_TOOLS_BENCH_RIG_H_
#define XXLJOB_TOOLS_BENCH_RIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "handlers/handler_registry.h"
#include "server/app/executor_app.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.grpc.pb.h"

namespace xxljob::bench {

// One asynchronous Run in flight (callback API); deleted by its
// completion callback.
struct RunCall {
  grpc::ClientContext ctx;
  v1::RunRequest request;
  v1::RunResponse response;
};

// Stubs over `channels` distinct TCP connections. Thread-safe.
class Clients {
 public:
  Clients(const std::string& target, int channels, std::string token);
  Clients(const Clients&) = delete;
  Clients& operator=(const Clients&) = delete;

  // Round-robin by `i`.
  v1::Executor::Stub& stub(int64_t i) { return *stubs_[i % stubs_.size()]; }
  int channels() const { return static_cast<int>(stubs_.size()); }
  // Sets the deadline and the access token.
  void Prepare(grpc::ClientContext* ctx, absl::Duration timeout) const;

 private:
  std::vector<std::unique_ptr<v1::Executor::Stub>> stubs_;
  std::string token_;
};

struct RigOptions {
  // Reclaim idle job threads after this long (the scale phase keeps them).
  absl::Duration idle_timeout = absl::Seconds(90);
  int max_running = ExecutorOptions().max_running;
  int channels = 4;
  // Where the rig's data directory (run logs, outbox) is made; empty: the
  // system's temporary directory. Compares file systems (ext4, tmpfs).
  std::string data_parent;
  // Prometheus metrics on (served on a metrics-only loopback listener).
  bool metrics = false;
  // XXL-JOB's HTTP protocol both ways: the executor's HTTP face on (a
  // loopback port, see Rig::http_port()) and the admin simulator's too,
  // which is then the executor's only admin, so results go back by HTTP
  // POST /api/callback instead of the gRPC Callback.
  bool http = false;
};

// An admin simulator plus an ExecutorApp registered with it (over gRPC, or
// over HTTP with RigOptions::http), over a temporary data directory removed
// by the destructor. Thread-safe.
class Rig {
 public:
  // `registry` must outlive the rig.
  static absl::StatusOr<std::unique_ptr<Rig>> Start(
      const RigOptions& options, const HandlerRegistry* registry);
  ~Rig();
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  AdminSimulator& admin() { return *admin_; }
  ExecutorApp& app() { return *app_; }
  Clients& clients() { return *clients_; }
  const std::string& target() const { return target_; }
  // The executor's HTTP face's port; 0 unless RigOptions::http.
  int http_port() const { return app_->http_port(); }
  const std::string& data_dir() const { return data_dir_; }
  // The data directory's file system: "ext4", "tmpfs", "xfs", "btrfs",
  // "overlay" or its magic number in hex.
  std::string FileSystem() const;

  // Results the reporter has delivered so far.
  int64_t delivered() const;
  // Polls until delivered() >= n; false on timeout.
  bool WaitDelivered(int64_t n, absl::Duration timeout) const;
  // Polls until nothing is pending in the reporter and delivered() has not
  // moved for 200 ms, so that a measurement starts from an idle executor
  // (an overloaded trial may leave runs whose Run call timed out on the
  // client but was accepted); false on timeout.
  bool WaitIdle(absl::Duration timeout) const;

 private:
  Rig() = default;
  std::string data_dir_;
  std::string target_;
  std::unique_ptr<AdminSimulator> admin_;
  std::unique_ptr<ExecutorApp> app_;
  std::unique_ptr<Clients> clients_;
};

// A Run request of `handler` for the bench (log_date_time = now).
v1::RunRequest MakeRun(int64_t job_id, int64_t log_id,
                       const std::string& handler, const std::string& params);
// Log ids no earlier phase or earlier benchmark run used, below 2^53 (with
// room for bursts of millions), so that they stay exact where JSON numbers
// are read as doubles (the admin simulator's 3.x callback body).
int64_t FreshLogIdBase();

// A numeric field of /proc/self/status ("VmRSS" in KiB, "Threads"); -1 if
// absent.
int64_t ProcStatus(const std::string& field);

}  // namespace xxljob::bench

#endif  // XXLJOB_TOOLS_BENCH_RIG_H_

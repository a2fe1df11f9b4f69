// Small helpers the end-to-end tests with a real executor process and the
// admin simulator share: starting a simulator, a Run request, and call
// options patient enough for a busy CI machine.
#ifndef XXLJOB_TESTS_TESTING_E2E_HELPERS_H_
#define XXLJOB_TESTS_TESTING_E2E_HELPERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/executor_client.h"
#include "gtest/gtest.h"
#include "tools/admin_sim/admin_simulator.h"
#include "xxljob/v1/executor.pb.h"

namespace xxljob::testing {

// A started simulator answering in `mode`, or null after a test failure.
inline std::unique_ptr<AdminSimulator> StartSim(
    AdminSimMode mode = AdminSimMode::kAccept) {
  AdminSimulatorOptions options;
  options.mode = mode;
  absl::StatusOr<std::unique_ptr<AdminSimulator>> sim =
      AdminSimulator::Start(std::move(options));
  EXPECT_TRUE(sim.ok()) << sim.status();
  return sim.ok() ? *std::move(sim) : nullptr;
}

// A Run of `handler` with `params`, stamped now.
inline v1::RunRequest RunReq(int64_t job_id, int64_t log_id,
                             std::string handler = "demoJobHandler",
                             std::string params = "") {
  v1::RunRequest r;
  r.set_job_id(job_id);
  r.set_log_id(log_id);
  r.set_log_date_time(absl::ToUnixMillis(absl::Now()));
  r.set_executor_handler(std::move(handler));
  r.set_executor_params(std::move(params));
  return r;
}

// A 30 s deadline per call.
inline CallOptions Patient() {
  CallOptions options;
  options.timeout = absl::Seconds(30);
  return options;
}

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_E2E_HELPERS_H_

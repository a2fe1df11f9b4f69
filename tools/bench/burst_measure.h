// What the burst phases share: a burst of demoJobHandler Runs (serial block
// strategy, job ids 1..jobs, fresh log ids) sent by some transport, timed
// from the first send to the last callback the in-process admin simulator
// accepted, and checked for one result per accepted run. burst.cc sends
// over gRPC; e2e_http.cc over gRPC and over HTTP.
#ifndef XXLJOB_TOOLS_BENCH_BURST_MEASURE_H_
#define XXLJOB_TOOLS_BENCH_BURST_MEASURE_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "tools/bench/report.h"
#include "tools/bench/rig.h"

namespace xxljob::bench {

// What a sender reports once every call it made was answered.
struct BurstSent {
  int64_t accepted = 0;  // answered code 200
  int64_t rejected = 0;  // failed, or answered another code, or never sent
};

// Sends the burst's Runs: run i (0 <= i < triggers) has job id
// 1 + i % jobs and log id base_log_id + i. Returns when every call has been
// answered.
using BurstSender = absl::FunctionRef<BurstSent(int64_t base_log_id)>;

struct BurstOutcome {
  int64_t triggers = 0;
  int64_t accepted = 0;
  int64_t rejected = 0;
  absl::Duration sending;           // first send to the last answer
  absl::Duration to_last_callback;  // first send to the last callback
  int64_t called_back = 0;          // distinct runs of the burst called back
  int64_t duplicates = 0;           // callbacks beyond the first per run
  int64_t missing = 0;              // accepted runs never called back
  bool drained = false;      // every accepted run's result arrived in time
  bool idle_before = false;  // the executor was idle when the burst began

  // Accepted runs per second of to_last_callback (0 when nothing ran).
  double rate() const;
};

// Waits (up to 2 min) for `rig` to be idle, sends a burst of `triggers`
// with `send`, then waits up to `drain_timeout` for the accepted runs'
// results and matches the admin simulator's records to the burst's log
// ids. Blocks throughout.
BurstOutcome MeasureBurst(Rig& rig, int64_t triggers, BurstSender send,
                          absl::Duration drain_timeout = absl::Minutes(10));

// Sends a burst over the rig's gRPC channels (round robin) with at most
// `in_flight` Run calls outstanding; a BurstSender's body.
BurstSent SendGrpcBurst(Rig& rig, int64_t base_log_id, int64_t triggers,
                        int jobs, int in_flight);

// Adds <prefix>triggers, accepted, rejected, send_rate, time_to_last_callback,
// rate, missing and duplicates; and a note (naming `what`) when the
// executor was busy at the start or a result is missing or duplicated.
void AddBurstRows(const std::string& prefix, const std::string& what,
                  const BurstOutcome& outcome, Report& report);

}  // namespace xxljob::bench

#endif  // XXLJOB_TOOLS_BENCH_BURST_MEASURE_H_

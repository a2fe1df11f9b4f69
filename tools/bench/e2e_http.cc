// The e2e_http phase: end to end over XXL-JOB's HTTP protocol beside end to
// end over gRPC, in one run. Each side has a rig of its own, both started
// before either is measured (so neither measures after the other's data was
// deleted): over gRPC, Runs by gRPC and results by the gRPC Callback; over
// HTTP, Runs as POST /run to the executor's HTTP face and results as POST
// /api/callback to the admin simulator's. Each round sends the same burst
// to both (as burst.cc does: time from the first trigger to the last
// callback), in alternating order so that drift hits both alike. Compare
// on tmpfs (--data_dir=/dev/shm): on ext4 soon after a mass deletion, the
// run logs' inode allocation swamps both faces (docs/benchmarks.md).
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "google/protobuf/util/json_util.h"
#include "tools/bench/burst_measure.h"
#include "tools/bench/phases.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr absl::Duration kCallTimeout = absl::Seconds(30);

// True when `body` is the envelope of an accepted trigger: {"code":200,..}.
bool Accepted(const std::string& body) {
  http::v1::Return envelope;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(body, &envelope, options)
             .ok() &&
         envelope.code() == 200;
}

// A burst sent as HTTP POST /run over `connections` keep-alive
// connections, each with one call in flight (HTTP/1.1 without pipelining,
// as an admin's client sends), on `threads` threads. Each connection takes
// the next run to send when its previous one was answered; a connection
// that fails is closed and its remaining share goes to the others.
// Single use: Send() blocks until every run was sent and answered.
class HttpBurst {
 public:
  HttpBurst(int port, int64_t base_log_id, int64_t triggers, int jobs)
      : endpoint_(asio::ip::make_address("127.0.0.1"),
                  static_cast<unsigned short>(port)),
        base_(base_log_id),
        triggers_(triggers),
        jobs_(jobs) {}
  HttpBurst(const HttpBurst&) = delete;
  HttpBurst& operator=(const HttpBurst&) = delete;

  BurstSent Send(int connections, int threads) {
    for (int c = 0; c < connections; ++c) {
      std::make_shared<Connection>(io_, this)->Start();
    }
    std::vector<std::thread> runners;
    for (int t = 1; t < threads; ++t) {
      runners.emplace_back([this] { io_.run(); });
    }
    io_.run();
    for (std::thread& t : runners) t.join();
    BurstSent sent;
    sent.accepted = accepted_.load();
    sent.rejected = triggers_ - sent.accepted;  // failed, refused or unsent
    return sent;
  }

 private:
  // One keep-alive connection's chain of write, read, write, ...: one
  // handler at a time, so it needs no strand.
  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(asio::io_context& io, HttpBurst* burst)
        : burst_(burst), stream_(io) {}

    void Start() {
      stream_.expires_after(absl::ToChronoNanoseconds(kCallTimeout));
      stream_.async_connect(burst_->endpoint_,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (!ec) self->Next();
                            });
    }

   private:
    void Next() {
      const int64_t i = burst_->next_.fetch_add(1);
      if (i >= burst_->triggers_) {
        beast::error_code ignored;  // Done; the server sees a close.
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        return;
      }
      request_ = {bhttp::verb::post, "/run", 11};
      request_.set(bhttp::field::host, "127.0.0.1");
      request_.set(bhttp::field::content_type, "application/json");
      request_.keep_alive(true);
      request_.body() = burst_->Body(i);
      request_.prepare_payload();
      stream_.expires_after(absl::ToChronoNanoseconds(kCallTimeout));
      bhttp::async_write(
          stream_, request_,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (!ec) self->Read();
          });
    }

    void Read() {
      response_ = {};
      bhttp::async_read(
          stream_, buffer_, response_,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return;
            if (self->response_.result() == bhttp::status::ok &&
                Accepted(self->response_.body())) {
              self->burst_->accepted_.fetch_add(1);
            }
            if (self->response_.keep_alive()) self->Next();
          });
    }

    HttpBurst* const burst_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::string_body> request_;
    bhttp::response<bhttp::string_body> response_;
  };

  // Run i's trigger, as a 3.x admin's Gson writes it (README, SPEC §9).
  std::string Body(int64_t i) const {
    return absl::StrFormat(
        R"({"jobId":%d,"executorHandler":"demoJobHandler",)"
        R"("executorParams":"bench","executorBlockStrategy":)"
        R"("SERIAL_EXECUTION","executorTimeout":0,"logId":%d,)"
        R"("logDateTime":%d,"glueType":"BEAN","glueSource":"",)"
        R"("glueUpdatetime":0,"broadcastIndex":0,"broadcastTotal":1})",
        1 + i % jobs_, base_ + i, absl::ToUnixMillis(absl::Now()));
  }

  asio::io_context io_;
  const tcp::endpoint endpoint_;
  const int64_t base_;
  const int64_t triggers_;
  const int jobs_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> accepted_{0};
};

// Best rate and summed exactness of one side's rounds.
struct Side {
  double best_rate = 0;
  int64_t rejected = 0;
  int64_t missing = 0;
  int64_t duplicates = 0;

  void Add(const BurstOutcome& outcome) {
    best_rate = std::max(best_rate, outcome.rate());
    rejected += outcome.rejected;
    missing += outcome.missing;
    duplicates += outcome.duplicates;
  }
  void AddRows(const std::string& prefix, Report& report) const {
    report.Add(prefix + "rate", best_rate, "runs/s");
    report.Add(prefix + "rejected", static_cast<double>(rejected), "runs");
    report.Add(prefix + "missing", static_cast<double>(missing), "runs");
    report.Add(prefix + "duplicates", static_cast<double>(duplicates), "runs");
  }
};

}  // namespace

void RunE2eHttp(const E2eHttpOptions& options, const HandlerRegistry* registry,
                Report& report) {
  RigOptions grpc_options = options.rig;
  grpc_options.http = false;
  RigOptions http_options = options.rig;
  http_options.http = true;
  auto grpc_rig = Rig::Start(grpc_options, registry);
  auto http_rig = Rig::Start(http_options, registry);
  for (const auto* rig : {&grpc_rig, &http_rig}) {
    if (!rig->ok()) {
      report.Note(
          absl::StrCat("e2e_http: rig failed: ", rig->status().ToString()));
      return;
    }
  }
  Rig& by_grpc = **grpc_rig;
  Rig& by_http = **http_rig;
  const int in_flight = std::max(1, options.in_flight);

  const auto over_grpc = [&](int round) {
    const BurstOutcome outcome =
        MeasureBurst(by_grpc, options.triggers, [&](int64_t base) {
          return SendGrpcBurst(by_grpc, base, options.triggers, options.jobs,
                               in_flight);
        });
    AddBurstRows(absl::StrCat("e2e_http.grpc.round", round, "."),
                 "e2e_http over gRPC", outcome, report);
    return outcome;
  };
  const auto over_http = [&](int round) {
    const BurstOutcome outcome =
        MeasureBurst(by_http, options.triggers, [&](int64_t base) {
          HttpBurst burst(by_http.http_port(), base, options.triggers,
                          options.jobs);
          return burst.Send(in_flight, std::max(1, options.client_threads));
        });
    AddBurstRows(absl::StrCat("e2e_http.http.round", round, "."),
                 "e2e_http over HTTP", outcome, report);
    return outcome;
  };

  Side grpc_side;
  Side http_side;
  for (int round = 1; round <= std::max(1, options.rounds); ++round) {
    // gRPC first in odd rounds, HTTP first in even ones.
    if (round % 2 == 1) {
      grpc_side.Add(over_grpc(round));
      http_side.Add(over_http(round));
    } else {
      http_side.Add(over_http(round));
      grpc_side.Add(over_grpc(round));
    }
  }
  grpc_side.AddRows("e2e_http.grpc.", report);
  http_side.AddRows("e2e_http.http.", report);
  if (grpc_side.best_rate > 0) {
    report.Add("e2e_http.ratio_http_to_grpc",
               http_side.best_rate / grpc_side.best_rate, "ratio");
  }
  report.Note(absl::StrCat("e2e_http: ", options.triggers, " runs per burst, ",
                           in_flight, " calls in flight each way, data on ",
                           by_grpc.FileSystem()));
}

}  // namespace xxljob::bench

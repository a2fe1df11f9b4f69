#include "tools/admin_sim/admin_simulator.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/access_token.h"
#include "common/host_port.h"
#include "common/text.h"
#include "glog/logging.h"
#include "grpcpp/alarm.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "tools/admin_sim/admin_http.h"
#include "xxljob/v1/admin.grpc.pb.h"

namespace xxljob {
namespace {

// Human lines show this much of a callback message; the JSON record has all.
constexpr size_t kMaxPrintedMsgBytes = 200;

// A JSON string literal. Proto3 strings are valid UTF-8, so only quotes,
// backslashes and control characters need escaping.
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string JsonLine(absl::Time time, absl::string_view event, bool accepted,
                     absl::string_view fields) {
  return absl::StrCat("{\"time\":",
                      JsonString(absl::FormatTime(absl::RFC3339_full, time,
                                                  absl::UTCTimeZone())),
                      ",\"event\":", JsonString(event),
                      ",\"accepted\":", accepted ? "true" : "false",
                      fields.empty() ? "" : ",", fields, "}");
}

std::string PrintableMsg(absl::string_view msg) {
  if (msg.size() <= kMaxPrintedMsgBytes) return absl::CEscape(msg);
  return absl::StrCat(absl::CEscape(msg.substr(0, kMaxPrintedMsgBytes)),
                      "... (", msg.size(), " bytes)");
}

// Answers a call `delay` after it arrived. The wait is a gRPC alarm, not a
// blocked thread; a cancelled call (client deadline, server shutdown)
// cancels the alarm, whose callback then finishes the call at once.
class DelayedReactor final : public grpc::ServerUnaryReactor {
 public:
  DelayedReactor(grpc::Status status, absl::Duration delay)
      : status_(std::move(status)) {
    // The callback runs exactly once (fired or cancelled), so Finish is
    // called exactly once.
    alarm_.Set(absl::ToChronoTime(absl::Now() + delay),
               [this](bool /*fired*/) { Finish(status_); });
  }
  void OnCancel() override { alarm_.Cancel(); }
  // gRPC calls it after Finish completed; the alarm's callback state is
  // reference-counted inside gRPC, so deleting the alarm here is safe.
  void OnDone() override { delete this; }

 private:
  const grpc::Status status_;
  grpc::Alarm alarm_;
};

}  // namespace

absl::string_view AdminSimModeName(AdminSimMode mode) {
  switch (mode) {
    case AdminSimMode::kAccept:
      return "none";
    case AdminSimMode::kRefuseWithCode500:
      return "code500";
    case AdminSimMode::kUnavailable:
      return "unavailable";
  }
  return "?";
}

absl::StatusOr<AdminSimMode> ParseAdminSimMode(absl::string_view name) {
  for (AdminSimMode mode :
       {AdminSimMode::kAccept, AdminSimMode::kRefuseWithCode500,
        AdminSimMode::kUnavailable}) {
    if (name == AdminSimModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "refusal mode must be none, code500 or unavailable, got \"", name, "\""));
}

// The gRPC face: converts each request, lets the simulator decide and
// record, and answers (at once, or through a DelayedReactor).
class AdminSimulator::Service final : public v1::Admin::CallbackService {
 public:
  explicit Service(AdminSimulator* sim) : sim_(sim) {}

  grpc::ServerUnaryReactor* Registry(grpc::CallbackServerContext* context,
                                     const v1::RegistryRequest* request,
                                     v1::RegistryResponse* response) override {
    return Reply(context,
                 sim_->OnRegistry(TokenOf(*context), context->peer(),
                                  RegistryKind::kRegistry, ToRecord(*request)),
                 response);
  }

  grpc::ServerUnaryReactor* RegistryRemove(
      grpc::CallbackServerContext* context, const v1::RegistryRequest* request,
      v1::RegistryResponse* response) override {
    return Reply(context,
                 sim_->OnRegistry(TokenOf(*context), context->peer(),
                                  RegistryKind::kRemove, ToRecord(*request)),
                 response);
  }

  grpc::ServerUnaryReactor* Callback(grpc::CallbackServerContext* context,
                                     const v1::CallbackRequest* request,
                                     v1::CallbackResponse* response) override {
    const absl::Time now = absl::Now();
    std::vector<RecordedCallback> items;
    items.reserve(request->items_size());
    for (const v1::HandleCallbackParam& item : request->items()) {
      items.push_back({item.log_id(), item.log_date_time(), item.handle_code(),
                       item.handle_msg(), now, request->items_size()});
    }
    return Reply(
        context,
        sim_->OnCallback(TokenOf(*context), context->peer(), std::move(items)),
        response);
  }

 private:
  static std::optional<absl::string_view> TokenOf(
      const grpc::CallbackServerContext& context) {
    const auto& metadata = context.client_metadata();
    const auto it = metadata.find(kAccessTokenKey);
    if (it == metadata.end()) return std::nullopt;
    return absl::string_view(it->second.data(), it->second.size());
  }
  static RecordedRegistry ToRecord(const v1::RegistryRequest& request) {
    return {request.registry_group(), request.registry_key(),
            request.registry_value(), absl::Now()};
  }

  template <typename Response>
  static grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                         Answer answer, Response* response) {
    if (answer.status.ok()) {
      response->set_code(answer.code);
      response->set_msg(std::move(answer.msg));
    }
    if (answer.delay > absl::ZeroDuration()) {
      return new DelayedReactor(std::move(answer.status), answer.delay);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(answer.status);
    return reactor;
  }

  AdminSimulator* const sim_;
};

AdminSimulator::AdminSimulator(AdminSimulatorOptions options)
    : options_(std::move(options)),
      mode_(options_.mode),
      delay_(options_.response_delay) {}

AdminSimulator::~AdminSimulator() { Shutdown(); }

absl::StatusOr<std::unique_ptr<AdminSimulator>> AdminSimulator::Start(
    AdminSimulatorOptions options) {
  absl::StatusOr<HostPort> listen = ParseHostPort(options.listen, "listen");
  if (!listen.ok()) return listen.status();
  if (!IsPrintableAscii(options.access_token)) {
    return absl::InvalidArgumentError(
        "access token must be printable ASCII (it travels as gRPC metadata)");
  }
  if (options.response_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("response delay must not be negative");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  // Not make_unique: the constructor is private.
  std::unique_ptr<AdminSimulator> sim(new AdminSimulator(std::move(options)));
  const AdminSimulatorOptions& o = sim->options_;
  if (!o.record_path.empty()) {
    sim->record_file_.open(o.record_path, std::ios::out | std::ios::app);
    if (!sim->record_file_.is_open()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open record file ", o.record_path, ": ",
                       std::strerror(errno)));
    }
  }
  sim->emit_ = o.out != nullptr || sim->record_file_.is_open();

  // Process-wide and idempotent; the simulator is meant to be described by
  // `grpcurl ... describe` like the executor.
  static const bool reflection = [] {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)reflection;
  sim->service_ = std::make_unique<Service>(sim.get());
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let two simulators (or a
  // simulator and a real admin) share a port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(o.listen, *credentials, &sim->port_);
  builder.RegisterService(sim->service_.get());
  sim->server_ = builder.BuildAndStart();
  if (sim->server_ == nullptr || sim->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", o.listen,
                                               ": address in use or invalid"));
  }
  sim->address_ = FormatHostPort(listen->host, sim->port_);
  if (!o.http_listen.empty()) {
    if (absl::Status s = sim->StartHttpFace(); !s.ok()) return s;
  }
  LOG(INFO) << "admin simulator listening on " << sim->address_
            << " (refuse=" << AdminSimModeName(o.mode) << ", access token "
            << (o.access_token.empty() ? "none" : "checked") << ", "
            << (!o.tls.enabled()               ? "plaintext"
                : o.tls.client_ca_file.empty() ? "TLS"
                                               : "mutual TLS")
            << ")";
  {
    // Calls may already have queued lines: the banner goes before them.
    absl::MutexLock lock(&sim->mu_);
    if (o.out != nullptr) {
      sim->pending_.emplace_front(
          absl::StrCat(o.name, " listening on ", sim->address_), "");
    }
  }
  sim->printer_ = std::thread([s = sim.get()] { s->PrinterLoop(); });
  return sim;
}

void AdminSimulator::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // The HTTP face first: its sessions call into the records below.
  StopHttpFace();
  if (server_ != nullptr) {
    // No grace: every answer is immediate except delayed ones, which the
    // cancellation finishes at once.
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_printer_ = true;
  }
  if (printer_.joinable()) printer_.join();
  if (server_ != nullptr)
    LOG(INFO) << "admin simulator on " << address_ << " stopped";
}

void AdminSimulator::SetMode(AdminSimMode mode) {
  absl::MutexLock lock(&mu_);
  mode_ = mode;
}

void AdminSimulator::SetResponseDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delay_ = delay;
}

AdminSimulator::Answer AdminSimulator::DecideLocked(
    std::optional<absl::string_view> token, absl::string_view event,
    absl::string_view what, absl::string_view json_fields) {
  Answer answer;
  answer.delay = delay_;
  std::string why;
  if (!options_.access_token.empty()) {
    if (!token.has_value() ||
        !ConstantTimeEquals(*token, options_.access_token)) {
      answer.status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                   "missing or wrong access token");
      why = "UNAUTHENTICATED";
    }
  }
  if (why.empty() && mode_ == AdminSimMode::kRefuseWithCode500) {
    answer.code = 500;
    answer.msg = "refused by admin simulator";
    why = "code 500";
  } else if (why.empty() && mode_ == AdminSimMode::kUnavailable) {
    answer.status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "admin simulator is refusing calls");
    why = "UNAVAILABLE";
  }
  if (!why.empty()) {
    ++refused_;
    EmitLocked(
        absl::StrCat("refused ", what, " (", why, ")"),
        JsonLine(absl::Now(), event, false,
                 absl::StrCat("\"refusal\":", JsonString(why),
                              json_fields.empty() ? "" : ",", json_fields)));
  }
  return answer;
}

AdminSimulator::Answer AdminSimulator::OnRegistry(
    std::optional<absl::string_view> token, const std::string& peer,
    RegistryKind kind, RecordedRegistry record) {
  const char* event =
      kind == RegistryKind::kRegistry ? "registry" : "registry_remove";
  const std::string what =
      absl::StrCat(event, " ", record.registry_group, " ", record.registry_key,
                   " ", record.registry_value);
  const std::string fields =
      absl::StrCat("\"registry_group\":", JsonString(record.registry_group),
                   ",\"registry_key\":", JsonString(record.registry_key),
                   ",\"registry_value\":", JsonString(record.registry_value));
  VLOG(1) << what << " from " << peer;
  absl::MutexLock lock(&mu_);
  Answer answer = DecideLocked(token, event, what, fields);
  if (answer.status.ok() && answer.code == 200) {
    EmitLocked(what, JsonLine(record.time, event, true, fields));
    (kind == RegistryKind::kRegistry ? registrations_ : removals_)
        .push_back(std::move(record));
  }
  return answer;
}

AdminSimulator::Answer AdminSimulator::OnCallback(
    std::optional<absl::string_view> token, const std::string& peer,
    std::vector<RecordedCallback> items) {
  std::vector<int64_t> log_ids;
  log_ids.reserve(items.size());
  for (const RecordedCallback& item : items) log_ids.push_back(item.log_id);
  const std::string what =
      absl::StrCat("callback batch=", items.size(),
                   " log_ids=", absl::StrJoin(log_ids, ","));
  VLOG(1) << what << " from " << peer;
  absl::MutexLock lock(&mu_);
  Answer answer = DecideLocked(
      token, "callback", what,
      absl::StrCat("\"batch_size\":", items.size(), ",\"log_ids\":[",
                   absl::StrJoin(log_ids, ","), "]"));
  if (!answer.status.ok() || answer.code != 200) return answer;
  batch_sizes_.push_back(static_cast<int>(items.size()));
  for (RecordedCallback& item : items) {
    EmitLocked(
        absl::StrCat("callback log_id=", item.log_id,
                     " log_date_time=", item.log_date_time,
                     " code=", item.handle_code, " batch=", item.batch_size,
                     " msg=", PrintableMsg(item.handle_msg)),
        JsonLine(item.time, "callback", true,
                 absl::StrCat("\"log_id\":", item.log_id,
                              ",\"log_date_time\":", item.log_date_time,
                              ",\"handle_code\":", item.handle_code,
                              ",\"handle_msg\":", JsonString(item.handle_msg),
                              ",\"batch_size\":", item.batch_size)));
    callbacks_.push_back(std::move(item));
  }
  return answer;
}

void AdminSimulator::EmitLocked(std::string line, std::string json) {
  if (!emit_) return;
  pending_.emplace_back(std::move(line), std::move(json));
}

void AdminSimulator::PrinterLoop() {
  std::ostream* const out = options_.out;
  while (true) {
    std::deque<std::pair<std::string, std::string>> batch;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_.empty() || stopping_printer_;
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // stopping, and everything written
      batch.swap(pending_);
    }
    // Written without the lock: a slow reader of `out` must not hold up
    // the reactors that queue lines.
    for (const auto& [line, json] : batch) {
      if (out != nullptr) {
        *out << line << '\n';
        out->flush();
      }
      if (record_file_.is_open() && !json.empty()) {
        record_file_ << json << '\n';
        record_file_.flush();
      }
    }
  }
}

std::vector<RecordedRegistry> AdminSimulator::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

std::vector<RecordedRegistry> AdminSimulator::removals() const {
  absl::MutexLock lock(&mu_);
  return removals_;
}

std::vector<RecordedCallback> AdminSimulator::callbacks() const {
  absl::MutexLock lock(&mu_);
  return callbacks_;
}

std::vector<int> AdminSimulator::batch_sizes() const {
  absl::MutexLock lock(&mu_);
  return batch_sizes_;
}

int AdminSimulator::CountOf(int64_t log_id) const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const RecordedCallback& item : callbacks_) {
    if (item.log_id == log_id) ++count;
  }
  return count;
}

int64_t AdminSimulator::refused_calls() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

bool AdminSimulator::WaitForCallbacks(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return callbacks_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool AdminSimulator::WaitForRegistrations(size_t n,
                                          absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return registrations_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool AdminSimulator::WaitForRemovals(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return removals_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace xxljob

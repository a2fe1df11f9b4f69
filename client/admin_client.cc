#include "client/admin_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/access_token.h"
#include "common/host_port.h"
#include "common/response_code.h"
#include "common/text.h"
#include "common/utf8.h"
#include "glog/logging.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "rpc/grpc_status.h"

namespace xxljob {
namespace {

// gRPC's default reconnect backoff grows to 120 s: an admin that comes back
// after an outage would keep failing our calls fast (the channel stays in
// TRANSIENT_FAILURE) for up to two minutes. Registration and result delivery
// retry on their own schedules, so a cheap reconnect attempt every few
// seconds at most is the better trade.
constexpr int kMaxReconnectBackoffMs = 5000;

// OK for "host:port" or "[v6]:port" with a non-empty host and a port in
// 1..65535; else INVALID_ARGUMENT naming the address.
absl::Status ValidateAddress(absl::string_view address) {
  const auto bad = [address](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address \"", address, "\": ", why));
  };
  absl::StatusOr<HostPort> parsed = ParseHostPort(address, "admin address");
  if (!parsed.ok()) {
    return bad(
        "must be host:port (an IPv6 host in brackets, as in [::1]:8080)");
  }
  if (parsed->host.empty()) return bad("host is empty");
  for (char c : parsed->host) {
    // Also keeps URLs ("http://...") and paths out: gRPC wants a bare host.
    if (c == '/' || c == ' ' || c < 0x21 || c > 0x7e) {
      return bad("host must be a bare host name or IP address");
    }
  }
  if (parsed->port < 1) return bad("port must be a number in 1..65535");
  return absl::OkStatus();
}

absl::Status ValidateOptions(const AdminClientOptions& options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError(
        "no admin addresses (standalone mode needs no AdminClient)");
  }
  for (const std::string& address : options.addresses) {
    if (absl::Status s = ValidateAddress(address); !s.ok()) return s;
  }
  if (!IsPrintableAscii(options.access_token)) {
    return absl::InvalidArgumentError(
        "access token must be printable ASCII (it travels as gRPC metadata)");
  }
  if (options.timeout <= absl::ZeroDuration() ||
      options.timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin call timeout must be positive and finite, got ",
                     absl::FormatDuration(options.timeout)));
  }
  return absl::OkStatus();
}

v1::RegistryRequest ToRequest(const RegistryParam& param) {
  v1::RegistryRequest request;
  request.set_registry_group(param.registry_group);
  request.set_registry_key(param.registry_key);
  request.set_registry_value(param.registry_value);
  return request;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(
    AdminClientOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  // One set of credentials (and one file watcher) for every admin.
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  LOG(INFO) << "admin client: admins " << absl::StrJoin(options.addresses, ",")
            << ", timeout " << options.timeout << " per admin, access token "
            << (options.access_token.empty() ? "none" : "set") << ", "
            << (!options.tls.enabled            ? "plaintext"
                : options.tls.cert_file.empty() ? "TLS"
                                                : "mutual TLS");
  // Not make_unique: the constructor is private.
  return std::unique_ptr<AdminClient>(new AdminClient(
      std::move(options.addresses), std::move(options.access_token),
      options.timeout, *credentials, options.tls));
}

AdminClient::AdminClient(
    std::vector<std::string> addresses, std::string access_token,
    absl::Duration timeout,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const ClientTlsOptions& tls)
    : addresses_(std::move(addresses)),
      access_token_(std::move(access_token)),
      timeout_(timeout) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  AddTlsChannelArguments(tls, &args);
  stubs_.reserve(addresses_.size());
  for (const std::string& address : addresses_) {
    stubs_.push_back(v1::Admin::NewStub(
        grpc::CreateCustomChannel(address, credentials, args)));
  }
}

template <typename Request, typename Response>
absl::Status AdminClient::CallEach(
    const char* name, const Request& request,
    grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*,
                                            const Request&, Response*)) {
  std::vector<std::string> failures;
  for (size_t i = 0; i < stubs_.size(); ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    if (!access_token_.empty()) {
      context.AddMetadata(kAccessTokenKey, access_token_);
    }
    Response response;
    const grpc::Status status =
        (stubs_[i].get()->*method)(&context, request, &response);
    std::string why;
    if (!status.ok()) {
      why = FromGrpcStatus(status).ToString();
    } else if (response.code() != kResponseCodeSuccess) {
      // A business refusal: the call worked, the admin said no.
      why = absl::StrCat("code ", response.code(), ": ", response.msg());
    } else {
      VLOG(1) << name << " accepted by admin " << addresses_[i];
      return absl::OkStatus();
    }
    // Logged only at VLOG: the caller decides what a failure is worth
    // (the registrar warns once per outage, the reporter retries).
    VLOG(1) << name << " not accepted by admin " << addresses_[i] << ": "
            << why;
    failures.push_back(absl::StrCat(addresses_[i], ": ", why));
  }
  // No "no admin accepted" prefix: FailoverAdminApi, which holds this
  // client among the other admins, says which call failed.
  return absl::UnavailableError(absl::StrJoin(failures, "; "));
}

absl::Status AdminClient::Registry(const RegistryParam& param) {
  return CallEach("Registry", ToRequest(param), &v1::Admin::Stub::Registry);
}

absl::Status AdminClient::RegistryRemove(const RegistryParam& param) {
  return CallEach("RegistryRemove", ToRequest(param),
                  &v1::Admin::Stub::RegistryRemove);
}

absl::Status AdminClient::Callback(const std::vector<RunResult>& results) {
  if (results.empty()) return absl::OkStatus();
  v1::CallbackRequest request;
  request.mutable_items()->Reserve(static_cast<int>(results.size()));
  for (const RunResult& result : results) {
    v1::HandleCallbackParam* item = request.add_items();
    item->set_log_id(result.log_id);
    item->set_log_date_time(result.log_date_time);
    item->set_handle_code(result.handle_code);
    // proto3 strings must be valid UTF-8 or the admin rejects the whole
    // batch, again on every retry. The executor already cleans messages;
    // this also covers results replayed from older outbox files.
    item->set_handle_msg(SanitizeUtf8(result.handle_msg));
  }
  return CallEach("Callback", request, &v1::Admin::Stub::Callback);
}

}  // namespace xxljob

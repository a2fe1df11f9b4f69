#include "client/failover_admin_api.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/admin_client.h"
#include "client/http_admin_client.h"
#include "glog/logging.h"

namespace xxljob {

FailoverAdminApi::FailoverAdminApi(
    std::vector<std::unique_ptr<AdminApi>> admins)
    : admins_(std::move(admins)) {
  CHECK(!admins_.empty()) << "FailoverAdminApi needs at least one admin";
  for (const auto& admin : admins_) CHECK(admin != nullptr);
}

absl::Status FailoverAdminApi::CallEach(
    const char* name, absl::FunctionRef<absl::Status(AdminApi&)> call) {
  std::vector<std::string> failures;
  for (const std::unique_ptr<AdminApi>& admin : admins_) {
    const absl::Status status = call(*admin);
    if (status.ok()) return status;
    failures.emplace_back(status.message());
  }
  return absl::UnavailableError(absl::StrCat("no admin accepted ", name, ": ",
                                             absl::StrJoin(failures, "; ")));
}

absl::Status FailoverAdminApi::Registry(const RegistryParam& param) {
  return CallEach("Registry",
                  [&param](AdminApi& admin) { return admin.Registry(param); });
}

absl::Status FailoverAdminApi::RegistryRemove(const RegistryParam& param) {
  return CallEach("RegistryRemove", [&param](AdminApi& admin) {
    return admin.RegistryRemove(param);
  });
}

absl::Status FailoverAdminApi::Callback(const std::vector<RunResult>& results) {
  if (results.empty()) return absl::OkStatus();
  return CallEach("Callback", [&results](AdminApi& admin) {
    return admin.Callback(results);
  });
}

namespace {

absl::StatusOr<std::unique_ptr<AdminApi>> NewHttpAdmin(
    const AdminApiOptions& options, const std::string& url) {
  HttpAdminClientOptions http;
  http.url = url;
  http.access_token = options.access_token;
  http.app_name = options.app_name;
  http.protocol = options.protocol;
  http.timeout = options.timeout;
  if (absl::StartsWithIgnoreCase(url, "https://")) {
    if (!options.tls.server_name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "admin URL \"", url,
          "\": a TLS server name applies to gRPC admins only; write the "
          "URL with the name the admin's certificate carries"));
    }
    http.ca_file = options.tls.ca_file;
    http.cert_file = options.tls.cert_file;
    http.key_file = options.tls.key_file;
    http.refresh_interval = options.tls.refresh_interval;
  } else if (options.tls.enabled) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin URL \"", url,
        "\": TLS to the admins is enabled but the URL is http://; use "
        "https://"));
  }
  absl::StatusOr<std::unique_ptr<HttpAdminClient>> client =
      HttpAdminClient::Create(std::move(http));
  if (!client.ok()) return client.status();
  return std::unique_ptr<AdminApi>(*std::move(client));
}

absl::StatusOr<std::unique_ptr<AdminApi>> NewGrpcAdmins(
    const AdminApiOptions& options, std::vector<std::string> addresses) {
  AdminClientOptions grpc;
  grpc.addresses = std::move(addresses);
  grpc.access_token = options.access_token;
  grpc.timeout = options.timeout;
  grpc.tls = options.tls;
  absl::StatusOr<std::unique_ptr<AdminClient>> client =
      AdminClient::Create(std::move(grpc));
  if (!client.ok()) return client.status();
  return std::unique_ptr<AdminApi>(*std::move(client));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminApi>> NewAdminApi(
    const AdminApiOptions& options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError(
        "no admin addresses (standalone mode needs no admin client)");
  }
  std::vector<std::unique_ptr<AdminApi>> admins;
  std::vector<std::string> grpc_run;
  // Closes the current run of gRPC addresses into one AdminClient.
  const auto flush = [&]() -> absl::Status {
    if (grpc_run.empty()) return absl::OkStatus();
    const std::string label = absl::StrJoin(grpc_run, ",");
    absl::StatusOr<std::unique_ptr<AdminApi>> admin =
        NewGrpcAdmins(options, std::exchange(grpc_run, {}));
    if (!admin.ok()) return admin.status();
    admins.push_back(options.wrap != nullptr
                         ? options.wrap(label, *std::move(admin))
                         : *std::move(admin));
    return absl::OkStatus();
  };
  for (const std::string& address : options.addresses) {
    if (!IsHttpAdminAddress(address)) {
      grpc_run.push_back(address);
      continue;
    }
    if (absl::Status s = flush(); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<AdminApi>> admin =
        NewHttpAdmin(options, address);
    if (!admin.ok()) return admin.status();
    admins.push_back(options.wrap != nullptr
                         ? options.wrap(address, *std::move(admin))
                         : *std::move(admin));
  }
  if (absl::Status s = flush(); !s.ok()) return s;
  return std::make_unique<FailoverAdminApi>(std::move(admins));
}

}  // namespace xxljob

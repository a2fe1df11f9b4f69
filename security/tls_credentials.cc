#include "security/tls_credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace xxljob {
namespace {

using ::grpc::experimental::FileWatcherCertificateProvider;

// Larger than any sane bundle (the system's holds ~150 CAs in ~200 KB);
// keeps a wrong path (a log file, a device) from being read whole.
constexpr std::streamsize kMaxPemFileBytes = 16 << 20;

enum class PemKind { kCertificate, kPrivateKey };

// OK when `path` is readable and holds a PEM block of `kind`;
// FAILED_PRECONDITION naming `what` and the file otherwise.
absl::Status CheckPemFile(const std::string& path, const char* what,
                          PemKind kind) {
  const auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS ", what, " file \"", path, "\": ", why));
  };
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return fail(std::strerror(errno));
  std::string text(kMaxPemFileBytes + 1, '\0');
  in.read(text.data(), kMaxPemFileBytes + 1);
  if (in.bad()) return fail("cannot be read");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxPemFileBytes)) {
    return fail("larger than 16 MiB; not a PEM file");
  }
  if (kind == PemKind::kCertificate) {
    if (!absl::StrContains(text, "-----BEGIN CERTIFICATE-----")) {
      return fail("holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return absl::OkStatus();
  }
  if (absl::StrContains(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
    return fail("the key is encrypted; gRPC needs an unencrypted key");
  }
  if (!absl::StrContains(text, "-----BEGIN") ||
      !absl::StrContains(text, "PRIVATE KEY-----")) {
    return fail("holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)");
  }
  return absl::OkStatus();
}

// Both or neither of a certificate and its key.
absl::Status CheckPair(const std::string& cert_file,
                       const std::string& key_file) {
  if (!cert_file.empty() && key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS certificate file \"", cert_file, "\" given without its key file"));
  }
  if (cert_file.empty() && !key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS key file \"", key_file, "\" given without its certificate file"));
  }
  if (cert_file.empty()) return absl::OkStatus();
  if (absl::Status s =
          CheckPemFile(cert_file, "certificate", PemKind::kCertificate);
      !s.ok()) {
    return s;
  }
  return CheckPemFile(key_file, "key", PemKind::kPrivateKey);
}

absl::Status CheckRefreshInterval(absl::Duration interval) {
  if (interval >= absl::Seconds(1) && interval != absl::InfiniteDuration()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("TLS refresh interval must be at least 1s and finite, got ",
                   absl::FormatDuration(interval)));
}

// gRPC re-reads in whole seconds.
unsigned int RefreshSeconds(absl::Duration interval) {
  return static_cast<unsigned int>(absl::ToInt64Seconds(interval));
}

}  // namespace

absl::Status ValidateServerTls(const ServerTlsOptions& options) {
  if (!options.enabled()) {
    if (!options.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "a TLS client CA file needs the server's certificate and key "
          "files");
    }
    return absl::OkStatus();
  }
  if (absl::Status s = CheckPair(options.cert_file, options.key_file);
      !s.ok()) {
    return s;
  }
  if (!options.client_ca_file.empty()) {
    if (absl::Status s = CheckPemFile(options.client_ca_file, "client CA",
                                      PemKind::kCertificate);
        !s.ok()) {
      return s;
    }
  }
  return CheckRefreshInterval(options.refresh_interval);
}

absl::Status ValidateClientTls(const ClientTlsOptions& options) {
  if (!options.enabled) {
    if (!options.ca_file.empty() || !options.cert_file.empty() ||
        !options.key_file.empty() || !options.server_name.empty()) {
      return absl::InvalidArgumentError(
          "TLS files or a server name given while TLS is off");
    }
    return absl::OkStatus();
  }
  if (!options.ca_file.empty()) {
    if (absl::Status s =
            CheckPemFile(options.ca_file, "CA", PemKind::kCertificate);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = CheckPair(options.cert_file, options.key_file);
      !s.ok()) {
    return s;
  }
  return CheckRefreshInterval(options.refresh_interval);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  if (absl::Status s = ValidateServerTls(options); !s.ok()) return s;
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  // Reads the files once now, then on its own thread every interval.
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file,
      RefreshSeconds(options.refresh_interval));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsOptions& options) {
  if (absl::Status s = ValidateClientTls(options); !s.ok()) return s;
  if (!options.enabled) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions tls;
  // Without a provider gRPC uses the system's roots and sends no client
  // certificate; the provider wants at least one of the two.
  if (!options.ca_file.empty() || !options.cert_file.empty()) {
    tls.set_certificate_provider(
        std::make_shared<FileWatcherCertificateProvider>(
            options.key_file, options.cert_file, options.ca_file,
            RefreshSeconds(options.refresh_interval)));
  }
  if (!options.ca_file.empty()) tls.watch_root_certs();
  if (!options.cert_file.empty()) tls.watch_identity_key_cert_pairs();
  // The chain is verified by default; the name only with a verifier. Set
  // explicitly, so that no gRPC version's default can drop the check.
  tls.set_verify_server_certs(true);
  tls.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(tls);
}

void AddTlsChannelArguments(const ClientTlsOptions& options,
                            grpc::ChannelArguments* args) {
  if (options.enabled && !options.server_name.empty()) {
    args->SetSslTargetNameOverride(options.server_name);
  }
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& target, const ClientTlsOptions& options,
    grpc::ChannelArguments args) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options);
  if (!credentials.ok()) return credentials.status();
  AddTlsChannelArguments(options, &args);
  return grpc::CreateCustomChannel(target, *credentials, args);
}

}  // namespace xxljob

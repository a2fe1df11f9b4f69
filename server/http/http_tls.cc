#include "server/http/http_tls.h"

#include <openssl/ssl.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

namespace ssl = boost::asio::ssl;

// Names the session cache of this server: OpenSSL refuses to resume a
// session that was verified against a client CA without one.
constexpr unsigned char kSessionIdContext[] = "xxl-executor-http";

absl::Status Refused(absl::string_view what, const std::string& file,
                     const boost::system::error_code& ec) {
  return absl::FailedPreconditionError(
      absl::StrCat("TLS ", what, " file \"", file, "\": ", ec.message()));
}

// A fresh context from the files of `o`.
absl::StatusOr<std::shared_ptr<ssl::context>> Load(const ServerTlsOptions& o) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return absl::InternalError("OpenSSL can't require TLS 1.2");
  }
  context->set_options(ssl::context::default_workarounds |
                       ssl::context::no_compression |
                       ssl::context::single_dh_use);
  boost::system::error_code ec;
  context->use_certificate_chain_file(o.cert_file, ec);
  if (ec) return Refused("certificate", o.cert_file, ec);
  context->use_private_key_file(o.key_file, ssl::context::pem, ec);
  if (ec) return Refused("key", o.key_file, ec);
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TLS key file \"", o.key_file, "\" does not match the certificate \"",
        o.cert_file, "\""));
  }
  SSL_CTX_set_session_id_context(native, kSessionIdContext,
                                 sizeof(kSessionIdContext) - 1);
  if (!o.client_ca_file.empty()) {
    context->load_verify_file(o.client_ca_file, ec);
    if (ec) return Refused("client CA", o.client_ca_file, ec);
    context->set_verify_mode(
        ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return Refused("client CA", o.client_ca_file, ec);
    // Tells clients which CAs to present a certificate from.
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(o.client_ca_file.c_str());
        names != nullptr) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  return context;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTlsContexts>> HttpTlsContexts::Create(
    ServerTlsOptions options) {
  if (absl::Status s = ValidateServerTls(options); !s.ok()) return s;
  if (!options.enabled()) {
    return absl::InvalidArgumentError("HTTP TLS needs a certificate and key");
  }
  absl::StatusOr<std::shared_ptr<ssl::context>> context = Load(options);
  if (!context.ok()) return context.status();
  return std::unique_ptr<HttpTlsContexts>(
      new HttpTlsContexts(std::move(options), *std::move(context)));
}

HttpTlsContexts::HttpTlsContexts(ServerTlsOptions options,
                                 std::shared_ptr<ssl::context> context)
    : options_(std::move(options)),
      context_(std::move(context)),
      next_load_(absl::Now() + options_.refresh_interval) {}

std::shared_ptr<ssl::context> HttpTlsContexts::Current() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (now < next_load_) return context_;
  next_load_ = now + options_.refresh_interval;
  absl::StatusOr<std::shared_ptr<ssl::context>> fresh = Load(options_);
  if (fresh.ok()) {
    context_ = *std::move(fresh);
  } else {
    LOG(WARNING) << "HTTP TLS: keeping the certificate in use: "
                 << fresh.status().message();
  }
  return context_;
}

}  // namespace xxljob

// TLS for every gRPC endpoint of the project: the executor's server, the
// admin simulator's server, and the clients (the executor's admin client,
// xxl-ctl). Options name PEM files; the credentials built from them re-read
// the files every `refresh_interval`, so a rotated certificate, key or CA
// takes effect for new connections without a restart. Plaintext is what
// default-constructed options give.
//
// A library of its own, below both the client and the service libraries, so
// that each can take TLS options without depending on the other.
#ifndef XXLJOB_SECURITY_TLS_CREDENTIALS_H_
#define XXLJOB_SECURITY_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace xxljob {

// How often certificate files are re-read unless told otherwise: a rotation
// reaches new connections within this long, for the price of reading two or
// three small files.
inline constexpr absl::Duration kDefaultTlsRefreshInterval = absl::Seconds(10);

// A server's TLS. Replace files by renaming a complete new file over the old
// one: a file that is missing or half-written when it is re-read makes
// handshakes fail until the next read finds it whole.
struct ServerTlsOptions {
  // The server's PEM certificate chain and private key, both or neither.
  // Neither: plaintext (the default).
  std::string cert_file;
  std::string key_file;
  // A PEM CA bundle. When set, TLS is mutual: a client must present a
  // certificate that chains to one of these CAs, or its handshake fails.
  // Needs cert_file.
  std::string client_ca_file;
  // How often the files are re-read. Whole seconds, at least one.
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// A client's TLS.
struct ClientTlsOptions {
  // Off (the default): plaintext, and the file and name fields must be
  // empty, so that a CA given to a plaintext client is an error, not a
  // silent downgrade.
  bool enabled = false;
  // A PEM CA bundle the server's certificate must chain to. Empty: the
  // system's roots.
  std::string ca_file;
  // The client's PEM certificate chain and private key for mutual TLS, both
  // or neither.
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry, also sent as SNI. Empty:
  // the host part of the target. Set it when the target is an IP address
  // that the certificate does not list, or a name other than the one in it.
  std::string server_name;
  // How often the CA and client certificate files are re-read. Whole
  // seconds, at least one.
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;
};

// Checks `options` and the files it names. OK for plaintext options.
// INVALID_ARGUMENT: a certificate without its key or the reverse, a client
// CA without a server certificate, a refresh interval under a second or
// infinite, client fields set while `enabled` is false. FAILED_PRECONDITION:
// a named file that cannot be read or holds no PEM block of the expected
// kind (the message names the file). Reads the files; does not check that a
// key matches its certificate (a mismatch fails every handshake).
absl::Status ValidateServerTls(const ServerTlsOptions& options);
absl::Status ValidateClientTls(const ClientTlsOptions& options);

// Server credentials for `options`: insecure ones when TLS is off, else
// TLS from the files, re-read every refresh interval by a thread that lives
// as long as the credentials (and the servers built with them). Errors: as
// ValidateServerTls.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

// Channel credentials for `options`: insecure ones when TLS is off, else TLS
// that verifies the server's certificate chain and name (see server_name),
// with the client certificate when one is given. Files are re-read as for
// servers. Errors: as ValidateClientTls.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsOptions& options);

// Adds what `options` needs to a channel's arguments (the server-name
// override). Use with MakeChannelCredentials when building channels by hand.
void AddTlsChannelArguments(const ClientTlsOptions& options,
                            grpc::ChannelArguments* args);

// A channel (connecting lazily) to `target` with credentials and arguments
// for `options`, on top of `args`. Errors: as ValidateClientTls.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& target, const ClientTlsOptions& options,
    grpc::ChannelArguments args = {});

}  // namespace xxljob

#endif  // XXLJOB_SECURITY_TLS_CREDENTIALS_H_

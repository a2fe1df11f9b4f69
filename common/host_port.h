// "host:port" addresses, as flags and options spell them: the one parser and
// formatter every binary and library uses, so that "[::1]:9999", a missing
// port and a bare IPv6 host mean the same thing everywhere.
#ifndef XXLJOB_COMMON_HOST_PORT_H_
#define XXLJOB_COMMON_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xxljob {

struct HostPort {
  // Without brackets: "::1", "10.0.0.1", "admin.example", or "" (any).
  std::string host;
  int port = 0;
};

// Parses "host:port" or "[v6]:port" with a port in 0..65535 (0: pick a free
// one, for listen addresses). The host may be empty (":9999"). Errors:
// INVALID_ARGUMENT naming `what` and the text, e.g. `listen must be
// host:port (port 0..65535), got "x"`; a bare IPv6 host (no brackets) is
// refused, since its last colon would be taken for the port's.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       absl::string_view what);

// host:port again, with brackets around an IPv6 host.
std::string FormatHostPort(absl::string_view host, int port);

// True for a host that listens on every interface: "", "0.0.0.0", "::".
bool IsWildcardHost(absl::string_view host);

// The host others should use to reach a server listening on `listen_host`:
// that host, or, listening on every interface, the first IPv4 address of an
// interface that is up and not loopback (127.0.0.1 when there is none: a
// laptop offline, a bare container).
std::string AdvertisedHost(absl::string_view listen_host);

// True when `host` reaches this machine only: "localhost", 127.0.0.0/8, ::1.
bool IsLoopbackHost(absl::string_view host);

// "ipv4:10.0.0.1:5000" -> "ipv4:10.0.0.1", "ipv6:[::1]:5000" -> "ipv6:[::1]",
// "10.0.0.1:5000" -> "10.0.0.1": a peer without its port (a client opens a
// new port per connection). Text that does not end in ":digits" is
// returned whole.
std::string PeerHost(absl::string_view peer);

}  // namespace xxljob

#endif  // XXLJOB_COMMON_HOST_PORT_H_

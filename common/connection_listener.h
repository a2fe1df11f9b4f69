// The executor's own accept loop: a listening TCP socket whose accepted
// connections are handed to a transport (gRPC, through its external
// connection acceptor), with a bound on the connections open at once and an
// accept loop that survives running out of descriptors.
//
// Why not gRPC's own listener: gRPC 1.51's accept loop stops for good on an
// accept error other than EAGAIN/EINTR/ECONNABORTED (EMFILE among them), it
// has no bound on incoming connections, and its only defence, dropping
// connections under memory pressure, does not protect descriptors.
// docs/design.md, "Descriptors", has the whole argument.
//
// How connections are counted: the transport owns an accepted descriptor
// and closes it when it is done; nothing tells us. The listener remembers
// each connection as (descriptor, device, inode): a connection is open while
// its descriptor still names the same socket. Entries are checked with
// fstat() only when the bound is reached, at most once per kSweepInterval,
// so the count costs nothing below the bound and little at it.
#ifndef XXLJOB_COMMON_CONNECTION_LISTENER_H_
#define XXLJOB_COMMON_CONNECTION_LISTENER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xxljob {

struct ConnectionListenerOptions {
  // Where to listen. An empty host, "0.0.0.0" or "::" is every interface
  // of both families (one dual-stack socket; IPv4 alone without IPv6);
  // a name is resolved and every address it has is bound. Port 0 picks a
  // free port (the same one for every address).
  std::string host;
  int port = 0;
  // Connections open at once. One more is accepted and closed at once, so
  // the client fails fast and retries instead of waiting in the backlog.
  int max_connections = 1024;
  // For log lines: which transport this is ("gRPC").
  std::string name = "gRPC";
};

// A transport's connections, for monitoring.
struct ConnectionCounts {
  int64_t open = 0;
  int64_t limit = 0;
  // Closed at accept: at the bound, or for lack of descriptors.
  int64_t refused = 0;
};

// Owns the listening sockets and the accept thread. Start() once, Stop()
// (or the destructor) joins the thread. Thread-safe: the counters may be
// read from any thread.
class ConnectionListener {
 public:
  // Takes ownership of an accepted, non-blocking, close-on-exec socket.
  using Handoff = std::function<void(int fd)>;

  // How often a full listener re-checks which connections are still open.
  static constexpr absl::Duration kSweepInterval = absl::Milliseconds(100);
  // How long accepting pauses after it failed for lack of descriptors (or
  // memory) before it tries again.
  static constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

  // Binds and listens (nothing is accepted before Start). Errors:
  // INVALID_ARGUMENT for a host that does not resolve or a bound < 1,
  // UNAVAILABLE when the address can't be bound (in use, not local).
  static absl::StatusOr<std::unique_ptr<ConnectionListener>> Bind(
      ConnectionListenerOptions options);
  ~ConnectionListener();
  ConnectionListener(const ConnectionListener&) = delete;
  ConnectionListener& operator=(const ConnectionListener&) = delete;

  // The bound port.
  int port() const { return port_; }
  // A listening descriptor (the first), for transports that want one.
  int listen_fd() const { return listen_fds_.front(); }

  // Starts the accept thread; each accepted connection goes to `handoff`,
  // on that thread. REQUIRES: called once.
  void Start(Handoff handoff);
  // Stops accepting and joins the thread; connections already handed off
  // are the transport's. Idempotent.
  void Stop();

  // Connections handed off and (as of the last check) still open.
  int tracked_connections() const { return tracked_.load(); }
  // Connections closed at once because the bound was reached.
  int64_t refused_connections() const { return refused_.load(); }
  // Times accept() failed for lack of descriptors or memory.
  int64_t accept_failures() const { return accept_failures_.load(); }

 private:
  struct Connection {
    int fd;
    dev_t dev;
    ino_t ino;
  };

  explicit ConnectionListener(ConnectionListenerOptions options);

  void Loop();
  // Accepts from `listen_fd` until it would block. False when accepting
  // failed for lack of resources (the caller pauses).
  bool AcceptAll(int listen_fd);
  // Takes one connection (fd >= 0): hands it off, or refuses it at the bound.
  void Admit(int fd);
  // Forgets connections whose descriptor no longer names their socket.
  void Sweep();
  // accept() failed with EMFILE and the like: frees the spare descriptor to
  // take (and close) one waiting connection, so clients are not left
  // hanging, then pauses.
  void OnNoDescriptors(int listen_fd, int error);

  const ConnectionListenerOptions options_;
  std::vector<int> listen_fds_;
  int port_ = 0;
  // Wakes the loop to stop.
  int wake_fd_ = -1;
  // Held open so that a connection can be accepted (and closed) even when
  // the process has no descriptor left; -1 while it is in use.
  int spare_fd_ = -1;
  Handoff handoff_;
  std::thread thread_;

  // Only the accept thread touches these.
  std::vector<Connection> connections_;
  absl::Time last_sweep_ = absl::InfinitePast();
  absl::Time last_warning_ = absl::InfinitePast();

  std::atomic<int> tracked_{0};
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> accept_failures_{0};
};

}  // namespace xxljob

#endif  // XXLJOB_COMMON_CONNECTION_LISTENER_H_

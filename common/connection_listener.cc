#include "common/connection_listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

// What listen() may queue before we accept: the kernel caps it at
// net.core.somaxconn.
constexpr int kBacklog = 4096;
// Trouble is logged at most this often.
constexpr absl::Duration kWarningInterval = absl::Seconds(10);

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

// A socket bound to `addr` and listening, or -1 with errno set.
int ListenOn(const sockaddr* addr, socklen_t len, bool dual_stack) {
  const int fd =
      socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  const int zero = 0;
  // SO_REUSEADDR (not SO_REUSEPORT): a restart may bind while old
  // connections linger in TIME_WAIT, but a second executor can't share the
  // port.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr->sa_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one,
               sizeof(int));
  }
  if (bind(fd, addr, len) != 0 || listen(fd, kBacklog) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// Sets `port` in an AF_INET or AF_INET6 address.
void SetPort(sockaddr* addr, int port) {
  if (addr->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(port);
  }
}

// Every interface of both families, as with gRPC's own listener: one
// dual-stack socket, or IPv4 alone where IPv6 is unavailable. -1 with errno.
int ListenOnWildcard(int port) {
  sockaddr_in6 any6{};
  any6.sin6_family = AF_INET6;
  any6.sin6_addr = in6addr_any;
  any6.sin6_port = htons(port);
  const int fd = ListenOn(reinterpret_cast<sockaddr*>(&any6), sizeof(any6),
                          /*dual_stack=*/true);
  if (fd >= 0 || errno == EADDRINUSE || errno == EACCES) return fd;
  sockaddr_in any4{};
  any4.sin_family = AF_INET;
  any4.sin_addr.s_addr = htonl(INADDR_ANY);
  any4.sin_port = htons(port);
  return ListenOn(reinterpret_cast<sockaddr*>(&any4), sizeof(any4), false);
}

// Every address `host` resolves to, on one port (`port`, or the one the
// first address got). Addresses this host can't have (IPv6 turned off) are
// skipped; anything else fails. Appends to `fds`; an errno, or 0.
int ListenOnResolved(const std::string& host, int port, std::vector<int>* fds,
                     std::string* resolve_error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    *resolve_error = gai_strerror(rc);
    return EINVAL;
  }
  int error = 0;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    SetPort(a->ai_addr, port);
    const int fd = ListenOn(a->ai_addr, a->ai_addrlen, false);
    if (fd >= 0) {
      fds->push_back(fd);
      if (port == 0) port = LocalPort(fd);
      continue;
    }
    error = errno;
    if (error != EADDRNOTAVAIL && error != EAFNOSUPPORT) break;
  }
  freeaddrinfo(found);
  if (error == EADDRNOTAVAIL || error == EAFNOSUPPORT) {
    return fds->empty() ? error : 0;
  }
  return error;
}

}  // namespace

ConnectionListener::ConnectionListener(ConnectionListenerOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ConnectionListener>> ConnectionListener::Bind(
    ConnectionListenerOptions options) {
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_connections must be >= 1, got ", options.max_connections));
  }
  std::unique_ptr<ConnectionListener> l(
      new ConnectionListener(std::move(options)));
  const std::string& host = l->options_.host;
  const std::string where =
      host.find(':') == std::string::npos
          ? absl::StrCat(host, ":", l->options_.port)
          : absl::StrCat("[", host, "]:", l->options_.port);
  int error = 0;
  std::string resolve_error;
  if (IsWildcard(host)) {
    const int fd = ListenOnWildcard(l->options_.port);
    if (fd >= 0) l->listen_fds_.push_back(fd);
    error = fd >= 0 ? 0 : errno;
  } else {
    error = ListenOnResolved(host, l->options_.port, &l->listen_fds_,
                             &resolve_error);
  }
  if (!resolve_error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", where, ": ", resolve_error));
  }
  if (error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", strerror(error)));
  }
  l->port_ = LocalPort(l->listen_fds_.front());
  l->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  l->spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (l->wake_fd_ < 0 || l->spare_fd_ < 0 || l->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", strerror(errno)));
  }
  return l;
}

ConnectionListener::~ConnectionListener() {
  Stop();
  for (int fd : listen_fds_) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (spare_fd_ >= 0) close(spare_fd_);
}

void ConnectionListener::Start(Handoff handoff) {
  handoff_ = std::move(handoff);
  thread_ = std::thread([this] { Loop(); });
}

void ConnectionListener::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void ConnectionListener::Loop() {
  std::vector<pollfd> fds;
  bool paused = false;
  while (true) {
    // While paused (no descriptors) the listening sockets stay out of the
    // poll: they are readable, and would make it spin.
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    if (!paused) {
      for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
    }
    const int timeout_ms =
        paused ? static_cast<int>(absl::ToInt64Milliseconds(kRetryPause)) : -1;
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      PLOG(ERROR) << options_.name << " listener: poll";
      paused = true;
      continue;
    }
    if (fds[0].revents != 0) return;
    paused = false;
    for (int fd : listen_fds_) {
      if (!AcceptAll(fd)) paused = true;
    }
  }
}

bool ConnectionListener::AcceptAll(int listen_fd) {
  while (true) {
    const int fd =
        accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Admit(fd);
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return true;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
      case EPERM:  // A firewall rule refused it.
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        OnNoDescriptors(listen_fd, errno);
        return false;
      default:
        // Not expected on a listening socket; pause rather than spin, and
        // never stop accepting.
        OnNoDescriptors(listen_fd, errno);
        return false;
    }
  }
}

void ConnectionListener::Admit(int fd) {
  const absl::Time now = absl::Now();
  if (static_cast<int>(connections_.size()) >= options_.max_connections &&
      now - last_sweep_ >= kSweepInterval) {
    Sweep();
    last_sweep_ = now;
  }
  if (static_cast<int>(connections_.size()) >= options_.max_connections) {
    // Counted before the close, which is what the client sees.
    const int64_t refused = ++refused_;
    close(fd);
    if (now - last_warning_ >= kWarningInterval) {
      LOG(WARNING) << options_.name
                   << ": refusing connections: " << options_.max_connections
                   << " are open (max_connections=" << options_.max_connections
                   << "); " << refused << " refused since start";
      last_warning_ = now;
    }
    return;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  const int one = 1;
  // gRPC's own listener sets it too: small frames go out at once.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  connections_.push_back({fd, st.st_dev, st.st_ino});
  tracked_.store(static_cast<int>(connections_.size()));
  handoff_(fd);
}

void ConnectionListener::Sweep() {
  size_t kept = 0;
  for (const Connection& c : connections_) {
    struct stat st {};
    // Closed by the transport, or its number reused for another file.
    if (fstat(c.fd, &st) != 0 || st.st_dev != c.dev || st.st_ino != c.ino) {
      continue;
    }
    connections_[kept++] = c;
  }
  connections_.resize(kept);
  tracked_.store(static_cast<int>(kept));
}

void ConnectionListener::OnNoDescriptors(int listen_fd, int error) {
  ++accept_failures_;
  // Take one waiting connection and close it: its client gets an answer
  // (a reset) instead of a connection that hangs in the backlog.
  if (spare_fd_ >= 0 && (error == EMFILE || error == ENFILE)) {
    close(spare_fd_);
    spare_fd_ = -1;
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) close(fd);
  }
  if (spare_fd_ < 0) spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const absl::Time now = absl::Now();
  if (now - last_warning_ >= kWarningInterval) {
    LOG(WARNING) << options_.name << ": cannot accept connections ("
                 << strerror(error) << "); retrying every "
                 << absl::FormatDuration(kRetryPause) << " with "
                 << connections_.size() << " open";
    last_warning_ = now;
  }
}

}  // namespace xxljob

// Owns a file descriptor and closes it when it goes.
#ifndef XXLJOB_COMMON_UNIQUE_FD_H_
#define XXLJOB_COMMON_UNIQUE_FD_H_

#include <unistd.h>

namespace xxljob {

// Owns a file descriptor (-1: none). Movable, not copyable; not
// thread-safe.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  // Closes the current descriptor, if any, and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Gives up ownership without closing.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace xxljob

#endif  // XXLJOB_COMMON_UNIQUE_FD_H_

// A small real filesystem that tests can fill up: a tmpfs of a given size
// mounted on a fresh directory, unmounted when the object goes. Mounting
// needs CAP_SYS_ADMIN (root outside a restricted container); without it,
// mounted() is false and why() says why, so the test can skip saying so.
//
//   SmallTmpfs disk(2 << 20);
//   if (!disk.mounted()) GTEST_SKIP() << disk.why();
//   ASSERT_TRUE(disk.Fill());   // ENOSPC from here on
//   disk.Free();                // room again
#ifndef XXLJOB_TESTS_TESTING_SMALL_TMPFS_H_
#define XXLJOB_TESTS_TESTING_SMALL_TMPFS_H_

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/temp_dir.h"

namespace xxljob::testing {

class SmallTmpfs {
 public:
  explicit SmallTmpfs(size_t bytes) : path_(dir_.path() + "/mnt") {
    std::filesystem::create_directories(path_);
    const std::string options = absl::StrCat("size=", bytes, ",mode=0755");
    if (mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_ =
          absl::StrCat("can't mount a ", bytes, "-byte tmpfs on ", path_, " (",
                       std::strerror(errno), "); the test needs CAP_SYS_ADMIN");
      return;
    }
    mounted_ = true;
  }
  // Lazily, so a process still holding files in it (an executor killed a
  // moment ago) can't keep the mount alive.
  ~SmallTmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& path() const { return path_; }

  // Writes a filler file until the filesystem refuses with ENOSPC. True if
  // it did; false on any other outcome.
  bool Fill() {
    const std::string filler = path_ + "/filler";
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return false;
    const std::string chunk(64 * 1024, 'f');
    int error = 0;
    for (;;) {
      const ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n < 0) {
        error = errno;
        break;
      }
    }
    // Then byte by byte into what a short last write left.
    while (error == ENOSPC && write(fd, "f", 1) == 1) {
    }
    close(fd);
    return error == ENOSPC;
  }
  // Removes the filler.
  void Free() {
    std::error_code ec;
    std::filesystem::remove(path_ + "/filler", ec);
  }

 private:
  TempDir dir_;
  std::string path_;
  bool mounted_ = false;
  std::string why_;
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_SMALL_TMPFS_H_

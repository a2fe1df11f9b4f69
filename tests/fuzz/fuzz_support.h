// What the libFuzzer targets in tests/fuzz/ share: a scratch directory, quiet
// logging, a failing check that libFuzzer reports as a crash, and a UTF-8
// validator written independently of common/utf8.cc (so the targets
// check that code instead of trusting it).
#ifndef XXLJOB_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define XXLJOB_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "google/protobuf/stubs/logging.h"

// A broken invariant: prints what and where, then aborts, which libFuzzer
// reports as a crash and saves the input.
#define FUZZ_CHECK(cond, ...)                                           \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n  ", __FILE__, \
                   __LINE__, #cond);                                    \
      std::fprintf(stderr, __VA_ARGS__);                                \
      std::fprintf(stderr, "\n");                                       \
      std::abort();                                                     \
    }                                                                   \
  } while (0)

namespace xxljob::fuzz {

// Silences glog and protobuf's own logging (a target logs thousands of
// expected warnings per second otherwise) unless XXL_FUZZ_VERBOSE is set.
// FATAL (CHECK failures) still prints.
inline void QuietLogging() {
  if (std::getenv("XXL_FUZZ_VERBOSE") != nullptr) return;
  FLAGS_minloglevel = google::GLOG_FATAL;
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
}

// A fresh directory for this process, on tmpfs when there is one (a target
// writes and removes files on every input), removed at exit.
inline const std::string& ScratchDir(absl::string_view name) {
  static const std::string* dir = [name] {
    std::string base = "/dev/shm";
    if (access(base.c_str(), W_OK) != 0) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp != nullptr ? tmp : "/tmp";
    }
    std::string pattern = base + "/xxl-fuzz-" + std::string(name) + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* path = new std::string(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return path;
  }();
  return *dir;
}

// True if `text` is well-formed UTF-8 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
inline bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = text[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace xxljob::fuzz

#endif  // XXLJOB_TESTS_FUZZ_FUZZ_SUPPORT_H_

// Small checks on text that crosses a trust boundary (flags, tokens, names
// that travel in headers or metadata).
#ifndef XXLJOB_COMMON_TEXT_H_
#define XXLJOB_COMMON_TEXT_H_

#include "absl/strings/string_view.h"

namespace xxljob {

// True if every byte is printable ASCII (0x20..0x7e): what an HTTP header or
// gRPC metadata value can carry as plain text.
inline bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace xxljob

#endif  // XXLJOB_COMMON_TEXT_H_

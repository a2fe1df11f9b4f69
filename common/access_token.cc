#include "common/access_token.h"

namespace xxljob {

bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected) {
  // Loop over the caller's bytes so the time says nothing about the secret.
  // Past the end of `expected` compare against 0; the length check below
  // still fails such a call. volatile keeps the compiler from turning the
  // accumulation into an early exit.
  volatile unsigned char diff = presented.size() != expected.size() ? 1 : 0;
  for (size_t i = 0; i < presented.size(); ++i) {
    const unsigned char want =
        i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff = diff | (static_cast<unsigned char>(presented[i]) ^ want);
  }
  return diff == 0;
}

}  // namespace xxljob

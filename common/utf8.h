// UTF-8 hygiene for text that leaves the executor in proto3 `string` fields,
// which must be valid UTF-8 or the receiver fails to parse the whole message.
#ifndef XXLJOB_COMMON_UTF8_H_
#define XXLJOB_COMMON_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace xxljob {

// `text` with every byte that is not part of a valid UTF-8 sequence replaced
// by '?'.
std::string SanitizeUtf8(absl::string_view text);

// `text` cut to at most `max_bytes` bytes without splitting a UTF-8 sequence.
absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes);

}  // namespace xxljob

#endif  // XXLJOB_COMMON_UTF8_H_

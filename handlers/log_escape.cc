#include "handlers/log_escape.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace xxljob {
namespace {

// Bytes of the escape-worthy sequence at `text[i]`, or 0 if there is none.
size_t EscapedLength(absl::string_view text, size_t i) {
  const auto at = [&](size_t k) -> uint8_t {
    return i + k < text.size() ? static_cast<uint8_t>(text[i + k]) : 0;
  };
  const uint8_t c = at(0);
  if (c < 0x20 || c == 0x7f || c == '\\') return 1;
  if (c == 0xc2 && at(1) >= 0x80 && at(1) <= 0x9f) return 2;
  if (c == 0xe2 && at(1) == 0x80 && (at(2) == 0xa8 || at(2) == 0xa9)) {
    return 3;
  }
  return 0;
}

void AppendEscape(absl::string_view seq, std::string* out) {
  const uint8_t c = static_cast<uint8_t>(seq[0]);
  switch (seq.size()) {
    case 2:  // C1: U+0080..U+009F.
      absl::StrAppendFormat(out, "\\u%04x", static_cast<uint8_t>(seq[1]));
      return;
    case 3:  // U+2028 / U+2029.
      absl::StrAppendFormat(out, "\\u20%02x",
                            static_cast<uint8_t>(seq[2]) - 0x80);
      return;
  }
  switch (c) {
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      absl::StrAppendFormat(out, "\\x%02x", c);
  }
}

}  // namespace

std::string EscapeLogText(absl::string_view text) {
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = EscapedLength(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (out.empty()) out.reserve(text.size() + 16);
    out.append(text.data() + copied, i - copied);
    AppendEscape(text.substr(i, n), &out);
    i += n;
    copied = i;
  }
  if (copied == 0) return std::string(text);
  out.append(text.data() + copied, text.size() - copied);
  return out;
}

}  // namespace xxljob

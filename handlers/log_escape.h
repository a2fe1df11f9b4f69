// Escaping caller-supplied text for the executor's own run-log lines (the
// start line's params, the end line's result message), so that no caller can
// forge a line: text is kept on one line and cannot move the cursor or
// restyle a terminal.
#ifndef XXLJOB_HANDLERS_LOG_ESCAPE_H_
#define XXLJOB_HANDLERS_LOG_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace xxljob {

// `text` with every control character written as an escape, the rest
// untouched (UTF-8 text stays readable):
//   backslash     -> \\   (so the escaping can be read back unambiguously)
//   \n \r \t      -> \n \r \t
//   other C0 (U+0000-U+001F) and DEL -> \xHH, e.g. ESC -> \x1b, NUL -> \x00
//   C1 (U+0080-U+009F, e.g. the 8-bit CSI U+009B) -> \u009b
//   U+2028, U+2029 (line and paragraph separators, line breaks to some
//   viewers) -> \u2028, \u2029
// Bytes that are not valid UTF-8 pass through (readers replace them).
// Thread-safe; no allocation beyond the result.
std::string EscapeLogText(absl::string_view text);

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_LOG_ESCAPE_H_

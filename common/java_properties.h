// Reading a Java `.properties` file (java.util.Properties.load's format), so
// that a team can point the executor at the application.properties its Java
// executor already has (SPEC §9, "Migration").
#ifndef XXLJOB_COMMON_JAVA_PROPERTIES_H_
#define XXLJOB_COMMON_JAVA_PROPERTIES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xxljob {

// The key/value pairs of `text`, in file order (a later duplicate wins
// where the caller keeps the last). As Java reads them: `#` and `!` start
// comment lines; the key ends at the first unescaped `=`, `:` or white
// space; a line ending in an odd number of backslashes continues on the
// next (its leading white space dropped); escapes \t \n \r \f \uXXXX (as
// UTF-8) and \<any> (that character). Errors: INVALID_ARGUMENT naming the
// line, for a malformed \u escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseJavaProperties(absl::string_view text);

}  // namespace xxljob

#endif  // XXLJOB_COMMON_JAVA_PROPERTIES_H_

// GoogleMock matchers for absl::Status and absl::StatusOr (this abseil has
// none): EXPECT_THAT(s, IsOk()); EXPECT_THAT(s, StatusIs(code, msg_matcher)).
#ifndef XXLJOB_TESTS_TESTING_STATUS_MATCHERS_H_
#define XXLJOB_TESTS_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace xxljob::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << s;
  return s.ok();
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(
             ::testing::Matcher<const std::string&>(message_matcher),
             std::string(s.message()), result_listener);
}

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_STATUS_MATCHERS_H_

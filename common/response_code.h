// The response codes of the contract (XXL-JOB's ReturnT, SPEC §2): every
// response carries one, on every transport.
#ifndef XXLJOB_COMMON_RESPONSE_CODE_H_
#define XXLJOB_COMMON_RESPONSE_CODE_H_

#include <cstdint>

namespace xxljob {

inline constexpr int32_t kResponseCodeSuccess = 200;
inline constexpr int32_t kResponseCodeFail = 500;

}  // namespace xxljob

#endif  // XXLJOB_COMMON_RESPONSE_CODE_H_

#include "common/xxl_protocol.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xxljob {

absl::StatusOr<XxlProtocol> ParseXxlProtocol(absl::string_view text) {
  if (text == "2") return XxlProtocol::kGen2;
  if (text == "3") return XxlProtocol::kGen3;
  if (text == "3.5") return XxlProtocol::kGen35;
  return absl::InvalidArgumentError(absl::StrCat(
      "XXL-JOB protocol generation must be 2, 3 or 3.5, got \"", text, "\""));
}

absl::string_view XxlProtocolName(XxlProtocol protocol) {
  switch (protocol) {
    case XxlProtocol::kGen2:
      return "2";
    case XxlProtocol::kGen3:
      return "3";
    case XxlProtocol::kGen35:
      return "3.5";
  }
  return "3";
}

}  // namespace xxljob

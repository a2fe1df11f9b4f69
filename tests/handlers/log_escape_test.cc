#include "handlers/log_escape.h"

#include <string>

#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(LogEscapeTest, EscapesEveryControlCharacterAndKeepsTextReadable) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"", ""},
      {"plain params 42", "plain params 42"},
      {"a\nb", "a\\nb"},
      {"cr\rlf\n", "cr\\rlf\\n"},
      {"tab\there", "tab\\there"},
      {"\x1b[2K\x1b[1Gred", "\\x1b[2K\\x1b[1Gred"},
      {"bell\a", "bell\\x07"},
      {std::string("nul\0x", 5), "nul\\x00x"},
      {"del\x7f", "del\\x7f"},
      {"back\\slash", "back\\\\slash"},
      {"\x1f\x01", "\\x1f\\x01"},
      // C1 controls in UTF-8 (U+009B is an 8-bit CSI to some terminals).
      {"\xc2\x9b"
       "31m",
       "\\u009b31m"},
      {"\xc2\x85", "\\u0085"},
      {"line\xe2\x80\xa8sep\xe2\x80\xa9", "line\\u2028sep\\u2029"},
      // Text stays as it is: accents, CJK, emoji, U+00A0.
      {"caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \xc2\xa0",
       "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \xc2\xa0"},
      // Not UTF-8: passed through for the reader to replace.
      {"\xff\xc2", "\xff\xc2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(EscapeLogText(c.in), c.out);
  }
}

TEST(LogEscapeTest, ResultHasNoLineBreakOrEscapeByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string out = EscapeLogText(all);
  for (char c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    EXPECT_FALSE(u < 0x20 || u == 0x7f) << static_cast<int>(u);
  }
}

}  // namespace
}  // namespace xxljob

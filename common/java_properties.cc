#include "common/java_properties.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xxljob {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\f'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The logical lines of `text`: continuation lines joined, comments and
// blank lines dropped, each with the number of its first physical line.
std::vector<std::pair<int, std::string>> LogicalLines(absl::string_view text) {
  std::vector<std::pair<int, std::string>> lines;
  std::string current;
  int number = 0;
  int start = 0;
  bool continuing = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    if (end == absl::string_view::npos) end = text.size();
    absl::string_view line = text.substr(pos, end - pos);
    ++number;
    pos = end + 1;
    if (end < text.size() && text[end] == '\r' && pos < text.size() &&
        text[pos] == '\n') {
      ++pos;
    }
    size_t first = 0;
    while (first < line.size() && IsSpace(line[first])) ++first;
    line.remove_prefix(first);
    if (!continuing) {
      if (line.empty() || line[0] == '#' || line[0] == '!') {
        if (end >= text.size()) break;
        continue;
      }
      start = number;
    }
    size_t backslashes = 0;
    while (backslashes < line.size() &&
           line[line.size() - 1 - backslashes] == '\\') {
      ++backslashes;
    }
    continuing = backslashes % 2 == 1;
    if (continuing) line.remove_suffix(1);
    current.append(line.data(), line.size());
    if (!continuing) {
      lines.emplace_back(start, std::move(current));
      current.clear();
    }
    if (end >= text.size()) break;
  }
  if (continuing) lines.emplace_back(start, std::move(current));
  return lines;
}

// Appends `text` unescaped to `out`; `line` names it in an error.
absl::Status Unescape(absl::string_view text, int line, std::string* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      if (text[i] != '\\') out->push_back(text[i]);
      continue;
    }
    const char c = text[++i];
    switch (c) {
      case 't':
        out->push_back('\t');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'u': {
        uint32_t cp = 0;
        const std::string hex(text.substr(i + 1, 4));
        if (hex.size() != 4 ||
            hex.find_first_not_of("0123456789abcdefABCDEF") !=
                std::string::npos ||
            !absl::SimpleHexAtoi(hex, &cp)) {
          return absl::InvalidArgumentError(
              absl::StrCat("line ", line, ": malformed \\uxxxx escape"));
        }
        AppendUtf8(cp, out);
        i += 4;
        break;
      }
      default:
        out->push_back(c);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseJavaProperties(absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& [number, line] : LogicalLines(text)) {
    // The key ends at the first unescaped separator.
    size_t key_end = 0;
    while (key_end < line.size()) {
      const char c = line[key_end];
      if (c == '\\') {
        key_end += 2;
        continue;
      }
      if (c == '=' || c == ':' || IsSpace(c)) break;
      ++key_end;
    }
    key_end = std::min(key_end, line.size());
    size_t value_start = key_end;
    while (value_start < line.size() && IsSpace(line[value_start])) {
      ++value_start;
    }
    if (value_start < line.size() &&
        (line[value_start] == '=' || line[value_start] == ':')) {
      ++value_start;
    }
    while (value_start < line.size() && IsSpace(line[value_start])) {
      ++value_start;
    }
    std::string key, value;
    absl::string_view view(line);
    if (absl::Status s = Unescape(view.substr(0, key_end), number, &key);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Unescape(view.substr(value_start), number, &value);
        !s.ok()) {
      return s;
    }
    pairs.emplace_back(std::move(key), std::move(value));
  }
  return pairs;
}

}  // namespace xxljob

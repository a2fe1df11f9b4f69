#include "tools/bench/report.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace xxljob::bench {
namespace {

void PrintRow(const std::string& name, double value, const std::string& unit) {
  std::printf("  %-40s %14.3f  %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

}  // namespace

void Report::Add(const std::string& name, double value,
                 const std::string& unit) {
  rows_.push_back({name, value, unit});
  PrintRow(name, value, unit);
}

void Report::Note(const std::string& text) {
  notes_.push_back(text);
  std::printf("  note: %s\n", text.c_str());
  std::fflush(stdout);
}

void Report::Print() const {
  std::printf("\n%-42s %14s  %s\n", "name", "value", "unit");
  for (const Row& row : rows_) PrintRow(row.name, row.value, row.unit);
  for (const std::string& note : notes_)
    std::printf("note: %s\n", note.c_str());
}

absl::Status Report::WriteCsv(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << "name,value,unit\n";
  // Names and units are ours (no commas or quotes), so no CSV quoting.
  for (const Row& row : rows_) {
    out << row.name << ',' << absl::StrCat(row.value) << ',' << row.unit
        << '\n';
  }
  out.flush();
  if (!out) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace xxljob::bench

// xxl-bench's output: named measurements printed as a table and written as
// a CSV file with rows name,value,unit. Not thread-safe: phases add rows
// from the main thread only.
#ifndef XXLJOB_TOOLS_BENCH_REPORT_H_
#define XXLJOB_TOOLS_BENCH_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace xxljob::bench {

class Report {
 public:
  // Appends a row and echoes it to stdout at once (a long run shows
  // progress).
  void Add(const std::string& name, double value, const std::string& unit);
  // A line printed under the table (and to stdout at once), e.g. why a
  // measurement could not be taken.
  void Note(const std::string& text);

  // The whole table, then the notes.
  void Print() const;
  // FAILED_PRECONDITION when `path` cannot be written.
  absl::Status WriteCsv(const std::string& path) const;

 private:
  struct Row {
    std::string name;
    double value;
    std::string unit;
  };
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
};

}  // namespace xxljob::bench

#endif  // XXLJOB_TOOLS_BENCH_REPORT_H_

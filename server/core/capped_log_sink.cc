#include "server/core/capped_log_sink.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace xxljob {
namespace {

// What the run log writer adds to each Log() line: "yyyy-MM-dd
// HH:mm:ss.SSS " and the '\n'.
constexpr uint64_t kLineOverheadBytes = 24 + 1;

// The largest cut <= `max` of `text` that does not split a UTF-8 sequence
// (steps back over at most 3 continuation bytes; may be 0). Text that is not
// UTF-8 is cut at `max`.
size_t Utf8Cut(absl::string_view text, size_t max) {
  if (max >= text.size()) return text.size();
  for (size_t back = 0; back < 4 && back <= max; ++back) {
    const size_t cut = max - back;
    if (cut == 0 || (static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80) {
      return cut;
    }
  }
  return max;
}

}  // namespace

std::string RunLogCapMarker(uint64_t max_bytes, uint64_t dropped_bytes) {
  return absl::StrCat("----------- xxl-executor: run log limit of ", max_bytes,
                      " bytes reached, ", dropped_bytes,
                      " bytes of output dropped (max_run_log_bytes)");
}

uint64_t CappedLogSink::Reserve(uint64_t wanted, uint64_t payload,
                                bool partial) {
  absl::MutexLock lock(&mu_);
  uint64_t granted = 0;
  if (!capped_) {
    const uint64_t room = max_bytes_ - used_;
    if (wanted <= room) {
      granted = wanted;
    } else if (partial) {
      granted = room;
    }
    used_ += granted;
    capped_ = granted < wanted;
  }
  // Granted bytes are all payload for Output (wanted == payload); a Log
  // line is granted whole or not at all.
  if (granted < wanted && !finished_) dropped_ += payload - granted;
  return granted;
}

void CappedLogSink::Log(absl::string_view message) {
  const uint64_t lines = 1 + std::count(message.begin(), message.end(), '\n') -
                         (!message.empty() && message.back() == '\n' ? 1 : 0);
  const uint64_t cost = message.size() + lines * kLineOverheadBytes;
  if (Reserve(cost, message.size(), /*partial=*/false) == cost) {
    out_->Log(message);
  }
}

void CappedLogSink::Output(absl::string_view chunk) {
  const uint64_t granted = Reserve(chunk.size(), chunk.size(), true);
  if (granted == 0) return;
  const size_t cut = Utf8Cut(chunk, granted);
  if (cut < granted) {
    // The bytes of a character the cap split are dropped too.
    absl::MutexLock lock(&mu_);
    if (!finished_) dropped_ += granted - cut;
  }
  if (cut > 0) out_->Output(chunk.substr(0, cut));
}

void CappedLogSink::Finish() {
  uint64_t dropped;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    dropped = dropped_;
  }
  out_->FlushOutput();
  if (dropped > 0) out_->Log(RunLogCapMarker(max_bytes_, dropped));
}

uint64_t CappedLogSink::dropped_bytes() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace xxljob

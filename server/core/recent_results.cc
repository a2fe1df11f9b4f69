#include "server/core/recent_results.h"

#include <algorithm>

namespace xxljob {

RecentResults::RecentResults(size_t max_entries, size_t max_bytes)
    : max_entries_(std::max<size_t>(max_entries, 1)), max_bytes_(max_bytes) {}

void RecentResults::Add(const RunResult& result) {
  absl::MutexLock lock(&mu_);
  const uint64_t seq = next_seq_++;
  auto [it, inserted] = by_log_id_.try_emplace(result.log_id);
  if (!inserted) bytes_ -= it->second.result.handle_msg.size();
  it->second = Entry{result, seq};
  bytes_ += result.handle_msg.size();
  order_.emplace_back(result.log_id, seq);
  EvictLocked();
}

void RecentResults::EvictLocked() {
  // Stale pairs (of replaced results) are dropped as they come up; they are
  // at most one per Add, so the deque stays within twice the entry bound.
  while (!order_.empty() &&
         (by_log_id_.size() > max_entries_ || bytes_ > max_bytes_ ||
          order_.size() > 2 * max_entries_)) {
    const auto [log_id, seq] = order_.front();
    order_.pop_front();
    auto it = by_log_id_.find(log_id);
    if (it == by_log_id_.end() || it->second.seq != seq) continue;
    bytes_ -= it->second.result.handle_msg.size();
    by_log_id_.erase(it);
  }
}

std::optional<RunResult> RecentResults::Find(int64_t log_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_log_id_.find(log_id);
  if (it == by_log_id_.end()) return std::nullopt;
  return it->second.result;
}

size_t RecentResults::size() const {
  absl::MutexLock lock(&mu_);
  return by_log_id_.size();
}

}  // namespace xxljob

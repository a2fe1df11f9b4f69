#include "server/core/log_watch.h"

#include <algorithm>

namespace xxljob {

LogWatchHandle LogWatchRegistry::Watch(int64_t log_id,
                                       LogWatchCallback on_change) {
  const uint64_t id = next_id_.fetch_add(1);
  Shard& shard = ShardOf(log_id);
  absl::MutexLock lock(&shard.mu);
  shard.watchers[log_id].emplace_back(id, std::move(on_change));
  watch_count_.fetch_add(1);
  return LogWatchHandle{log_id, id};
}

void LogWatchRegistry::Unwatch(const LogWatchHandle& handle) {
  if (handle.id == 0) return;
  // The callback to drop is moved out and destroyed after the lock is
  // released: its captures are the caller's business, not the registry's.
  LogWatchCallback removed;
  {
    Shard& shard = ShardOf(handle.log_id);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.watchers.find(handle.log_id);
    if (it == shard.watchers.end()) return;
    auto& list = it->second;
    auto entry = std::find_if(list.begin(), list.end(), [&](const auto& w) {
      return w.first == handle.id;
    });
    if (entry == list.end()) return;
    removed = std::move(entry->second);
    list.erase(entry);
    if (list.empty()) shard.watchers.erase(it);
    watch_count_.fetch_sub(1);
  }
}

void LogWatchRegistry::Notify(int64_t log_id) {
  if (watch_count_.load() == 0) return;
  Shard& shard = ShardOf(log_id);
  // Held while the callbacks run: Unwatch() waits for it, which is how it
  // guarantees that no callback outlives the watch.
  absl::MutexLock lock(&shard.mu);
  auto it = shard.watchers.find(log_id);
  if (it == shard.watchers.end()) return;
  for (auto& watcher : it->second) watcher.second();
}

}  // namespace xxljob

#include "server/api/refusal_log.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "glog/logging.h"

namespace xxljob {

RefusalLog::RefusalLog(absl::Duration interval, Writer writer, Clock clock)
    : interval_(interval),
      writer_(writer != nullptr
                  ? std::move(writer)
                  : [](const std::string& line) { LOG(WARNING) << line; }),
      clock_(clock != nullptr ? std::move(clock) : [] { return absl::Now(); }) {
}

void RefusalLog::Record(absl::string_view peer, absl::string_view why) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  ++total_;
  ++pending_;
  std::string host = PeerHost(peer);
  if (auto it = by_host_.find(host); it != by_host_.end()) {
    ++it->second;
  } else if (by_host_.size() < kMaxHosts) {
    by_host_.emplace(std::move(host), 1);
  } else {
    ++other_hosts_;
  }
  if (last_why_ != why) last_why_ = std::string(why);
  if (now - last_line_ >= interval_) WriteLocked(now);
}

void RefusalLog::Flush() {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (pending_ > 0) WriteLocked(now);
}

int64_t RefusalLog::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

void RefusalLog::WriteLocked(absl::Time now) {
  std::vector<std::pair<std::string, int64_t>> hosts(by_host_.begin(),
                                                     by_host_.end());
  std::sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::string line;
  if (pending_ == 1 && hosts.size() == 1) {
    line =
        absl::StrCat("refused a call from ", hosts[0].first, ": ", last_why_);
  } else {
    line = absl::StrCat("refused ", pending_, " calls");
    if (last_line_ != absl::InfinitePast()) {
      absl::StrAppend(&line, " in the last ",
                      absl::FormatDuration(
                          absl::Trunc(now - last_line_, absl::Seconds(1))));
    }
    absl::StrAppend(&line, " (latest: ", last_why_, "); from");
    int64_t unnamed = other_hosts_;
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (i < kHostsPerLine) {
        absl::StrAppend(&line, i == 0 ? " " : ", ", hosts[i].first, " x",
                        hosts[i].second);
      } else {
        unnamed += hosts[i].second;
      }
    }
    if (unnamed > 0) absl::StrAppend(&line, ", other hosts x", unnamed);
  }
  // Written under the lock: lines stay in order, and there is at most one
  // per interval, so nobody waits on it for long.
  writer_(line);
  last_line_ = now;
  pending_ = 0;
  by_host_.clear();
  other_hosts_ = 0;
}

}  // namespace xxljob

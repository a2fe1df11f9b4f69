#include "server/service/auth.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

// "ipv4:10.0.0.1:5000" -> "ipv4:10.0.0.1", "ipv6:[::1]:5000" ->
// "ipv6:[::1]": a client opens a new port per connection, so counting by
// port would name the same host over and over.
std::string HostOf(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == peer.size()) {
    return std::string(peer);
  }
  for (char c : peer.substr(colon + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::string(peer);
    }
  }
  return std::string(peer.substr(0, colon));
}

}  // namespace

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
  std::string host = HostOf(peer);
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

bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected) {
  // Loop over the caller's bytes so the time says nothing about the secret.
  // Past the end of `expected` compare against 0; the length check below
  // still fails such a call. volatile keeps the compiler from turning the
  // accumulation into an early exit.
  volatile unsigned char diff = presented.size() != expected.size() ? 1 : 0;
  for (size_t i = 0; i < presented.size(); ++i) {
    const unsigned char want =
        i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff = diff | (static_cast<unsigned char>(presented[i]) ^ want);
  }
  return diff == 0;
}

namespace {

// Why the metadata fails the token check, or null when it passes.
const char* TokenProblem(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    absl::string_view expected_token) {
  auto it = metadata.find(kAccessTokenMetadataKey);
  if (it == metadata.end()) return "missing access token";
  if (!ConstantTimeEquals(
          absl::string_view(it->second.data(), it->second.size()),
          expected_token)) {
    return "wrong access token";
  }
  return nullptr;
}

absl::Status Refused() {
  return absl::UnauthenticatedError("missing or wrong access token");
}

}  // namespace

absl::Status CheckAccessToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    absl::string_view expected_token, absl::string_view peer,
    RefusalLog* refusals) {
  if (expected_token.empty()) return absl::OkStatus();
  const char* why = TokenProblem(metadata, expected_token);
  if (why == nullptr) return absl::OkStatus();
  if (refusals != nullptr) refusals->Record(peer, why);
  return Refused();
}

absl::Status CheckAccessToken(const grpc::ServerContextBase& context,
                              absl::string_view expected_token,
                              RefusalLog* refusals) {
  if (expected_token.empty()) return absl::OkStatus();
  const char* why = TokenProblem(context.client_metadata(), expected_token);
  if (why == nullptr) return absl::OkStatus();
  // The peer string is built only for a refusal: it costs an allocation.
  if (refusals != nullptr) refusals->Record(context.peer(), why);
  return Refused();
}

}  // namespace xxljob

// Outbox: replay with tail repair, appends that never leave a torn record
// behind, and compaction by rewrite-and-rename. The record format and the
// reader that replays it are in outbox_record.h/.cc.
#include "server/delivery/outbox.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "server/delivery/outbox_record.h"

namespace xxljob {
namespace {

using outbox_internal::DecodeResult;
using outbox_internal::EncodeAccepted;
using outbox_internal::EncodeRecord;
using outbox_internal::EncodeResult;
using outbox_internal::GetU64;
using outbox_internal::kAccepted;
using outbox_internal::kAcceptedBytes;
using outbox_internal::kDelivered;
using outbox_internal::kHeaderBytes;
using outbox_internal::kMagic;
using outbox_internal::kReadChunkBytes;
using outbox_internal::kResult;
using outbox_internal::OutboxReplayer;
using outbox_internal::ParseRecord;
using outbox_internal::PutU64;
using outbox_internal::ReadAll;
using outbox_internal::WriteAll;

constexpr absl::string_view kFileName = "outbox.log";
constexpr size_t kMaxIdsPerDelivered = 8192;

// Makes a rename or a new file in `dir` durable.
absl::Status SyncDir(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, "open " + dir);
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  return rc == 0 ? absl::OkStatus() : absl::ErrnoToStatus(err, "fsync " + dir);
}

}  // namespace

std::string OutboxDir(absl::string_view log_path) {
  if (!log_path.empty() && log_path.back() == '/') log_path.remove_suffix(1);
  return absl::StrCat(log_path, "/outbox");
}

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kNone:
      return "none";
    case SyncMode::kGroup:
      return "group";
    case SyncMode::kEveryRecord:
      return "every_record";
  }
  return "?";
}

Outbox::Outbox(OutboxOptions options, int lock_fd)
    : options_(std::move(options)),
      path_(absl::StrCat(options_.dir, "/", kFileName)),
      lock_fd_(lock_fd) {}

Outbox::~Outbox() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) close(fd_);
  // Closing the lock file releases the flock.
  close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(OutboxOptions options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("outbox dir must not be empty");
  }
  const absl::Time start = absl::Now();
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "can't create outbox dir ", options.dir, ": ", ec.message()));
  }
  const std::string lock_path = options.dir + "/LOCK";
  const int lock_fd =
      open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return absl::ErrnoToStatus(errno, "open " + lock_path);
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(lock_fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "outbox ", options.dir, " is in use by another executor"));
    }
    return absl::ErrnoToStatus(err, "flock " + lock_path);
  }
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(options), lock_fd));
  absl::Status s;
  {
    absl::MutexLock lock(&outbox->mu_);
    s = outbox->RecoverLocked();
  }
  if (!s.ok()) return s;
  Recovery& r = outbox->recovery_;
  r.elapsed = absl::Now() - start;
  LOG(INFO) << "outbox " << outbox->path_ << ": " << r.pending
            << " results pending (" << r.orphans
            << " from runs interrupted by a restart), " << r.records
            << " records replayed in " << r.elapsed;
  return outbox;
}

absl::Status Outbox::RecoverLocked() {
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return absl::ErrnoToStatus(errno, "open " + path_);
  // A compaction cut short by a crash; the old file is still the truth.
  unlink((path_ + ".compact").c_str());
  absl::Status s = ReplayLocked();
  if (!s.ok()) return s;
  ConvertOrphansLocked();
  MaybeCompactLocked();
  compactions_ = 0;
  // Make the repaired tail and the converted orphans durable once.
  if (fdatasync(fd_) != 0) PLOG(WARNING) << "fdatasync " << path_;
  unsynced_ = false;
  recovery_.pending = static_cast<int64_t>(pending_.size());
  return absl::OkStatus();
}

absl::Status Outbox::ReplayLocked() {
  struct stat st;
  if (fstat(fd_, &st) != 0) return absl::ErrnoToStatus(errno, "fstat " + path_);
  const int64_t size = st.st_size;
  std::string head(std::min<int64_t>(size, kMagic.size()), '\0');
  absl::Status s = ReadAll(fd_, head.data(), head.size(), 0, path_);
  if (!s.ok()) return s;
  if (size < static_cast<int64_t>(kMagic.size()) &&
      kMagic.substr(0, head.size()) == head) {
    // New, or a creation cut short: start the file afresh.
    if (ftruncate(fd_, 0) != 0)
      return absl::ErrnoToStatus(errno, "truncate " + path_);
    s = WriteAll(fd_, kMagic, 0, path_);
    if (s.ok() && fdatasync(fd_) != 0)
      s = absl::ErrnoToStatus(errno, "fdatasync " + path_);
    if (s.ok()) s = SyncDir(options_.dir);
    end_ = kMagic.size();
    return s;
  }
  if (head != kMagic) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " is not an outbox file (bad magic)"));
  }
  OutboxReplayer replayer(fd_, path_, size, kMagic.size());
  absl::string_view rec;
  bool torn = false;
  // Where a record with a good CRC but no meaning starts; -1 if none. The
  // replayer has moved past it, but it is where the good records end.
  int64_t meaningless_at = -1;
  while (true) {
    absl::StatusOr<OutboxReplayer::Next> next = replayer.Read(&rec, &torn);
    if (!next.ok()) return next.status();
    if (*next != OutboxReplayer::Next::kRecord) break;
    const int64_t offset = replayer.pos() - static_cast<int64_t>(rec.size());
    const uint8_t type = static_cast<uint8_t>(rec[8]);
    const absl::string_view p = rec.substr(kHeaderBytes);
    PendingResult r;
    if (type == kAccepted && p.size() == kAcceptedBytes) {
      accepted_[static_cast<int64_t>(GetU64(p.data() + 8))] = {
          static_cast<int64_t>(GetU64(p.data())),
          static_cast<int64_t>(GetU64(p.data() + 16))};
    } else if (type == kResult && DecodeResult(p, &r)) {
      accepted_.erase(r.result.log_id);
      pending_[r.id] = {offset, static_cast<uint32_t>(rec.size())};
      last_id_ = std::max(last_id_, r.id);
    } else if (type == kDelivered && !p.empty() && p.size() % 8 == 0) {
      for (size_t i = 0; i < p.size(); i += 8)
        pending_.erase(GetU64(p.data() + i));
    } else {
      // A record we can't interpret despite a good CRC (a newer format?):
      // corruption, not a torn write. It is cut off with what follows, or
      // every later append would sit behind it, never to be replayed.
      meaningless_at = offset;
      torn = false;
      break;
    }
    ++records_;
  }
  end_ = meaningless_at >= 0 ? meaningless_at : replayer.pos();
  recovery_.records = records_;
  recovery_.discarded_bytes = size - end_;
  if (end_ == size) return absl::OkStatus();
  if (!torn && meaningless_at < 0) {
    absl::StatusOr<bool> zero = replayer.RestIsZero();
    if (!zero.ok()) return zero.status();
    torn = *zero;
  }
  if (torn) {
    LOG(WARNING) << "outbox " << path_ << ": torn record at offset " << end_
                 << " (a crash mid-write); dropping its "
                 << recovery_.discarded_bytes << " bytes, keeping the "
                 << records_ << " records before it";
  } else {
    recovery_.corrupt = true;
    const std::string keep =
        absl::StrCat(path_, ".corrupt-", absl::ToUnixSeconds(absl::Now()));
    LOG(ERROR) << "outbox " << path_ << " is corrupt at offset " << end_
               << ": keeping the " << records_ << " records before it and "
               << "dropping " << recovery_.discarded_bytes
               << " bytes after it; the damaged file is kept as " << keep;
    // A copy, not a link: the truncation below would cut a link too.
    std::error_code ec;
    std::filesystem::copy_file(path_, keep, ec);
    if (ec) {
      LOG(ERROR) << "can't keep a copy of the corrupt outbox as " << keep
                 << ": " << ec.message();
    }
  }
  if (ftruncate(fd_, end_) != 0)
    return absl::ErrnoToStatus(errno, "truncate " + path_);
  return absl::OkStatus();
}

void Outbox::ConvertOrphansLocked() {
  std::vector<std::pair<int64_t, Accepted>> orphans(accepted_.begin(),
                                                    accepted_.end());
  std::sort(orphans.begin(), orphans.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [log_id, a] : orphans) {
    RunResult r{a.job_id, log_id, a.log_date_time, 500,
                std::string(kRestartedBeforeFinishedMsg)};
    r.cause = RunCause::kRestarted;
    absl::StatusOr<uint64_t> id = AppendResultLocked(r);
    if (!id.ok()) {
      // Keep it an orphan: the next Open converts it. Failing Open instead
      // would stop every other pending result from being delivered.
      accepted_[log_id] = a;
      LOG(ERROR) << "[job " << a.job_id << " log " << log_id
                 << "] can't journal the restarted run's result: "
                 << id.status();
      continue;
    }
    LOG(WARNING) << "[job " << a.job_id << " log " << log_id
                 << "] was accepted but never finished before a restart; "
                 << "reporting 500";
    ++recovery_.orphans;
  }
}

absl::StatusOr<int64_t> Outbox::AppendRecordLocked(const std::string& record) {
  if (injected_error_ != 0) {
    return absl::ErrnoToStatus(injected_error_, "write " + path_);
  }
  if (dirty_tail_) {
    if (ftruncate(fd_, end_) != 0) {
      return absl::ErrnoToStatus(errno, "truncate " + path_);
    }
    dirty_tail_ = false;
  }
  absl::Status s = WriteAll(fd_, record, end_, path_);
  if (!s.ok()) {
    // Part of the record may be in the file (a short write on a full disk).
    // Cut it now, or before the next append, so no torn record ever sits
    // between good ones.
    if (ftruncate(fd_, end_) != 0) dirty_tail_ = true;
    return s;
  }
  const int64_t offset = end_;
  end_ += static_cast<int64_t>(record.size());
  ++records_;
  if (options_.sync_mode == SyncMode::kEveryRecord) {
    // The record is in the kernel and will be replayed after a process
    // crash, so it counts as appended; only its power-loss safety is in
    // doubt, which is worth an error in the log but not a lost result.
    if (fdatasync(fd_) != 0) {
      PLOG_EVERY_N(ERROR, 100) << "fdatasync " << path_;
    }
  } else {
    unsynced_ = true;
  }
  return offset;
}

absl::Status Outbox::AppendAccepted(int64_t job_id, int64_t log_id,
                                    int64_t log_date_time) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int64_t> offset =
      AppendRecordLocked(EncodeAccepted(job_id, log_id, log_date_time));
  if (!offset.ok()) return offset.status();
  accepted_[log_id] = {job_id, log_date_time};
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Outbox::AppendResult(const RunResult& result) {
  absl::MutexLock lock(&mu_);
  return AppendResultLocked(result);
}

absl::StatusOr<uint64_t> Outbox::AppendResultLocked(const RunResult& result) {
  accepted_.erase(result.log_id);
  if (last_id_ >= outbox_internal::kMaxResultId) {
    // Only a journal forged with a huge id gets here. Wrapping to 0 would
    // make an id that replay and ReadPending skip: the result would be lost.
    return absl::ResourceExhaustedError(
        absl::StrCat("outbox ", path_, ": result ids exhausted"));
  }
  const uint64_t id = last_id_ + 1;
  const std::string record = EncodeResult(id, result);
  absl::StatusOr<int64_t> offset = AppendRecordLocked(record);
  if (!offset.ok()) return offset.status();
  last_id_ = id;
  pending_[id] = {*offset, static_cast<uint32_t>(record.size())};
  return id;
}

absl::Status Outbox::AppendDelivered(absl::Span<const uint64_t> ids) {
  absl::MutexLock lock(&mu_);
  std::string payload;
  absl::Status status;
  auto flush = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (payload.empty()) return;
    absl::StatusOr<int64_t> offset =
        AppendRecordLocked(EncodeRecord(kDelivered, payload));
    if (!offset.ok() && status.ok()) status = offset.status();
    payload.clear();
  };
  for (uint64_t id : ids) {
    if (pending_.erase(id) == 0) continue;
    PutU64(&payload, id);
    if (payload.size() >= kMaxIdsPerDelivered * 8) flush();
  }
  flush();
  MaybeCompactLocked();
  return status;
}

absl::Status Outbox::Sync() {
  absl::MutexLock sync_lock(&sync_mu_);
  int fd;
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    if (options_.sync_mode != SyncMode::kGroup || !unsynced_) {
      return absl::OkStatus();
    }
    // A duplicate, because a compaction may close fd_ meanwhile (it syncs
    // the file it moves the records to itself). Records appended from here
    // on set unsynced_ again and wait for the next Sync().
    fd = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "dup " + path_);
    unsynced_ = false;
    hook = sync_hook_;
  }
  if (hook) hook();
  const bool synced = fdatasync(fd) == 0;
  const int error = errno;
  close(fd);
  if (synced) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  unsynced_ = true;
  return absl::ErrnoToStatus(error, "fdatasync " + path_);
}

absl::StatusOr<std::vector<PendingResult>> Outbox::ReadPending(
    uint64_t after_id, size_t max_count, size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  std::vector<PendingResult> out;
  size_t bytes = 0;
  std::string buf;
  for (auto it = pending_.upper_bound(after_id);
       it != pending_.end() && out.size() < max_count && bytes < max_bytes;) {
    buf.resize(it->second.size);
    absl::Status s =
        ReadAll(fd_, buf.data(), buf.size(), it->second.offset, path_);
    if (!s.ok()) return s;
    uint8_t type = 0;
    absl::string_view payload;
    PendingResult r;
    if (!ParseRecord(buf, &type, &payload) || type != kResult ||
        !DecodeResult(payload, &r) || r.id != it->first) {
      LOG(ERROR) << "outbox " << path_ << ": result " << it->first
                 << " at offset " << it->second.offset
                 << " no longer reads back intact; it is lost";
      it = pending_.erase(it);
      continue;
    }
    bytes += r.result.handle_msg.size();
    out.push_back(std::move(r));
    ++it;
  }
  return out;
}

void Outbox::MaybeCompactLocked() {
  const int64_t live = live_records_locked();
  const int64_t dead = records_ - live;
  if (dead <= std::max(options_.compact_min_dead_records, next_compact_dead_) ||
      dead <= options_.compact_dead_ratio * live) {
    return;
  }
  const absl::Time start = absl::Now();
  const int64_t old_bytes = end_;
  absl::Status s = CompactLocked();
  if (!s.ok()) {
    next_compact_dead_ = dead * 2;
    LOG(ERROR) << "outbox " << path_ << ": compaction failed, the file keeps "
               << "growing until it succeeds: " << s;
    return;
  }
  next_compact_dead_ = 0;
  ++compactions_;
  const absl::Duration took = absl::Now() - start;
  // Slow compactions block appends (job threads): worth an INFO line.
  if (took < absl::Milliseconds(200) && !VLOG_IS_ON(1)) return;
  LOG(INFO) << "outbox " << path_ << " compacted: " << dead << " dead records, "
            << live << " live; " << old_bytes << " -> " << end_ << " bytes in "
            << took;
}

absl::Status Outbox::CompactLocked() {
  const std::string tmp = path_ + ".compact";
  const int out =
      open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return absl::ErrnoToStatus(errno, "open " + tmp);
  absl::btree_map<uint64_t, RecordRef> moved;
  std::string buf(kMagic);
  int64_t written = 0;
  absl::Status s;
  auto flush = [&]() {
    if (s.ok()) s = WriteAll(out, buf, written, tmp);
    written += static_cast<int64_t>(buf.size());
    buf.clear();
  };
  for (const auto& [log_id, a] : accepted_) {
    buf += EncodeAccepted(a.job_id, log_id, a.log_date_time);
    if (buf.size() >= kReadChunkBytes) flush();
  }
  std::string rec;
  for (const auto& [id, ref] : pending_) {
    if (!s.ok()) break;
    rec.resize(ref.size);
    s = ReadAll(fd_, rec.data(), rec.size(), ref.offset, path_);
    uint8_t type;
    absl::string_view payload;
    if (s.ok() && !ParseRecord(rec, &type, &payload)) {
      s = absl::DataLossError(absl::StrCat("result ", id, " in ", path_,
                                           " no longer reads back intact"));
    }
    if (!s.ok()) break;
    moved[id] = {written + static_cast<int64_t>(buf.size()), ref.size};
    buf += rec;
    if (buf.size() >= kReadChunkBytes) flush();
  }
  flush();
  if (s.ok() && fdatasync(out) != 0)
    s = absl::ErrnoToStatus(errno, "fdatasync " + tmp);
  if (s.ok() && rename(tmp.c_str(), path_.c_str()) != 0) {
    s = absl::ErrnoToStatus(errno, "rename " + tmp);
  }
  if (!s.ok()) {
    close(out);
    unlink(tmp.c_str());
    return s;
  }
  // The new file is in place: switch to it even if the directory sync
  // fails (then a power loss may bring back the old file, which is valid).
  if (absl::Status d = SyncDir(options_.dir); !d.ok()) LOG(WARNING) << d;
  close(fd_);
  fd_ = out;
  end_ = written;
  records_ = live_records_locked();
  pending_ = std::move(moved);
  dirty_tail_ = false;
  unsynced_ = false;
  return absl::OkStatus();
}

int64_t Outbox::pending_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(pending_.size());
}

bool Outbox::HasPendingAfter(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  return pending_.upper_bound(id) != pending_.end();
}

int64_t Outbox::file_bytes() const {
  absl::MutexLock lock(&mu_);
  return end_;
}

int64_t Outbox::compactions() const {
  absl::MutexLock lock(&mu_);
  return compactions_;
}

std::string Outbox::file_path() const { return path_; }

void Outbox::InjectWriteErrorForTesting(int error) {
  absl::MutexLock lock(&mu_);
  injected_error_ = error;
}

void Outbox::SetSyncHookForTesting(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  sync_hook_ = std::move(hook);
}

}  // namespace xxljob

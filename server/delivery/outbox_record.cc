// The outbox's record codec, I/O loops and replay reader; see
// outbox_record.h, and outbox.h for the file format.
#include "server/delivery/outbox_record.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xxljob {
namespace outbox_internal {
namespace {

// CRC-32C (Castagnoli), reflected, table-driven. Hand-written because this
// abseil has no absl::crc32c.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) crc = kCrcTable[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Frames `payload` as a record: header, then payload.
std::string EncodeRecord(RecordType type, absl::string_view payload) {
  std::string record(4, '\0');
  record.reserve(kHeaderBytes + payload.size());
  PutU32(&record, static_cast<uint32_t>(payload.size()));
  record.push_back(static_cast<char>(type));
  record.append(payload.data(), payload.size());
  const uint32_t crc = Crc32c(absl::string_view(record).substr(4));
  for (int i = 0; i < 4; ++i) record[i] = static_cast<char>(crc >> (8 * i));
  return record;
}

std::string EncodeAccepted(int64_t job_id, int64_t log_id,
                           int64_t log_date_time) {
  std::string p;
  PutU64(&p, job_id);
  PutU64(&p, log_id);
  PutU64(&p, log_date_time);
  return EncodeRecord(kAccepted, p);
}

std::string EncodeResult(uint64_t id, const RunResult& r) {
  std::string p;
  p.reserve(kResultFixedBytes + r.handle_msg.size());
  PutU64(&p, id);
  PutU64(&p, r.job_id);
  PutU64(&p, r.log_id);
  PutU64(&p, r.log_date_time);
  PutU32(&p, static_cast<uint32_t>(r.handle_code));
  p.append(r.handle_msg);
  return EncodeRecord(kResult, p);
}

bool DecodeResult(absl::string_view p, PendingResult* out) {
  if (p.size() < kResultFixedBytes) return false;
  out->id = GetU64(p.data());
  out->result.job_id = static_cast<int64_t>(GetU64(p.data() + 8));
  out->result.log_id = static_cast<int64_t>(GetU64(p.data() + 16));
  out->result.log_date_time = static_cast<int64_t>(GetU64(p.data() + 24));
  out->result.handle_code = static_cast<int32_t>(GetU32(p.data() + 32));
  out->result.handle_msg = std::string(p.substr(kResultFixedBytes));
  return out->id > 0 && out->id <= kMaxResultId;
}

// Checks a whole record read back from the file; on success points `type`
// and `payload` into it.
bool ParseRecord(absl::string_view rec, uint8_t* type,
                 absl::string_view* payload) {
  if (rec.size() < kHeaderBytes) return false;
  const uint32_t length = GetU32(rec.data() + 4);
  if (length != rec.size() - kHeaderBytes) return false;
  if (GetU32(rec.data()) != Crc32c(rec.substr(4))) return false;
  *type = static_cast<uint8_t>(rec[8]);
  *payload = rec.substr(kHeaderBytes);
  return true;
}

absl::Status WriteAll(int fd, absl::string_view data, int64_t offset,
                      const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = pwrite(fd, data.data(), data.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    // A regular file never takes 0 bytes of a non-empty write; don't spin.
    if (n <= 0)
      return absl::ErrnoToStatus(n < 0 ? errno : EIO, "write " + path);
    data.remove_prefix(n);
    offset += n;
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* buf, size_t size, int64_t offset,
                     const std::string& path) {
  while (size > 0) {
    const ssize_t n = pread(fd, buf, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "read " + path);
    if (n == 0) return absl::DataLossError(absl::StrCat("short read ", path));
    buf += n;
    size -= n;
    offset += n;
  }
  return absl::OkStatus();
}

OutboxReplayer::OutboxReplayer(int fd, std::string path, int64_t size,
                               int64_t start)
    : fd_(fd), path_(std::move(path)), size_(size), pos_(start) {}

absl::StatusOr<OutboxReplayer::Next> OutboxReplayer::Read(
    absl::string_view* record, bool* torn) {
  const int64_t remaining = size_ - pos_;
  if (remaining == 0) return Next::kEnd;
  bad_end_ = pos_;
  *torn = true;
  if (remaining < static_cast<int64_t>(kHeaderBytes)) return Next::kBad;
  absl::Status s = Fill(kHeaderBytes);
  if (!s.ok()) return s;
  const uint32_t length = GetU32(Data() + 4);
  if (length > kMaxPayloadBytes) {
    *torn = false;
    return Next::kBad;
  }
  const size_t total = kHeaderBytes + length;
  if (static_cast<int64_t>(total) > remaining) return Next::kBad;
  if (s = Fill(total); !s.ok()) return s;
  *record = absl::string_view(Data(), total);
  uint8_t type;
  absl::string_view payload;
  if (!ParseRecord(*record, &type, &payload)) {
    // A complete record with a bad CRC at the very end can be pages that
    // never reached the disk before power loss.
    bad_end_ = pos_ + static_cast<int64_t>(total);
    *torn = bad_end_ == size_;
    return Next::kBad;
  }
  pos_ += total;
  return Next::kRecord;
}

absl::StatusOr<bool> OutboxReplayer::RestIsZero() {
  std::string buf(kReadChunkBytes, '\0');
  for (int64_t off = bad_end_; off < size_;) {
    const size_t n = std::min<int64_t>(buf.size(), size_ - off);
    absl::Status s = ReadAll(fd_, buf.data(), n, off, path_);
    if (!s.ok()) return s;
    if (std::any_of(buf.begin(), buf.begin() + n,
                    [](char c) { return c != 0; })) {
      return false;
    }
    off += n;
  }
  return true;
}

absl::Status OutboxReplayer::Fill(size_t n) {
  const int64_t have = buf_start_ + static_cast<int64_t>(buf_.size());
  if (pos_ >= buf_start_ && pos_ + static_cast<int64_t>(n) <= have) {
    return absl::OkStatus();
  }
  const size_t want =
      std::min<int64_t>(std::max(n, kReadChunkBytes), size_ - pos_);
  buf_.resize(want);
  buf_start_ = pos_;
  return ReadAll(fd_, buf_.data(), want, pos_, path_);
}

}  // namespace outbox_internal
}  // namespace xxljob

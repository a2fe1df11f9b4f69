// Internal to the outbox (server/delivery/outbox.cc): the file's record format
// (framing, CRC-32C, the payload of each record type, as outbox.h
// documents it), the pread/pwrite loops, and OutboxReplayer, which reads the
// records back in order. The Outbox class itself, which decides what to
// append, what a replayed record means and how a bad tail is repaired,
// stays in outbox.cc.
#ifndef XXLJOB_SERVER_CORE_OUTBOX_RECORD_H_
#define XXLJOB_SERVER_CORE_OUTBOX_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/trigger.h"
#include "server/delivery/outbox.h"

namespace xxljob {
namespace outbox_internal {

constexpr absl::string_view kMagic = "XXLOBX01";
constexpr size_t kHeaderBytes = 9;  // crc:u32 length:u32 type:u8
// A longer length field is corruption: the largest real record is a RESULT
// with a kMaxHandleMsgChars message of 4-byte UTF-8 characters.
constexpr uint32_t kMaxPayloadBytes = 4 * 1024 * 1024;
// The replayer's read size, and the compactor's write size.
constexpr size_t kReadChunkBytes = 1024 * 1024;
constexpr size_t kAcceptedBytes = 24;
constexpr size_t kResultFixedBytes = 36;
// Result ids count from 1 and never get near this; a larger one is
// corruption, and the outbox stops issuing ids here rather than wrap to 0.
constexpr uint64_t kMaxResultId = (uint64_t{1} << 63) - 1;

enum RecordType : uint8_t { kAccepted = 1, kResult = 2, kDelivered = 3 };

// CRC-32C (Castagnoli) of `data`. Hand-written because this abseil has no
// absl::crc32c.
uint32_t Crc32c(absl::string_view data);

// Little-endian integers: appended to `out`, or read from `p` (which must
// hold 4 or 8 bytes).
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);

// Frames `payload` as a record: header, then payload.
std::string EncodeRecord(RecordType type, absl::string_view payload);
// Whole ACCEPTED and RESULT records. A DELIVERED payload is ids appended
// with PutU64, framed with EncodeRecord.
std::string EncodeAccepted(int64_t job_id, int64_t log_id,
                           int64_t log_date_time);
std::string EncodeResult(uint64_t id, const RunResult& r);

// Decodes a RESULT payload into `out`; false if it is too short or its id
// is 0 or above kMaxResultId (`out` may then be partly written).
bool DecodeResult(absl::string_view p, PendingResult* out);

// Checks a whole record read back from the file; on success points `type`
// and `payload` into it. False if the length field disagrees with the size
// of `rec` or the CRC does not match.
bool ParseRecord(absl::string_view rec, uint8_t* type,
                 absl::string_view* payload);

// pwrite()s all of `data` at `offset`, retrying on EINTR. Errors: the OS
// error, with `path` in the message.
absl::Status WriteAll(int fd, absl::string_view data, int64_t offset,
                      const std::string& path);
// pread()s exactly `size` bytes at `offset` into `buf`. Errors: the OS
// error; DATA_LOSS if the file ends first.
absl::Status ReadAll(int fd, char* buf, size_t size, int64_t offset,
                     const std::string& path);

// Reads records in order from a byte offset with a chunked buffer, so a big
// file is not loaded whole. Reads `fd` (not owned; must outlive it) with
// pread only, so it leaves the file offset alone. Not thread-safe.
class OutboxReplayer {
 public:
  enum class Next { kRecord, kEnd, kBad };

  // Reads [start, size) of the file `fd`; `path` is for error messages.
  OutboxReplayer(int fd, std::string path, int64_t size, int64_t start);
  OutboxReplayer(const OutboxReplayer&) = delete;
  OutboxReplayer& operator=(const OutboxReplayer&) = delete;

  // kRecord: `record` views the whole record (valid until the next call)
  // and pos() has moved past it. kEnd: clean end of file. kBad: the record
  // at pos() is torn or corrupt; `torn` says whether it looks like a write
  // cut short at the end of the file. Errors: those of ReadAll.
  absl::StatusOr<Next> Read(absl::string_view* record, bool* torn);

  int64_t pos() const { return pos_; }

  // After kBad: true if every byte after the bad record is zero (after the
  // whole of it when it is complete but fails its CRC, else from pos()): a
  // tail the file system extended but never wrote (power loss), possibly
  // behind a record that was only partly written, not corruption.
  absl::StatusOr<bool> RestIsZero();

 private:
  const char* Data() const { return buf_.data() + (pos_ - buf_start_); }

  // Makes [pos_, pos_ + n) available in buf_. REQUIRES: pos_ + n <= size_.
  absl::Status Fill(size_t n);

  const int fd_;
  const std::string path_;
  const int64_t size_;
  int64_t pos_;
  // Where the last bad record ends (see RestIsZero).
  int64_t bad_end_ = 0;
  std::string buf_;
  int64_t buf_start_ = 0;
};

}  // namespace outbox_internal
}  // namespace xxljob

#endif  // XXLJOB_SERVER_CORE_OUTBOX_RECORD_H_

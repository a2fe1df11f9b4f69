// Fuzz target: opening and replaying the result outbox
// (server/delivery/outbox.cc, outbox_record.cc), SPEC §5 "no result is lost".
//
// Feeds outbox.log files of three kinds, chosen by the first byte:
// - raw: fuzzed bytes, with or without the magic in front;
// - written: a journal made by the real writer (Outbox::AppendAccepted,
//   AppendResult, AppendDelivered, from fuzzed operations), then damaged:
//   cut at a fuzzed length, bytes overwritten at fuzzed offsets, fuzzed
//   bytes or zeros appended, or several of these;
// - crafted: fuzzed records framed with a correct CRC, so replay meets
//   well-formed records with absurd contents (unknown types, odd sizes, ids
//   0, 2^63-1 (the last) or above, deliveries of unknown ids).
// Each file is opened with fuzzed compaction thresholds.
//
// Checks, against a replay model written here from outbox.h's format:
// - Open never crashes; a file without the magic is FAILED_PRECONDITION and
//   left untouched; otherwise it succeeds;
// - every good record before the first bad one is replayed, and the pending
//   results (ReadPending) are exactly the model's: undelivered RESULTs with
//   their fields, plus one 500 "executor restarted before the run finished"
//   per ACCEPTED without a RESULT;
// - the file is cut back to its good records: a bad tail that looks torn (a
//   write cut short at the end, a complete record with a bad CRC followed by
//   nothing or zeros, zeros) is only dropped; anything else is corruption
//   and the file is first copied aside, byte for byte, as
//   outbox.log.corrupt-<time>;
// - for a journal made by the writer and then damaged, every record that
//   ends before the first damaged byte survives, and a file that was only
//   cut is never called corrupt;
// - after recovery the outbox works: a new result gets an id above every
//   pending one (or, past the last id, RESOURCE_EXHAUSTED: ids never wrap),
//   and reopening finds nothing to repair and the same pending results plus
//   the new one.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/delivery/outbox.h"
#include "server/delivery/outbox_record.h"
#include "tests/fuzz/fuzz_support.h"

namespace xxljob {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kMagic = "XXLOBX01";
constexpr size_t kHeader = 9;
constexpr uint32_t kMaxPayload = 4 * 1024 * 1024;
constexpr uint64_t kMaxId = (uint64_t{1} << 63) - 1;  // Ids never wrap.

uint64_t U64(absl::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
uint32_t U32(absl::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// Bitwise CRC-32C, independent of the table-driven one under test.
uint32_t Crc32c(absl::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & -(crc & 1));
  }
  return ~crc;
}

std::string Frame(uint8_t type, absl::string_view payload) {
  std::string body;
  for (int i = 0; i < 4; ++i) body.push_back(payload.size() >> (8 * i));
  body.push_back(static_cast<char>(type));
  body.append(payload.data(), payload.size());
  const uint32_t crc = Crc32c(body);
  std::string rec;
  for (int i = 0; i < 4; ++i) rec.push_back(crc >> (8 * i));
  return rec + body;
}

void Put64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// What replaying a file must find, per outbox.h.
struct Model {
  int64_t records = 0;
  int64_t good_end = 0;  // Offset after the last good record.
  bool torn = false;     // The bad tail looks like a write cut short.
  std::map<int64_t, std::pair<int64_t, int64_t>>
      accepted;  // log id -> job, ldt
  std::map<uint64_t, RunResult> pending;
  uint64_t last_id = 0;
};

Model Replay(absl::string_view file) {
  Model m;
  size_t pos = kMagic.size();
  size_t bad_end = pos;  // Zeros from here on are a torn tail.
  bool torn = true;
  while (pos < file.size()) {
    const size_t remaining = file.size() - pos;
    bad_end = pos;
    torn = true;
    if (remaining < kHeader) break;
    const uint32_t length = U32(file, pos + 4);
    if (length > kMaxPayload) {
      torn = false;
      break;
    }
    if (kHeader + length > remaining) break;
    const absl::string_view rec = file.substr(pos, kHeader + length);
    if (U32(rec, 0) != Crc32c(rec.substr(4))) {
      // Complete but damaged: torn if nothing but zeros follows it.
      bad_end = pos + rec.size();
      torn = kHeader + length == remaining;
      break;
    }
    const uint8_t type = rec[8];
    const absl::string_view p = rec.substr(kHeader);
    if (type == 1 && p.size() == 24) {
      m.accepted[static_cast<int64_t>(U64(p, 8))] = {U64(p, 0), U64(p, 16)};
    } else if (type == 2 && p.size() >= 36 && U64(p, 0) != 0 &&
               U64(p, 0) <= kMaxId) {
      RunResult r{static_cast<int64_t>(U64(p, 8)),
                  static_cast<int64_t>(U64(p, 16)),
                  static_cast<int64_t>(U64(p, 24)),
                  static_cast<int32_t>(U32(p, 32)), std::string(p.substr(36))};
      m.accepted.erase(r.log_id);
      m.last_id = std::max(m.last_id, U64(p, 0));
      m.pending[U64(p, 0)] = std::move(r);
    } else if (type == 3 && !p.empty() && p.size() % 8 == 0) {
      for (size_t i = 0; i < p.size(); i += 8) m.pending.erase(U64(p, i));
    } else {
      torn = false;  // Well-framed but meaningless: not a torn write.
      break;
    }
    ++m.records;
    pos += rec.size();
  }
  m.good_end = static_cast<int64_t>(pos);
  const absl::string_view rest = file.substr(std::min(bad_end, file.size()));
  m.torn = pos == file.size() || torn ||
           std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; });
  return m;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good(), "can't write %s", path.c_str());
}

std::vector<std::string> CorruptCopies(const std::string& dir) {
  std::vector<std::string> copies;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("outbox.log.corrupt-", 0) == 0) copies.push_back(name);
  }
  return copies;
}

std::vector<PendingResult> AllPending(Outbox& outbox) {
  absl::StatusOr<std::vector<PendingResult>> all =
      outbox.ReadPending(0, std::numeric_limits<size_t>::max(),
                         std::numeric_limits<size_t>::max());
  FUZZ_CHECK(all.ok(), "ReadPending: %s", all.status().ToString().c_str());
  return *std::move(all);
}

bool Same(const RunResult& a, const RunResult& b) {
  return a.job_id == b.job_id && a.log_id == b.log_id &&
         a.log_date_time == b.log_date_time && a.handle_code == b.handle_code &&
         a.handle_msg == b.handle_msg;
}

// A journal written by the real writer. Returns the offsets where its
// records end, in order.
std::vector<int64_t> WriteJournal(FuzzedDataProvider& in,
                                  const OutboxOptions& options) {
  absl::StatusOr<std::unique_ptr<Outbox>> outbox = Outbox::Open(options);
  FUZZ_CHECK(outbox.ok(), "Open (fresh): %s",
             outbox.status().ToString().c_str());
  std::vector<int64_t> ends;
  std::vector<uint64_t> ids;
  const int ops = in.ConsumeIntegralInRange(0, 24);
  for (int i = 0; i < ops; ++i) {
    const int64_t before = (*outbox)->file_bytes();
    const int64_t compactions = (*outbox)->compactions();
    const int64_t log_id = in.ConsumeIntegralInRange<int64_t>(-2, 12);
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0:
        FUZZ_CHECK((*outbox)
                       ->AppendAccepted(in.ConsumeIntegral<int64_t>(), log_id,
                                        in.ConsumeIntegral<int64_t>())
                       .ok(),
                   "AppendAccepted");
        break;
      case 1: {
        RunResult r{in.ConsumeIntegral<int64_t>(), log_id,
                    in.ConsumeIntegral<int64_t>(), in.ConsumeIntegral<int>(),
                    in.ConsumeRandomLengthString(64)};
        absl::StatusOr<uint64_t> id = (*outbox)->AppendResult(r);
        FUZZ_CHECK(id.ok(), "AppendResult");
        ids.push_back(*id);
        break;
      }
      default: {
        std::vector<uint64_t> delivered;
        const int n = in.ConsumeIntegralInRange(1, 4);
        for (int k = 0; k < n && !ids.empty(); ++k) {
          delivered.push_back(
              ids[in.ConsumeIntegralInRange<size_t>(0, ids.size() - 1)]);
        }
        if (in.ConsumeBool())
          delivered.push_back(in.ConsumeIntegral<uint64_t>());
        FUZZ_CHECK((*outbox)->AppendDelivered(delivered).ok(),
                   "AppendDelivered");
        break;
      }
    }
    if ((*outbox)->compactions() != compactions) {
      ends.clear();  // A rewrite: earlier boundaries are gone.
      continue;
    }
    if ((*outbox)->file_bytes() != before)
      ends.push_back((*outbox)->file_bytes());
  }
  return ends;
}

// Damages `file`; returns the offset of the first byte that differs from
// the original (file.size() if none).
size_t Damage(FuzzedDataProvider& in, std::string* file, bool* only_cut) {
  const std::string original = *file;
  *only_cut = true;
  const int steps = in.ConsumeIntegralInRange(1, 3);
  for (int s = 0; s < steps; ++s) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:  // Cut.
        file->resize(in.ConsumeIntegralInRange<size_t>(0, file->size()));
        break;
      case 1: {  // Overwrite.
        *only_cut = false;
        const size_t at = in.ConsumeIntegralInRange<size_t>(0, file->size());
        const std::string bytes = in.ConsumeRandomLengthString(12);
        if (file->size() < at + bytes.size()) file->resize(at + bytes.size());
        file->replace(at, bytes.size(), bytes);
        break;
      }
      case 2:  // Garbage after the end.
        *only_cut = false;
        *file += in.ConsumeRandomLengthString(64);
        break;
      default:  // Zeros after the end (power loss on a journaling fs).
        file->append(in.ConsumeIntegralInRange<size_t>(1, 4096), '\0');
        break;
    }
  }
  size_t first = 0;
  while (first < file->size() && first < original.size() &&
         (*file)[first] == original[first]) {
    ++first;
  }
  return first;
}

}  // namespace
}  // namespace xxljob

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  xxljob::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xxljob;  // NOLINT: a file of its own
  FuzzedDataProvider in(data, size);
  const std::string dir = fuzz::ScratchDir("outbox") + "/outbox";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string path = dir + "/outbox.log";

  OutboxOptions options;
  options.dir = dir;
  options.sync_mode = SyncMode::kNone;
  options.compact_min_dead_records = in.ConsumeIntegralInRange(0, 8);
  options.compact_dead_ratio = in.ConsumeIntegralInRange(0, 3);

  std::string file;
  std::vector<int64_t> ends;
  size_t first_damage = 0;
  bool only_cut = false;
  const int kind = in.ConsumeIntegralInRange(0, 2);
  if (kind == 0) {  // Raw bytes.
    if (in.ConsumeBool()) file = std::string(kMagic);
    file += in.ConsumeRandomLengthString(1 << 16);
    WriteFile(path, file);
  } else if (kind == 1) {  // Written by the outbox, then damaged.
    ends = WriteJournal(in, options);
    file = ReadFile(path);
    first_damage = Damage(in, &file, &only_cut);
    WriteFile(path, file);
  } else {  // Well-framed records with fuzzed contents.
    file = std::string(kMagic);
    while (in.remaining_bytes() > 0) {
      const uint8_t type = in.ConsumeIntegralInRange<uint8_t>(0, 4);
      std::string payload;
      if (type == 2 && in.ConsumeBool()) {  // A RESULT with a chosen id.
        Put64(&payload, in.PickValueInArray<uint64_t>(
                            {0, 1, 2, kMaxId - 1, kMaxId, kMaxId + 1,
                             std::numeric_limits<uint64_t>::max()}));
      }
      payload += in.ConsumeRandomLengthString(64);
      file += Frame(type, payload);
    }
    WriteFile(path, file);
  }

  const bool has_magic = file.size() >= kMagic.size()
                             ? absl::string_view(file).substr(0, 8) == kMagic
                             : kMagic.substr(0, file.size()) == file;
  absl::StatusOr<std::unique_ptr<Outbox>> outbox = Outbox::Open(options);
  if (!has_magic) {
    FUZZ_CHECK(outbox.status().code() == absl::StatusCode::kFailedPrecondition,
               "no magic: %s", outbox.status().ToString().c_str());
    FUZZ_CHECK(ReadFile(path) == file, "a foreign file was changed");
    return 0;
  }
  FUZZ_CHECK(outbox.ok(), "Open: %s", outbox.status().ToString().c_str());
  if (file.size() < kMagic.size()) file = std::string(kMagic);  // Fresh.

  const Model model = Replay(file);
  const Outbox::Recovery& rec = (*outbox)->recovery();
  FUZZ_CHECK(rec.records == model.records, "replayed %ld records, model %ld",
             static_cast<long>(rec.records), static_cast<long>(model.records));
  FUZZ_CHECK(
      rec.discarded_bytes == static_cast<int64_t>(file.size()) - model.good_end,
      "discarded %ld bytes, model %ld", static_cast<long>(rec.discarded_bytes),
      static_cast<long>(file.size() - model.good_end));
  FUZZ_CHECK(rec.corrupt == !model.torn, "corrupt %d, model torn %d",
             rec.corrupt, model.torn);
  const std::vector<std::string> copies = CorruptCopies(dir);
  FUZZ_CHECK(copies.size() == (rec.corrupt ? 1u : 0u), "%zu corrupt copies",
             copies.size());
  if (rec.corrupt) {
    FUZZ_CHECK(ReadFile(dir + "/" + copies[0]) == file,
               "the corrupt copy is not the damaged file");
  }
  if (kind == 1) {
    const int64_t intact = std::count_if(
        ends.begin(), ends.end(),
        [&](int64_t e) { return e <= static_cast<int64_t>(first_damage); });
    FUZZ_CHECK(rec.records >= intact,
               "%ld records replayed, %ld end before the damage at %zu",
               static_cast<long>(rec.records), static_cast<long>(intact),
               first_damage);
    if (only_cut) FUZZ_CHECK(!rec.corrupt, "a cut file called corrupt");
  }

  // Pending: the model's results, then the orphans in log id order, as
  // many as there are ids left for.
  const size_t orphans =
      std::min<uint64_t>(model.accepted.size(), kMaxId - model.last_id);
  std::vector<PendingResult> pending = AllPending(**outbox);
  FUZZ_CHECK(pending.size() == model.pending.size() + orphans,
             "%zu pending, model %zu + %zu orphans", pending.size(),
             model.pending.size(), orphans);
  FUZZ_CHECK(rec.orphans == static_cast<int64_t>(orphans), "orphans %ld",
             static_cast<long>(rec.orphans));
  auto it = pending.begin();
  uint64_t max_id = 0;
  for (const auto& [id, result] : model.pending) {
    FUZZ_CHECK(it->id == id && Same(it->result, result),
               "pending result %lu differs from the model",
               static_cast<unsigned long>(id));
    max_id = std::max(max_id, id);
    ++it;
  }
  for (const auto& [log_id, job] : model.accepted) {
    if (it == pending.end()) break;  // Out of ids.
    FUZZ_CHECK(it->id > model.last_id, "orphan id %lu <= last id %lu",
               static_cast<unsigned long>(it->id),
               static_cast<unsigned long>(model.last_id));
    const RunResult want{job.first, log_id, job.second, 500,
                         std::string(kRestartedBeforeFinishedMsg)};
    FUZZ_CHECK(Same(it->result, want), "orphan %ld differs",
               static_cast<long>(log_id));
    max_id = std::max(max_id, it->id);
    ++it;
  }

  // The recovered outbox takes new results and reopens clean.
  const RunResult fresh{1, 1, 1700000000000, 200, "after recovery"};
  absl::StatusOr<uint64_t> id = (*outbox)->AppendResult(fresh);
  if (std::max(max_id, model.last_id) >= kMaxId) {
    FUZZ_CHECK(id.status().code() == absl::StatusCode::kResourceExhausted,
               "AppendResult with no ids left: %s",
               id.status().ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(id.ok(), "AppendResult after recovery");
  FUZZ_CHECK(*id > max_id && *id > model.last_id,
             "new id %lu, pending up to %lu, last id %lu",
             static_cast<unsigned long>(*id),
             static_cast<unsigned long>(max_id),
             static_cast<unsigned long>(model.last_id));
  outbox->reset();
  outbox = Outbox::Open(options);
  FUZZ_CHECK(outbox.ok(), "reopen: %s", outbox.status().ToString().c_str());
  const Outbox::Recovery& again = (*outbox)->recovery();
  FUZZ_CHECK(again.discarded_bytes == 0 && !again.corrupt && again.orphans == 0,
             "reopen repaired again: %ld bytes, corrupt %d, %ld orphans",
             static_cast<long>(again.discarded_bytes), again.corrupt,
             static_cast<long>(again.orphans));
  std::vector<PendingResult> after = AllPending(**outbox);
  FUZZ_CHECK(after.size() == pending.size() + 1, "%zu pending after reopen",
             after.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    FUZZ_CHECK(after[i].id == pending[i].id &&
                   Same(after[i].result, pending[i].result),
               "pending %zu changed across a reopen", i);
  }
  FUZZ_CHECK(after.back().id == *id && Same(after.back().result, fresh),
             "the new result did not survive a reopen");
  return 0;
}

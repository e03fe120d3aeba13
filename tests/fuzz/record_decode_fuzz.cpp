// Fuzz target record_decode: storage::decode_record on arbitrary bytes. A record it accepts
// is re-encoded with encode_record and must come out byte for byte (header and body; the
// zero padding after the body is not covered by the CRC and not compared), decodes the same
// again, and is refused as truncated when any byte of it is missing. The other direction too:
// the input's tail encoded as a body round-trips, and both CRC32C paths agree on the input.
//
// Input: the bytes at a record's offset; the first 16 also serve as id and arrival time for
// the encode round trip.
#include <cstring>
#include <vector>

#include "storage/crc32c.h"
#include "busyring/storage/record.h"
#include "fuzz_target.h"

namespace {

using namespace busyring;
using storage::DecodeStatus;

// 8-aligned bytes (the codec's alignment), sized exactly so reads past them are caught.
std::vector<uint64_t> aligned_copy(const uint8_t* data, size_t size, uint8_t*& out) {
  std::vector<uint64_t> words((size + 7) / 8);
  out = reinterpret_cast<uint8_t*>(words.data());
  if (size > 0) std::memcpy(out, data, size);
  return words;
}

void check_accepted(const uint8_t* p, size_t avail, const storage::RecordView& v) {
  BR_FUZZ_CHECK(v.kind == storage::RecordKind::usage || v.kind == storage::RecordKind::skip);
  BR_FUZZ_CHECK(v.body_bytes <= storage::kMaxRecordBody);
  BR_FUZZ_CHECK(v.record_bytes == storage::record_bytes(v.body_bytes));
  BR_FUZZ_CHECK(v.record_bytes <= avail);
  BR_FUZZ_CHECK(v.body == p + storage::kRecordHeaderBytes);

  std::vector<uint64_t> again(v.record_bytes / 8);
  auto* dst = reinterpret_cast<uint8_t*>(again.data());
  const size_t n = storage::encode_record(dst, v.kind, v.id, v.arrival_ns, v.body, v.body_bytes);
  BR_FUZZ_CHECK(n == v.record_bytes);
  BR_FUZZ_CHECK(std::memcmp(dst, p, storage::kRecordHeaderBytes + v.body_bytes) == 0);
  for (size_t i = storage::kRecordHeaderBytes + v.body_bytes; i < n; ++i) BR_FUZZ_CHECK(dst[i] == 0);

  storage::RecordView w{};
  BR_FUZZ_CHECK(storage::decode_record(dst, n, w) == DecodeStatus::ok);
  BR_FUZZ_CHECK(w.kind == v.kind && w.id == v.id && w.arrival_ns == v.arrival_ns);
  BR_FUZZ_CHECK(w.body_bytes == v.body_bytes && w.record_bytes == v.record_bytes);
  // One byte short of the record (or of its header) is never a record.
  storage::RecordView x{};
  BR_FUZZ_CHECK(storage::decode_record(p, v.record_bytes - 1, x) == DecodeStatus::truncated);
}

}  // namespace

BR_FUZZ_TARGET(record_decode) {
  using namespace busyring;
  uint8_t* p = nullptr;
  const std::vector<uint64_t> words = aligned_copy(data, size, p);

  BR_FUZZ_CHECK(storage::crc32c(0, p, size) == storage::crc32c_portable(0, p, size));
  if (size > 3) BR_FUZZ_CHECK(storage::crc32c(7, p + 3, size - 3) == storage::crc32c_portable(7, p + 3, size - 3));

  storage::RecordView v{};
  const DecodeStatus st = storage::decode_record(p, size, v);
  BR_FUZZ_CHECK(storage::decode_status_name(st) != nullptr);
  if (size < storage::kRecordHeaderBytes) BR_FUZZ_CHECK(st == DecodeStatus::truncated);
  if (st == DecodeStatus::ok) check_accepted(p, size, v);
  if (st == DecodeStatus::zero) {
    for (size_t i = 0; i < storage::kRecordHeaderBytes; ++i) BR_FUZZ_CHECK(p[i] == 0);
  }

  // Encode direction: the bytes after the first 16 as a body of either kind.
  if (size >= 16) {
    uint64_t id = 0;
    uint64_t arrival_ns = 0;
    std::memcpy(&id, p, 8);
    std::memcpy(&arrival_ns, p + 8, 8);
    const auto body_bytes = static_cast<uint32_t>(size - 16);
    const auto kind = (id & 1) != 0 ? storage::RecordKind::skip : storage::RecordKind::usage;
    std::vector<uint64_t> rec(storage::record_bytes(body_bytes) / 8);
    auto* dst = reinterpret_cast<uint8_t*>(rec.data());
    const size_t n = storage::encode_record(dst, kind, id, arrival_ns, p + 16, body_bytes);
    storage::RecordView w{};
    BR_FUZZ_CHECK(storage::decode_record(dst, n, w) == DecodeStatus::ok);
    BR_FUZZ_CHECK(w.kind == kind && w.id == id && w.arrival_ns == arrival_ns && w.body_bytes == body_bytes);
    BR_FUZZ_CHECK(body_bytes == 0 || std::memcmp(w.body, p + 16, body_bytes) == 0);
    // A flipped bit anywhere in header or body is caught (CRC32C detects every 1-bit error).
    // (Not in the length field: a shorter length changes what the CRC covers.)
    size_t flip = static_cast<size_t>(id % (storage::kRecordHeaderBytes + body_bytes));
    if (flip >= 8 && flip < 12) flip -= 8;
    dst[flip] = static_cast<uint8_t>(dst[flip] ^ (1u << (arrival_ns % 8)));
    BR_FUZZ_CHECK(storage::decode_record(dst, n, w) != DecodeStatus::ok);
  }
  return 0;
}

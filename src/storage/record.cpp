// Record encode/decode with CRC32C; see record.h for the layout.
#include "busyring/storage/record.h"

#include <cstring>

#include "busyring/base/assert.h"
#include "crc32c.h"

namespace busyring::storage {

size_t encode_record(uint8_t* dst, RecordKind kind, uint64_t id, uint64_t arrival_ns,
                     const void* body, uint32_t body_bytes) noexcept {
  BR_ASSERT(body_bytes <= kMaxRecordBody);
  BR_ASSERT(reinterpret_cast<uintptr_t>(dst) % kRecordAlign == 0);
  RecordHeader h{kRecordMagic, kRecordVersion, static_cast<uint16_t>(kind), body_bytes, 0, id,
                 arrival_ns};
  uint32_t crc = crc32c(0, &h, sizeof h);
  crc = crc32c(crc, body, body_bytes);
  h.crc32c = crc;
  std::memcpy(dst, &h, sizeof h);
  if (body_bytes > 0) std::memcpy(dst + sizeof h, body, body_bytes);
  const size_t total = record_bytes(body_bytes);
  std::memset(dst + sizeof h + body_bytes, 0, total - sizeof h - body_bytes);
  return total;
}

const char* decode_status_name(DecodeStatus status) noexcept {
  switch (status) {
    case DecodeStatus::ok: return "ok";
    case DecodeStatus::zero: return "zero header";
    case DecodeStatus::bad_magic: return "bad magic";
    case DecodeStatus::bad_version: return "unknown version";
    case DecodeStatus::bad_kind: return "unknown record kind";
    case DecodeStatus::bad_length: return "body length over the limit";
    case DecodeStatus::truncated: return "record runs past the end of the segment";
    case DecodeStatus::bad_crc: return "CRC32C mismatch";
  }
  return "?";
}

DecodeStatus decode_record(const uint8_t* p, size_t avail, RecordView& out) noexcept {
  if (avail < kRecordHeaderBytes) return DecodeStatus::truncated;
  RecordHeader h;
  std::memcpy(&h, p, sizeof h);
  if (h.magic == 0) {
    static constexpr uint8_t kZero[kRecordHeaderBytes] = {};
    if (std::memcmp(p, kZero, sizeof kZero) == 0) return DecodeStatus::zero;
    return DecodeStatus::bad_magic;
  }
  if (h.magic != kRecordMagic) return DecodeStatus::bad_magic;
  if (h.version != kRecordVersion) return DecodeStatus::bad_version;
  if (h.kind != static_cast<uint16_t>(RecordKind::usage) &&
      h.kind != static_cast<uint16_t>(RecordKind::skip))
    return DecodeStatus::bad_kind;
  if (h.body_bytes > kMaxRecordBody) return DecodeStatus::bad_length;
  const size_t total = record_bytes(h.body_bytes);
  if (total > avail) return DecodeStatus::truncated;
  const uint32_t stored = h.crc32c;
  h.crc32c = 0;
  uint32_t crc = crc32c(0, &h, sizeof h);
  crc = crc32c(crc, p + sizeof h, h.body_bytes);
  if (crc != stored) return DecodeStatus::bad_crc;
  out.kind = static_cast<RecordKind>(h.kind);
  out.id = h.id;
  out.arrival_ns = h.arrival_ns;
  out.body = p + sizeof h;
  out.body_bytes = h.body_bytes;
  out.record_bytes = total;
  return DecodeStatus::ok;
}

}  // namespace busyring::storage

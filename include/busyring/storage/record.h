// The on-disk record codec (format version 1, little-endian; documented in README "Record
// format"). A record is a 32-byte header, the body, then zero bytes up to an 8-byte boundary:
//
//   off size field
//    0   4   magic        0x31525242 ("BRR1")
//    4   2   version      1
//    6   2   kind         1 = usage record, 2 = skip marker
//    8   4   body_bytes   length of the body
//   12   4   crc32c       CRC32C of the header (with this field zero) and the body
//   16   8   id           usage: the record's id; skip: first skipped file offset
//   24   8   arrival_ns   usage: ns since the epoch; skip: end of the skipped range
//
// Zero bytes are never a record (magic is nonzero): the gaps that pad each write to the
// direct-I/O alignment are zeros. A skip marker declares the bytes [id, arrival_ns) void: written
// by recovery after a torn tail, by the writer over a failed write, by salvage over damage.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::storage {

inline constexpr uint32_t kRecordMagic = 0x31525242u;
inline constexpr uint16_t kRecordVersion = 1;
inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr size_t kRecordAlign = 8;
inline constexpr uint32_t kMaxRecordBody = 16u << 20;

enum class RecordKind : uint16_t { usage = 1, skip = 2 };

struct RecordHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t kind;
  uint32_t body_bytes;
  uint32_t crc32c;
  uint64_t id;
  uint64_t arrival_ns;
};
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes);

constexpr size_t record_bytes(size_t body_bytes) noexcept {
  return (kRecordHeaderBytes + body_bytes + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}
static_assert(record_bytes(0) == 32 && record_bytes(1) == 40 && record_bytes(8) == 40);

// Writes header, body and zero padding at dst (record_bytes(body_bytes) bytes, 8-aligned dst).
// Returns the bytes written.
size_t encode_record(uint8_t* dst, RecordKind kind, uint64_t id, uint64_t arrival_ns,
                     const void* body, uint32_t body_bytes) noexcept;

enum class DecodeStatus : uint8_t {
  ok,
  zero,           // an all-zero header: padding or unwritten space
  bad_magic,
  bad_version,
  bad_kind,
  bad_length,     // body_bytes too large for the limit
  truncated,      // the record would run past the bytes available
  bad_crc,
};

const char* decode_status_name(DecodeStatus status) noexcept;

struct RecordView {
  RecordKind kind;
  uint64_t id;
  uint64_t arrival_ns;
  const uint8_t* body;
  uint32_t body_bytes;
  size_t record_bytes;  // header + body + padding: the offset of the next record
};

// Decodes the record at p, given `avail` readable bytes. Checks magic, version, kind, length
// and CRC; nothing in `out` is meaningful unless the result is ok.
[[nodiscard]] DecodeStatus decode_record(const uint8_t* p, size_t avail, RecordView& out) noexcept;

}  // namespace busyring::storage

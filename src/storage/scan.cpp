// Segment scan: see scan.h for the three ways a segment can end.
#include "busyring/storage/scan.h"

#include <algorithm>
#include <cstring>

#include "busyring/base/assert.h"

namespace busyring::storage {
namespace {

uint64_t load_u64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// First offset >= pos holding a nonzero 8-byte word, or size.
size_t skip_zeros(const uint8_t* data, size_t size, size_t pos) noexcept {
  while (pos < size && load_u64(data + pos) == 0) pos += 8;
  return pos;
}

// One past the last nonzero byte at or after pos, or pos if everything after is zero.
size_t last_nonzero_end(const uint8_t* data, size_t size, size_t pos) noexcept {
  size_t end = size;
  while (end > pos && data[end - 1] == 0) --end;
  return end;
}

// The next offset > pos (8-aligned) where a valid record starts, or size.
size_t find_valid(const uint8_t* data, size_t size, size_t pos, RecordView& view) noexcept {
  for (size_t q = pos + 8; q + kRecordHeaderBytes <= size; q += 8) {
    uint32_t magic;
    std::memcpy(&magic, data + q, 4);
    if (magic == kRecordMagic && decode_record(data + q, size - q, view) == DecodeStatus::ok)
      return q;
  }
  return size;
}

}  // namespace

const char* segment_end_name(SegmentEnd end) noexcept {
  switch (end) {
    case SegmentEnd::clean: return "clean";
    case SegmentEnd::torn: return "torn tail";
    case SegmentEnd::corrupt: return "corrupt";
  }
  return "?";
}

SegmentScan scan_segment(const uint8_t* data, size_t size, RecordVisitor* visitor) noexcept {
  BR_ASSERT(size % 8 == 0);
  SegmentScan s;
  size_t pos = 0;
  while (true) {
    pos = skip_zeros(data, size, pos);
    if (pos >= size) return s;
    RecordView v{};
    const DecodeStatus st = decode_record(data + pos, size - pos, v);
    if (st == DecodeStatus::ok) {
      if (v.kind == RecordKind::usage) {
        if (s.records == 0) s.first_id = v.id;
        s.last_id = v.id;
        ++s.records;
        s.record_bytes += v.record_bytes;
        if (visitor != nullptr && !visitor->on_record(v, pos)) return s;
      }
      if (v.kind == RecordKind::skip && v.id == pos && v.arrival_ns > pos) {
        // A marker at the start of a void range (a failed write, or salvage): jump over it.
        pos = static_cast<size_t>(std::min<uint64_t>(v.arrival_ns, size));
        pos = (pos + 7) / 8 * 8;
        s.data_end = pos;
        continue;
      }
      pos += v.record_bytes;
      s.data_end = pos;
      continue;
    }
    // Invalid bytes at pos: a void stretch, a torn tail, or corruption.
    const size_t q = find_valid(data, size, pos, v);
    if (q < size) {
      const bool voided = v.kind == RecordKind::skip && v.id <= pos && v.arrival_ns >= q;
      if (voided) {
        pos = q;
        continue;
      }
      s.end = SegmentEnd::corrupt;
      s.bad_offset = pos;
      s.bad_status = st;
      s.next_valid = q;
      return s;
    }
    s.end = SegmentEnd::torn;
    s.bad_offset = pos;
    s.bad_status = st;
    s.torn_end = last_nonzero_end(data, size, pos);
    return s;
  }
}

}  // namespace busyring::storage

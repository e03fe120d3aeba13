// Segment scan: see scan.h for the three ways a segment can end, the skip markers and torn
// stretches.
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

// A skip marker placed after the range it voids (recovery's, after a torn write).
bool after_range_marker(const RecordView& v, size_t at) noexcept {
  return v.kind == RecordKind::skip && v.id < at && v.arrival_ns >= at;
}

// A skip marker over the start of the range it voids (a failed write's, or salvage's).
bool leading_marker(const RecordView& v, size_t at) noexcept {
  return v.kind == RecordKind::skip && v.id == at && v.arrival_ns > at;
}

size_t after_leading_marker(const RecordView& v, size_t size) noexcept {
  const auto end = static_cast<size_t>(std::min<uint64_t>(v.arrival_ns, size));
  return (end + 7) / 8 * 8;
}

// Walks from `from` to the end as the scan does (valid records and leading markers' ranges
// jumped over, anything else searched word by word) and calls on_marker(offset, view) for each
// after-range marker until it returns true. Returns whether one did.
template <typename F>
bool walk_after_range_markers(const uint8_t* data, size_t size, size_t from, F&& on_marker) noexcept {
  size_t p = from;
  while (true) {
    p = skip_zeros(data, size, p);
    if (p >= size) return false;
    RecordView v{};
    if (decode_record(data + p, size - p, v) != DecodeStatus::ok) {
      p = find_valid(data, size, p, v);
      continue;
    }
    if (after_range_marker(v, p) && on_marker(p, v)) return true;
    p = leading_marker(v, p) ? after_leading_marker(v, size) : p + v.record_bytes;
  }
}

bool zero_sector(const uint8_t* data, size_t size, size_t at) noexcept {
  if (at + kSectorBytes > size) return false;
  for (size_t i = at; i < at + kSectorBytes; i += 8)
    if (load_u64(data + i) != 0) return false;
  return true;
}

// Which after-range markers cover which invalid bytes: a marker later in the segment whose
// range starts at or before them. Both answers of the last walk are remembered (the marker that
// covered, or the lowest range start of those that did not), so the stretches of one damaged
// region cost one walk, not one each.
class MarkerCover {
 public:
  MarkerCover(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool covers(size_t pos) noexcept {
    if (pos >= cover_from_ && pos < cover_to_) return true;
    if (pos >= searched_from_ && pos < lowest_start_) return false;
    uint64_t lowest = UINT64_MAX;
    const bool found = walk_after_range_markers(data_, size_, pos, [&](size_t at, const RecordView& v) {
      if (v.id <= pos) {
        cover_from_ = v.id;
        cover_to_ = at;
        return true;
      }
      lowest = std::min(lowest, v.id);
      return false;
    });
    if (!found) {
      searched_from_ = pos;
      lowest_start_ = lowest;
    }
    return found;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t cover_from_ = 0, cover_to_ = 0;           // a marker's range, [from, to)
  uint64_t searched_from_ = 1, lowest_start_ = 0;  // no marker after searched_from_ starts below lowest_start_
};

}  // namespace

const char* segment_end_name(SegmentEnd end) noexcept {
  switch (end) {
    case SegmentEnd::clean: return "clean";
    case SegmentEnd::torn: return "torn tail";
    case SegmentEnd::corrupt: return "corrupt";
  }
  return "?";
}

bool looks_torn(const uint8_t* data, size_t size, size_t pos) noexcept {
  if (pos + 8 > size) return false;
  RecordHeader h{};
  std::memcpy(&h, data + pos, std::min(sizeof h, size - pos));
  const bool header = h.magic == kRecordMagic ||
                      (h.version == kRecordVersion &&
                       (h.kind == static_cast<uint16_t>(RecordKind::usage) || h.kind == static_cast<uint16_t>(RecordKind::skip)));
  if (!header) return pos % kSectorBytes == 0 && pos >= kSectorBytes && zero_sector(data, size, pos - kSectorBytes);
  // A record the writer wrote never crosses the segment's end; one that does is no torn write.
  const uint64_t end = pos + record_bytes(h.body_bytes);
  if (end > size) return false;
  for (size_t s = pos / kSectorBytes * kSectorBytes + kSectorBytes; s < end; s += kSectorBytes)
    if (zero_sector(data, size, s)) return true;
  return false;
}

SegmentScan scan_segment(const uint8_t* data, size_t size, RecordVisitor* visitor, uint64_t torn_from) noexcept {
  BR_ASSERT(size % 8 == 0);
  SegmentScan s;
  MarkerCover cover(data, size);
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
        if (s.torn_stretches > 0) ++s.records_after_torn;
        s.record_bytes += v.record_bytes;
        if (visitor != nullptr && !visitor->on_record(v, pos)) return s;
      }
      pos = leading_marker(v, pos) ? after_leading_marker(v, size) : pos + v.record_bytes;
      s.data_end = pos;
      continue;
    }
    // Invalid bytes at pos: voided by a marker, a torn stretch, a torn tail, or corruption.
    const size_t q = find_valid(data, size, pos, v);
    if (q < size) {
      if (cover.covers(pos)) {
        pos = q;
        continue;
      }
      if (pos >= torn_from && looks_torn(data, size, pos)) {
        if (s.torn_stretches++ == 0) {
          s.first_torn = pos;
          s.first_torn_status = st;
        }
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
    s.tail_looks_torn = looks_torn(data, size, pos);
    return s;
  }
}

void copy_valid_only(const uint8_t* data, size_t size, size_t from, size_t to, size_t damage_from,
                     uint8_t* out) noexcept {
  BR_ASSERT(from <= damage_from && to <= size && from % 8 == 0 && damage_from % 8 == 0);
  std::memcpy(out, data + from, to - from);
  size_t p = damage_from;
  while (true) {
    p = skip_zeros(data, size, p);
    if (p >= to) return;
    RecordView v{};
    if (decode_record(data + p, size - p, v) == DecodeStatus::ok) {
      p = leading_marker(v, p) ? after_leading_marker(v, size) : p + v.record_bytes;
      continue;
    }
    const size_t q = std::min(find_valid(data, size, p, v), to);
    std::memset(out + (p - from), 0, q - p);
    p = q;
  }
}

}  // namespace busyring::storage

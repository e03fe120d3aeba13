// Scanning one segment's bytes: every valid record in order, then how the data ends.
//   clean    : the last record is followed only by zeros
//   torn     : an invalid record followed only by zeros (a write that did not finish): the
//              bytes [bad_offset, torn_end) are void and appending resumes after them
//   corrupt  : an invalid record followed later by a valid one (damage in the middle): never
//              skipped silently; the caller refuses to start and names bad_offset
// Zero gaps (the padding that ends every write) are skipped. Skip markers void bytes:
//  - one whose id equals its own offset voids [its offset, arrival_ns), valid records included
//    (the writer puts it over a failed write; salvage puts it over a corrupt record);
//  - one whose range [id, arrival_ns) covers its own offset from before (an "after-range"
//    marker: recovery writes it right after the damage it voids) voids the invalid bytes in
//    [id, its offset); valid records in that range stand (a torn multi-page write that kept
//    some pages: see recovery.h).
// Torn stretches: damage at or after `torn_from` that looks like lost sectors (looks_torn) does
// not end the scan even when valid records follow: it is counted (torn_stretches, first_torn)
// and the scan goes on, so the caller can judge it against the writes in flight at a crash.
#pragma once

#include <cstddef>
#include <cstdint>

#include "busyring/storage/record.h"

namespace busyring::storage {

enum class SegmentEnd : uint8_t { clean, torn, corrupt };

const char* segment_end_name(SegmentEnd end) noexcept;

// The smallest unit a disk persists or loses whole: a sector. Every log write starts on the
// direct-I/O alignment (a multiple of it), and a segment is created zero-filled, so a sector a
// torn write lost reads back as zeros.
inline constexpr size_t kSectorBytes = 512;
inline constexpr uint64_t kNoTornStretches = UINT64_MAX;

struct SegmentScan {
  SegmentEnd end = SegmentEnd::clean;
  uint64_t records = 0;        // usage records
  uint64_t record_bytes = 0;   // their bytes, headers included
  uint64_t first_id = 0;       // of the usage records, 0 if none
  uint64_t last_id = 0;
  uint64_t data_end = 0;       // end of the last valid record (usage or skip), 0 if none
  uint64_t bad_offset = 0;     // torn / corrupt: where the invalid bytes start
  DecodeStatus bad_status = DecodeStatus::ok;
  uint64_t torn_end = 0;       // torn: one past the last nonzero byte
  uint64_t next_valid = 0;     // corrupt: offset of the valid record after the damage
  bool tail_looks_torn = false;  // torn: the invalid bytes look like lost sectors (looks_torn)
  uint32_t torn_stretches = 0;   // damage at or after torn_from, looking torn, valid data after it
  uint64_t first_torn = 0;       // the first of them (meaningful when torn_stretches > 0)
  DecodeStatus first_torn_status = DecodeStatus::ok;
  uint64_t records_after_torn = 0;  // usage records after first_torn
};

struct SegmentSummary;  // segment_summary.h

class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  // A usage record at `offset`. Return false to stop the scan early.
  virtual bool on_record(const RecordView& record, uint64_t offset) = 0;
  // Start-up recovery offers a sealed segment's valid summary in place of its records: return
  // true to take it (the segment is then not scanned), false (the default) for every record.
  virtual bool on_summary(const SegmentSummary& /*summary*/) { return false; }
};

// Scans data[0, size). size must be a multiple of 8. Damage before torn_from (by default: all
// of it) followed by a valid record ends the scan as corrupt.
SegmentScan scan_segment(const uint8_t* data, size_t size, RecordVisitor* visitor,
                         uint64_t torn_from = kNoTornStretches) noexcept;

// Whether the invalid bytes at pos look like a write that lost sectors: either a record header
// (magic, or version and kind, intact) whose extent overlaps an all-zero sector, or bytes that
// are no header, starting a sector right after an all-zero one (the rest of a record whose
// start was lost). A flipped bit, garbage or a misdirected write does not look like that.
bool looks_torn(const uint8_t* data, size_t size, size_t pos) noexcept;

// Copies data[from, to) to out, zeroing the invalid bytes at or after damage_from (walked as
// the scan walks them: valid records, markers and zeros are kept as they are). For voiding
// damage in place where no skip marker fits.
void copy_valid_only(const uint8_t* data, size_t size, size_t from, size_t to, size_t damage_from,
                     uint8_t* out) noexcept;

}  // namespace busyring::storage

// Scanning one segment's bytes: every valid record in order, then how the data ends.
//   clean    : the last record is followed only by zeros
//   torn     : an invalid record followed only by zeros (a write that did not finish): the
//              bytes [bad_offset, torn_end) are void and appending resumes after them
//   corrupt  : an invalid record followed later by a valid one (damage in the middle): never
//              skipped silently; the caller refuses to start and names bad_offset
// Zero gaps (the padding that ends every write) are skipped. Skip markers void bytes:
//  - one whose range [id, arrival_ns) covers an earlier invalid stretch voids that stretch
//    (recovery writes it after a torn tail, at a fresh aligned offset);
//  - one whose id equals its own offset voids [its offset, arrival_ns) (the writer puts it over
//    a failed write; salvage puts it over a corrupt record).
#pragma once

#include <cstddef>
#include <cstdint>

#include "busyring/storage/record.h"

namespace busyring::storage {

enum class SegmentEnd : uint8_t { clean, torn, corrupt };

const char* segment_end_name(SegmentEnd end) noexcept;

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

// Scans data[0, size). size must be a multiple of 8.
SegmentScan scan_segment(const uint8_t* data, size_t size, RecordVisitor* visitor) noexcept;

}  // namespace busyring::storage

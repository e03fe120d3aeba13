// Start-up recovery of one shard's log: scan every segment in order, report each usage record
// to a visitor (the id recovery listens), void a torn tail, refuse on corruption, and say where
// appending resumes. Runs before the shards start; plain blocking I/O.
#pragma once

#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment_summary.h"

namespace busyring::storage {

struct AppendPosition {
  uint32_t segment = 0;  // segment index to append to (created if missing)
  uint64_t offset = 0;   // aligned file offset of the next write
};

struct ShardRecovery {
  AppendPosition position;
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t bytes_scanned = 0;
  uint32_t segments = 0;
  uint32_t torn_tails = 0;  // torn tails voided by this recovery
  uint32_t summarised = 0;  // sealed segments taken from their summaries, not scanned
  uint32_t summaries_written = 0;  // summaries written for sealed segments that had to be scanned
  // What the segment appending resumes in holds (complete only when it was scanned whole).
  SummaryBuilder resumed;
};

// Scans dir (a shard-KK directory; a missing one is an empty log). With `repair`, a torn tail
// is voided on disk (a skip marker after it, fsynced) so appending can resume, and a sealed
// segment that had to be scanned gets its summary written; without, the log is only read.
// Corruption is an error naming the file and offset. A sealed segment with a valid summary
// that the visitor takes (RecordVisitor::on_summary; always with no visitor) is not scanned.
[[nodiscard]] base::Result<ShardRecovery> recover_shard(const std::string& dir, bool repair,
                                                        RecordVisitor* visitor);

}  // namespace busyring::storage

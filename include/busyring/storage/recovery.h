// Start-up recovery of one shard's log: scan every segment in order, report each usage record
// to a visitor (the id recovery listens), void a torn tail, refuse on corruption, and say where
// appending resumes. Runs before the shards start; plain blocking I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/storage/scan.h"

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
};

// Scans dir (a shard-KK directory; a missing one is an empty log). With `repair`, a torn tail
// is voided on disk (a skip marker after it, fsynced) so appending can resume; without, the log
// is only read. Corruption is an error naming the file and offset. With `scanned_bytes`, each
// segment's bytes are added to it once scanned (progress for the start-up's reports).
[[nodiscard]] base::Result<ShardRecovery> recover_shard(const std::string& dir, bool repair,
                                                        RecordVisitor* visitor,
                                                        std::atomic<uint64_t>* scanned_bytes = nullptr);

// The bytes recover_shard(dir) will scan: the sizes of its segment files (0 for a missing dir).
uint64_t shard_log_bytes(const std::string& dir);

}  // namespace busyring::storage

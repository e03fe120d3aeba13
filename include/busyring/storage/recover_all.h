// Start-up recovery of a whole data dir: every DATA_DIR/shard-KK (also those of an earlier
// run with more shards) goes through recover_shard, several directories at once
// (one scan thread per core), so reading one segment overlaps checking another and recovery
// runs near disk speed. What the records mean (their ids) is the caller's: each directory gets
// its own visitor, so no visitor is shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/storage/recovery.h"

namespace busyring::storage {

struct DataDirRecovery {
  std::vector<AppendPosition> positions;  // one per shard of this run: [0, shards)
  std::vector<SummaryBuilder> resumed;    // the same: what each position's segment holds
  uint32_t shard_dirs = 0;                // shard directories found and recovered
  uint64_t records = 0;
  uint64_t bytes_scanned = 0;
  uint32_t segments = 0;
  uint32_t summarised = 0;                // segments taken from their summaries, not scanned
  uint32_t summaries_written = 0;
  uint64_t scan_ns = 0;                   // wall time of the whole scan
  uint64_t torn_tails = 0;                // segments whose torn tail was voided (recovery.h)
};

// The visitor of one shard directory's records, or null for none. Called on the calling thread,
// once per directory in shard order, before any scan starts; the visitor must outlive the call
// of recover_all and is then used by one scan thread only.
using VisitorFor = std::function<RecordVisitor*(uint32_t shard)>;

// Recovers every shard directory of data_dir (a data dir without any is an empty log), each with
// `options` (the server's: server_recovery_options). The error is the first failing
// directory's, in shard order (corruption names file and offset).
[[nodiscard]] base::Result<DataDirRecovery> recover_all(const std::string& data_dir, uint32_t shards,
                                                        const RecoveryOptions& options,
                                                        const VisitorFor& visitor_for);

// The bytes of every segment recover_all(data_dir) will go through (shard_log_bytes of every
// shard directory, summarised segments included): the total of its progress
// (RecoveryOptions::scanned_bytes).
uint64_t data_dir_log_bytes(const std::string& data_dir);

}  // namespace busyring::storage

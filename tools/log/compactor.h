// Compaction of one shard directory (busyring-log compact; issue 17 §6): sealed segments
// rewritten as compacted segments (storage/compact_segment.h), durably, so that a crash at any
// point leaves at least one complete copy of every segment.
//
// The protocol for segment N (each step durable before the next):
//   1. seg-N.zlog.tmp written from seg-N.log, then read back, decoded and compared byte for
//      byte with seg-N.log, then fsynced
//   2. renamed to seg-N.zlog, the directory fsynced
//   3. seg-N.log unlinked, the directory fsynced
// What a crash leaves, and what the next run (leftovers()) does with it:
//   - seg-N.zlog.tmp: an unfinished copy; removed (seg-N.log is whole);
//   - seg-N.log and seg-N.zlog: the .zlog is kept only if it decodes to exactly the .log's
//     bytes, then the .log is removed; otherwise the .zlog is removed and N compacted again.
//     Readers meanwhile read the .log (MappedFile prefers it), the server included.
//   - seg-N.zlog alone: done.
//
// Sealed: the server never writes to N again. N is sealed when a later segment of its shard
// begins with a record that arrived at least `settle` ago: the writer had moved past N by then,
// and every write to N was submitted before that record's and has long completed (the export's
// --since-checkpoint rule). The last segment on disk is never sealed, so neither the segment
// being written nor the prepared next one is ever touched. Segments already retired
// (DATA_DIR/retired) are left to retire, and a segment whose scan is not clean (torn, corrupt)
// is left as it is for verify and salvage to name.
#pragma once

#include <cstdint>
#include <string>

#include "busyring/base/result.h"

namespace busyring::logtool {

// Where a compaction may be stopped (tests): the state on disk is what a kill right after that
// step leaves, since every step before it is durable and none after it ran.
enum class CompactStep : uint8_t { none, tmp_written, renamed, log_removed };

struct CompactOptions {
  uint64_t settle_ns = 10'000'000'000ull;
  int zstd_level = 3;
  CompactStep stop_after = CompactStep::none;
  int64_t retired_through = -1;  // segments 0..this were retired: leave them to retire
};

struct CompactTotals {
  uint32_t compacted = 0;       // segments compacted by this run
  uint32_t finished = 0;        // leftovers of an earlier run completed (a .log removed)
  uint32_t redone = 0;          // .zlog copies that did not match their .log, removed
  uint32_t tmp_removed = 0;     // unfinished .zlog.tmp copies removed
  uint32_t skipped_damaged = 0;  // sealed segments left alone because their scan is not clean
  uint64_t bytes_before = 0;    // the compacted segments' .log sizes
  uint64_t bytes_after = 0;     // their .zlog sizes
  uint64_t records = 0;         // usage records in them
  std::string first_problem;    // the first damaged segment, one sentence
};

// Finishes what an earlier run left in `dir` (see the top of this file).
[[nodiscard]] base::Status compact_leftovers(const std::string& dir, CompactTotals& totals);

// Compacts segment `index` of shard directory `dir` from its .log (steps 1-3). Stops after
// options.stop_after.
[[nodiscard]] base::Status compact_segment_file(const std::string& dir, uint32_t index, const CompactOptions& options,
                                                CompactTotals& totals);

// The sealed segments of `dir` that are still .log files, by the rule above, at `now_ns`
// (CLOCK_REALTIME), compacted in index order.
[[nodiscard]] base::Status compact_shard(const std::string& dir, uint64_t now_ns, const CompactOptions& options,
                                         CompactTotals& totals);

}  // namespace busyring::logtool

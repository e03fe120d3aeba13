// Start-up recovery of one shard's log: scan every segment in order, report each usage record
// to a visitor (the id recovery listens), void a torn tail, refuse on corruption, and say where
// appending resumes. Runs before the shards start; plain blocking I/O.
//
// Torn or corrupt (issue 17 §4). A power cut may leave some sectors of the writes in flight and
// not others: a disk persists a multi-page write page by page, and with --log-writes N several
// writes are in flight, so a later one may land whole while an earlier one lost pages. What a
// crash can leave is therefore bounded, and recovery tells it from corruption by three tests:
//  1. where: damage followed by valid data is torn only inside the window the writes in flight
//     could have covered: the last `in_flight_bytes` (--log-writes x the largest write) before
//     the log's last nonzero byte, plus one write's worth per segment boundary (the unused
//     tail the writer leaves when a record does not fit). Everything before the first write in
//     flight was written and flushed, and the first write in flight starts within that window.
//  2. how: the damage looks like lost sectors (scan.h looks_torn): a disk loses whole sectors,
//     which read back as the zeros segments are created with; a flipped bit, garbage or a
//     misdirected write does not, and is corruption wherever it lies.
//  3. damage with nothing after it in the whole log is a torn tail as before (the last write).
// What is kept: only the invalid bytes are voided; every valid record after them stays. None
// of them was acknowledged, since acknowledgements are released in write order (LogWriter::
// pop_done) and a write is released only after every earlier one completed with its fdatasync,
// so each of its pages was on disk; keeping them is what a kill -9 (page cache intact) does
// anyway. Voiding them instead could lose an acknowledged record in one case: a write that
// failed (its records answered 503) while a later one succeeded and was acknowledged, with the
// power cut before the failed write's skip marker landed.
// Voiding: a skip marker after the damage, declaring [first damaged byte, marker) void except
// for the valid records in it (a fresh aligned offset: no sector that may hold acknowledged
// bytes is rewritten); where the segment has no room left for it, the invalid bytes are zeroed
// in place. One log line per shard, counted in torn_tails.
#pragma once

#include <atomic>
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
  uint32_t torn_tails = 0;         // segments whose torn bytes this recovery voided (repair only)
  // Judged torn (also without repair): first damaged byte to the last nonzero one, summed over
  // the segments, and the valid records among those bytes (kept).
  uint64_t torn_bytes = 0;
  uint64_t kept_after_damage = 0;
  uint32_t summarised = 0;  // sealed segments taken from their summaries, not scanned
  uint32_t summaries_written = 0;  // summaries written for sealed segments that had to be scanned
  // What the segment appending resumes in holds (complete only when it was scanned whole).
  SummaryBuilder resumed;
};

inline constexpr uint64_t kUnboundedWindow = UINT64_MAX;

struct RecoveryOptions {
  // Void torn bytes on disk (a skip marker after them, fsynced) so appending can resume;
  // without, the log is only read and judged.
  bool repair = false;
  // The window of point 1 above. 0: only a torn tail with nothing after it (the read-only
  // default). kUnboundedWindow: anywhere (the server's --ack written and memory, which make
  // no promise against a power cut: their writes are never flushed).
  uint64_t in_flight_bytes = 0;
  uint64_t write_bytes = 0;  // the largest single log write
  // When set, each segment's bytes are added to it once scanned, or once taken from its
  // summary (done without reading it), from the scan threads (the start-up's progress reports
  // read it: it reaches shard_log_bytes however many segments are summarised).
  std::atomic<uint64_t>* scanned_bytes = nullptr;
};

// The options the server starts with: --log-writes writes of at most one write buffer each
// (LogWriter::open's size: 512 KiB, or one record of --max-body, rounded up to 4 KiB).
RecoveryOptions server_recovery_options(uint32_t log_writes, uint32_t max_body, bool durable);

// Scans dir (a shard-KK directory; a missing one is an empty log). Corruption is an error
// naming the file, the offset and the salvage command. With repair, a sealed segment that had
// to be scanned gets its summary written. A sealed segment with a valid summary that the
// visitor takes (RecordVisitor::on_summary; always with no visitor) is not scanned.
[[nodiscard]] base::Result<ShardRecovery> recover_shard(const std::string& dir, const RecoveryOptions& options,
                                                        RecordVisitor* visitor);
// The same with a window of 0 (only a torn tail at the very end is torn).
[[nodiscard]] base::Result<ShardRecovery> recover_shard(const std::string& dir, bool repair,
                                                        RecordVisitor* visitor);

// The bytes recover_shard(dir) goes through, scanned or summarised: the sizes of its segment
// files (0 for a missing dir).
uint64_t shard_log_bytes(const std::string& dir);

}  // namespace busyring::storage

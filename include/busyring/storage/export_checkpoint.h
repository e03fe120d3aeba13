// Export checkpoints (`busyring-log export --since-checkpoint FILE`): how far each segment file of each shard
// of each DIR has been exported. A segment's mark is a byte offset (the end of the last record
// exported), not an id: holes are reissued later, so a record with a low id can land after
// higher ones, and only its position says whether an export has already seen it. Each mark
// also keeps a fingerprint of its segment (the first usage record's id and arrival time), so a
// checkpoint is never applied to another log. The file is text, one line per segment:
//
//   busyring-log checkpoint 1
//   generation 4                 <- 1 for the first checkpoint; each export makes generation+1
//   base 3                       <- the generation it was made from (generation - 1)
//   dirs 1                       <- the number of DIR arguments, in order
//   segment 0 0 0 1048064 1 1700000000123456789 sealed   <- dir shard segment offset first_id
//   segment 0 0 1 4096 2731 1700000005123456789 open        first_arrival_ns sealed|open
//   end 2                        <- the number of segment lines (a cut file never parses)
//
// Export writes FILE.next (via FILE.next.tmp: written, fsynced, renamed, directory fsynced)
// and never touches FILE; `checkpoint commit FILE` renames FILE.next over FILE, only when
// FILE.next's base is FILE's generation, so a stale FILE.next can never move FILE backwards.
// The format lives in storage because two programs read it: busyring-log (export, retire,
// checkpoint commit: tools/log/checkpoint.h) and the server, whose export lag gauge measures the
// records the committed checkpoint does not cover yet (storage/export_lag.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::storage {

struct SegmentMark {
  uint32_t dir = 0;  // index of the DIR argument
  uint32_t shard = 0;
  uint32_t segment = 0;
  uint64_t offset = 0;    // the next export starts here: end of the last record exported
  uint64_t first_id = 0;  // fingerprint: the segment's first usage record (0: it had none)
  uint64_t first_arrival_ns = 0;
  // Every record exported and the shard has long moved to a later segment: not scanned again.
  bool sealed = false;

  bool same_place(const SegmentMark& o) const { return dir == o.dir && shard == o.shard && segment == o.segment; }
  bool before(const SegmentMark& o) const {
    if (dir != o.dir) return dir < o.dir;
    if (shard != o.shard) return shard < o.shard;
    return segment < o.segment;
  }
};

struct Checkpoint {
  uint64_t generation = 0;  // 0: no checkpoint yet (everything is new)
  uint64_t base = 0;
  uint32_t dirs = 0;
  std::vector<SegmentMark> segments;  // sorted by (dir, shard, segment), no duplicates
};

inline constexpr std::string_view kCheckpointMagic = "busyring-log checkpoint 1";

[[nodiscard]] std::string format_checkpoint(const Checkpoint& checkpoint);
// The error names the line and what is wrong with it.
[[nodiscard]] base::Result<Checkpoint> parse_checkpoint(std::string_view text);

}  // namespace busyring::storage

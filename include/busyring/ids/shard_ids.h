// A shard's id issuer: holes handed to it at start-up first (ids below the recovered maximum
// that no record carries), then blocks from the shared source. Issuing an id touches no
// shared memory except once per block. Owned and used by one shard thread only.
//
// Block sizes adapt to the rate: a shard whose last block lasted over a millisecond takes a
// single id next time, one that used its block up quickly doubles the next, up to --id-block.
// So sequential requests get 1, 2, 3 whichever shard takes them, and a loaded shard touches
// the shared counter once per --id-block requests. A source may hand out less than asked (the
// end of a reserved range) or nothing (a Redis source with an empty reserve).
#pragma once

#include <cstdint>
#include <vector>

#include "busyring/ids/block_source.h"
#include "busyring/ids/id_range.h"

namespace busyring::ids {

class ShardIds {
 public:
  ShardIds(BlockSource& source, uint32_t block, std::vector<IdRange> holes) noexcept;

  // A fresh id, or 0 when the source has none to give now (see ids_expected_soon()).
  // now_ns: any clock, used only to size the next block.
  uint64_t next(uint64_t now_ns) noexcept {
    if (!source_.issuing_allowed()) return 0;
    if (current_.empty() && !refill(now_ns)) return 0;
    return current_.first++;
  }

  // `count` consecutive ids for a batch of records, or an empty range when the source has none
  // to give now. They come from the current block when it has `count` left, else from a fresh
  // reservation of exactly `count` ids, which leaves the current block's rest for the next
  // single ids: unused ids stay what they are without batches, under --id-block per shard.
  IdRange next_range(uint32_t count) noexcept;

  // Takes back the id just returned by next() (its record could not be appended), so it is
  // not left as a hole.
  void unissue(uint64_t id) noexcept {
    if (id + 1 == current_.first) --current_.first;
  }

  // After next() gave 0: whether ids are on their way (a shared source that is up, refilling
  // an empty reserve), so the request may wait for them, rather than answer 503 now.
  bool ids_expected_soon() const noexcept {
    return source_.issuing_allowed() && source_.stats().serving();
  }

  uint64_t issued() const noexcept { return issued_blocks_; }
  uint64_t holes_reissued() const noexcept { return holes_taken_; }

 private:
  bool refill(uint64_t now_ns) noexcept;

  BlockSource& source_;
  uint32_t block_;
  std::vector<IdRange> holes_;  // reversed: the lowest hole is at the back
  std::vector<IdRange> spare_;  // short pieces of batch reservations, for single ids
  IdRange current_;
  uint64_t issued_blocks_ = 0;
  uint64_t holes_taken_ = 0;
  uint64_t last_refill_ns_ = 0;
  uint32_t next_block_ = 1;
};

}  // namespace busyring::ids

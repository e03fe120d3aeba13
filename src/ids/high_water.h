// The node's own id counter made durable (--id-source local, issue 17 §1): the highest id that
// may have been handed out is on disk before any id of a new block is issued, so that removing
// the segment that held the highest ids can never make the node issue them again.
//
// The shards take blocks from one atomic counter, as before, but never past `durable_end`: the
// end of what DATA_DIR/id-ranges says ("local", then "1 END"). A small thread keeps END ahead
// of the counter: whenever fewer than --id-reserve/2 ids are left below it, it replaces the file
// durably (temp file, fsync, rename, directory fsync) with END + --id-reserve/2 and only then
// publishes the new end. At the seeds' rate that is about one file write a second, off every
// shard's path; a shard's block costs one compare-and-swap, as before one fetch-add. Should the
// counter catch up with the durable end (a disk slower than the rate), a shard gets no block for
// a moment and its requests wait for ids (ids_expected_soon), as with Redis.
//
// A failed write: the thread retries (backing off to a second) and /healthz says why; the
// shards go on below the durable end, then answer 503 until a write succeeds.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/ids/block_source.h"
#include "refill_thread.h"

namespace busyring::ids {

class HighWaterBlockSource final : public BlockSource {
 public:
  // path: DATA_DIR/id-ranges; first_id: the first id of a fresh block (above every id the log
  // and the retired segments hold); durable_end: the file's high water, from an earlier run
  // (ids below it need no new write); reserve_ids: --id-reserve.
  HighWaterBlockSource(std::string path, uint64_t first_id, uint64_t durable_end, uint32_t reserve_ids);
  ~HighWaterBlockSource() override;
  HighWaterBlockSource(const HighWaterBlockSource&) = delete;
  HighWaterBlockSource& operator=(const HighWaterBlockSource&) = delete;

  // Writes the first high water (so the first requests find ids) and starts the thread. Fails
  // only when the file cannot be written.
  base::Status start();

  IdRange take(uint32_t count) noexcept override;
  SourceStats stats() const noexcept override;

  // The end of the ids the file covers (tests).
  uint64_t durable_end() const noexcept { return durable_end_.load(std::memory_order_acquire); }

 private:
  RefillStep step();
  int write_high_water(uint64_t end);

  const std::string path_;
  const uint64_t half_;       // ids added per write
  const uint64_t low_water_;  // write again when fewer than this are left below the end
  int last_error_ = 0;  // errno of the last failed write; the writing thread (or start) only
  std::atomic<bool> failing_{false};  // the last write failed
  alignas(64) std::atomic<uint64_t> next_;
  alignas(64) std::atomic<uint64_t> durable_end_;
  RefillThread refill_{RefillTiming{.backoff_min_ms = 10, .backoff_max_ms = 1000, .idle_poll_ms = 1000}};
};

}  // namespace busyring::ids

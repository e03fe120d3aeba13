// Id ranges reserved from a counter shared by a cluster of nodes (--id-source redis:// or
// etcd://), one mechanism whatever the store (range_store.h says what differs).
//
// One small dedicated thread talks to the store with blocking calls: whenever the node's
// reserve falls under half of --id-reserve it reserves reserve/2 ids, writes the range to
// DATA_DIR/id-ranges (fdatasync) and only then publishes it to the shards' lock-free reserve
// (id_reserve.h). A thread rather than async I/O on the shards' rings: the call happens a few
// times a second at most, never on a request's path, and a thread keeps connect timeouts,
// reconnects, fail-over and the durable file write off every shard.
//
// A reservation is guarded by the node's record in the store (the last range it handed this
// node): a call the node gave up on (a timeout while the store stalled) is never lost: if the
// store ran it, the next call finds the node's record ahead, and the node adopts that range;
// if the store runs it late, after a newer call, the record no longer matches and it does nothing.
//
// Store unreachable: shards go on taking from the reserve; once it is empty they get nothing
// and answer 503. A store that refuses the node's credentials (range_store.h, access_refused)
// is treated the same, said once on the log and on /healthz as a refusal, and retried: fixing
// the store's users brings the node back without a restart. A store that lost its state (the counter below ids this node held, its record
// of this node behind or gone, or no counter at all) is refused: nothing more is issued (other
// nodes may now be handed the same ids), and the thread polls the counter until an operator
// sets it (a new cluster sets it to 0 once).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "busyring/base/result.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/held_ranges.h"
#include "id_reserve.h"
#include "range_store.h"
#include "refill_thread.h"

namespace busyring::ids {

class SharedBlockSource final : public BlockSource {
 public:
  // last_range: the last range this node reserved (none: empty); held_end: one past the highest
  // id this node ever held (its id-ranges and its log); held_holes: the unused ids of those
  // ranges, dealt to the shards as holes: they count as reserve until issued, so a restarted
  // node takes no new range before using them up.
  SharedBlockSource(std::unique_ptr<RangeStore> store, IdRange last_range, uint32_t reserve_ids, uint64_t held_end,
                    uint64_t held_holes);
  ~SharedBlockSource() override;
  SharedBlockSource(const SharedBlockSource&) = delete;
  SharedBlockSource& operator=(const SharedBlockSource&) = delete;

  // Opens the ranges file, tries one reservation, starts the thread. Fails only on a local
  // problem (the file); the store being down is not a start-up error.
  base::Status start(const std::string& ranges_path);

  IdRange take(uint32_t count) noexcept override;
  void holes_taken(uint64_t count) noexcept override;
  SourceStats stats() const noexcept override;

 private:
  using Step = RefillStep;
  enum Refusal : uint8_t { none, behind, missing };
  Step step();
  Step reserve_range();
  Step adopt(const std::string& record);
  Step check_counter_fixed();
  Step take_range(IdRange range);
  Step refuse(Refusal why, const char* what);
  void note_down(const std::string& what);
  void note_access_refused(const std::string& what);
  void note_up();
  uint64_t available() const noexcept {
    return reserve_.available() + held_holes_.load(std::memory_order_relaxed);
  }
  void wake_if_low() noexcept {
    if (available() < low_water_) refill_.request();
  }

  const std::unique_ptr<RangeStore> store_;
  const uint64_t half_;       // ids per reservation
  const uint64_t low_water_;  // refill under this many available ids
  // /healthz texts, built once: rendering allocates nothing.
  const std::string problem_down_;
  const std::string problem_refused_;
  const std::string problem_missing_;
  const std::string problem_access_;
  uint64_t held_end_;         // reserving thread only
  std::string last_range_;    // "FIRST END" of the last range taken, or empty; reserving thread only
  IdReserve reserve_;
  HeldRangesLog ranges_log_;
  RefillThread refill_{RefillTiming{.backoff_min_ms = 50, .backoff_max_ms = 1000, .idle_poll_ms = 1000}};
  std::atomic<bool> up_{true};
  std::atomic<bool> access_refused_{false};  // the last call was refused the node's credentials
  std::atomic<uint8_t> refusal_{none};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> errors_{0};
  alignas(64) std::atomic<uint64_t> held_holes_;
};

}  // namespace busyring::ids

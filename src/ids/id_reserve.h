// A node's reserve of id ranges: one producer (the thread that reserves ranges from Redis)
// publishes ranges; any shard takes blocks from the oldest one. Lock-free: a shard's take is
// a compare-and-swap on one cursor (range index << 32 | offset in it), once per block.
#pragma once

#include <atomic>
#include <cstdint>

#include "busyring/ids/id_range.h"

namespace busyring::ids {

class IdReserve {
 public:
  // Ranges published but not used up, at most. The producer keeps one or two.
  static constexpr uint32_t kSlots = 8;
  static constexpr uint64_t kMaxRange = (1ull << 32) - 1;

  // Producer only. False (nothing published) when kSlots ranges are still unused.
  bool publish(IdRange range) noexcept;

  // Any thread: up to `count` ids from the oldest published range; empty when none is left.
  IdRange take(uint32_t count) noexcept;

  // Ids published and not yet taken (exact when no take() runs at the same time).
  uint64_t available() const noexcept {
    return published_ids_.load(std::memory_order_acquire) - taken_ids_.load(std::memory_order_acquire);
  }

 private:
  struct Slot {
    std::atomic<uint64_t> first{0};
    std::atomic<uint64_t> size{0};
  };
  Slot slots_[kSlots];
  alignas(64) std::atomic<uint64_t> cursor_{0};
  alignas(64) std::atomic<uint64_t> published_{0};  // ranges published so far
  std::atomic<uint64_t> published_ids_{0};
  alignas(64) std::atomic<uint64_t> taken_ids_{0};
};

}  // namespace busyring::ids

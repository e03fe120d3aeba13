// The reserve's lock-free hand-off. A slot is rewritten only when the cursor has moved kSlots
// ranges past it, so a shard that read a stale slot fails its compare-and-swap and retries.
#include "id_reserve.h"

#include <algorithm>

#include "busyring/base/assert.h"

namespace busyring::ids {

bool IdReserve::publish(IdRange range) noexcept {
  BR_ASSERT(!range.empty() && range.size() <= kMaxRange);
  const uint64_t index = published_.load(std::memory_order_relaxed);
  const uint64_t consumer = cursor_.load(std::memory_order_acquire) >> 32;
  if (index - consumer >= kSlots) return false;
  Slot& s = slots_[index % kSlots];
  s.first.store(range.first, std::memory_order_relaxed);
  s.size.store(range.size(), std::memory_order_relaxed);
  published_ids_.fetch_add(range.size(), std::memory_order_relaxed);
  published_.store(index + 1, std::memory_order_release);
  return true;
}

IdRange IdReserve::take(uint32_t count) noexcept {
  BR_ASSERT(count > 0);
  uint64_t cursor = cursor_.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t index = cursor >> 32;
    const uint64_t offset = cursor & kMaxRange;
    if (index >= published_.load(std::memory_order_acquire)) return {};
    const Slot& s = slots_[index % kSlots];
    const uint64_t first = s.first.load(std::memory_order_relaxed);
    const uint64_t size = s.size.load(std::memory_order_relaxed);
    if (offset >= size) {  // used up: move on to the next range (one thread wins, all retry)
      const uint64_t next = (index + 1) << 32;
      if (cursor_.compare_exchange_weak(cursor, next, std::memory_order_acq_rel, std::memory_order_acquire))
        cursor = next;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(count, size - offset);
    if (cursor_.compare_exchange_weak(cursor, cursor + n, std::memory_order_acq_rel, std::memory_order_acquire)) {
      taken_ids_.fetch_add(n, std::memory_order_release);
      return {first + offset, first + offset + n};
    }
  }
}

}  // namespace busyring::ids

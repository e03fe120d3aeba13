// Where id blocks come from: the "block source" seam. Today one process-wide atomic counter;
// later a shared counter outside the node (Redis INCRBY, a PostgreSQL sequence) behind the
// same interface. A block is `count` consecutive ids starting at the returned id.
#pragma once

#include <atomic>
#include <cstdint>

namespace busyring::ids {

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // First id of a fresh block of `count` ids that no one else holds. Thread-safe.
  virtual uint64_t take(uint32_t count) noexcept = 0;
};

// The local source: one atomic counter shared by the shards, touched once per block.
class LocalBlockSource final : public BlockSource {
 public:
  explicit LocalBlockSource(uint64_t first_free_id) noexcept : next_(first_free_id) {}
  uint64_t take(uint32_t count) noexcept override {
    return next_.fetch_add(count, std::memory_order_relaxed);
  }
  uint64_t peek() const noexcept { return next_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<uint64_t> next_;
};

}  // namespace busyring::ids

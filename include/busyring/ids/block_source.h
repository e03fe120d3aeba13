// Where id blocks come from: the "block source" seam. The node's own atomic counter (local), or
// ranges reserved from a counter shared by a cluster (shared_block_source.h, from Redis or etcd),
// behind the same interface. Shards call take() once per block, never per request.
#pragma once

#include <atomic>
#include <cstdint>

#include "busyring/ids/id_range.h"

namespace busyring::ids {

// What /healthz and /metrics say of a source. Texts are static: rendering allocates nothing.
struct SourceStats {
  bool shared = false;       // ids come from outside the node (Redis, etcd)
  bool up = true;            // the last call to the shared counter succeeded
  bool refused = false;      // the shared counter went behind ids this node holds: no ids
  uint64_t reserve_ids = 0;  // ids held and not yet handed to a shard (reserve and old holes)
  uint64_t calls = 0;        // reservations asked of the shared counter
  uint64_t errors = 0;       // of which failed
  const char* problem = nullptr;  // set when !up or refused
  // Ids can be issued now (a momentarily empty reserve that is being refilled counts as serving).
  bool serving() const noexcept { return !refused && (up || reserve_ids > 0); }
};

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // Up to `count` consecutive ids that no one else holds (fewer at the end of a reserved
  // range); empty when the source has none to give now (the caller answers 503). Thread-safe.
  virtual IdRange take(uint32_t count) noexcept = 0;
  // Whether ids already handed out (a shard's holes and block) may still be issued: false once
  // a shared counter was found behind this node, since other nodes may now get the same ids.
  // Read on every request: one relaxed load of a line written only when that changes.
  bool issuing_allowed() const noexcept { return !halted_.load(std::memory_order_relaxed); }
  // A shard began issuing `count` of the holes dealt to it at start-up (ids this node held
  // before): a source that keeps a reserve counts them in it.
  virtual void holes_taken(uint64_t count) noexcept { (void)count; }
  virtual SourceStats stats() const noexcept { return {}; }

 protected:
  void set_halted(bool halted) noexcept { halted_.store(halted, std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<bool> halted_{false};
};

// The local source: one atomic counter shared by the shards, touched once per block.
class LocalBlockSource final : public BlockSource {
 public:
  explicit LocalBlockSource(uint64_t first_free_id) noexcept : next_(first_free_id) {}
  IdRange take(uint32_t count) noexcept override {
    const uint64_t first = next_.fetch_add(count, std::memory_order_relaxed);
    return {first, first + count};
  }
  uint64_t peek() const noexcept { return next_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<uint64_t> next_;
};

}  // namespace busyring::ids

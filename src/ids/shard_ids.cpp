// Shard id issuer: holes first, then fresh blocks.
#include "busyring/ids/shard_ids.h"

#include <algorithm>

#include "busyring/base/assert.h"

namespace busyring::ids {

ShardIds::ShardIds(BlockSource& source, uint32_t block, std::vector<IdRange> holes) noexcept
    : source_(source), block_(block), holes_(std::move(holes)) {
  BR_ASSERT(block_ > 0);
  std::reverse(holes_.begin(), holes_.end());
}

bool ShardIds::refill(uint64_t now_ns) noexcept {
  while (!holes_.empty()) {
    current_ = holes_.back();
    holes_.pop_back();
    if (!current_.empty()) {
      holes_taken_ += current_.size();
      source_.holes_taken(current_.size());
      return true;
    }
  }
  constexpr uint64_t kSlowNs = 1'000'000;
  if (now_ns - last_refill_ns_ > kSlowNs) next_block_ = 1;
  else next_block_ = std::min(block_, next_block_ * 2);
  last_refill_ns_ = now_ns;
  const IdRange block = source_.take(next_block_);
  if (block.empty()) return false;
  BR_ASSERT(block.first > 0 && block.size() <= next_block_);
  current_ = block;
  ++issued_blocks_;
  return true;
}

}  // namespace busyring::ids

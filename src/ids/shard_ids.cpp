// Shard id issuer: holes first, then fresh blocks.
#include "busyring/ids/shard_ids.h"

#include <algorithm>

#include "busyring/base/assert.h"

namespace busyring::ids {
namespace {

// Room kept in holes_ for short pieces of a batch reservation (see next_range).
constexpr size_t kSpareHoles = 16;

}  // namespace

ShardIds::ShardIds(BlockSource& source, uint32_t block, std::vector<IdRange> holes) noexcept
    : source_(source), block_(block), holes_(std::move(holes)) {
  BR_ASSERT(block_ > 0);
  std::reverse(holes_.begin(), holes_.end());
  spare_.reserve(kSpareHoles);
}

IdRange ShardIds::next_range(uint32_t count) noexcept {
  BR_ASSERT(count > 0);
  if (!source_.issuing_allowed()) return {};
  if (current_.size() >= count) {
    const IdRange r{current_.first, current_.first + count};
    current_.first += count;
    return r;
  }
  // A fresh reservation of exactly `count`. A shared source may hand out less at the end of a
  // reserved range: that piece is kept (single ids take it next), never lost, and the next
  // piece is asked for.
  for (int tries = 0; tries < 3; ++tries) {
    const IdRange piece = source_.take(count);
    if (piece.empty()) return {};
    ++issued_blocks_;
    if (piece.size() >= count) return {piece.first, piece.first + count};
    spare_.push_back(piece);  // within the capacity reserved at start-up, unless it is spent
  }
  return {};
}

bool ShardIds::refill(uint64_t now_ns) noexcept {
  if (!spare_.empty()) {
    current_ = spare_.back();
    spare_.pop_back();
    return true;
  }
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
